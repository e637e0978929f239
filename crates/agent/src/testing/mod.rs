//! Test harness shared by the unit tests, the integration tests and the benchmarks
//! (behind the `testing` feature): frames and scenario builders.

pub mod frames;
pub mod scenario;
