//! Contrail's query subset over the store: parsing (`parse`), times (`time`), evaluation
//! (`eval`).

mod dense;
pub mod eval;
pub mod parse;
pub mod time;

pub use eval::{EvalBounds, Outcome, run};
pub use parse::{Bounds, Query, QueryError, parse};
