//! A vrouter's view put together by hand: a config slice, registered ports and routes,
//! compiled into tables and a flow-setup snapshot exactly as the agent does.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

use crate::config::ConfigStore;
use crate::derive::{Compiled, Registration, compile, derive};
use crate::program::ids::Ids;
use crate::program::{AGENT_IFINDEX, FABRIC_IFINDEX, Identity, VROUTER_MAC};
use crate::routes::{NextHop, Route};

/// The identity of test vrouter `n` (underlay 198.18.0.(10+n)).
pub fn identity(n: u8) -> Identity {
    Identity {
        hostname: format!("c{n}"),
        underlay: Ipv4Addr::new(198, 18, 0, 10 + n),
        fabric_ifindex: FABRIC_IFINDEX,
        fabric_name: "eth0".into(),
        fabric_mac: MacAddr([2, 0xfa, 0, 0, 0, 10 + n]),
        agent_ifindex: AGENT_IFINDEX,
        vrouter_mac: VROUTER_MAC,
    }
}

/// A config slice, ports and routes of one vrouter.
pub struct Scenario {
    pub me: Identity,
    pub store: ConfigStore,
    pub ports: Vec<Registration>,
    pub routes: BTreeMap<String, BTreeMap<Prefix, Route>>,
    pub neighbours: HashMap<Ipv4Addr, MacAddr>,
    pub vrf_ids: Ids<String>,
}

impl Scenario {
    pub fn new(me: Identity, store: ConfigStore) -> Self {
        Self {
            me,
            store,
            ports: Vec::new(),
            routes: BTreeMap::new(),
            neighbours: HashMap::new(),
            vrf_ids: Ids::new(1, 4095),
        }
    }

    /// Registers port `uuid` on device `name` with `ifindex` and MPLS `label`.
    pub fn register(&mut self, uuid: &str, ifindex: u32, label: u32) {
        self.ports.push(Registration {
            uuid: uuid.into(),
            ifindex,
            name: format!("tap-{uuid}"),
            label,
            enabled: true,
        });
    }

    /// A route of `instance` to `prefix` behind vrouter `via` with `label` (and the
    /// origin network, groups and tags policy needs).
    #[allow(clippy::too_many_arguments)]
    pub fn add_route(
        &mut self,
        instance: &str,
        prefix: &str,
        via: Ipv4Addr,
        label: u32,
        vni: u32,
        origin: &str,
        sgs: &[u32],
    ) {
        let p = crate::config::parse_prefix(prefix).expect("prefix");
        let r = self
            .routes
            .entry(instance.into())
            .or_default()
            .entry(p)
            .or_insert(Route {
                prefix: p,
                nexthops: vec![],
                origin_network: origin.into(),
                security_groups: sgs.to_vec(),
                tags: vec![],
                local_pref: 100,
            });
        r.nexthops.push(NextHop {
            address: via,
            label,
            vni,
            encaps: crate::config::global::DEFAULT_ENCAPS.to_vec(),
            mac: None,
            origin: via.to_string(),
        });
        r.nexthops.sort();
    }

    pub fn compile(&mut self) -> Compiled {
        let d = derive(&self.store, &self.ports);
        assert!(d.waiting.is_empty(), "ports waiting: {:?}", d.waiting);
        compile(
            &self.store,
            &d,
            &self.routes,
            &self.me,
            &self.neighbours,
            &mut self.vrf_ids,
            1,
        )
    }
}
