//! Parser for the schema text format (grammar at the top of
//! `schema/vnc.schema`). It turns lines into declarations; linking names
//! together and building indexes is `schema.rs`'s job.

use serde_json::Value;

use crate::error::SchemaError;
use crate::types::{
    Collection, FieldDef, Ops, Presence, PropDef, RefDef, ResourceType, TypeDef, TypeRef,
};

/// Declarations in file order, before linking.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub structs: Vec<TypeDef>,
    pub common: Vec<PropDef>,
    pub resources: Vec<ResourceType>,
}

/// Which block the following member lines belong to.
enum Block {
    None,
    Struct,
    Common,
    Resource,
}

/// Parses the whole schema text.
pub(crate) fn parse(text: &str) -> Result<Parsed, SchemaError> {
    let mut out = Parsed::default();
    let mut block = Block::None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |message: String| SchemaError::Syntax {
            line: line_no,
            message,
        };
        let content = raw.split('#').next().unwrap_or("");
        let tokens = tokenize(content).map_err(err)?;
        let Some((&head, rest)) = tokens.split_first() else {
            continue;
        };
        let indented = content.starts_with(char::is_whitespace);
        if indented && matches!(block, Block::Struct) {
            let Some(s) = out.structs.last_mut() else {
                return Err(err("field outside a struct".into()));
            };
            s.fields.push(parse_field(head, rest).map_err(err)?);
            continue;
        }
        if !indented && !matches!(head, "struct" | "common" | "resource") {
            return Err(err(format!("unexpected `{head}` at the start of a line")));
        }
        if indented && matches!(head, "struct" | "common" | "resource") {
            return Err(err(format!(
                "`{head}` must start at the beginning of a line"
            )));
        }
        match head {
            "struct" => {
                let [name] = rest else {
                    return Err(err("expected `struct NAME`".into()));
                };
                out.structs.push(TypeDef::new((*name).to_owned()));
                block = Block::Struct;
            }
            "common" => {
                if !rest.is_empty() {
                    return Err(err("`common` takes no arguments".into()));
                }
                block = Block::Common;
            }
            "resource" => {
                let [name] = rest else {
                    return Err(err("expected `resource NAME`".into()));
                };
                out.resources.push(ResourceType::new((*name).to_owned()));
                block = Block::Resource;
            }
            "prop" => {
                let prop = parse_prop(rest).map_err(err)?;
                match block {
                    Block::Common => out.common.push(prop),
                    Block::Resource => {
                        if let Some(r) = out.resources.last_mut() {
                            r.props.push(prop);
                        }
                    }
                    _ => return Err(err("`prop` outside `common`/`resource`".into())),
                }
            }
            "parent" | "ref" => {
                let (Block::Resource, Some(r)) = (&block, out.resources.last_mut()) else {
                    return Err(err(format!("`{head}` outside a resource")));
                };
                if head == "parent" {
                    let [p] = rest else {
                        return Err(err("expected `parent TYPE`".into()));
                    };
                    r.parents.push((*p).to_owned());
                } else {
                    r.refs.push(parse_ref(rest).map_err(err)?);
                }
            }
            other => return Err(err(format!("unexpected `{other}`"))),
        }
    }
    Ok(out)
}

/// `FIELD TYPE [required]` inside a struct.
fn parse_field(name: &str, rest: &[&str]) -> Result<FieldDef, String> {
    let (ty, required) = match rest {
        [ty] => (ty, false),
        [ty, "required"] => (ty, true),
        _ => return Err("expected `FIELD TYPE [required]`".into()),
    };
    Ok(FieldDef {
        name: name.to_owned(),
        ty: parse_type(ty)?,
        required,
    })
}

/// Splits on whitespace, keeping `( ... )` groups (which may hold spaces,
/// as in `enum(in|not in)`) inside one token.
fn tokenize(line: &str) -> Result<Vec<&str>, String> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    let mut depth = 0usize;
    for (i, c) in line.char_indices() {
        match c {
            '(' => {
                depth += 1;
                start.get_or_insert(i);
            }
            ')' => {
                depth = depth.checked_sub(1).ok_or("unbalanced `)`")?;
            }
            c if c.is_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    tokens.push(&line[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    if let Some(s) = start {
        tokens.push(&line[s..]);
    }
    Ok(tokens)
}

/// Parses a type expression such as `integer(1..10)`, `[SubnetType]`.
pub(crate) fn parse_type(s: &str) -> Result<TypeRef, String> {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Ok(TypeRef::List(Box::new(parse_type(inner)?)));
    }
    if let Some(body) = s.strip_prefix("enum(").and_then(|r| r.strip_suffix(')')) {
        let values: Vec<String> = body.split('|').map(str::to_owned).collect();
        if values.iter().any(String::is_empty) {
            return Err(format!("empty value in `{s}`"));
        }
        return Ok(TypeRef::Enum(values));
    }
    if let Some(body) = s.strip_prefix("integer(").and_then(|r| r.strip_suffix(')')) {
        let (lo, hi) = body
            .split_once("..")
            .ok_or_else(|| format!("expected `integer(MIN..MAX)`, got `{s}`"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|e| format!("bad bound `{v}` in `{s}`: {e}"))
        };
        return Ok(TypeRef::Integer {
            min: Some(parse(lo)?),
            max: Some(parse(hi)?),
        });
    }
    Ok(match s {
        "any" => TypeRef::Any,
        "string" => TypeRef::String,
        "integer" => TypeRef::Integer {
            min: None,
            max: None,
        },
        "u64" => TypeRef::UnsignedLong,
        "boolean" => TypeRef::Boolean,
        "datetime" => TypeRef::DateTime,
        "time" => TypeRef::Time,
        "ip" => TypeRef::IpAddress,
        "mac" => TypeRef::MacAddress,
        "community" => TypeRef::Community,
        "service-interface" => TypeRef::ServiceInterface,
        name if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            TypeRef::Struct(name.to_owned())
        }
        _ => return Err(format!("bad type `{s}`")),
    })
}

/// `prop NAME TYPE FLAG*` (after `prop`).
fn parse_prop(rest: &[&str]) -> Result<PropDef, String> {
    let [name, ty, flags @ ..] = rest else {
        return Err("expected `prop NAME TYPE FLAG*`".into());
    };
    let mut prop = PropDef {
        name: (*name).to_owned(),
        ty: parse_type(ty)?,
        required: false,
        presence: Presence::Optional,
        ops: Ops::CRUD,
        default: None,
        collection: None,
    };
    for &flag in flags {
        match flag {
            "required" => prop.presence = Presence::Required,
            "system-only" => prop.presence = Presence::SystemOnly,
            "admin-only" => prop.presence = Presence::AdminOnly,
            "list" => {
                prop.collection = Some(Collection::List {
                    key: None,
                    field: String::new(),
                    item: TypeRef::Any,
                })
            }
            _ => {
                if let Some(ops) = flag.strip_prefix("ops=") {
                    prop.ops = parse_ops(ops)?;
                } else if let Some(json) = flag.strip_prefix("default=") {
                    let v: Value = serde_json::from_str(json)
                        .map_err(|e| format!("bad default `{json}`: {e}"))?;
                    prop.default = Some(v);
                } else if let Some(key) =
                    flag.strip_prefix("map(").and_then(|r| r.strip_suffix(')'))
                {
                    prop.collection = Some(Collection::Map {
                        key: key.to_owned(),
                        field: String::new(),
                        item: TypeRef::Any,
                    });
                } else {
                    return Err(format!("unknown prop flag `{flag}`"));
                }
            }
        }
    }
    prop.required = prop.presence == Presence::Required;
    Ok(prop)
}

/// `CRUD`, `CR`, `R`, ...
fn parse_ops(s: &str) -> Result<Ops, String> {
    let mut ops = Ops {
        create: false,
        read: false,
        update: false,
        delete: false,
    };
    for c in s.chars() {
        match c {
            'C' => ops.create = true,
            'R' => ops.read = true,
            'U' => ops.update = true,
            'D' => ops.delete = true,
            _ => return Err(format!("bad operations `{s}`")),
        }
    }
    Ok(ops)
}

/// `ref TYPE [ATTR] [weak]` (after `ref`).
fn parse_ref(rest: &[&str]) -> Result<RefDef, String> {
    let [to, more @ ..] = rest else {
        return Err("expected `ref TYPE [ATTR] [weak]`".into());
    };
    let (attr, weak) = match more {
        [] => (None, false),
        ["weak"] => (None, true),
        [attr] => (Some(parse_type(attr)?), false),
        [attr, "weak"] => (Some(parse_type(attr)?), true),
        _ => return Err("expected `ref TYPE [ATTR] [weak]`".into()),
    };
    Ok(RefDef {
        to: (*to).to_owned(),
        attr,
        field: crate::names::ref_field_name(to),
        weak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_enum_with_spaces() {
        assert_eq!(
            tokenize("  op enum(in|not in) required").unwrap(),
            vec!["op", "enum(in|not in)", "required"]
        );
        assert!(tokenize("a (b").is_err());
        assert!(tokenize("a b)").is_err());
    }

    #[test]
    fn parses_types() {
        assert_eq!(
            parse_type("[integer(-1..65535)]").unwrap(),
            TypeRef::List(Box::new(TypeRef::Integer {
                min: Some(-1),
                max: Some(65535)
            }))
        );
        assert_eq!(
            parse_type("enum(<>|>)").unwrap(),
            TypeRef::Enum(vec!["<>".into(), ">".into()])
        );
        assert_eq!(
            parse_type("SubnetType").unwrap(),
            TypeRef::Struct("SubnetType".into())
        );
        assert!(parse_type("enum(a||b)").is_err());
        assert!(parse_type("integer(1)").is_err());
        assert!(parse_type("no-such").is_err());
    }

    #[test]
    fn parses_blocks() {
        let p = parse(
            "struct S\n  a string required\n  b [S]\n  resource string\ncommon\n  prop display_name string\n\
             resource thing\n  parent other\n  prop p S list ops=CR default=3\n  ref other S weak\n",
        )
        .unwrap();
        assert_eq!(p.structs[0].fields.len(), 3);
        assert!(p.structs[0].fields[0].required);
        assert_eq!(p.common.len(), 1);
        let r = &p.resources[0];
        assert_eq!(r.parents, vec!["other"]);
        assert_eq!(r.props[0].default, Some(Value::from(3)));
        assert!(!r.props[0].ops.update);
        assert!(r.refs[0].weak);
        assert_eq!(r.refs[0].field, "other_refs");
    }

    #[test]
    fn reports_line_numbers() {
        let e = parse("struct S\n  a string\n  b bogus-type\n").unwrap_err();
        assert!(matches!(e, SchemaError::Syntax { line: 3, .. }), "{e}");
        assert!(parse("prop x string\n").is_err());
        assert!(parse("resource r\n  bogus x\n").is_err());
        assert!(parse("struct S\nfield string\n").is_err());
        assert!(parse("  field string\n").is_err());
    }
}
