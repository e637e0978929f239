//! Read-only views of the route server for introspect: the vrouters it knows and the tables
//! as subscribers receive them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use cirrus_proto::convert::Prefix;
use cirrus_proto::v1 as pb;
use serde::Serialize;

use super::{RouteServer, SessionId};

impl RouteServer {
    /// Connected or remembered vrouters: hostname, session, routes published per instance.
    pub fn vrouters(&self) -> Vec<VrouterView> {
        let mut v: Vec<VrouterView> = self
            .vrouters
            .iter()
            .map(|vr| VrouterView {
                hostname: vr.info.hostname.to_string(),
                address: vr.info.address,
                session: vr.session,
                stale: vr.stale,
                subscribed: vr
                    .session
                    .and_then(|s| self.sessions.get(&s))
                    .map(|s| s.subscribed.iter().map(|i| i.to_string()).collect())
                    .unwrap_or_default(),
                published: vr
                    .published
                    .iter()
                    .filter(|(_, p)| !p.is_empty())
                    .map(|(i, p)| (i.to_string(), p.len()))
                    .collect(),
            })
            .collect();
        v.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        v
    }

    /// Agent-fed instances and their routes as subscribers see them (`instance` alone, or all
    /// instances with routes).
    pub fn routes(&self, instance: Option<&str>) -> BTreeMap<String, Vec<pb::Route>> {
        let mut out = BTreeMap::new();
        for (name, t) in &self.tables {
            if instance.is_some_and(|i| i != &**name) {
                continue;
            }
            if instance.is_none() && t.agent.is_empty() && t.bgp.is_empty() {
                continue;
            }
            let mut r = self.view(name, None);
            r.sort_by(|a, b| {
                let k = |r: &pb::Route| r.key.as_ref().and_then(|k| Prefix::from_wire(k).ok());
                k(a).cmp(&k(b))
            });
            out.insert(name.to_string(), r);
        }
        out
    }

    /// Whether an instance's table exists (config or routes).
    pub fn has_instance(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// One vrouter as introspect shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VrouterView {
    pub hostname: String,
    pub address: IpAddr,
    pub session: Option<SessionId>,
    pub stale: bool,
    pub subscribed: Vec<String>,
    pub published: BTreeMap<String, usize>,
}
