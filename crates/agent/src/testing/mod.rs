//! Test harness shared by the unit tests, the integration tests and the benchmarks
//! (behind the `testing` feature): frames, scenario builders, an in-memory fabric and a
//! message-level controller.

pub mod controller;
pub mod frames;
pub mod memfabric;
pub mod scenario;
