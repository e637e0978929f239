//! Rewriting values into the form Contrail stores: integers sent as strings
//! or integral floats (accepted here, as Contrail does, though `validate_*`
//! rejects them) become JSON integers, subnet prefixes are
//! masked to their network address, MAC addresses take Contrail's canonical
//! spelling, and absent props can take their schema
//! defaults. Every function validates first and changes nothing on error.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::formats;
use crate::schema::Schema;
use crate::types::{FieldKind, ResourceType, TypeRef};
use crate::validate::Mode;

impl Schema {
    /// Validates property `prop` of `rt`, then normalizes it in place.
    pub fn normalize_prop(
        &self,
        rt: &ResourceType,
        prop: &str,
        value: &mut Value,
    ) -> Result<(), ValidationError> {
        self.prop_in(rt, prop, value, Mode::Lenient)?;
        if let Some(def) = rt.prop(prop) {
            self.coerce(&def.ty, value);
        }
        Ok(())
    }

    /// Validates a ref's link attribute, then normalizes it in place.
    pub fn normalize_ref_attr(
        &self,
        rt: &ResourceType,
        ref_to: &str,
        attr: &mut Value,
    ) -> Result<(), ValidationError> {
        self.ref_attr_in(rt, ref_to, None, attr, Mode::Lenient)?;
        if let Some(ty) = rt.ref_to(ref_to).and_then(|r| r.attr.as_ref()) {
            self.coerce(ty, attr);
        }
        Ok(())
    }

    /// Validates a whole resource body, then normalizes its props and ref
    /// attrs in place.
    pub fn normalize_object(
        &self,
        rt: &ResourceType,
        body: &mut Value,
    ) -> Result<(), ValidationError> {
        self.object_in(rt, body, Mode::Lenient)?;
        let Value::Object(obj) = body else {
            return Ok(());
        };
        for (key, value) in obj.iter_mut() {
            match rt.field_kind(key) {
                Some(FieldKind::Prop(p)) => self.coerce(&p.ty, value),
                Some(FieldKind::Ref(r)) => {
                    let (Some(ty), Value::Array(items)) = (&r.attr, value) else {
                        continue;
                    };
                    for item in items {
                        if let Some(attr) = item.get_mut("attr") {
                            self.coerce(ty, attr);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Validates one prop-collection item, then normalizes it in place.
    pub fn normalize_collection_item(
        &self,
        rt: &ResourceType,
        prop: &str,
        item: &mut Value,
    ) -> Result<(), ValidationError> {
        self.item_in(rt, prop, item, Mode::Lenient)?;
        if let Some(c) = rt.prop(prop).and_then(|p| p.collection.as_ref()) {
            self.coerce(c.item(), item);
        }
        Ok(())
    }

    /// Inserts the schema default of every prop of `rt` that `body` lacks
    /// (or holds as null). Returns how many were filled.
    pub fn fill_defaults(&self, rt: &ResourceType, body: &mut Map<String, Value>) -> usize {
        let mut filled = 0;
        for p in &rt.props {
            let Some(default) = &p.default else { continue };
            let slot = body.entry(p.name.clone()).or_insert(Value::Null);
            if slot.is_null() {
                *slot = default.clone();
                filled += 1;
            }
        }
        filled
    }

    /// Rewrites an already validated value.
    fn coerce(&self, ty: &TypeRef, value: &mut Value) {
        match ty {
            TypeRef::Integer { .. } | TypeRef::UnsignedLong => {
                if let Some(n) = integer_of(value) {
                    *value = n;
                }
            }
            TypeRef::MacAddress => {
                if let Some(mac) = value.as_str().and_then(formats::canonical_mac) {
                    *value = Value::String(mac);
                }
            }
            TypeRef::List(inner) => {
                if let Value::Array(items) = value {
                    for item in items {
                        self.coerce(inner, item);
                    }
                }
            }
            TypeRef::Struct(name) => {
                let (Some(def), Value::Object(obj)) = (self.type_def(name), value) else {
                    return;
                };
                for (key, v) in obj.iter_mut() {
                    if let Some(f) = def.field(key) {
                        self.coerce(&f.ty, v);
                    }
                }
                if name == "SubnetType" {
                    mask_subnet(obj);
                }
            }
            _ => {}
        }
    }
}

/// The JSON integer for a number-like value that is not already an integer.
fn integer_of(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .map(Value::from)
                .or_else(|_| s.parse::<u64>().map(Value::from))
                .ok()
        }
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            let f = n.as_f64()?;
            // Validation already checked the value is integral and in range.
            if f.fract() == 0.0 && f.abs() < 9.0e18 {
                Some(Value::from(f as i64))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Sets `ip_prefix` to the network address of `ip_prefix/ip_prefix_len`.
fn mask_subnet(obj: &mut Map<String, Value>) {
    let Some(len) = obj.get("ip_prefix_len").and_then(Value::as_u64) else {
        return;
    };
    let Some(addr) = obj
        .get("ip_prefix")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<IpAddr>().ok())
    else {
        return;
    };
    let network = match addr {
        IpAddr::V4(a) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len as u32).unwrap_or(0);
            IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len as u32).unwrap_or(0);
            IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
        _ => return,
    };
    obj.insert("ip_prefix".into(), Value::String(network.to_string()));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::schema;

    #[test]
    fn integers_from_strings_and_masked_subnets() {
        let s = schema();
        let vn = s.resource("virtual-network").unwrap();
        let mut v = json!({"ipam_subnets": [{"subnet": {"ip_prefix": "10.0.0.77", "ip_prefix_len": "24"}}]});
        s.normalize_ref_attr(vn, "network-ipam", &mut v).unwrap();
        assert_eq!(
            v["ipam_subnets"][0]["subnet"],
            json!({"ip_prefix": "10.0.0.0", "ip_prefix_len": 24})
        );
        let mut v = json!({"ip_prefix": "fd00::1:2", "ip_prefix_len": 112});
        s.coerce(&crate::TypeRef::Struct("SubnetType".into()), &mut v);
        assert_eq!(v["ip_prefix"], "fd00::1:0");
        let mut v = json!({"ip_prefix": "1.2.3.4", "ip_prefix_len": 0});
        s.coerce(&crate::TypeRef::Struct("SubnetType".into()), &mut v);
        assert_eq!(v["ip_prefix"], "0.0.0.0");
        let mut mac = json!(" 300 ");
        s.normalize_prop(vn, "mac_aging_time", &mut mac).unwrap();
        assert_eq!(mac, json!(300));
        let mut f = json!(5.0);
        s.normalize_prop(vn, "mac_aging_time", &mut f).unwrap();
        assert_eq!(f, json!(5));
    }

    #[test]
    fn nothing_changes_on_error() {
        let s = schema();
        let vn = s.resource("virtual-network").unwrap();
        let mut body =
            json!({"mac_aging_time": "12", "virtual_network_properties": {"rpf": "maybe"}});
        let before = body.clone();
        assert!(s.normalize_object(vn, &mut body).is_err());
        assert_eq!(body, before);
        let mut body = json!({"mac_aging_time": "12", "network_ipam_refs": [{"to": ["a"], "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.1.1.1", "ip_prefix_len": 16}}]}}]});
        s.normalize_object(vn, &mut body).unwrap();
        assert_eq!(body["mac_aging_time"], json!(12));
        assert_eq!(
            body["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"]["ip_prefix"],
            "10.1.0.0"
        );
    }

    #[test]
    fn macs_are_canonical() {
        let s = schema();
        let vmi = s.resource("virtual-machine-interface").unwrap();
        let mut v = json!({"mac_address": ["02-AA-BB-CC-DD-0E", null]});
        s.normalize_prop(vmi, "virtual_machine_interface_mac_addresses", &mut v)
            .unwrap();
        assert_eq!(v, json!({"mac_address": ["02:aa:bb:cc:dd:0e", null]}));
    }

    #[test]
    fn defaults() {
        let s = schema();
        let vn = s.resource("virtual-network").unwrap();
        let mut body = serde_json::Map::new();
        body.insert("port_security_enabled".into(), json!(false));
        body.insert("mac_aging_time".into(), json!(null));
        let n = s.fill_defaults(vn, &mut body);
        assert!(n >= 5, "{n}");
        assert_eq!(body["port_security_enabled"], json!(false));
        assert_eq!(body["mac_aging_time"], json!(300));
        assert_eq!(body["virtual_network_category"], json!("tenant"));
        assert!(!body.contains_key("virtual_network_properties"));
    }
}
