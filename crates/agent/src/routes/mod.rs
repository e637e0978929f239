//! Routes from the controllers: their form ([`entry`]) and the per-session store with the
//! union and stale handling the agent forwards by ([`rib`]).

pub mod entry;
pub mod rib;

pub use entry::{NextHop, Route, RouteError};
pub use rib::{Rib, RibEvent, SessionIdx};
