//! The schema's vocabulary: property types ([`TypeRef`], [`TypeDef`]), and the
//! shape of a resource type ([`ResourceType`], [`PropDef`], [`RefDef`]).

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

/// The type of a property, struct field or ref attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// Any JSON value.
    Any,
    /// A JSON string.
    String,
    /// A JSON integer (normalize also takes a numeric string or integral
    /// float, as Contrail does), optionally within `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: Option<i64>,
        /// Largest allowed value.
        max: Option<i64>,
    },
    /// xsd:unsignedLong: a non-negative integer.
    UnsignedLong,
    /// JSON true/false.
    Boolean,
    /// xsd:dateTime, carried as a string.
    DateTime,
    /// xsd:time, carried as a string.
    Time,
    /// An IPv4 or IPv6 address string.
    IpAddress,
    /// A MAC address string (`aa:bb:cc:dd:ee:ff`, also with `-`).
    MacAddress,
    /// A BGP community: a well-known name or `ASN:value`.
    Community,
    /// A service interface type: `management`, `left`, `right`, `other<N>`.
    ServiceInterface,
    /// One of a list of strings.
    Enum(Vec<String>),
    /// A declared struct type, by name.
    Struct(String),
    /// A JSON list of the inner type.
    List(Box<TypeRef>),
}

impl TypeRef {
    /// The struct name if this is a struct type.
    pub fn struct_name(&self) -> Option<&str> {
        match self {
            TypeRef::Struct(name) => Some(name),
            _ => None,
        }
    }

    /// The element type if this is a list.
    pub fn list_item(&self) -> Option<&TypeRef> {
        match self {
            TypeRef::List(inner) => Some(inner),
            _ => None,
        }
    }
}

impl fmt::Display for TypeRef {
    /// The schema file's spelling of the type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Any => f.write_str("any"),
            TypeRef::String => f.write_str("string"),
            TypeRef::Integer {
                min: Some(lo),
                max: Some(hi),
            } => write!(f, "integer({lo}..{hi})"),
            TypeRef::Integer { .. } => f.write_str("integer"),
            TypeRef::UnsignedLong => f.write_str("u64"),
            TypeRef::Boolean => f.write_str("boolean"),
            TypeRef::DateTime => f.write_str("datetime"),
            TypeRef::Time => f.write_str("time"),
            TypeRef::IpAddress => f.write_str("ip"),
            TypeRef::MacAddress => f.write_str("mac"),
            TypeRef::Community => f.write_str("community"),
            TypeRef::ServiceInterface => f.write_str("service-interface"),
            TypeRef::Enum(values) => write!(f, "enum({})", values.join("|")),
            TypeRef::Struct(name) => f.write_str(name),
            TypeRef::List(inner) => write!(f, "[{inner}]"),
        }
    }
}

/// One field of a struct type.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// JSON key, e.g. `ip_prefix_len`.
    pub name: String,
    /// Its type.
    pub ty: TypeRef,
    /// Marked required in the xsd. Informational: clients send null for unset
    /// fields, so validation does not enforce it.
    pub required: bool,
}

/// A struct (xsd complexType): a JSON object with a fixed set of keys.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// xsd name, e.g. `IpamSubnetType`.
    pub name: String,
    /// Fields in declaration order.
    pub fields: Vec<FieldDef>,
    pub(crate) index: HashMap<String, usize>,
}

impl TypeDef {
    pub(crate) fn new(name: String) -> Self {
        Self {
            name,
            fields: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.index.get(name).map(|&i| &self.fields[i])
    }
}

/// Who may set a property (Contrail's `required` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Users may leave it out.
    Optional,
    /// Marked required by the schema. Contrail does not enforce this
    /// generically (it allocates `instance_ip_address` when absent, say).
    Required,
    /// Set by the system.
    SystemOnly,
    /// Set by admins only.
    AdminOnly,
}

/// Which operations the schema lists for a property (Contrail's
/// `operations`, e.g. `CR` for create-once fields). Informational: Contrail
/// itself still accepts `id_perms`/`perms2` from clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ops {
    /// May be given on create.
    pub create: bool,
    /// Is returned on read.
    pub read: bool,
    /// May be changed by update.
    pub update: bool,
    /// May be cleared.
    pub delete: bool,
}

impl Ops {
    /// All of create, read, update, delete.
    pub const CRUD: Ops = Ops {
        create: true,
        read: true,
        update: true,
        delete: true,
    };
}

/// A property served as a prop-collection (`/prop-collection-get`,
/// `/prop-collection-update`). The property's value is a wrapper struct with a
/// single list field (`field`) whose items have type `item`.
#[derive(Debug, Clone, PartialEq)]
pub enum Collection {
    /// Items are addressed by position.
    List {
        /// Key field inside an item, if any (Contrail lists have none).
        key: Option<String>,
        /// The wrapper's list field, e.g. `fat_flow_protocol`.
        field: String,
        /// Item type.
        item: TypeRef,
    },
    /// Items are addressed by the value of their `key` field.
    Map {
        /// Key field inside an item, e.g. `key` for KeyValuePair.
        key: String,
        /// The wrapper's list field, e.g. `key_value_pair`.
        field: String,
        /// Item type.
        item: TypeRef,
    },
}

impl Collection {
    /// The wrapper's list field name.
    pub fn field(&self) -> &str {
        match self {
            Collection::List { field, .. } | Collection::Map { field, .. } => field,
        }
    }

    /// The item type.
    pub fn item(&self) -> &TypeRef {
        match self {
            Collection::List { item, .. } | Collection::Map { item, .. } => item,
        }
    }

    /// The key field of items, if they have one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Collection::List { key, .. } => key.as_deref(),
            Collection::Map { key, .. } => Some(key),
        }
    }
}

/// A property of a resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct PropDef {
    /// JSON key, e.g. `virtual_network_properties`.
    pub name: String,
    /// Its type.
    pub ty: TypeRef,
    /// `presence == Presence::Required` (see there).
    pub required: bool,
    /// Who sets it.
    pub presence: Presence,
    /// Operations allowed on it.
    pub ops: Ops,
    /// The value Contrail assumes when it is absent.
    pub default: Option<Value>,
    /// Set when this is a list/map prop-collection.
    pub collection: Option<Collection>,
}

/// A reference from one resource type to another.
#[derive(Debug, Clone, PartialEq)]
pub struct RefDef {
    /// Target type, e.g. `network-ipam`.
    pub to: String,
    /// Link attribute type; `None` means the attr is always null.
    pub attr: Option<TypeRef>,
    /// The field holding these refs, e.g. `network_ipam_refs`.
    pub field: String,
    /// Marked weak in the schema (Contrail's third ref flag).
    pub weak: bool,
}

/// What a top-level key of a resource's JSON body is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind<'a> {
    /// `uuid`, `fq_name`, `name`, `parent_type`, `parent_uuid`, `parent_href`, `href`.
    Identity,
    /// A property.
    Prop(&'a PropDef),
    /// A `<type>_refs` field.
    Ref(&'a RefDef),
    /// A `<type>_back_refs` field, from the named source type.
    BackRef(&'a str),
    /// A children field (`virtual_networks`), of the named child type.
    Children(&'a str),
}

/// The identity keys every resource body may carry.
pub const IDENTITY_FIELDS: [&str; 7] = [
    "uuid",
    "fq_name",
    "name",
    "parent_type",
    "parent_uuid",
    "parent_href",
    "href",
];

/// One resource type, e.g. `virtual-network`.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// Type name, e.g. `virtual-network`.
    pub name: String,
    /// Allowed parent types; `["config-root"]` for top-level types, empty for
    /// config-root itself.
    pub parents: Vec<String>,
    /// Properties, the common ones (id_perms, perms2, annotations,
    /// display_name) first.
    pub props: Vec<PropDef>,
    /// Outgoing references.
    pub refs: Vec<RefDef>,
    /// Types that may have this type as parent.
    pub children: Vec<String>,
    /// Types that have a ref to this type.
    pub back_refs: Vec<String>,
    pub(crate) underscored: String,
    pub(crate) collection: String,
    pub(crate) children_field: String,
    pub(crate) ref_field: String,
    pub(crate) back_ref_field: String,
    pub(crate) prop_index: HashMap<String, usize>,
    pub(crate) ref_index: HashMap<String, usize>,
    pub(crate) ref_field_index: HashMap<String, usize>,
    pub(crate) back_ref_field_index: HashMap<String, usize>,
    pub(crate) children_field_index: HashMap<String, usize>,
    /// Bit n set: objects of this type can have an fq_name of n parts.
    pub(crate) fq_depths: u64,
}

impl ResourceType {
    pub(crate) fn new(name: String) -> Self {
        use crate::names;
        Self {
            underscored: names::underscored(&name),
            collection: names::collection_name(&name),
            children_field: names::children_field_name(&name),
            ref_field: names::ref_field_name(&name),
            back_ref_field: names::back_ref_field_name(&name),
            name,
            parents: Vec::new(),
            props: Vec::new(),
            refs: Vec::new(),
            children: Vec::new(),
            back_refs: Vec::new(),
            prop_index: HashMap::new(),
            ref_index: HashMap::new(),
            ref_field_index: HashMap::new(),
            back_ref_field_index: HashMap::new(),
            children_field_index: HashMap::new(),
            fq_depths: 0,
        }
    }

    /// `virtual_network`.
    pub fn underscored(&self) -> &str {
        &self.underscored
    }

    /// REST collection, `virtual-networks`.
    pub fn collection(&self) -> &str {
        &self.collection
    }

    /// The field a parent lists these under, `virtual_networks`.
    pub fn children_field(&self) -> &str {
        &self.children_field
    }

    /// The field other types use to refer to this one, `virtual_network_refs`.
    pub fn ref_field(&self) -> &str {
        &self.ref_field
    }

    /// The field this type appears under in its ref targets,
    /// `virtual_network_back_refs`.
    pub fn back_ref_field(&self) -> &str {
        &self.back_ref_field
    }

    /// True when the type has no parent but config-root.
    pub fn is_top_level(&self) -> bool {
        self.parents.iter().all(|p| p == "config-root")
    }

    /// True when `parent_type` is an allowed parent.
    pub fn has_parent(&self, parent_type: &str) -> bool {
        self.parents.iter().any(|p| p == parent_type)
    }

    /// The property named `name`.
    pub fn prop(&self, name: &str) -> Option<&PropDef> {
        self.prop_index.get(name).map(|&i| &self.props[i])
    }

    /// The ref to `target_type` (`network-ipam`).
    pub fn ref_to(&self, target_type: &str) -> Option<&RefDef> {
        self.ref_index.get(target_type).map(|&i| &self.refs[i])
    }

    /// The ref held in `field` (`network_ipam_refs`).
    pub fn ref_by_field(&self, field: &str) -> Option<&RefDef> {
        self.ref_field_index.get(field).map(|&i| &self.refs[i])
    }

    /// The type whose back refs are listed in `field`
    /// (`virtual_network_back_refs` -> `virtual-network`).
    pub fn back_ref_by_field(&self, field: &str) -> Option<&str> {
        self.back_ref_field_index
            .get(field)
            .map(|&i| self.back_refs[i].as_str())
    }

    /// The child type listed in `field` (`virtual_networks` -> `virtual-network`).
    pub fn child_by_field(&self, field: &str) -> Option<&str> {
        self.children_field_index
            .get(field)
            .map(|&i| self.children[i].as_str())
    }

    /// The fq_name lengths objects of this type can have (`project`: 2).
    pub fn fq_name_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        (1..64).filter(|n| self.fq_depths & (1 << n) != 0)
    }

    /// Props that have a schema default, with it.
    pub fn prop_defaults(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.props
            .iter()
            .filter_map(|p| p.default.as_ref().map(|d| (p.name.as_str(), d)))
    }

    /// Properties the schema marks required (see [`Presence::Required`]).
    pub fn required_props(&self) -> impl Iterator<Item = &PropDef> {
        self.props.iter().filter(|p| p.required)
    }

    /// Properties served as prop-collections.
    pub fn collection_props(&self) -> impl Iterator<Item = &PropDef> {
        self.props.iter().filter(|p| p.collection.is_some())
    }

    /// Classifies a top-level key of this type's JSON body; `None` when the
    /// key is not part of the type.
    pub fn field_kind(&self, key: &str) -> Option<FieldKind<'_>> {
        if IDENTITY_FIELDS.contains(&key) {
            return Some(FieldKind::Identity);
        }
        if let Some(p) = self.prop(key) {
            return Some(FieldKind::Prop(p));
        }
        if let Some(r) = self.ref_by_field(key) {
            return Some(FieldKind::Ref(r));
        }
        if let Some(t) = self.back_ref_by_field(key) {
            return Some(FieldKind::BackRef(t));
        }
        self.child_by_field(key).map(FieldKind::Children)
    }
}
