//! What Contrail's API server adds to plain storage, per resource type: allocations (ids,
//! addresses, MACs), companion objects created with an object, what an object takes with it
//! when deleted, and what it gives back. Each type's hooks are one module, found in [`HOOKS`] by
//! type name; the checks that only refuse are the `rules/` modules, run first.

use std::sync::Arc;

use serde_json::Value;

use crate::alloc::ids;
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;
use crate::quota::QuotaDefaults;
use crate::reservations::Reservations;
use crate::write::Planned;

mod addresses;
mod host_based_service;
mod ipam;
mod network;
mod port;
mod port_binding;
mod project;
mod security_draft;
mod security_group;
mod sub_cluster;
mod subscriber_tag;
mod tag;
mod virtual_port_group;

pub struct Ctx<'a> {
    pub index: &'a Index,
    pub reserved: &'a Reservations,
    /// The operator's default quotas.
    pub quotas: &'a QuotaDefaults,
    pub what: &'a str,
    /// The request body as given.
    pub input: &'a serde_json::Map<String, Value>,
}

impl Ctx<'_> {
    fn rules(&self) -> crate::rules::Ctx<'_> {
        crate::rules::Ctx {
            index: self.index,
            what: self.what,
            input: self.input,
        }
    }
}

/// Extra objects created along with the one requested (a VN's primary routing instance).
pub type Companions = Vec<Obj>;

type Create = fn(&Ctx, &mut Obj, &mut Planned) -> ApiResult<Companions>;
type Update = fn(&Ctx, &Obj, &mut Obj, &mut Planned) -> ApiResult<()>;
type Delete = fn(&Index, &Obj, &mut Planned);

/// One resource type's hooks.
struct TypeHooks {
    create: Create,
    update: Update,
    /// Gives back what the object held besides its ids (which every type frees alike).
    delete: Delete,
    /// Children that go away with the object: derived by the server or the intent compiler.
    cascade: &'static [&'static str],
    /// Children by (type, name) that go away with the object: the server's companions of a type
    /// a client also creates (a project's default application policy set).
    cascade_named: &'static [(&'static str, &'static str)],
    /// Other objects that go away with it, not its children (a host-based service's networks).
    takes: Takes,
}

type Takes = fn(&Index, &Obj) -> Vec<Arc<Obj>>;

const PLAIN: TypeHooks = TypeHooks {
    create: |_, _, _| Ok(vec![]),
    update: |_, _, _, _| Ok(()),
    delete: |_, _, _| {},
    cascade: &[],
    cascade_named: &[],
    takes: |_, _| vec![],
};

/// The hooks, by resource type; types not named here are plain storage.
const HOOKS: &[(&str, TypeHooks)] = &[
    (
        "project",
        TypeHooks {
            create: project::create,
            update: security_draft::on_update,
            cascade_named: &[
                project::DEFAULT_APS,
                ("policy-management", security_draft::DRAFT_PM),
            ],
            ..PLAIN
        },
    ),
    (
        "virtual-network",
        TypeHooks {
            create: network::create,
            update: network::update,
            delete: network::delete,
            cascade_named: &[],
            cascade: &["routing-instance", "access-control-list"],
            ..PLAIN
        },
    ),
    (
        "network-ipam",
        TypeHooks {
            create: ipam::create,
            update: ipam::update,
            ..PLAIN
        },
    ),
    (
        "security-group",
        TypeHooks {
            create: security_group::create,
            update: security_group::update,
            cascade: &["access-control-list"],
            ..PLAIN
        },
    ),
    (
        "tag",
        TypeHooks {
            create: tag::create,
            update: tag::update,
            delete: tag::delete,
            ..PLAIN
        },
    ),
    (
        "tag-type",
        TypeHooks {
            create: tag::type_create,
            update: tag::type_update,
            delete: tag::type_delete,
            ..PLAIN
        },
    ),
    (
        "virtual-machine-interface",
        TypeHooks {
            create: port::create,
            update: port_binding::update,
            takes: port_binding::emptied_groups,
            ..PLAIN
        },
    ),
    (
        "sub-cluster",
        TypeHooks {
            create: sub_cluster::create,
            update: sub_cluster::update,
            ..PLAIN
        },
    ),
    (
        "host-based-service",
        TypeHooks {
            create: host_based_service::create,
            takes: host_based_service::derived,
            ..PLAIN
        },
    ),
    (
        "global-system-config",
        TypeHooks {
            update: security_draft::on_update,
            ..PLAIN
        },
    ),
    (
        "virtual-port-group",
        TypeHooks {
            update: virtual_port_group::update,
            delete: virtual_port_group::delete,
            ..PLAIN
        },
    ),
    (
        "instance-ip",
        TypeHooks {
            create: addresses::create_instance_ip,
            update: addresses::update,
            delete: addresses::delete,
            ..PLAIN
        },
    ),
    (
        "floating-ip",
        TypeHooks {
            create: addresses::create_in_pool,
            update: addresses::update,
            delete: addresses::delete,
            ..PLAIN
        },
    ),
    (
        "alias-ip",
        TypeHooks {
            create: addresses::create_in_pool,
            update: addresses::update,
            delete: addresses::delete,
            ..PLAIN
        },
    ),
];

fn hooks_of(type_name: &str) -> &'static TypeHooks {
    HOOKS
        .iter()
        .find(|(t, _)| *t == type_name)
        .map_or(&PLAIN, |(_, h)| h)
}

/// Fixes up a create body before its identity is read (a tag's name).
pub fn normalize_input(type_name: &str, input: &mut serde_json::Map<String, Value>) {
    if type_name == "tag" {
        tag::normalize_input(input);
    }
}

/// Runs the type's rules, then its hooks. Allocations hold their key in `c.reserved` until the
/// transaction ends; a plan that fails gives back what it held.
pub fn on_create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    crate::rules::check(&c.rules(), None, obj)?;
    (hooks_of(obj.type_name()).create)(c, obj, p).inspect_err(|_| p.abandon(c.reserved))
}

pub fn on_update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    crate::rules::check(&c.rules(), Some(old), new)?;
    (hooks_of(new.type_name()).update)(c, old, new, p).inspect_err(|_| p.abandon(c.reserved))
}

/// Refs that a cascaded delete takes away with their target instead of refusing:
/// (referring type, target type).
const DROPPED_WITH_TARGET: &[(&str, &str)] = &[
    // A port's link to the primary routing instance of a network being deleted.
    ("virtual-machine-interface", "routing-instance"),
];

/// Refs that never block a delete: the connections the intent compiler keeps between routing
/// instances (it removes them itself once either network is gone).
const DERIVED_REFS: &[(&str, &str)] = &[("routing-instance", "routing-instance")];

/// Whether a cascaded delete of `to` takes `from`'s ref to it away (Contrail drops it).
pub fn dropped_with_target(from: &Obj, to: &Obj) -> bool {
    DROPPED_WITH_TARGET.contains(&(from.type_name(), to.type_name()))
}

/// Whether `from`'s ref to `to` is derived, so never blocks `to`'s delete.
pub fn derived_ref(from: &Obj, to: &Obj) -> bool {
    DERIVED_REFS.contains(&(from.type_name(), to.type_name()))
}

/// Removes every ref of `obj` to `target`.
pub fn drop_refs_to(obj: &mut Obj, target: &str) {
    let ty = obj.ty;
    obj.body.retain(|field, list| {
        if ty.ref_by_field(field).is_none() {
            return true;
        }
        if let Value::Array(refs) = list {
            refs.retain(|r| r.get("uuid").and_then(Value::as_str) != Some(target));
            return !refs.is_empty();
        }
        true
    });
}

/// Objects that go away together with `obj` (its type's `cascade` children).
pub fn cascade(index: &Index, obj: &Obj) -> Vec<Arc<Obj>> {
    let mut going = children_going(index, obj);
    for o in (hooks_of(obj.type_name()).takes)(index, obj) {
        going.extend(children_going(index, &o));
        going.push(o);
    }
    going
}

fn children_going(index: &Index, obj: &Obj) -> Vec<Arc<Obj>> {
    let h = hooks_of(obj.type_name());
    index
        .children(&obj.uuid)
        .filter(|c| {
            h.cascade.contains(&c.type_name())
                || h.cascade_named.contains(&(c.type_name(), c.name()))
        })
        .cloned()
        .collect()
}

/// Frees what `obj` held: its ids, and what its type gives back.
pub fn on_delete(index: &Index, obj: &Obj, p: &mut Planned) {
    ids::free(obj, p);
    (hooks_of(obj.type_name()).delete)(index, obj, p);
}

pub fn refs_of<'a>(obj: &'a Obj, field: &str) -> impl Iterator<Item = &'a str> {
    obj.body
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uuid")?.as_str())
}

/// A server-made child `name` of `parent` with `body` (fresh uuid, default id_perms, display
/// name), created in the same transaction as its parent.
pub(crate) fn companion(
    type_name: &str,
    parent: &Obj,
    name: &str,
    mut body: serde_json::Map<String, Value>,
) -> Obj {
    let ty = cirrus_model::schema()
        .resource(type_name)
        .expect("companion types are in the schema");
    let mut fq_name = parent.fq_name.clone();
    fq_name.push(name.to_string());
    let uuid = uuid::Uuid::new_v4().to_string();
    body.insert("id_perms".into(), crate::object::default_id_perms(&uuid));
    body.insert("display_name".into(), Value::from(name));
    Obj {
        ty,
        fq_str: fq_name.join(":"),
        fq_name,
        uuid,
        parent: Some(crate::object::Parent {
            type_name: parent.type_name(),
            uuid: parent.uuid.clone(),
        }),
        body,
        revision: 0,
    }
}

pub(crate) fn server_owned(c: &Ctx, obj: &Obj, field: &str) -> ApiResult<()> {
    if obj.body.get(field).is_some_and(|v| !v.is_null()) {
        return Err(ApiError::server_owned(c.what, field, "set"));
    }
    Ok(())
}

pub(crate) fn allocate_id(
    c: &Ctx,
    obj: &mut Obj,
    p: &mut Planned,
    pool: ids::Pool,
) -> ApiResult<()> {
    ids::allocate(c.index, c.reserved, c.what, obj, p, pool)
}
