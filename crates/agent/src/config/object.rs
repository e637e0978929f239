//! One config object as the controller sends it: identity (type, uuid, fq_name, parent) and
//! the JSON body the VNC API stores (properties and forward refs `<type>_refs: [{to, uuid,
//! attr}]`). Children and back refs are derived by [`super::store::ConfigStore`].

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ConfigError;

/// A config object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Resource type, e.g. `virtual-machine-interface`.
    pub kind: String,
    pub uuid: String,
    pub fq_name: Vec<String>,
    /// Parent type and uuid (empty for objects under config-root).
    pub parent_type: String,
    pub parent_uuid: String,
    /// Properties and forward refs.
    pub body: Map<String, Value>,
    pub revision: i64,
}

/// One forward ref.
#[derive(Debug, Clone, Copy)]
pub struct Ref<'a> {
    /// Target type as the field spells it (`virtual_network` for `virtual_network_refs`).
    pub to_type: &'a str,
    pub uuid: &'a str,
    /// The link attribute (`Value::Null` when none).
    pub attr: &'a Value,
}

impl Object {
    /// Reads an object off the wire (`body` is the stored JSON document).
    pub fn from_wire(o: &cirrus_proto::v1::ConfigObject) -> Result<Object, ConfigError> {
        let what = || format!("{} {}", o.r#type, o.uuid);
        if o.r#type.is_empty() || o.uuid.is_empty() {
            return Err(ConfigError::Object {
                object: what(),
                why: "type and uuid are required".into(),
            });
        }
        let body = match serde_json::from_slice::<Value>(&o.body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(ConfigError::Object {
                    object: what(),
                    why: "body is not a JSON object".into(),
                });
            }
            Err(e) => {
                return Err(ConfigError::Object {
                    object: what(),
                    why: format!("body is not JSON: {e}"),
                });
            }
        };
        Ok(Object {
            kind: o.r#type.clone(),
            uuid: o.uuid.clone(),
            fq_name: o.fq_name.clone(),
            parent_type: o.parent_type.clone(),
            parent_uuid: o.parent_uuid.clone(),
            body,
            revision: o.revision,
        })
    }

    /// The last fq_name element.
    pub fn name(&self) -> &str {
        self.fq_name.last().map(String::as_str).unwrap_or("")
    }

    /// The fq_name joined with ':'.
    pub fn fq_str(&self) -> String {
        self.fq_name.join(":")
    }

    /// Every forward ref, with its target type taken from the field name
    /// (`virtual_network_refs` -> `virtual_network`).
    pub fn refs(&self) -> impl Iterator<Item = Ref<'_>> {
        self.body
            .iter()
            .filter_map(|(field, list)| {
                let to_type = field.strip_suffix("_refs")?;
                let list = list.as_array()?;
                Some(list.iter().filter_map(move |r| {
                    Some(Ref {
                        to_type,
                        uuid: r.get("uuid")?.as_str()?,
                        attr: r.get("attr").unwrap_or(&Value::Null),
                    })
                }))
            })
            .flatten()
    }

    /// Refs to objects of `to_type` (`virtual-network` or `virtual_network`).
    pub fn refs_to<'a>(&'a self, to_type: &str) -> impl Iterator<Item = Ref<'a>> + 'a {
        let field = format!("{}_refs", to_type.replace('-', "_"));
        let list = self.body.get(&field).and_then(Value::as_array);
        let to = self
            .body
            .get_key_value(&field)
            .map(|(k, _)| k.trim_end_matches("_refs"))
            .unwrap_or("");
        list.into_iter().flatten().filter_map(move |r| {
            Some(Ref {
                to_type: to,
                uuid: r.get("uuid")?.as_str()?,
                attr: r.get("attr").unwrap_or(&Value::Null),
            })
        })
    }

    /// A property as a typed value; `None` when absent or null. A value of the wrong shape
    /// is an error naming the object and the property.
    pub fn prop<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|e| ConfigError::Property {
                    object: format!("{} {}", self.kind, self.uuid),
                    property: name.to_string(),
                    why: e.to_string(),
                }),
        }
    }

    /// A property read leniently: absent, null or malformed all give `None` (for optional
    /// knobs where a bad value must not take the port down).
    pub fn prop_or_none<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.prop(name).ok().flatten()
    }

    pub fn str_prop(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }

    pub fn bool_prop(&self, name: &str) -> Option<bool> {
        self.body.get(name).and_then(Value::as_bool)
    }

    pub fn int_prop(&self, name: &str) -> Option<i64> {
        match self.body.get(name)? {
            Value::Number(n) => n.as_i64(),
            // Some ids (tag_id) are stored as hex strings.
            Value::String(s) => parse_int(s),
            _ => None,
        }
    }
}

/// Reads `123`, `0x7b` or `0X7B`.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(body: Value) -> Object {
        Object {
            kind: "virtual-machine-interface".into(),
            uuid: "u1".into(),
            fq_name: vec!["default-domain".into(), "p".into(), "port".into()],
            parent_type: "project".into(),
            parent_uuid: "p1".into(),
            body: body.as_object().unwrap().clone(),
            revision: 1,
        }
    }

    #[test]
    fn refs_and_props_read_the_stored_shape() {
        let o = obj(json!({
            "virtual_network_refs": [{"to": ["d", "p", "vn"], "uuid": "vn1", "attr": null}],
            "security_group_refs": [{"to": ["d", "p", "sg"], "uuid": "sg1"}],
            "port_security_enabled": true,
            "tag_id": "0x00010002",
            "virtual_machine_interface_mac_addresses": {"mac_address": ["02:00:00:00:00:01"]}
        }));
        let mut refs: Vec<_> = o.refs().map(|r| (r.to_type, r.uuid)).collect();
        refs.sort();
        assert_eq!(
            refs,
            vec![("security_group", "sg1"), ("virtual_network", "vn1")]
        );
        assert_eq!(o.refs_to("virtual-network").count(), 1);
        assert_eq!(o.refs_to("virtual-machine").count(), 0);
        assert_eq!(o.bool_prop("port_security_enabled"), Some(true));
        assert_eq!(o.int_prop("tag_id"), Some(0x0001_0002));
        assert_eq!(o.fq_str(), "default-domain:p:port");
        #[derive(Debug, serde::Deserialize)]
        struct Macs {
            mac_address: Vec<String>,
        }
        let m: Macs = o
            .prop("virtual_machine_interface_mac_addresses")
            .unwrap()
            .unwrap();
        assert_eq!(m.mac_address, vec!["02:00:00:00:00:01"]);
        let bad = o.prop::<Macs>("port_security_enabled").unwrap_err();
        assert!(bad.to_string().contains("port_security_enabled"), "{bad}");
        assert!(bad.to_string().contains("u1"), "{bad}");
    }
}
