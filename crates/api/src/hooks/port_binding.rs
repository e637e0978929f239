//! A bare-metal port's place in a virtual port group (Contrail's `virtual_machine_interface.py`
//! `_manage_vpg_association`, on a port's create): bindings with `vnic_type` `baremetal` and a
//! `profile` whose `local_link_information` names physical interfaces (`switch_info` the
//! physical router, `port_id` the interface, `fabric` or `default-fabric`) put the port in the
//! group the bindings name (`vpg`), or in a new `vpg-internal-<n>` the server makes under the
//! fabric (n the lowest free per fabric); the group then holds exactly those interfaces (AE ids
//! as `alloc/ae_ids.rs` gives them) and a ref to the port, which the port's delete drops; a
//! server-made group left with no port goes with the last one.
//! Refused: a missing interface or group (404), links in two fabrics, an interface in another
//! group (400), and the fabric's VLAN rules (400) unless it sets
//! `disable_vlan_vn_uniqueness_check`: one untagged port per group; on an enterprise-style
//! fabric a network once per group, a VLAN once per group, and across the fabric one VLAN per
//! network and one network per VLAN; on a service-provider fabric a (network, VLAN) once per group.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Ctx, refs_of, virtual_port_group};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::{Obj, Parent, default_id_perms};
use crate::write::Planned;

const GSC: &str = "default-global-system-config";
const PI_REFS: &str = "physical_interface_refs";
const VMI_REFS: &str = "virtual_machine_interface_refs";
const MAX_VPG_ID: u64 = 1 << 16;

fn bindings(vmi: &Obj) -> Map<String, Value> {
    vmi.body
        .get("virtual_machine_interface_bindings")
        .and_then(|b| b.get("key_value_pair"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            Some((
                kv.get("key")?.as_str()?.to_string(),
                kv.get("value")?.clone(),
            ))
        })
        .collect()
}

/// (VLAN, untagged) of a port: `tor_port_vlan_id` in its bindings (untagged), else its
/// sub-interface VLAN tag; None for no VLAN (0).
fn vlan_of(vmi: &Obj) -> Option<(u64, bool)> {
    let b = bindings(vmi);
    let as_num = |v: &Value| v.as_u64().or_else(|| v.as_str()?.parse().ok());
    if let Some(v) = b
        .get("tor_port_vlan_id")
        .and_then(as_num)
        .filter(|v| *v != 0)
    {
        return Some((v, true));
    }
    vmi.body
        .get("virtual_machine_interface_properties")
        .and_then(|p| p.get("sub_interface_vlan_tag"))
        .and_then(as_num)
        .filter(|v| *v != 0)
        .map(|v| (v, false))
}

fn network_of(vmi: &Obj) -> Option<String> {
    refs_of(vmi, "virtual_network_refs")
        .next()
        .map(str::to_string)
}

/// Places a new bare-metal port in its group (see the module's doc); other ports are left alone.
pub(super) fn create(c: &Ctx, vmi: &mut Obj, p: &mut Planned) -> ApiResult<Option<Obj>> {
    let b = bindings(vmi);
    if b.get("vnic_type").and_then(Value::as_str) != Some("baremetal") {
        return Ok(None);
    }
    let vpg_name = b.get("vpg").and_then(Value::as_str).map(str::to_string);
    let links: Vec<Value> = b
        .get("profile")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.get("local_link_information").cloned())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    if vpg_name.is_none() && links.is_empty() {
        // Ironic's first create: nothing to place yet.
        return Ok(None);
    }
    let bad = |m: String| {
        ApiError::bad_request(format!(
            "{}: virtual_machine_interface_bindings: {m}",
            c.what
        ))
    };
    let mut fabric_name: Option<String> = None;
    let mut pis: Vec<String> = Vec::new();
    for l in &links {
        let f = l
            .get("fabric")
            .and_then(Value::as_str)
            .unwrap_or("default-fabric");
        if fabric_name.as_deref().is_some_and(|n| n != f) {
            return Err(bad(
                "Physical interfaces in the same vpg should belong to the same fabric".into(),
            ));
        }
        fabric_name = Some(f.to_string());
        let (sw, port) = (
            l.get("switch_info").and_then(Value::as_str).unwrap_or(""),
            l.get("port_id").and_then(Value::as_str).unwrap_or(""),
        );
        let pi = c
            .index
            .by_fq_name("physical-interface", &format!("{GSC}:{sw}:{port}"))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "{}: Unable to attach Physical interface to Virtual Port Group ({}). No such \
                     Physical Interface object ({port}) exists",
                    c.what,
                    vpg_name.as_deref().unwrap_or("vpg-internal-missing")
                ))
            })?;
        if !pis.contains(&pi.uuid) {
            pis.push(pi.uuid.clone());
        }
    }
    let fabric_name = fabric_name.ok_or_else(|| {
        bad("Unable to retrieve fabric name. No physical interfaces and no vpg refs".into())
    })?;
    let fabric = c
        .index
        .by_fq_name("fabric", &format!("{GSC}:{fabric_name}"))
        .ok_or_else(|| bad(format!("no fabric {fabric_name}")))?
        .clone();
    for pi in &pis {
        if let Some(other) = c.index.back_refs(pi).find(|o| {
            o.type_name() == "virtual-port-group" && Some(o.name()) != vpg_name.as_deref()
        }) {
            let pi_name = c.index.get(pi).map_or(pi.as_str(), |o| o.name());
            return Err(bad(format!(
                "Physical interface {pi_name} already belong to the vpg {}",
                other.name()
            )));
        }
    }
    let (old, mut vpg) = match &vpg_name {
        Some(n) => {
            let g = c
                .index
                .by_fq_name("virtual-port-group", &format!("{GSC}:{fabric_name}:{n}"))
                .ok_or_else(|| {
                    ApiError::not_found(format!("{}: Vpg object {n} is not found", c.what))
                })?;
            let user_created = g
                .body
                .get("virtual_port_group_user_created")
                .and_then(Value::as_bool)
                != Some(false);
            if pis.is_empty() && user_created {
                pis = refs_of(g, PI_REFS).map(str::to_string).collect();
            }
            p.at_revision(keys::obj(&g.uuid), g.revision);
            (Some(g.clone()), (**g).clone())
        }
        None => (None, internal_group(c, &fabric, p)?),
    };
    check_vlans(c, &fabric, &vpg, vmi)?;
    // The group holds exactly the links' interfaces (their refs' attrs come from the AE ids).
    let refs: Vec<Value> = pis
        .iter()
        .filter_map(|u| c.index.get(u))
        .map(|pi| json!({"to": pi.fq_name, "uuid": pi.uuid, "attr": null}))
        .collect();
    if refs.is_empty() {
        vpg.body.remove(PI_REFS);
    } else {
        vpg.body.insert(PI_REFS.into(), Value::Array(refs));
    }
    let link = json!({"to": vmi.fq_name, "uuid": vmi.uuid, "attr": null});
    match vpg.body.get_mut(VMI_REFS) {
        Some(Value::Array(l)) => l.push(link),
        _ => {
            vpg.body.insert(VMI_REFS.into(), Value::Array(vec![link]));
        }
    }
    let what = format!("virtual-port-group {}", vpg.fq_str);
    virtual_port_group::place(c, &what, old.as_deref(), &mut vpg, p)?;
    // The port's delete takes its link from the group, as Contrail's does.
    p.put(keys::relax(&vmi.uuid, &vpg.uuid), vpg.uuid.clone());
    if old.is_some() {
        p.put(keys::obj(&vpg.uuid), vpg.to_stored());
        return Ok(None);
    }
    Ok(Some(vpg))
}

/// The pool of the numbers of a fabric's `vpg-internal-<n>` groups.
pub(super) fn vpg_id_pool(fabric: &str) -> String {
    format!("vpg-{fabric}")
}

/// A new `vpg-internal-<n>` under `fabric`, n the lowest free there.
fn internal_group(c: &Ctx, fabric: &Obj, p: &mut Planned) -> ApiResult<Obj> {
    let pool = vpg_id_pool(&fabric.uuid);
    let used = c.index.ids(&pool);
    let n = (0..MAX_VPG_ID)
        .find(|v| !used.is_some_and(|s| s.contains(v)) && c.reserved.try_hold(&keys::id(&pool, *v)))
        .ok_or_else(|| {
            ApiError::over_quota(format!("{}: no free virtual port group id", c.what))
        })?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let key = keys::id(&pool, n);
    p.hold(key.clone());
    p.absent(key.clone(), None);
    p.put(key, uuid.clone());
    let name = format!("vpg-internal-{n}");
    let mut fq_name = fabric.fq_name.clone();
    fq_name.push(name.clone());
    let mut body = Map::new();
    body.insert("id_perms".into(), default_id_perms(&uuid));
    body.insert("display_name".into(), json!(name));
    body.insert("virtual_port_group_user_created".into(), json!(false));
    body.insert("virtual_port_group_lacp_enabled".into(), json!(true));
    body.insert("virtual_port_group_type".into(), json!("access"));
    Ok(Obj {
        ty: cirrus_model::schema()
            .resource("virtual-port-group")
            .expect("in the schema"),
        uuid,
        fq_str: fq_name.join(":"),
        fq_name,
        parent: Some(Parent {
            type_name: "fabric",
            uuid: fabric.uuid.clone(),
        }),
        body,
        revision: 0,
    })
}

/// The fabric's VLAN and network rules for `vmi` joining `vpg` (see the module's doc).
fn check_vlans(c: &Ctx, fabric: &Obj, vpg: &Obj, vmi: &Obj) -> ApiResult<()> {
    let flag = |k: &str, default: bool| {
        fabric
            .body
            .get(k)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    if flag("disable_vlan_vn_uniqueness_check", false) {
        return Ok(());
    }
    let Some((vlan, untagged)) = vlan_of(vmi) else {
        return Ok(());
    };
    let vn = network_of(vmi);
    let enterprise = flag("fabric_enterprise_style", true);
    let bad = |m: String| {
        Err(ApiError::bad_request(format!(
            "{}: virtual_machine_interface_bindings: {m}",
            c.what
        )))
    };
    // Every port already in a group of this fabric: (group, network, VLAN, untagged, port).
    let groups: BTreeSet<&str> = c
        .index
        .children(&fabric.uuid)
        .filter(|o| o.type_name() == "virtual-port-group")
        .map(|o| o.uuid.as_str())
        .collect();
    for g in groups.iter().filter_map(|u| c.index.get(u)) {
        for port in refs_of(g, VMI_REFS)
            .filter(|u| *u != vmi.uuid)
            .filter_map(|u| c.index.get(u))
        {
            let Some((v, u)) = vlan_of(port) else {
                continue;
            };
            let (same_group, other_vn) = (g.uuid == vpg.uuid, network_of(port));
            let port_name = &port.uuid;
            if same_group && untagged && u {
                return bad(format!(
                    "Virtual machine interface:({port_name}) already exists with untagged vlan \
                     on virtual port group {}",
                    vpg.name()
                ));
            }
            if untagged || u {
                continue;
            }
            if enterprise {
                if same_group && other_vn == vn {
                    return bad(format!(
                        "Virtual machine interface:({port_name}) already exists with virtual \
                         network {} on virtual port group {}",
                        vn.as_deref().unwrap_or(""),
                        vpg.name()
                    ));
                }
                if same_group && v == vlan {
                    return bad(format!(
                        "Virtual machine interface:({port_name}) already exists with vlan \
                         {vlan} on virtual port group {}",
                        vpg.name()
                    ));
                }
                if other_vn == vn && v != vlan {
                    return bad(format!(
                        "Virtual network:({}) with other vlan({v}) already exists in fabric {}",
                        vn.as_deref().unwrap_or(""),
                        fabric.name()
                    ));
                }
                if other_vn != vn && v == vlan {
                    return bad(format!(
                        "Vlan:({vlan}) is already used by virtual network ({}) in fabric {}",
                        other_vn.as_deref().unwrap_or(""),
                        fabric.name()
                    ));
                }
            } else if same_group && other_vn == vn && v == vlan {
                return bad(format!(
                    "Virtual machine interface:({port_name}) already exists with virtual network \
                     {} and vlan {vlan} on virtual port group {}",
                    vn.as_deref().unwrap_or(""),
                    vpg.name()
                ));
            }
        }
    }
    Ok(())
}

/// A port in a group whose VLAN or network changes is checked again against the fabric's
/// rules (its own old place aside). Changed links or group names on update are not handled.
pub(super) fn update(c: &Ctx, old: &Obj, new: &mut Obj, _: &mut Planned) -> ApiResult<()> {
    if vlan_of(old) == vlan_of(new) && network_of(old) == network_of(new) {
        return Ok(());
    }
    for g in c
        .index
        .back_refs(&old.uuid)
        .filter(|g| g.type_name() == "virtual-port-group")
    {
        if let Some(fabric) = g
            .parent
            .as_ref()
            .and_then(|p| c.index.get_typed("fabric", &p.uuid))
        {
            check_vlans(c, fabric, g, new)?;
        }
    }
    Ok(())
}

/// The server-made groups (`virtual_port_group_user_created` false) whose only port is `vmi`:
/// they go with it.
pub(super) fn emptied_groups(index: &Index, vmi: &Obj) -> Vec<Arc<Obj>> {
    index
        .back_refs(&vmi.uuid)
        .filter(|g| {
            g.type_name() == "virtual-port-group"
                && g.body
                    .get("virtual_port_group_user_created")
                    .and_then(Value::as_bool)
                    == Some(false)
                && refs_of(g, VMI_REFS).all(|u| u == vmi.uuid)
        })
        .cloned()
        .collect()
}
