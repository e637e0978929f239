//! Object documents: what `apply -f` and `create` read (YAML or JSON, one object per document),
//! checked and turned into the VNC request bodies. A document is
//! `{kind, fq_name, parent_type?, uuid?, <props>, <x>_refs: [{to: FQNAME, attr?}]}`; refs may
//! also be grouped under `refs:`. `--set key.path=JSON` edits land here too.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::names::{self, NameError};

/// What was wrong with a document or a `--set`.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("document {index}: not valid YAML: {message}")]
    Yaml { index: usize, message: String },
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("expected a mapping of fields, found {0}")]
    NotAMapping(&'static str),
    #[error("missing '{0}'")]
    Missing(&'static str),
    #[error("field '{field}': {message}")]
    Field { field: String, message: String },
    #[error(
        "--set '{0}': expected KEY=VALUE, e.g. display_name=\"vn one\" or virtual_network_properties.forwarding_mode=l3"
    )]
    BadSet(String),
    #[error("document {index}: {error}")]
    InDocument { index: usize, error: Box<DocError> },
}

fn field_err(field: &str, message: impl Into<String>) -> DocError {
    DocError::Field {
        field: field.to_string(),
        message: message.into(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// One object as the user wants it: its identity and the fields they care about.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Canonical type name, e.g. `virtual-network`.
    pub kind: String,
    pub fq_name: Vec<String>,
    /// Given, or inferred from `kind` and the fq_name length; `None` for config-root children.
    pub parent_type: Option<String>,
    /// A uuid to create the object with, if the user chose one.
    pub uuid: Option<String>,
    /// Properties and refs (refs normalised to `{to: [..], attr?}` or `{uuid, attr?}`).
    pub fields: Map<String, Value>,
}

impl Document {
    /// Builds a document from an already-parsed mapping (`kind` and `fq_name` required).
    pub fn from_value(value: Value) -> Result<Document, DocError> {
        let Value::Object(mut map) = value else {
            return Err(DocError::NotAMapping(kind_of(&value)));
        };
        let kind = match map.remove("kind") {
            Some(Value::String(s)) => names::parse_type(&s)?,
            Some(other) => {
                return Err(field_err(
                    "kind",
                    format!("expected a type name, found {}", kind_of(&other)),
                ));
            }
            None => return Err(DocError::Missing("kind")),
        };
        let fq_name = match map.remove("fq_name") {
            Some(v) => fq_name_from_value("fq_name", &v)?,
            None => return Err(DocError::Missing("fq_name")),
        };
        Document::with_fields(kind, fq_name, map)
    }

    /// Builds a document from a type, an fq_name and the remaining fields (`parent_type`,
    /// `uuid`, props and refs); used by `create`, whose identity comes from the command line.
    pub fn with_fields(
        kind: String,
        fq_name: Vec<String>,
        mut map: Map<String, Value>,
    ) -> Result<Document, DocError> {
        let parent_type = match map.remove("parent_type") {
            Some(Value::String(s)) => Some(names::parse_type(&s)?),
            Some(Value::Null) | None => {
                names::infer_parent_type(&kind, fq_name.len())?.map(str::to_string)
            }
            Some(other) => {
                return Err(field_err(
                    "parent_type",
                    format!("expected a type name, found {}", kind_of(&other)),
                ));
            }
        };
        let uuid = match map.remove("uuid") {
            Some(Value::String(s)) if names::is_uuid(&s) => Some(s.to_ascii_lowercase()),
            Some(other) => {
                return Err(field_err("uuid", format!("expected a uuid, found {other}")));
            }
            None => None,
        };
        for key in ["href", "parent_uuid", "parent_href", "name"] {
            if map.contains_key(key) {
                return Err(field_err(key, "is set by the server; leave it out"));
            }
        }
        let mut fields = Map::new();
        if let Some(grouped) = map.remove("refs") {
            let Value::Object(grouped) = grouped else {
                return Err(field_err(
                    "refs",
                    format!(
                        "expected a mapping of <type>_refs lists, found {}",
                        kind_of(&grouped)
                    ),
                ));
            };
            for (key, value) in grouped {
                if !key.ends_with("_refs") {
                    return Err(field_err(
                        &format!("refs.{key}"),
                        "only <type>_refs lists go under refs",
                    ));
                }
                if map.contains_key(&key) {
                    return Err(field_err(&key, "given both at top level and under refs"));
                }
                map.insert(key, value);
            }
        }
        for (key, value) in map {
            let value = if key.ends_with("_back_refs") {
                return Err(field_err(
                    &key,
                    "back refs are read-only; set the ref on the other object",
                ));
            } else if key.ends_with("_refs") {
                normalize_refs(&key, value)?
            } else {
                value
            };
            fields.insert(key, value);
        }
        Ok(Document {
            kind,
            fq_name,
            parent_type,
            uuid,
            fields,
        })
    }

    /// `TYPE FQNAME`, as messages name the object.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind, names::join_fq_name(&self.fq_name))
    }

    /// The body of `POST /<type>s`.
    pub fn create_body(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("fq_name".into(), json!(self.fq_name));
        if let Some(parent) = &self.parent_type {
            obj.insert("parent_type".into(), json!(parent));
        }
        if let Some(uuid) = &self.uuid {
            obj.insert("uuid".into(), json!(uuid));
        }
        obj.extend(self.fields.clone());
        wrap(&self.kind, obj)
    }

    /// The body of `PUT /<type>/<uuid>` that replaces the named fields, as vnc_api sends it
    /// (uuid and fq_name always present).
    pub fn update_body(&self, uuid: &str, changed: &[String]) -> Value {
        let mut obj = Map::new();
        obj.insert("uuid".into(), json!(uuid));
        obj.insert("fq_name".into(), json!(self.fq_name));
        for key in changed {
            if let Some(v) = self.fields.get(key) {
                obj.insert(key.clone(), v.clone());
            }
        }
        wrap(&self.kind, obj)
    }
}

/// `{"<type>": {...}}`, the envelope of every VNC object body.
pub fn wrap(kind: &str, obj: Map<String, Value>) -> Value {
    let mut outer = Map::new();
    outer.insert(kind.to_string(), Value::Object(obj));
    Value::Object(outer)
}

/// An fq_name given as a list of names or as one colon-joined string.
fn fq_name_from_value(field: &str, v: &Value) -> Result<Vec<String>, DocError> {
    match v {
        Value::String(s) => Ok(names::parse_fq_name(s)?),
        Value::Array(items) => {
            let mut fq = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) if !s.is_empty() => fq.push(s.clone()),
                    // YAML reads `[d, p, 100]` with a number; the name is the text.
                    Value::Number(n) => fq.push(n.to_string()),
                    other => {
                        return Err(field_err(
                            field,
                            format!("names must be non-empty strings, found {other}"),
                        ));
                    }
                }
            }
            if fq.is_empty() {
                return Err(field_err(field, "must name at least one element"));
            }
            Ok(fq)
        }
        other => Err(field_err(
            field,
            format!(
                "expected a list of names or a colon-joined string, found {}",
                kind_of(other)
            ),
        )),
    }
}

/// Checks a `<x>_refs` list and writes each `to` as a list of names.
fn normalize_refs(key: &str, value: Value) -> Result<Value, DocError> {
    let Value::Array(items) = value else {
        return Err(field_err(
            key,
            format!(
                "expected a list of {{to: FQNAME, attr: ...}}, found {}",
                kind_of(&value)
            ),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{key}[{i}]");
        let item = match item {
            // A bare fq_name is a ref without attr.
            Value::String(_) | Value::Array(_) => json!({ "to": item }),
            other => other,
        };
        let Value::Object(mut map) = item else {
            return Err(field_err(
                &at,
                format!(
                    "expected {{to: FQNAME, attr: ...}}, found {}",
                    kind_of(&item)
                ),
            ));
        };
        if let Some(unknown) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "to" | "attr" | "uuid"))
        {
            return Err(field_err(
                &at,
                format!("unknown key '{unknown}' (expected to, attr or uuid)"),
            ));
        }
        match (map.remove("to"), map.remove("uuid")) {
            (Some(to), _) => {
                map.insert(
                    "to".into(),
                    json!(fq_name_from_value(&format!("{at}.to"), &to)?),
                );
            }
            (None, Some(Value::String(u))) if names::is_uuid(&u) => {
                map.insert("uuid".into(), json!(u.to_ascii_lowercase()));
            }
            _ => {
                return Err(field_err(
                    &at,
                    "needs 'to' (the target's fq_name) or 'uuid'",
                ));
            }
        }
        if map.get("attr").is_some_and(Value::is_null) {
            map.remove("attr");
        }
        out.push(Value::Object(map));
    }
    Ok(Value::Array(out))
}

// ---- reading documents ----

/// Reads a multi-document YAML (JSON is YAML too) into documents, each with its 1-based index in
/// the file. Empty documents (a stray `---`) are skipped but still counted.
pub fn parse_documents(text: &str) -> Result<Vec<(usize, Document)>, DocError> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let value = Value::deserialize(de).map_err(|e| DocError::Yaml {
            index,
            message: e.to_string(),
        })?;
        if value.is_null() {
            continue;
        }
        let doc = Document::from_value(value).map_err(|e| DocError::InDocument {
            index,
            error: Box::new(e),
        })?;
        docs.push((index, doc));
    }
    Ok(docs)
}

/// Reads the single mapping that `create -f FILE` takes.
pub fn parse_mapping(text: &str) -> Result<Map<String, Value>, DocError> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| DocError::Yaml {
        index: 1,
        message: e.to_string(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(DocError::NotAMapping(kind_of(&other))),
    }
}

// ---- --set ----

/// One `--set KEY=VALUE`: a dotted path into the object and a value. The value is read as JSON
/// when it parses as JSON and is otherwise taken as a string, so `--set display_name=web` works
/// without quotes while `--set x=true` is a boolean.
#[derive(Debug, Clone, PartialEq)]
pub struct SetArg {
    pub path: Vec<String>,
    pub value: Value,
}

pub fn parse_set(arg: &str) -> Result<SetArg, DocError> {
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| DocError::BadSet(arg.to_string()))?;
    let path: Vec<String> = key.split('.').map(str::to_string).collect();
    if key.is_empty() || path.iter().any(String::is_empty) {
        return Err(DocError::BadSet(arg.to_string()));
    }
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    Ok(SetArg { path, value })
}

/// Writes `set` into `map`, creating intermediate mappings; a non-mapping in the way is an error.
pub fn apply_set(map: &mut Map<String, Value>, set: &SetArg) -> Result<(), DocError> {
    let (last, parents) = set
        .path
        .split_last()
        .expect("parse_set never yields an empty path");
    let mut cur = map;
    for (depth, key) in parents.iter().enumerate() {
        let entry = cur
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        cur = match entry {
            Value::Object(m) => m,
            other => {
                return Err(field_err(
                    &set.path[..=depth].join("."),
                    format!("is {}, cannot set a key inside it", kind_of(other)),
                ));
            }
        };
    }
    cur.insert(last.clone(), set.value.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VN_YAML: &str = r#"
kind: virtual-network
fq_name: [default-domain, default-project, vn1]
display_name: vn one
virtual_network_properties:
  forwarding_mode: l3
network_ipam_refs:
  - to: default-domain:default-project:ipam1
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.1.0.0, ip_prefix_len: 24}
"#;

    #[test]
    fn a_yaml_document_becomes_a_create_body() {
        let docs = parse_documents(VN_YAML).unwrap();
        assert_eq!(docs.len(), 1);
        let (index, doc) = &docs[0];
        assert_eq!(*index, 1);
        assert_eq!(
            doc.describe(),
            "virtual-network default-domain:default-project:vn1"
        );
        assert_eq!(
            doc.create_body(),
            json!({"virtual-network": {
                "fq_name": ["default-domain", "default-project", "vn1"],
                "parent_type": "project",
                "display_name": "vn one",
                "virtual_network_properties": {"forwarding_mode": "l3"},
                "network_ipam_refs": [{
                    "to": ["default-domain", "default-project", "ipam1"],
                    "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}}]}
                }]
            }})
        );
    }

    #[test]
    fn update_body_carries_identity_and_changed_fields_only() {
        let (_, doc) = parse_documents(VN_YAML).unwrap().remove(0);
        let body = doc.update_body("u-1", &["display_name".to_string()]);
        assert_eq!(
            body,
            json!({"virtual-network": {
                "uuid": "u-1",
                "fq_name": ["default-domain", "default-project", "vn1"],
                "display_name": "vn one"
            }})
        );
    }

    #[test]
    fn multi_document_files_keep_their_indices() {
        let text = "kind: project\nfq_name: default-domain:p1\n---\n---\nkind: virtual-networks\nfq_name: default-domain:p1:vn\nparent_type: project\nuuid: 8A9B3C4D-1E2F-4A5B-9C8D-0123456789AB\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].0, 1);
        assert_eq!(docs[0].1.parent_type.as_deref(), Some("domain"));
        assert_eq!(docs[1].0, 3);
        assert_eq!(docs[1].1.kind, "virtual-network");
        assert_eq!(
            docs[1].1.uuid.as_deref(),
            Some("8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab")
        );
        let body = docs[1].1.create_body();
        assert_eq!(
            body["virtual-network"]["uuid"],
            "8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab"
        );
    }

    #[test]
    fn global_objects_have_no_parent_type() {
        let doc = Document::from_value(json!({"kind": "domain", "fq_name": ["d2"]})).unwrap();
        assert_eq!(doc.parent_type, None);
        assert_eq!(doc.create_body(), json!({"domain": {"fq_name": ["d2"]}}));
    }

    #[test]
    fn grouped_refs_and_bare_ref_targets_are_accepted() {
        let doc = Document::from_value(json!({
            "kind": "virtual-machine-interface",
            "fq_name": "default-domain:default-project:vmi1",
            "refs": {"virtual_network_refs": ["default-domain:default-project:vn1"],
                     "security_group_refs": [{"uuid": "8A9B3C4D-1E2F-4A5B-9C8D-0123456789AB", "attr": null}]}
        }))
        .unwrap();
        assert_eq!(
            doc.fields["virtual_network_refs"],
            json!([{"to": ["default-domain", "default-project", "vn1"]}])
        );
        assert_eq!(
            doc.fields["security_group_refs"],
            json!([{"uuid": "8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab"}])
        );
    }

    #[test]
    fn bad_documents_say_what_and_where() {
        let cases = [
            ("fq_name: a:b:c\n", "document 1: missing 'kind'"),
            ("kind: virtual-network\n", "document 1: missing 'fq_name'"),
            ("kind: project\nfq_name: a::b\n", "invalid fq_name 'a::b'"),
            (
                "kind: virtual-network\nfq_name: a:b:c:d\n",
                "cannot infer the parent type",
            ),
            (
                "kind: virtual-network\nfq_name: a:b:c\nnetwork_ipam_refs: {to: x}\n",
                "field 'network_ipam_refs'",
            ),
            (
                "kind: virtual-network\nfq_name: a:b:c\nnetwork_ipam_refs: [{too: x}]\n",
                "unknown key 'too'",
            ),
            (
                "kind: virtual-network\nfq_name: a:b:c\nnetwork_ipam_refs: [{attr: {}}]\n",
                "needs 'to'",
            ),
            (
                "kind: virtual-network\nfq_name: a:b:c\nhref: x\n",
                "field 'href'",
            ),
            (
                "kind: project\nfq_name: d:p\n---\n- a list\n",
                "document 2: expected a mapping",
            ),
            ("kind: project\n  bad: [\n", "document 1: not valid YAML"),
        ];
        for (text, want) in cases {
            let err = parse_documents(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn set_args_parse_json_or_fall_back_to_strings() {
        assert_eq!(
            parse_set("display_name=web").unwrap(),
            SetArg {
                path: vec!["display_name".into()],
                value: json!("web")
            }
        );
        assert_eq!(parse_set("a.b=true").unwrap().value, json!(true));
        assert_eq!(parse_set("n=42").unwrap().value, json!(42));
        assert_eq!(parse_set("s=\"42\"").unwrap().value, json!("42"));
        assert_eq!(
            parse_set("o={\"x\": [1]}").unwrap().value,
            json!({"x": [1]})
        );
        assert_eq!(parse_set("e=").unwrap().value, json!(""));
        assert_eq!(parse_set("k=a=b").unwrap().value, json!("a=b"));
        for bad in ["novalue", "=1", "a..b=1", ".a=1"] {
            assert!(parse_set(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn set_args_write_nested_paths() {
        let mut map =
            parse_mapping("virtual_network_properties: {vxlan_network_identifier: 5}\nx: 1\n")
                .unwrap();
        apply_set(
            &mut map,
            &parse_set("virtual_network_properties.forwarding_mode=l2").unwrap(),
        )
        .unwrap();
        apply_set(&mut map, &parse_set("a.b.c=[1,2]").unwrap()).unwrap();
        assert_eq!(
            Value::Object(map.clone()),
            json!({"virtual_network_properties": {"vxlan_network_identifier": 5, "forwarding_mode": "l2"},
                   "x": 1, "a": {"b": {"c": [1, 2]}}})
        );
        let err = apply_set(&mut map, &parse_set("x.y=1").unwrap()).unwrap_err();
        assert!(err.to_string().contains("field 'x'"), "{err}");
    }
}
