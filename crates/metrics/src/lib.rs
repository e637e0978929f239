//! Prometheus metrics for the Cirrus programs, in the text exposition format (0.0.4) that
//! every Prometheus server scrapes.
//!
//! Two kinds of values meet here. Values a program already counts elsewhere (BGP prefixes,
//! pipeline drops, flow decisions) are read when `/metrics` is asked for and written straight
//! into an [`Exposition`]: they are never counted twice. Values nobody counted before (request
//! latency, store transactions, compile times) live in the [`Histogram`], [`HistogramVec`] and
//! [`CounterVec`] of this crate, which are cheap to update from many threads.
//!
//! Names follow Prometheus' conventions: a `cirrus_` prefix, base units (`_seconds`,
//! `_bytes`), `_total` on counters.

mod counter;
mod histogram;
#[cfg(feature = "testing")]
pub mod testing;
mod text;

pub use counter::CounterVec;
pub use histogram::{Histogram, HistogramVec, LATENCY_BUCKETS};
pub use text::{CONTENT_TYPE, Exposition, Kind};
