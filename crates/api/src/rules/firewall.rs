//! Firewall rules and the security resources that group them (Contrail's `firewall_rule.py`
//! and `_security_base.py`): an endpoint names one kind of thing at most; a rule has a `service`
//! or service-group refs, not both and not neither; protocols are names or 0..255 and get their
//! `protocol_id`; `match_tags` become `match_tag_types` (never label);
//! endpoint tags and address groups become the rule's tag and address-group refs (which
//! clients cannot set themselves), tags with their `tag_ids`. A global resource (under
//! policy-management) refers only to global ones.

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

/// Contrail's IP protocol names and numbers (`cfgm_common.protocols`); `any` is 0.
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
    ("icmp6", 58),
    ("any", 0),
];

const ENDPOINTS: [&str; 2] = ["endpoint_1", "endpoint_2"];

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Refuses `draft_mode_state` from clients and refs from a global resource to scoped ones.
fn scope(c: &Ctx, new: &Obj, ref_types: &[&str]) -> ApiResult<()> {
    if c.input.contains_key("draft_mode_state") {
        return Err(ApiError::bad_request(format!(
            "{}: draft_mode_state: Security resource property 'draft_mode_state' is only readable",
            c.what
        )));
    }
    if new.fq_name.len() != 2 {
        return Ok(());
    }
    for ty in ref_types {
        let field = cirrus_model::names::ref_field_name(ty);
        if !c.input.contains_key(&field) {
            continue;
        }
        if let Some(r) = new
            .refs()
            .filter(|r| r.to_type == *ty)
            .find(|r| c.index.get(r.uuid).is_some_and(|t| t.fq_name.len() != 2))
        {
            let to = c
                .index
                .get(r.uuid)
                .map_or(String::new(), |t| t.fq_str.clone());
            return Err(ApiError::bad_request(format!(
                "{}: {field}: Global {} {} ({}) cannot reference a scoped {ty} {to} ({})",
                c.what,
                new.type_name(),
                new.fq_str,
                new.uuid,
                r.uuid
            )));
        }
    }
    Ok(())
}

pub fn check_policy(c: &Ctx, _old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    scope(c, new, &["firewall-rule"])
}

pub fn check_policy_set(c: &Ctx, _old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    scope(c, new, &["firewall-policy"])
}

pub fn check_rule(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    scope(
        c,
        new,
        &["address-group", "service-group", "virtual-network"],
    )?;
    let bad = |m: String| ApiError::bad_request(format!("{}: {m}", c.what));
    // A service or service groups: the request's, else the stored ones.
    let service = match c.input.get("service") {
        Some(s) => Some(s),
        None => old.and_then(|o| o.body.get("service")),
    };
    let groups = match c.input.get("service_group_refs") {
        Some(g) => Some(g),
        None => old.and_then(|o| o.body.get("service_group_refs")),
    };
    match (truthy(service), truthy(groups)) {
        (true, true) => {
            return Err(bad(
                "service: Firewall Rule cannot have both defined 'service' \
                 property and Service Group reference(s)"
                    .into(),
            ));
        }
        (false, false) => {
            return Err(bad(
                "service: Firewall Rule requires at least 'service' property \
                 or Service Group references(s)"
                    .into(),
            ));
        }
        _ => {}
    }
    if c.input.contains_key("service") {
        protocol_id(c, new)?;
    }
    match_tag_types(c, new)?;
    for ep in ENDPOINTS {
        let e = new.body.get(ep);
        let kinds = ["tags", "address_group", "virtual_network", "subnet", "any"]
            .iter()
            .filter(|k| truthy(e.and_then(|e| e.get(**k))))
            .count();
        if kinds > 1 {
            return Err(bad(format!(
                "{ep}: Endpoint is limited to only one endpoint type at a time"
            )));
        }
    }
    derived_refs(c, old, new)
}

fn protocol_id(c: &Ctx, new: &mut Obj) -> ApiResult<()> {
    let Some(service) = new.body.get_mut("service").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let Some(p) = service.get("protocol").and_then(Value::as_str) else {
        return Ok(());
    };
    let id = match p.parse::<i64>() {
        Ok(n) => u8::try_from(n).ok(),
        Err(_) => {
            let lower = p.to_ascii_lowercase();
            PROTOCOLS
                .iter()
                .find(|(name, _)| *name == lower)
                .map(|(_, n)| *n)
        }
    };
    let Some(id) = id else {
        return Err(ApiError::bad_request(format!(
            "{}: service.protocol: Invalid protocol: {p}",
            c.what
        )));
    };
    service.insert("protocol_id".into(), json!(id));
    Ok(())
}

fn match_tag_types(c: &Ctx, new: &mut Obj) -> ApiResult<()> {
    // Contrail stores application (1) as the default match tag type of a rule without
    // `match_tags`, and its agent ignores `match_tag_types` while `match_tags` is empty. Ours
    // reads `match_tag_types` alone, so the default is not stored until the agent reads it as
    // Contrail's does.
    let Some(tags) = c.input.get("match_tags") else {
        return Ok(());
    };
    let mut ids = Vec::new();
    for t in tags
        .get("tag_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let t = t.to_ascii_lowercase();
        if t == "label" {
            return Err(ApiError::bad_request(format!(
                "{}: match_tags: labels not allowed as match-tags",
                c.what
            )));
        }
        let id = c
            .index
            .by_fq_name("tag-type", &t)
            .and_then(|tt| tt.body.get("tag_type_id")?.as_str().map(str::to_string))
            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| {
                ApiError::not_found(format!("{}: match_tags: no tag-type {t:?}", c.what))
            })?;
        ids.push(id);
    }
    new.body
        .insert("match_tag_types".into(), json!({"tag_type": ids}));
    Ok(())
}

/// A ref value as stored.
fn link(o: &Obj) -> Value {
    json!({"to": o.fq_name, "uuid": o.uuid, "attr": null})
}

/// The rule's tag and address-group refs, from its endpoints: an endpoint the request names is
/// read anew, one it leaves out keeps the refs it had.
fn derived_refs(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    for (field, what) in [
        ("tag_refs", "Tags"),
        ("address_group_refs", "Address Group"),
    ] {
        let given = c.input.get(field);
        if given.is_some() && (old.is_some() || truthy(given)) {
            let prop = if field == "tag_refs" {
                "'tags'"
            } else {
                "'address_group'"
            };
            return Err(ApiError::bad_request(format!(
                "{}: {field}: Cannot directly define {what} reference from a Firewall Rule. Use \
                 {prop} endpoints property in the Firewall Rule",
                c.what
            )));
        }
    }
    // Tags are the rule's project's, or global ones for a global rule.
    let tag_scope: Vec<String> = match new.parent.as_ref().map(|p| p.type_name) {
        Some("project") => new.fq_name[..new.fq_name.len() - 1].to_vec(),
        _ => Vec::new(),
    };
    let mut tag_refs: Vec<Value> = Vec::new();
    let mut ag_refs: Vec<Value> = Vec::new();
    let kept = |field: &str, fq: &[String]| -> Vec<Value> {
        old.and_then(|o| o.body.get(field))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("to") == Some(&json!(fq)))
            .cloned()
            .collect()
    };
    for ep in ENDPOINTS {
        let from_request = c.input.contains_key(ep) || old.is_none();
        let Some(e) = new.body.get(ep).cloned().filter(|e| !e.is_null()) else {
            continue;
        };
        let mut names: Vec<&str> = e
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut tag_ids = Vec::new();
        for name in names {
            if !name.contains('=') {
                return Err(ApiError::not_found(format!(
                    "{}: {ep}.tags: Invalid tag name '{name}'",
                    c.what
                )));
            }
            let fq: Vec<String> = match name.strip_prefix("global:") {
                Some(g) => vec![g.to_string()],
                None => tag_scope
                    .iter()
                    .cloned()
                    .chain([name.to_string()])
                    .collect(),
            };
            if !from_request {
                tag_refs.extend(kept("tag_refs", &fq));
                continue;
            }
            let tag = c.index.by_fq_name("tag", &fq.join(":")).ok_or_else(|| {
                ApiError::not_found(format!("{}: {ep}.tags: no tag {}", c.what, fq.join(":")))
            })?;
            let id = tag
                .body
                .get("tag_id")
                .and_then(Value::as_str)
                .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            tag_ids.push(id);
            tag_refs.push(link(tag));
        }
        if from_request && let Some(m) = new.body.get_mut(ep).and_then(Value::as_object_mut) {
            m.insert("tag_ids".into(), json!(tag_ids));
        }
        if let Some(ag) = e
            .get("address_group")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            let fq: Vec<String> = ag.split(':').map(str::to_string).collect();
            if !from_request {
                ag_refs.extend(kept("address_group_refs", &fq));
                continue;
            }
            let group = c.index.by_fq_name("address-group", ag).ok_or_else(|| {
                ApiError::not_found(format!(
                    "{}: {ep}.address_group: No Address Group object found for {ag}",
                    c.what
                ))
            })?;
            ag_refs.push(link(group));
        }
    }
    set_refs(&mut new.body, "tag_refs", tag_refs);
    set_refs(&mut new.body, "address_group_refs", ag_refs);
    Ok(())
}

fn set_refs(body: &mut Map<String, Value>, field: &str, refs: Vec<Value>) {
    if refs.is_empty() {
        body.remove(field);
    } else {
        body.insert(field.into(), Value::Array(refs));
    }
}
