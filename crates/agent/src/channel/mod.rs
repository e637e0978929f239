//! The agent's side of the controller channel: one [`session::Session`] state machine per
//! controller (sans I/O) and the gRPC driver that runs it ([`client`]).

pub mod client;
pub mod session;

pub use session::{Action, Event, HelloParams, Session, State, Want};

#[cfg(test)]
mod tests;
