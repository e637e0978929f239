//! `cirrus-lab`: a Cirrus lab on one machine, in network namespaces, for `cirrusctl sandbox`
//! and for the topology tests. A lab is an underlay (a bridge in its own namespace, MTU 65535,
//! 198.18.0.0/15) that the root namespace reaches through one veth, compute nodes `cK` (a
//! namespace each, `eth0` on the bridge, an nftables rule keeping the kernel off overlay
//! packets), the processes it starts (a controller in the root namespace, a vrouter per compute
//! node, DHCP clients), and workloads (a namespace each, joined to a compute node by a veth
//! pair). Every name carries the lab's prefix; a state file records every namespace, link and
//! process before or as it is made, so [`Lab::down`] removes all of it, also after a crash.
//!
//! ```no_run
//! use std::time::Duration;
//! use cirrus_lab::{ControllerSpec, Lab, LabSpec};
//!
//! let mut lab = Lab::create(&LabSpec::new("demo", "/run/cirrus-lab/demo").computes(2))?;
//! let spec = ControllerSpec::new(&lab, "target/debug/cirrus-controller");
//! lab.start_controller(&spec, Duration::from_secs(30))?;
//! // ... vrouters, workloads; the lab is torn down when `lab` is dropped.
//! # Ok::<(), cirrus_lab::LabError>(())
//! ```

mod cmd;
mod error;
pub mod http;
mod lab;
pub mod netns;
pub mod plan;
pub mod port_ipc;
pub mod process;
mod services;
mod state;
mod subnet;
mod teardown;
#[cfg(feature = "testing")]
pub mod testing;
mod underlay;
mod workload;

pub use cmd::installed;
pub use error::{LabError, Result};
pub use lab::{Lab, LabSpec};
pub use plan::Plan;
pub use port_ipc::PortRequest;
pub use process::ProcessSpec;
pub use services::{
    CHANNEL_PORT, ControllerSpec, PORT_IPC, VROUTER_INTROSPECT, VrouterSpec, connected_vrouters,
    vrouter_name, wait_vrouters_connected,
};
pub use state::{ComputeRecord, LabState, ProcessRecord, STATE_FILE, WorkloadRecord};
pub use teardown::Teardown;
pub use underlay::{OVERLAY_TABLE, overlay_drop_ruleset};
pub use workload::{Lease, UDHCPC_SCRIPT, WorkloadSpec};
