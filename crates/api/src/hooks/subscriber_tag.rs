//! Subscriber tags (Contrail's `vnc_addr_mgmt.py`, `instance_ip_subscriber_tag`): an instance
//! IP taken from IPAMs directly with a subscriber tag gets its address from the IPAM subnet
//! already serving that tag; when none does, from the first subnet of a subnetted IPAM
//! (`ipam_subnetting`) that serves no tag yet, which then serves this one (its `subscriber_tag`
//! is written on the IPAM in the same transaction). IPAMs are tried in the order referred to.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Ctx;
use crate::alloc::addr::{self, AddrError, Ask, Picked};
use crate::alloc::subnet::Subnet;
use crate::error::ApiResult;
use crate::keys;
use crate::object::Obj;
use crate::write::Planned;

fn entries(ipam: &Obj) -> &[Value] {
    ipam.body
        .get("ipam_subnets")
        .and_then(|v| v.get("subnets"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn tag_of<'a>(ipam: &'a Obj, subnet_uuid: &str) -> Option<&'a str> {
    entries(ipam)
        .iter()
        .find(|e| e.get("subnet_uuid").and_then(Value::as_str) == Some(subnet_uuid))
        .and_then(|e| e.get("subscriber_tag"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

pub(super) fn allocate(
    c: &Ctx,
    owner: &str,
    ipams: &[&Arc<Obj>],
    subnets: &[Subnet],
    tag: &str,
    ask: &Ask,
    p: &mut Planned,
) -> ApiResult<Picked> {
    let one = |s: &Subnet, ipam: &Obj, p: &mut Planned| {
        addr::allocate_from(
            c.index,
            c.reserved,
            ipam,
            std::slice::from_ref(s),
            ask,
            owner,
            p,
        )
    };
    for ipam in ipams {
        let mine: Vec<&Subnet> = subnets.iter().filter(|s| s.scope == ipam.uuid).collect();
        if let Some(s) = mine.iter().find(|s| tag_of(ipam, &s.uuid) == Some(tag)) {
            match one(s, ipam, p) {
                Ok(picked) => return Ok(picked),
                Err(AddrError::Exhausted { .. }) => continue,
                Err(e) => return Err(e.on_create(c.what)),
            }
        }
        let subnetting = ipam.body.get("ipam_subnetting").and_then(Value::as_bool) == Some(true);
        if !subnetting {
            continue;
        }
        for s in mine.iter().filter(|s| tag_of(ipam, &s.uuid).is_none()) {
            match one(s, ipam, p) {
                Ok(picked) => {
                    serve(ipam, &s.uuid, tag, p);
                    return Ok(picked);
                }
                Err(AddrError::Exhausted { .. }) => continue,
                Err(e) => return Err(e.on_create(c.what)),
            }
        }
    }
    let space = ipams.first().map(|i| i.fq_name.clone()).unwrap_or_default();
    Err(AddrError::Exhausted {
        vn: space,
        tried: vec![],
    }
    .on_create(c.what))
}

/// Marks the IPAM's subnet as serving `tag`, written only if the IPAM is unchanged since read.
fn serve(ipam: &Obj, subnet_uuid: &str, tag: &str, p: &mut Planned) {
    let mut updated = ipam.clone();
    if let Some(list) = updated
        .body
        .get_mut("ipam_subnets")
        .and_then(|v| v.get_mut("subnets"))
        .and_then(Value::as_array_mut)
        && let Some(e) = list
            .iter_mut()
            .find(|e| e.get("subnet_uuid").and_then(Value::as_str) == Some(subnet_uuid))
    {
        e["subscriber_tag"] = json!(tag);
    }
    p.at_revision(keys::obj(&ipam.uuid), ipam.revision);
    p.put(keys::obj(&ipam.uuid), updated.to_stored());
}
