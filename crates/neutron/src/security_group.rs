//! Security groups and their rules: a security-group under the tenant's project (name in
//! `display_name`), its rules the `security_group_entries.policy_rule` list as vnc_openstack
//! writes them: `rule_uuid` the Neutron id, the group's own side `{"security_group":
//! "local"}`, the remote side a subnet (`remote_ip_prefix`, `0.0.0.0/0` or `::/0` when none)
//! or a group's fq_name (`remote_group_id`), ingress when the local side is the destination,
//! the port range on the destination ports, protocol `any` for none. Each tenant gets the
//! `default` group (ingress from itself, egress anywhere, both families) on first use.

use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, create_only, parse, s};
use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::vnc;

pub const TYPE: &str = "security-group";
pub const RESOURCE: &str = "Security group";
const RULE: &str = "Security group rule";
const ENTRIES: &str = "security_group_entries";

const ATTRS: &[Attr] = &[];

const RULE_ATTRS: &[Attr] = &[
    create_only("security_group_id", Ty::Str).required(),
    create_only("direction", Ty::Str).required(),
    create_only("ethertype", Ty::Str),
    create_only("protocol", Ty::Any),
    create_only("port_range_min", Ty::Int).nullable(),
    create_only("port_range_max", Ty::Int).nullable(),
    create_only("remote_ip_prefix", Ty::Str).nullable(),
    create_only("remote_group_id", Ty::Str).nullable(),
    create_only("remote_address_group_id", Ty::Str).nullable(),
];

/// Neutron's protocol names and what the VNC rule stores for each (the VNC API takes a few
/// names, else the number); ICMP of an IPv6 rule is `icmp6` (see [`vnc_protocol`]).
const PROTOCOLS: [(&str, &str); 24] = [
    ("ah", "ah"),
    ("dccp", "33"),
    ("egp", "8"),
    ("esp", "esp"),
    ("gre", "gre"),
    ("hopopt", "0"),
    ("icmp", "icmp"),
    ("igmp", "igmp"),
    ("ipip", "4"),
    ("ipv6-encap", "41"),
    ("ipv6-frag", "44"),
    ("ipv6-icmp", "icmp6"),
    ("icmpv6", "icmp6"),
    ("ipv6-nonxt", "59"),
    ("ipv6-opts", "60"),
    ("ipv6-route", "43"),
    ("ospf", "ospf"),
    ("pgm", "113"),
    ("rsvp", "46"),
    ("sctp", "sctp"),
    ("tcp", "tcp"),
    ("udp", "udp"),
    ("udplite", "136"),
    ("vrrp", "vrrp"),
];

/// The VNC rule's protocol for Neutron's `name` (lower case) in a rule of `ether`: Neutron
/// names ICMP of an IPv6 rule `ipv6-icmp`, the VNC API `icmp6`.
fn vnc_protocol(name: &str, ether: &str) -> Option<&'static str> {
    if name == "icmp" && ether == "IPv6" {
        return Some("icmp6");
    }
    PROTOCOLS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn rules_of(o: &Obj) -> Vec<Value> {
    o.body
        .get(ENTRIES)
        .and_then(|e| e.get("policy_rule"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn is_local(a: &Value) -> bool {
    a.get("security_group").and_then(Value::as_str) == Some("local")
}

/// The group's annotation holding a rule's description (the VNC rule has no field for it).
/// Rules the server makes with a group have none, and show `null`, as Neutron's do.
fn description_key(rule: &str) -> String {
    format!("neutron:rule:{rule}:description")
}

pub fn render_rule(idx: &Index, sg: &Obj, r: &Value) -> Value {
    let first = |k: &str| {
        r.get(k)
            .and_then(|l| l.get(0))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (src, dst) = (first("src_addresses"), first("dst_addresses"));
    let ingress = is_local(&dst);
    let remote = if ingress { src } else { dst };
    let mut prefix = Value::Null;
    let mut group = Value::Null;
    if let Some(sn) = remote.get("subnet").filter(|v| !v.is_null()) {
        let p = sn.get("ip_prefix").and_then(Value::as_str).unwrap_or("");
        let l = sn.get("ip_prefix_len").and_then(Value::as_u64).unwrap_or(0);
        if l != 0 {
            prefix = json!(format!("{p}/{l}"));
        }
    } else if let Some(g) = remote.get("security_group").and_then(Value::as_str) {
        group = if g == "local" {
            json!(sg.uuid)
        } else {
            json!(idx.uuid_of(TYPE, g))
        };
    }
    let ports = first("dst_ports");
    let (lo, hi) = (
        ports.get("start_port").and_then(Value::as_i64).unwrap_or(0),
        ports
            .get("end_port")
            .and_then(Value::as_i64)
            .unwrap_or(65535),
    );
    let proto = match r.get("protocol").and_then(Value::as_str) {
        Some("any") | None => Value::Null,
        Some("icmp6") => json!("ipv6-icmp"),
        Some(p) => json!(p),
    };
    let (pmin, pmax) = crate::sg_ports::render(proto.as_str(), lo, hi);
    let t = vnc::tenant(sg);
    let created = r.get("created").and_then(Value::as_str);
    json!({
        "id": r.get("rule_uuid"),
        "security_group_id": sg.uuid,
        "direction": if ingress { "ingress" } else { "egress" },
        "ethertype": r.get("ethertype").and_then(Value::as_str).unwrap_or("IPv4"),
        "protocol": proto,
        "port_range_min": pmin,
        "port_range_max": pmax,
        "remote_ip_prefix": prefix,
        "remote_group_id": group,
        "remote_address_group_id": null,
        "normalized_cidr": prefix,
        "tenant_id": t,
        "project_id": t,
        "description": vnc::kv(sg, "annotations", &description_key(r.get("rule_uuid").and_then(Value::as_str).unwrap_or(""))),
        "revision_number": 0,
        "created_at": vnc::stamp(created),
        "updated_at": vnc::stamp(created),
    })
}

pub fn render(idx: &Index, o: &Obj) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert("name".into(), json!(vnc::name(o)));
    // Neutron shows a rule's tags inside its group only
    let rules: Vec<Value> = rules_of(o)
        .iter()
        .map(|r| {
            let mut v = render_rule(idx, o, r);
            v["tags"] = json!([]);
            v
        })
        .collect();
    m.insert("security_group_rules".into(), Value::Array(rules));
    m.insert("stateful".into(), json!(true));
    // shared with other tenants through RBAC, which Cirrus does not do
    m.insert("shared".into(), json!(false));
    vnc::common(o, &mut m);
    Value::Object(m)
}

fn addr_any(ether: &str) -> Value {
    if ether == "IPv6" {
        json!({"subnet": {"ip_prefix": "::", "ip_prefix_len": 0}})
    } else {
        json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}})
    }
}

fn entry(ingress: bool, ether: &str, proto: &str, remote: Value, ports: (i64, i64)) -> Value {
    let local = json!({"security_group": "local"});
    let (src, dst) = if ingress {
        (remote, local)
    } else {
        (local, remote)
    };
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    json!({
        "rule_uuid": uuid::Uuid::new_v4().to_string(),
        "direction": ">",
        "protocol": proto,
        "ethertype": ether,
        "src_addresses": [src],
        "dst_addresses": [dst],
        "src_ports": [{"start_port": 0, "end_port": 65535}],
        "dst_ports": [{"start_port": ports.0, "end_port": ports.1}],
        "created": now,
    })
}

async fn create_group(
    ctx: &Ctx,
    project: &str,
    name: &str,
    description: Option<&str>,
    default: bool,
) -> NResult<Arc<Obj>> {
    let pfq = vnc::project_fq(ctx, project)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let vname = if default {
        name.to_string()
    } else {
        vnc::free_name(ctx, TYPE, &pfq, name, &uuid)
    };
    let mut fq: Vec<String> = pfq.split(':').map(str::to_string).collect();
    fq.push(vname);
    let own = fq.join(":");
    let mut rules = vec![];
    // Neutron's new group: egress anywhere, both families (the default group also lets
    // its members in).
    for ether in ["IPv4", "IPv6"] {
        if default {
            rules.push(entry(
                true,
                ether,
                "any",
                json!({"security_group": own}),
                (0, 65535),
            ));
        }
        rules.push(entry(false, ether, "any", addr_any(ether), (0, 65535)));
    }
    let mut input = Map::new();
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!("project"));
    input.insert("uuid".into(), json!(uuid));
    input.insert("display_name".into(), json!(name));
    input.insert("perms2".into(), ctx.perms2_for(project));
    if let Some(d) = description {
        input.insert("id_perms".into(), json!({"description": d}));
    }
    input.insert(ENTRIES.into(), json!({"policy_rule": rules}));
    vnc::create(ctx, TYPE, input).await
}

/// The uuid of `project`'s `default` group, created on first use.
pub async fn ensure_default(ctx: &Ctx, project: &str) -> NResult<String> {
    let pfq = vnc::project_fq(ctx, project)?;
    let fq = format!("{pfq}:default");
    if let Some(u) = ctx.state.index().uuid_of(TYPE, &fq) {
        return Ok(u.to_string());
    }
    match create_group(
        ctx,
        project,
        "default",
        Some("Default security group"),
        true,
    )
    .await
    {
        Ok(o) => Ok(o.uuid.clone()),
        Err(NeutronError::Conflict { .. }) => ctx
            .state
            .index()
            .uuid_of(TYPE, &fq)
            .map(str::to_string)
            .ok_or_else(|| NeutronError::Internal("default security group vanished".into())),
        Err(e) => Err(e),
    }
}

pub async fn create(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "security_group", ATTRS, Op::Create)?;
    let project = ctx.project_for(&body).await?;
    let name = s(&body, "name").unwrap_or("");
    if name == "default" {
        return Err(NeutronError::Conflict {
            kind: "SecurityGroupDefaultAlreadyExists",
            message: "Default security group already exists.".into(),
        });
    }
    ensure_default(ctx, &project).await?;
    let o = create_group(ctx, &project, name, s(&body, "description"), false).await?;
    show(ctx, &o.uuid)
}

pub fn show(ctx: &Ctx, id: &str) -> NResult<Value> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    Ok(render(&ctx.state.index(), &o))
}

pub async fn list(ctx: &Ctx) -> NResult<Vec<Value>> {
    if let Some(p) = ctx.caller.project_uuid.clone()
        && ctx.state.index().get(&p).is_some()
    {
        ensure_default(ctx, &p).await?;
    }
    let objs = vnc::list(ctx, TYPE);
    let idx = ctx.state.index();
    Ok(objs.iter().map(|o| render(&idx, o)).collect())
}

pub async fn update(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "security_group", ATTRS, Op::Update)?;
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    if o.name() == "default" && s(&body, "name").is_some_and(|n| n != "default") {
        return Err(NeutronError::Conflict {
            kind: "SecurityGroupCannotUpdateDefault",
            message: "Updating default security group not allowed.".into(),
        });
    }
    if o.name() != "default" && s(&body, "name") == Some("default") {
        return Err(NeutronError::Conflict {
            kind: "SecurityGroupDefaultAlreadyExists",
            message: "Default security group already exists.".into(),
        });
    }
    let mut input = Map::new();
    if let Some(n) = s(&body, "name") {
        input.insert("display_name".into(), json!(n));
    }
    if let Some(p) = vnc::id_perms(&body, None) {
        input.insert("id_perms".into(), p);
    }
    if !input.is_empty() {
        vnc::update(ctx, TYPE, id, input).await?;
    }
    show(ctx, id)
}

pub async fn delete(ctx: &Ctx, id: &str) -> NResult<()> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    if o.name() == "default" && !ctx.caller.admin {
        return Err(NeutronError::Conflict {
            kind: "SecurityGroupCannotRemoveDefault",
            message: "Insufficient rights for removing default security group.".into(),
        });
    }
    let used = ctx
        .state
        .index()
        .back_refs(id)
        .any(|r| r.type_name() == "virtual-machine-interface");
    if used {
        return Err(NeutronError::InUse {
            kind: "SecurityGroupInUse",
            message: format!("Security Group {id} in use."),
        });
    }
    vnc::delete(ctx, TYPE, id).await
}

// ---- rules ----

fn find_rule(ctx: &Ctx, id: &str) -> NResult<(Arc<Obj>, Value)> {
    let idx = ctx.state.index();
    for sg in idx.of_type(TYPE) {
        if let Some(r) = rules_of(sg)
            .into_iter()
            .find(|r| r.get("rule_uuid").and_then(Value::as_str) == Some(id))
        {
            if ctx.caller.can_read(sg) {
                return Ok((sg.clone(), r));
            }
            break;
        }
    }
    Err(NeutronError::not_found(RULE, id))
}

pub fn show_rule(ctx: &Ctx, id: &str) -> NResult<Value> {
    let (sg, r) = find_rule(ctx, id)?;
    Ok(render_rule(&ctx.state.index(), &sg, &r))
}

pub fn list_rules(ctx: &Ctx) -> Vec<Value> {
    let objs = vnc::list(ctx, TYPE);
    let idx = ctx.state.index();
    objs.iter()
        .flat_map(|sg| {
            rules_of(sg)
                .iter()
                .map(|r| render_rule(&idx, sg, r))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The VNC protocol of a rule's `protocol` (None: any).
fn protocol(v: &Value, ether: &str) -> NResult<Option<String>> {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let bad = || NeutronError::Bad {
        kind: "SecurityGroupRuleInvalidProtocol",
        message: format!(
            "Security group rule protocol {shown} not supported. Only protocol values (None, 'any', 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp') and integer representations [0 to 255] are supported."
        ),
    };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64() {
            Some(p) if p <= 255 => Ok(Some(p.to_string())),
            _ => Err(bad()),
        },
        Value::String(s) if s.is_empty() || s == "any" => Ok(None),
        Value::String(s) => {
            if let Ok(p) = s.parse::<u16>() {
                return if p <= 255 {
                    Ok(Some(p.to_string()))
                } else {
                    Err(bad())
                };
            }
            vnc_protocol(&s.to_lowercase(), ether)
                .map(|p| Some(p.to_string()))
                .ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

pub async fn create_rule(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "security_group_rule", RULE_ATTRS, Op::Create)?;
    if body
        .get("remote_address_group_id")
        .is_some_and(|v| !v.is_null())
    {
        return Err(NeutronError::InvalidInput(
            "remote_address_group_id is not supported".into(),
        ));
    }
    let sg_id = s(&body, "security_group_id")
        .unwrap_or_default()
        .to_string();
    let sg = vnc::get(ctx, TYPE, RESOURCE, &sg_id)?;
    let dir = s(&body, "direction").unwrap_or_default();
    if dir != "ingress" && dir != "egress" {
        return Err(NeutronError::invalid(
            "direction",
            format!("{dir} is not in valid_values"),
        ));
    }
    let ether = s(&body, "ethertype").unwrap_or("IPv4");
    if ether != "IPv4" && ether != "IPv6" {
        return Err(NeutronError::invalid(
            "ethertype",
            format!("{ether} is not in valid_values"),
        ));
    }
    let proto = protocol(body.get("protocol").unwrap_or(&Value::Null), ether)?;
    let pmin = body.get("port_range_min").and_then(Value::as_i64);
    let pmax = body.get("port_range_max").and_then(Value::as_i64);
    let ports = crate::sg_ports::range(proto.as_deref(), pmin, pmax)?;
    let remote = match (s(&body, "remote_ip_prefix"), s(&body, "remote_group_id")) {
        (Some(_), Some(_)) => {
            return Err(NeutronError::InvalidInput(
                "Only remote_ip_prefix or remote_group_id may be provided.".into(),
            ));
        }
        (Some(p), None) => {
            let n: ipnet::IpNet = p.parse().map_err(|_| {
                NeutronError::invalid(
                    "remote_ip_prefix",
                    format!("'{p}' is not a valid IP subnet"),
                )
            })?;
            if n.addr().is_ipv4() != (ether == "IPv4") {
                return Err(NeutronError::Bad {
                    kind: "SecurityGroupRuleParameterConflict",
                    message: format!("Conflicting value ethertype {ether} for CIDR {p}"),
                });
            }
            json!({"subnet": {"ip_prefix": n.trunc().network().to_string(), "ip_prefix_len": n.prefix_len()}})
        }
        (None, Some(g)) => {
            let rg = vnc::get(ctx, TYPE, RESOURCE, g)?;
            json!({"security_group": rg.fq_str})
        }
        (None, None) => addr_any(ether),
    };
    let e = entry(
        dir == "ingress",
        ether,
        proto.as_deref().unwrap_or("any"),
        remote,
        ports,
    );
    let mut rules = rules_of(&sg);
    let same = |a: &Value, b: &Value| {
        [
            "protocol",
            "ethertype",
            "src_addresses",
            "dst_addresses",
            "dst_ports",
        ]
        .iter()
        .all(|k| a.get(*k) == b.get(*k))
    };
    if let Some(dup) = rules.iter().find(|r| same(r, &e)) {
        return Err(NeutronError::Conflict {
            kind: "SecurityGroupRuleExists",
            message: format!(
                "Security group rule already exists. Rule id is {}.",
                dup.get("rule_uuid").and_then(Value::as_str).unwrap_or("")
            ),
        });
    }
    let id = e
        .get("rule_uuid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    rules.push(e);
    let mut input = Map::new();
    input.insert(ENTRIES.into(), json!({"policy_rule": rules}));
    input.insert(
        "annotations".into(),
        vnc::kv_set(
            sg.body.get("annotations"),
            &description_key(&id),
            Some(s(&body, "description").unwrap_or("")),
        ),
    );
    vnc::update(ctx, TYPE, &sg.uuid, input).await?;
    show_rule(ctx, &id)
}

/// A rule's description is all that can change (kept in its group's annotations); the other
/// attributes are Neutron's read-only 400s.
pub async fn update_rule(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "security_group_rule", RULE_ATTRS, Op::Update)?;
    let (sg, _) = find_rule(ctx, id)?;
    if let Some(d) = s(&body, "description") {
        let mut input = Map::new();
        let a = vnc::kv_set(sg.body.get("annotations"), &description_key(id), Some(d));
        input.insert("annotations".into(), a);
        vnc::update(ctx, TYPE, &sg.uuid, input).await?;
    }
    show_rule(ctx, id)
}

pub async fn delete_rule(ctx: &Ctx, id: &str) -> NResult<()> {
    let (sg, _) = find_rule(ctx, id)?;
    let mut rules = rules_of(&sg);
    rules.retain(|r| r.get("rule_uuid").and_then(Value::as_str) != Some(id));
    let mut input = Map::new();
    input.insert(ENTRIES.into(), json!({"policy_rule": rules}));
    let a = vnc::kv_set(sg.body.get("annotations"), &description_key(id), None);
    input.insert("annotations".into(), a);
    vnc::update(ctx, TYPE, &sg.uuid, input).await?;
    Ok(())
}
