//! `/ui/schema.json`: the VNC schema of `cirrus-model` as the console reads it. Types are
//! written in the schema file's own spelling (`integer(0..65535)`, `enum(a|b)`,
//! `[IpamSubnetType]`), which the app parses; nothing here is per resource type.

use std::sync::LazyLock;

use cirrus_model::{Presence, Schema};
use serde_json::{Map, Value, json};

static JSON: LazyLock<String> = LazyLock::new(|| to_json(cirrus_model::schema()).to_string());

/// The schema document, built once.
pub fn json() -> &'static str {
    &JSON
}

/// `{types: {name: {...}}, structs: {name: [{name, type}]}}`.
pub fn to_json(schema: &Schema) -> Value {
    let mut types = Map::new();
    for t in schema.resources().filter(|t| t.name != "config-root") {
        let props: Vec<Value> = t
            .props
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "type": p.ty.to_string(),
                    "presence": match p.presence {
                        Presence::Optional => "optional",
                        Presence::Required => "required",
                        Presence::SystemOnly => "system-only",
                        Presence::AdminOnly => "admin-only",
                    },
                    "create": p.ops.create,
                    "update": p.ops.update,
                    "default": p.default,
                })
            })
            .collect();
        let refs: Vec<Value> = t
            .refs
            .iter()
            .map(|r| {
                json!({
                    "to": r.to,
                    "field": r.field,
                    "attr": r.attr.as_ref().map(ToString::to_string),
                })
            })
            .collect();
        types.insert(
            t.name.clone(),
            json!({
                "collection": t.collection(),
                "parents": t.parents,
                "children": t.children,
                "children_field": t.children_field(),
                "back_refs": t.back_refs,
                "back_ref_field": t.back_ref_field(),
                "props": props,
                "refs": refs,
            }),
        );
    }
    let mut structs = Map::new();
    for s in schema.type_defs() {
        let fields: Vec<Value> = s
            .fields
            .iter()
            .map(|f| json!({"name": f.name, "type": f.ty.to_string()}))
            .collect();
        structs.insert(s.name.clone(), Value::Array(fields));
    }
    json!({"types": types, "structs": structs})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_with_its_refs_props_and_structs() {
        let v: Value = serde_json::from_str(json()).unwrap();
        let vn = &v["types"]["virtual-network"];
        assert_eq!(vn["collection"], "virtual-networks");
        assert_eq!(vn["parents"], json!(["project"]));
        let ipam = vn["refs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["to"] == "network-ipam")
            .unwrap();
        assert_eq!(ipam["field"], "network_ipam_refs");
        assert_eq!(ipam["attr"], "VnSubnetsType");
        assert!(
            vn["back_refs"]
                .as_array()
                .unwrap()
                .contains(&json!("virtual-machine-interface"))
        );
        assert!(v["structs"]["IpamSubnetType"].is_array());
        assert!(v["types"].get("config-root").is_none());
        let count = v["types"].as_object().unwrap().len();
        assert_eq!(count, cirrus_model::schema().resources().count() - 1);
    }
}
