//! Cirrus object model: the VNC (Contrail / Tungsten Fabric) config schema,
//! declared once as data in `schema/vnc.schema`, and validation of property
//! values against it with Contrail's field names and JSON shapes.
//!
//! ```
//! let s = cirrus_model::schema();
//! let vn = s.resource_by_collection("virtual-networks").unwrap();
//! assert_eq!(vn.name, "virtual-network");
//! assert_eq!(vn.ref_to("network-ipam").unwrap().field, "network_ipam_refs");
//! let bad = serde_json::json!({"forwarding_mode": "l4"});
//! let err = s.validate_prop(vn, "virtual_network_properties", &bad).unwrap_err();
//! assert_eq!(err.field, "virtual_network_properties.forwarding_mode");
//! ```
//!
//! What to call for what:
//!
//! - lookups: [`Schema::resource`], [`Schema::resource_by_collection`],
//!   [`Schema::resource_by_underscored`], [`Schema::children_of`],
//!   [`Schema::back_ref_sources`], [`Schema::type_def`]; on a
//!   [`ResourceType`]: [`ResourceType::prop`], [`ResourceType::ref_to`],
//!   [`ResourceType::ref_by_field`], [`ResourceType::field_kind`] (what a
//!   top-level body key is), and the derived names `collection()`,
//!   `children_field()`, `ref_field()`, `back_ref_field()`.
//! - checks: [`Schema::validate_prop`], [`Schema::validate_ref_attr`],
//!   [`Schema::validate_refs`] (a whole `<type>_refs` list),
//!   [`Schema::validate_collection_item`] (prop-collection updates),
//!   [`Schema::validate_object`] (a whole create/update body).
//! - storing: [`Schema::normalize_object`] / `normalize_prop` /
//!   `normalize_ref_attr` validate and rewrite values the way Contrail
//!   stores them; [`Schema::fill_defaults`]; [`Schema::infer_parent_type`].
//! - names: [`names`] (fq_name join/split/parse, uuid check).
//!
//! Every resource type and struct type of the VNC API is declared (121 and
//! 215); `tests/client_crosscheck.rs` compares them with an installed
//! vnc_api client. Validation follows the Contrail API server: null is
//! accepted for any value, struct types reject unknown keys, enums and
//! ranges are checked where declared. `validate_*` take JSON integers only;
//! `normalize_*` also take numeric strings and integral floats, as Contrail
//! does, and rewrite them to integers.
//!
//! No I/O, no async: the schema text is embedded with `include_str!`.

mod error;
pub mod formats;
pub mod names;
mod normalize;
mod parse;
mod schema;
mod types;
mod validate;

pub use error::{SchemaError, ValidationError};
pub use names::{fq_name_from_str, fq_name_to_string, is_valid_uuid, parse_fq_name};
pub use schema::{CONFIG_ROOT, SCHEMA_TEXT, Schema, schema};
pub use types::{
    Collection, FieldDef, FieldKind, IDENTITY_FIELDS, Ops, Presence, PropDef, RefDef, ResourceType,
    TypeDef, TypeRef,
};
