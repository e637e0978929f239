//! Cirrus BGP speaker: the control node's federation half.
//!
//! Layers, bottom up:
//! - [`types`], [`ext_community`], [`attrs`], [`message`]: Cirrus's own route and message types.
//! - [`codec`]: framing and wire conversion through `netgauze-bgp-pkt`.
//! - `session`: the sans-I/O RFC 4271 session state machine (events in, actions out).
//! - `rib`: VPN tables per family, routing-instance tables, import/export by route target,
//!   best path, RFC 4684 outbound filtering, graceful-restart stale handling.
//! - `speaker`: the thin tokio driver and the public handle the controller wires up.

pub mod attrs;
pub mod codec;
pub mod ext_community;
pub mod message;
pub mod rib;
pub mod session;
pub mod speaker;
pub mod types;
