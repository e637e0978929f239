//! The controller <-> vrouter channel: Contrail's XMPP agent channel (config slices and route
//! exchange) as one bidirectional gRPC stream per vrouter per controller. The contract, with
//! the order of messages on a session, is `proto/cirrus/channel/v1/channel.proto`; this crate
//! is its generated code plus small conversions both ends share.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// Version 1 of the channel.
pub mod v1 {
    tonic::include_proto!("cirrus.channel.v1");
}

pub mod convert;
