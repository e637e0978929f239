//! The linked schema: resource types and struct types with every name
//! resolved and every lookup index built once, plus the process-wide
//! [`schema()`] parsed from the embedded `schema/vnc.schema`.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::error::SchemaError;
use crate::parse;
use crate::types::{Collection, ResourceType, TypeDef, TypeRef};

/// The embedded schema text.
pub const SCHEMA_TEXT: &str = include_str!("../schema/vnc.schema");

/// The root of every fq_name tree; implicit parent of top-level types.
pub const CONFIG_ROOT: &str = "config-root";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| match Schema::from_text(SCHEMA_TEXT) {
    Ok(s) => s,
    // The embedded text is tested; failing here is a build defect, not input.
    Err(e) => panic!("embedded VNC schema is invalid: {e}"),
});

/// The VNC schema, parsed and linked on first use.
pub fn schema() -> &'static Schema {
    &SCHEMA
}

/// All resource types and struct types, with lookup indexes.
#[derive(Debug)]
pub struct Schema {
    resources: Vec<ResourceType>,
    by_name: HashMap<String, usize>,
    by_collection: HashMap<String, usize>,
    by_underscored: HashMap<String, usize>,
    types: Vec<TypeDef>,
    type_index: HashMap<String, usize>,
}

impl Schema {
    /// Parses and links a schema text.
    pub fn from_text(text: &str) -> Result<Schema, SchemaError> {
        let parsed = parse::parse(text)?;
        link(parsed)
    }

    /// Resource type by name, `virtual-network`.
    pub fn resource(&self, type_name: &str) -> Option<&ResourceType> {
        self.by_name.get(type_name).map(|&i| &self.resources[i])
    }

    /// Resource type by REST collection, `virtual-networks`.
    pub fn resource_by_collection(&self, collection: &str) -> Option<&ResourceType> {
        self.by_collection
            .get(collection)
            .map(|&i| &self.resources[i])
    }

    /// Resource type by underscored name, `virtual_network`.
    pub fn resource_by_underscored(&self, name: &str) -> Option<&ResourceType> {
        self.by_underscored.get(name).map(|&i| &self.resources[i])
    }

    /// Resource type by hyphenated or underscored name (`virtual-network`
    /// or `virtual_network`), as request bodies use either.
    pub fn resource_by_any_name(&self, name: &str) -> Option<&ResourceType> {
        self.resource(name)
            .or_else(|| self.resource_by_underscored(name))
    }

    /// Every resource type, config-root included, sorted by name.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceType> {
        self.resources.iter()
    }

    /// Types that may have `parent_type` as their parent.
    pub fn children_of(&self, parent_type: &str) -> Vec<&ResourceType> {
        self.resource(parent_type)
            .map(|p| p.children.iter().filter_map(|c| self.resource(c)).collect())
            .unwrap_or_default()
    }

    /// Types that have a ref to `target_type`.
    pub fn back_ref_sources(&self, target_type: &str) -> Vec<&ResourceType> {
        self.resource(target_type)
            .map(|t| {
                t.back_refs
                    .iter()
                    .filter_map(|s| self.resource(s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The parent type of a new `rt` object whose fq_name has `fq_len`
    /// parts, for requests that name none: the one allowed parent type whose
    /// objects have `fq_len - 1` parts. `None` when no or several types fit.
    pub fn infer_parent_type<'a>(&self, rt: &'a ResourceType, fq_len: usize) -> Option<&'a str> {
        let depth = fq_len.checked_sub(1)?;
        let mut found = None;
        for p in &rt.parents {
            let fits = self
                .resource(p)
                .is_some_and(|pt| depth < 64 && pt.fq_depths & (1 << depth) != 0);
            if fits {
                if found.is_some() {
                    return None;
                }
                found = Some(p.as_str());
            }
        }
        found
    }

    /// Struct type by xsd name, `IpamSubnetType`.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.type_index.get(name).map(|&i| &self.types[i])
    }

    /// Every struct type, in schema order.
    pub fn type_defs(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.iter()
    }
}

/// Resolves names, fills derived fields and builds indexes.
fn link(parsed: parse::Parsed) -> Result<Schema, SchemaError> {
    let parse::Parsed {
        structs: mut types,
        common,
        mut resources,
    } = parsed;
    let err = |m: String| SchemaError::Link(m);

    // Struct types.
    let mut type_index = HashMap::new();
    for (i, t) in types.iter_mut().enumerate() {
        if type_index.insert(t.name.clone(), i).is_some() {
            return Err(err(format!("struct `{}` declared twice", t.name)));
        }
        for (j, f) in t.fields.iter().enumerate() {
            if t.index.insert(f.name.clone(), j).is_some() {
                return Err(err(format!("field `{}.{}` declared twice", t.name, f.name)));
            }
        }
    }
    let check_type = |ty: &TypeRef, ctx: &str| -> Result<(), SchemaError> {
        let mut ty = ty;
        while let TypeRef::List(inner) = ty {
            ty = inner;
        }
        match ty {
            TypeRef::Struct(name) if !type_index.contains_key(name) => {
                Err(err(format!("{ctx}: unknown type `{name}`")))
            }
            _ => Ok(()),
        }
    };
    for t in &types {
        for f in &t.fields {
            check_type(&f.ty, &format!("{}.{}", t.name, f.name))?;
        }
    }

    // Resources: identity, common props, own indexes.
    if !resources.iter().any(|r| r.name == CONFIG_ROOT) {
        resources.push(ResourceType::new(CONFIG_ROOT.to_owned()));
    }
    resources.sort_by(|a, b| a.name.cmp(&b.name));
    let mut by_name = HashMap::new();
    let mut by_collection = HashMap::new();
    let mut by_underscored = HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        for (map, key) in [
            (&mut by_name, &r.name),
            (&mut by_collection, &r.collection),
            (&mut by_underscored, &r.underscored),
        ] {
            if map.insert(key.clone(), i).is_some() {
                return Err(err(format!("resource name `{key}` used twice")));
            }
        }
    }
    for r in resources.iter_mut() {
        if r.name == CONFIG_ROOT {
            r.parents.clear();
        } else if r.parents.is_empty() {
            r.parents.push(CONFIG_ROOT.to_owned());
        }
        let own = std::mem::take(&mut r.props);
        r.props = common.iter().cloned().chain(own).collect();
        for (j, p) in r.props.iter_mut().enumerate() {
            if r.prop_index.insert(p.name.clone(), j).is_some() {
                return Err(err(format!(
                    "prop `{}` of `{}` declared twice",
                    p.name, r.name
                )));
            }
            let ctx = format!("{}.{}", r.name, p.name);
            check_type(&p.ty, &ctx)?;
            if let Some(c) = p.collection.as_mut() {
                resolve_collection(c, &p.ty, &types, &type_index)
                    .map_err(|m| err(format!("{ctx}: {m}")))?;
            }
        }
        for (j, rf) in r.refs.iter().enumerate() {
            if r.ref_index.insert(rf.to.clone(), j).is_some() {
                return Err(err(format!(
                    "ref `{}` -> `{}` declared twice",
                    r.name, rf.to
                )));
            }
            r.ref_field_index.insert(rf.field.clone(), j);
            if !by_name.contains_key(&rf.to) {
                return Err(err(format!("ref `{}` -> unknown type `{}`", r.name, rf.to)));
            }
            if let Some(attr) = &rf.attr {
                check_type(attr, &format!("ref {} -> {}", r.name, rf.to))?;
            }
        }
        for p in &r.parents {
            if !by_name.contains_key(p) {
                return Err(err(format!("`{}` has unknown parent `{p}`", r.name)));
            }
        }
    }

    // Derived: children and back refs.
    let mut children: Vec<Vec<String>> = vec![Vec::new(); resources.len()];
    let mut back_refs: Vec<Vec<String>> = vec![Vec::new(); resources.len()];
    for r in &resources {
        for p in &r.parents {
            children[by_name[p]].push(r.name.clone());
        }
        for rf in &r.refs {
            back_refs[by_name[&rf.to]].push(r.name.clone());
        }
    }
    for ((r, ch), br) in resources.iter_mut().zip(children).zip(back_refs) {
        r.children = ch;
        r.back_refs = br;
        for (j, c) in r.children.iter().enumerate() {
            r.children_field_index
                .insert(crate::names::children_field_name(c), j);
        }
        for (j, s) in r.back_refs.iter().enumerate() {
            r.back_ref_field_index
                .insert(crate::names::back_ref_field_name(s), j);
        }
    }

    // fq_name lengths: config-root's objects have none; a child is one
    // longer than its parent. Iterate to a fixed point (the graph is small).
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..resources.len() {
            let mut depths = if resources[i].name == CONFIG_ROOT {
                1u64
            } else {
                0
            };
            for p in &resources[i].parents {
                depths |= resources[by_name[p]].fq_depths << 1;
            }
            if depths != resources[i].fq_depths {
                resources[i].fq_depths = depths;
                changed = true;
            }
        }
    }

    Ok(Schema {
        resources,
        by_name,
        by_collection,
        by_underscored,
        types,
        type_index,
    })
}

/// Fills a collection's wrapper field and item type from the prop's struct
/// type, which must hold exactly one list field.
fn resolve_collection(
    c: &mut Collection,
    ty: &TypeRef,
    types: &[TypeDef],
    index: &HashMap<String, usize>,
) -> Result<(), String> {
    let wrapper = ty
        .struct_name()
        .and_then(|n| index.get(n))
        .map(|&i| &types[i])
        .ok_or("a collection prop must have a struct type")?;
    let [only] = wrapper.fields.as_slice() else {
        return Err(format!(
            "wrapper `{}` must have exactly one field",
            wrapper.name
        ));
    };
    let item = only.ty.list_item().ok_or_else(|| {
        format!(
            "wrapper field `{}.{}` must be a list",
            wrapper.name, only.name
        )
    })?;
    match c {
        Collection::List {
            field, item: it, ..
        } => {
            *field = only.name.clone();
            *it = item.clone();
        }
        Collection::Map {
            key,
            field,
            item: it,
        } => {
            let has_key = item
                .struct_name()
                .and_then(|n| index.get(n))
                .is_some_and(|&i| types[i].index.contains_key(key.as_str()));
            if !has_key {
                return Err(format!("map items have no key field `{key}`"));
            }
            *field = only.name.clone();
            *it = item.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_err(text: &str) -> String {
        match Schema::from_text(text) {
            Err(SchemaError::Link(m)) => m,
            other => panic!("expected a link error, got {other:?}"),
        }
    }

    #[test]
    fn links_a_small_schema() {
        let s = Schema::from_text(
            "struct KV\n  key string\n  value string\nstruct KVs\n  kv [KV]\n\
             common\n  prop annotations KVs map(key)\n\
             resource a\nresource b\n  parent a\n  ref a KV\n",
        )
        .unwrap();
        let b = s.resource("b").unwrap();
        assert_eq!(b.parents, ["a"]);
        assert_eq!(s.resource("a").unwrap().parents, [CONFIG_ROOT]);
        assert_eq!(s.children_of("a")[0].name, "b");
        assert_eq!(s.back_ref_sources("a")[0].name, "b");
        assert_eq!(
            b.prop("annotations")
                .unwrap()
                .collection
                .as_ref()
                .unwrap()
                .field(),
            "kv"
        );
        assert!(s.resource(CONFIG_ROOT).unwrap().parents.is_empty());
    }

    #[test]
    fn reports_broken_links() {
        assert!(link_err("struct S\n  a T\n").contains("unknown type `T`"));
        assert!(link_err("struct S\n  a string\nstruct S\n  b string\n").contains("twice"));
        assert!(link_err("struct S\n  a string\n  a string\n").contains("twice"));
        assert!(link_err("resource a\n  ref b\n").contains("unknown type `b`"));
        assert!(link_err("resource a\n  parent b\n").contains("unknown parent"));
        assert!(link_err("resource a\nresource a\n").contains("used twice"));
        assert!(link_err("resource a\n  prop p string\n  prop p string\n").contains("twice"));
        assert!(
            link_err("struct S\n  a string\nresource a\n  prop p S list\n")
                .contains("must be a list")
        );
        assert!(link_err("resource a\n  prop p string list\n").contains("struct type"));
        assert!(
            link_err("struct S\n  a [string]\nresource a\n  prop p S map(key)\n")
                .contains("no key field")
        );
    }
}
