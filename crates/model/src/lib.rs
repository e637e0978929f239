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
