//! Cirrus analytics: the flow and session records vrouters export (`record`, `wire`),
//! the collector that receives them (`collector`), the columnar store that keeps them
//! (`store`, `parquet_io`, `columns`, `ingest`) and Contrail's analytics query API over
//! them (`schema`, `query`, `http`), the UVEs and alarms it keeps (`uve`, `node_uve`,
//! `alarms`, `uve_http`, `uve_stream`). Per-interface counters (`vmi_stats`) travel in the
//! same wire format and are served as Contrail's `StatTable.VMIStats.*` tables. Without the
//! `server` feature only the records and their wire format are built, for the vrouter.

pub mod record;
pub mod vmi_stats;
pub mod wire;

#[cfg(feature = "server")]
pub mod alarms;
#[cfg(feature = "server")]
pub mod collector;
#[cfg(feature = "server")]
pub mod columns;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod ingest;
#[cfg(feature = "server")]
pub mod intern;
#[cfg(feature = "server")]
pub mod node_uve;
#[cfg(feature = "server")]
pub mod parquet_dict;
#[cfg(feature = "server")]
pub mod parquet_io;
#[cfg(feature = "server")]
pub mod parquet_strings;
#[cfg(feature = "server")]
pub mod query;
#[cfg(feature = "server")]
pub mod schema;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod uve;
#[cfg(feature = "server")]
pub mod uve_http;
#[cfg(feature = "server")]
pub mod uve_stream;

/// Microseconds since the epoch.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
