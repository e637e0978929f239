//! Cirrus forwarding pipeline (placeholder while building).
pub mod wire;
