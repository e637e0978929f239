//! A security group's two ACLs, as Contrail's schema transformer writes them
//! (`SecurityGroupST.policy_to_acl_rule`): every rule whose destination is `local` goes to
//! `ingress-access-control-list`, every rule whose source is `local` to
//! `egress-access-control-list`; security-group names become their numeric ids (`local` and
//! the group itself its own id, `any` -1), a rule naming a group that does not exist is left
//! out, missing port lists mean every port, and the action is always pass.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::acl_list::protocol_to_acl;
use crate::json::*;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct GroupAcls {
    pub ingress: Value,
    pub egress: Value,
    /// Other groups its rules name (fq_names): their creation or deletion changes this.
    pub referred: BTreeSet<String>,
    pub warnings: Vec<String>,
}

/// `sg_id(name)` gives a group's numeric id by fq_name.
pub fn group_acls(
    fq_name: &str,
    own_id: Option<u64>,
    entries: Option<&Value>,
    sg_id: &dyn Fn(&str) -> Option<u64>,
) -> GroupAcls {
    let mut out = GroupAcls::default();
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    let rules = entries.map(|e| list(e, "policy_rule")).unwrap_or(&[]);
    for prule in rules {
        for a in list(prule, "src_addresses")
            .iter()
            .chain(list(prule, "dst_addresses"))
        {
            if let Some(g) = str_of(a, "security_group")
                && !["local", "any", fq_name].contains(&g)
            {
                out.referred.insert(g.to_string());
            }
        }
        rule_entries(
            fq_name,
            own_id,
            prule,
            sg_id,
            &mut ingress,
            &mut egress,
            &mut out,
        );
    }
    let value = |rules: Vec<Value>| acl_entries(None, rules);
    out.ingress = value(ingress);
    out.egress = value(egress);
    out
}

/// The address with its group name as a numeric id string; `None` when the group is unknown.
fn convert(
    fq_name: &str,
    own_id: Option<u64>,
    addr: &Value,
    sg_id: &dyn Fn(&str) -> Option<u64>,
) -> Option<Value> {
    let mut a = addr.clone();
    let Some(g) = str_of(addr, "security_group") else {
        return Some(a);
    };
    let id = if g == "local" || g == fq_name {
        own_id?.to_string()
    } else if g == "any" {
        "-1".to_string()
    } else {
        sg_id(g)?.to_string()
    };
    a["security_group"] = json!(id);
    Some(a)
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Ingress,
    Egress,
}

fn rule_entries(
    fq_name: &str,
    own_id: Option<u64>,
    prule: &Value,
    sg_id: &dyn Fn(&str) -> Option<u64>,
    ingress: &mut Vec<Value>,
    egress: &mut Vec<Value>,
    out: &mut GroupAcls,
) {
    let rule_uuid = str_of(prule, "rule_uuid");
    let ethertype = prule.get("ethertype").cloned().unwrap_or(Value::Null);
    let Some(proto) = protocol_to_acl(str_of(prule, "protocol"), ethertype.as_str(), false) else {
        out.warnings.push(format!(
            "security group {fq_name}: rule {}: no or unknown protocol; rule left out",
            rule_uuid.unwrap_or("?")
        ));
        return;
    };
    let every = [any_port()];
    let ports = |key: &str| -> Vec<Value> {
        match list(prule, key) {
            [] => every.to_vec(),
            l => l.to_vec(),
        }
    };
    // Contrail keeps the side chosen by an earlier address pair for later ones.
    let mut side: Option<Side> = None;
    for saddr in list(prule, "src_addresses") {
        let Some(mut sm) = convert(fq_name, own_id, saddr, sg_id) else {
            continue;
        };
        if str_of(saddr, "security_group") == Some("local") {
            sm["security_group"] = Value::Null;
            side = Some(Side::Egress);
        }
        for sp in ports("src_ports") {
            for daddr in list(prule, "dst_addresses") {
                let Some(mut dm) = convert(fq_name, own_id, daddr, sg_id) else {
                    continue;
                };
                if str_of(daddr, "security_group") == Some("local") {
                    dm["security_group"] = Value::Null;
                    side = Some(Side::Ingress);
                }
                let Some(s) = side else {
                    out.warnings.push(format!(
                        "security group {fq_name}: rule {}: neither source nor destination is local",
                        rule_uuid.unwrap_or("?")
                    ));
                    continue;
                };
                for dp in ports("dst_ports") {
                    let entry = acl_rule(
                        match_condition(
                            &proto,
                            sm.clone(),
                            sp.clone(),
                            dm.clone(),
                            dp.clone(),
                            ethertype.clone(),
                        ),
                        simple_action("pass"),
                        rule_uuid,
                        None,
                    );
                    match s {
                        Side::Ingress => ingress.push(entry),
                        Side::Egress => egress.push(entry),
                    }
                }
            }
        }
    }
}
