//! Cirrus BGP speaker: the control node's federation half (MP-BGP with inet-vpn, inet6-vpn,
//! e-vpn and route-target constraint).
//!
//! Layers, bottom up:
//! - [`types`], [`ext_community`], [`attrs`], [`message`]: Cirrus's own route and message types.
//! - [`codec`]: framing and wire conversion through `netgauze-bgp-pkt` (RTC NLRI by hand).
//! - [`session`]: the sans-I/O RFC 4271 session state machine (events in, actions out).
//! - [`rib`]: global tables per family, routing-instance tables, import/export by route target,
//!   best path, RFC 4684 outbound filtering, graceful-restart stale handling. Also sans-I/O.
//! - [`speaker`]: the thin tokio driver and the [`speaker::Speaker`] handle.
//!
//! Wiring from the controller (bgp-router objects -> [`speaker::SpeakerConfig`], routing
//! instances -> [`rib::InstanceConfig`], agent routes -> [`rib::LocalRoute`]):
//!
//! ```no_run
//! use cirrus_bgp::rib::{InstanceConfig, LocalRoute};
//! use cirrus_bgp::speaker::{PeerConfig, Speaker, SpeakerConfig};
//! use cirrus_bgp::types::{Label, Labels, Nlri};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut cfg = SpeakerConfig::new("10.0.0.1".parse()?, 64512, "10.0.0.1:179".parse()?);
//! cfg.peers.push(PeerConfig::new("10.0.0.2".parse()?, 64512));
//! let bgp = Speaker::start(cfg).await?;
//! bgp.set_instance(
//!     "default-domain:demo:vn1:vn1",
//!     InstanceConfig {
//!         rd: Some("10.0.0.1:1".parse()?),
//!         import_targets: vec!["target:64512:8000001".parse()?],
//!         export_targets: vec!["target:64512:8000001".parse()?],
//!     },
//! )
//! .await?;
//! bgp.originate(
//!     "default-domain:demo:vn1:vn1",
//!     LocalRoute {
//!         nlri: Some(Nlri::Inet("192.168.1.3/32".parse()?)),
//!         labels: Labels::one(Label::mpls(25)),
//!         next_hop: Some("198.18.0.11".parse()?),
//!         ..Default::default()
//!     },
//! )
//! .await?;
//! let neighbors = serde_json::to_string(&bgp.neighbors().await?)?; // GET /bgp/neighbors
//! let routes = bgp.routes(Some("default-domain:demo:vn1:vn1"), None).await?; // GET /routes
//! # let _ = (neighbors, routes);
//! # Ok(()) }
//! ```
//!
//! Convergence benchmark (`benches/convergence.rs`): N injector peers each advertise M unique
//! VPNv4 prefixes, re-advertised to a sink peer; the same load runs against GoBGP, FRR and BIRD
//! and each line gives convergence time, peak RSS and the ratios to Cirrus:
//!
//! ```text
//! cargo bench -p cirrus-bgp --bench convergence -- --peers 10 --prefixes 100000 --impl cirrus,frr,bird
//! cargo bench -p cirrus-bgp --bench convergence -- --peers 10 --prefixes 10000 --impl cirrus,gobgp,frr,bird
//! ```

pub mod attrs;
pub mod codec;
pub mod ext_community;
pub mod message;
pub mod rib;
pub mod session;
pub mod speaker;
pub mod types;
