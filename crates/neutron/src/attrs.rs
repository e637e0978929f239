//! A resource's attributes as Neutron declares them (allowed on POST, on PUT, required, type)
//! and the parsing of a request body `{"<resource>": {...}}` against them: unknown attributes,
//! read-only ones and values of the wrong type are each Neutron's 400 naming the attribute.

use serde_json::{Map, Value};

use crate::error::{NResult, NeutronError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Str,
    Int,
    List,
    Dict,
    Any,
}

#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub post: bool,
    pub put: bool,
    pub required: bool,
    pub ty: Ty,
    /// `null` is accepted.
    pub nullable: bool,
}

/// An attribute set on create and update.
pub const fn rw(name: &'static str, ty: Ty) -> Attr {
    Attr {
        name,
        post: true,
        put: true,
        required: false,
        ty,
        nullable: false,
    }
}

/// An attribute set on create only.
pub const fn create_only(name: &'static str, ty: Ty) -> Attr {
    Attr {
        put: false,
        ..rw(name, ty)
    }
}

/// An attribute the server sets (read only).
pub const fn ro(name: &'static str) -> Attr {
    Attr {
        post: false,
        put: false,
        ..rw(name, Ty::Any)
    }
}

impl Attr {
    pub const fn required(self) -> Attr {
        Attr {
            required: true,
            ..self
        }
    }
    pub const fn nullable(self) -> Attr {
        Attr {
            nullable: true,
            ..self
        }
    }
}

/// Attributes every resource has.
pub const COMMON: [Attr; 5] = [
    ro("id"),
    rw("name", Ty::Str),
    rw("description", Ty::Str),
    create_only("tenant_id", Ty::Str),
    create_only("project_id", Ty::Str),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
}

/// Parses `{"<resource>": {...}}` and checks every attribute; returns the inner object with
/// booleans and integers given as strings converted, as Neutron converts them.
pub fn parse(bytes: &[u8], resource: &str, attrs: &[Attr], op: Op) -> NResult<Map<String, Value>> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|_| NeutronError::Malformed("Body contains invalid data".into()))?;
    let Value::Object(mut outer) = v else {
        return Err(NeutronError::Malformed("Body contains invalid data".into()));
    };
    let Some(inner) = outer.remove(resource) else {
        return Err(NeutronError::Malformed(format!(
            "Unable to find '{resource}' in request body"
        )));
    };
    if let Some(other) = outer.keys().next() {
        return Err(NeutronError::UnknownAttributes(other.clone()));
    }
    let Value::Object(mut body) = inner else {
        return Err(NeutronError::Malformed(format!(
            "Malformed request body: '{resource}' is not an object"
        )));
    };
    let find = |k: &str| attrs.iter().chain(COMMON.iter()).find(|a| a.name == k);
    let unknown: Vec<String> = body.keys().filter(|k| find(k).is_none()).cloned().collect();
    if !unknown.is_empty() {
        return Err(NeutronError::UnknownAttributes(unknown.join(", ")));
    }
    let verb = match op {
        Op::Create => "POST",
        Op::Update => "PUT",
    };
    for (k, v) in body.iter_mut() {
        let a = find(k).expect("checked above");
        let allowed = match op {
            Op::Create => a.post,
            Op::Update => a.put,
        };
        if !allowed {
            return Err(NeutronError::NotAllowed {
                attr: k.clone(),
                op: verb,
            });
        }
        convert(a, v)?;
    }
    if op == Op::Create {
        for a in attrs.iter().filter(|a| a.required) {
            if !body.contains_key(a.name) {
                return Err(NeutronError::Missing(a.name.to_string()));
            }
        }
    }
    Ok(body)
}

fn convert(a: &Attr, v: &mut Value) -> NResult<()> {
    if v.is_null() {
        return if a.nullable || a.ty == Ty::Any {
            Ok(())
        } else {
            Err(NeutronError::invalid(a.name, "'None' is not a valid value"))
        };
    }
    let text = match &*v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    let shown = || text.clone();
    match a.ty {
        Ty::Bool => match v {
            Value::Bool(_) => {}
            Value::String(s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                *v = Value::Bool(s.eq_ignore_ascii_case("true"))
            }
            // Neutron's converters fail with InvalidInput, not naming the attribute
            _ => {
                return Err(NeutronError::InvalidInput(format!(
                    "{} cannot be converted to boolean",
                    shown()
                )));
            }
        },
        Ty::Int => match v {
            Value::Number(n) if n.is_i64() => {}
            Value::String(s) if s.trim().parse::<i64>().is_ok() => {
                *v = Value::from(s.trim().parse::<i64>().unwrap_or_default())
            }
            _ => {
                return Err(NeutronError::InvalidInput(format!(
                    "{} is not an integer",
                    shown()
                )));
            }
        },
        Ty::Str => {
            let Value::String(s) = v else {
                return Err(NeutronError::invalid(
                    a.name,
                    format!("'{v}' is not a valid string"),
                ));
            };
            if s.len() > 255 {
                return Err(NeutronError::invalid(
                    a.name,
                    format!("'{s}' exceeds maximum length of 255"),
                ));
            }
        }
        Ty::List => {
            if !v.is_array() {
                return Err(NeutronError::invalid(
                    a.name,
                    format!("{} is not a list", shown()),
                ));
            }
        }
        Ty::Dict => {
            if !v.is_object() {
                return Err(NeutronError::invalid(
                    a.name,
                    format!("{} is not a dictionary", shown()),
                ));
            }
        }
        Ty::Any => {}
    }
    Ok(())
}

/// A string attribute of `body`, if given and not null.
pub fn s<'a>(body: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    body.get(k).and_then(Value::as_str)
}

/// A boolean attribute of `body`, if given.
pub fn b(body: &Map<String, Value>, k: &str) -> Option<bool> {
    body.get(k).and_then(Value::as_bool)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[Attr] = &[
        rw("mtu", Ty::Int),
        rw("shared", Ty::Bool),
        create_only("cidr", Ty::Str).required(),
    ];

    fn err(body: &str, op: Op) -> String {
        parse(body.as_bytes(), "network", A, op)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn names_the_attribute_that_is_wrong() {
        assert_eq!(
            err(r#"{"network": {"cidr": "x", "colour": 1}}"#, Op::Create),
            "Unrecognized attribute(s) 'colour'"
        );
        assert_eq!(
            err(r#"{"network": {"cidr": "x", "mtu": "big"}}"#, Op::Create),
            "Invalid input for operation: 'big' is not an integer."
        );
        assert_eq!(
            err(r#"{"network": {"cidr": "x", "shared": 3}}"#, Op::Create),
            "Invalid input for operation: 3 cannot be converted to boolean."
        );
        assert!(err(r#"{"network": {}}"#, Op::Create).contains("'cidr'"));
        assert_eq!(
            err(r#"{"network": {"cidr": "y"}}"#, Op::Update),
            "Cannot update read-only attribute cidr"
        );
        assert_eq!(err("{nope", Op::Create), "Body contains invalid data");
    }

    #[test]
    fn converts_strings_as_neutron_does() {
        let b = parse(
            br#"{"network": {"cidr": "x", "mtu": "1400", "shared": "True"}}"#,
            "network",
            A,
            Op::Create,
        )
        .unwrap();
        assert_eq!(b["mtu"], 1400);
        assert_eq!(b["shared"], true);
    }
}
