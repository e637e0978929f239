//! `apply`: makes the server hold each document's object, in file order, idempotently. An object
//! that does not exist is created; one that exists is read and updated only with the fields that
//! differ from it (see [`crate::diff`]); the first failure stops the run and names the document.

use std::fmt;

use serde_json::Value;

use crate::client::{ApiError, Vnc};
use crate::diff;
use crate::document::Document;
use crate::names;

/// What apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Unchanged,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
        })
    }
}

/// One applied document: printed as `ACTION TYPE FQNAME UUID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub action: Action,
    pub kind: String,
    pub fq_name: Vec<String>,
    pub uuid: String,
    /// The fields an update sent (empty unless updated).
    pub changed: Vec<String>,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.action,
            self.kind,
            names::join_fq_name(&self.fq_name),
            self.uuid
        )
    }
}

/// The document that stopped an apply, and the server's answer.
#[derive(Debug, thiserror::Error)]
#[error("document {index} ({object}) failed: {error}")]
pub struct ApplyError {
    pub index: usize,
    /// `TYPE FQNAME`.
    pub object: String,
    pub error: ApiError,
}

/// Applies one document.
pub fn apply_one(api: &impl Vnc, doc: &Document) -> Result<Applied, ApiError> {
    let applied = |action, uuid: String, changed| Applied {
        action,
        kind: doc.kind.clone(),
        fq_name: doc.fq_name.clone(),
        uuid,
        changed,
    };
    let Some(uuid) = api.lookup(&doc.kind, &doc.fq_name)? else {
        let created = api.create(&doc.kind, &doc.create_body())?;
        let uuid = created
            .get("uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        return Ok(applied(Action::Created, uuid, Vec::new()));
    };
    let current = api.read(&doc.kind, &uuid)?;
    let empty = serde_json::Map::new();
    let changed = diff::changed_fields(&doc.fields, current.as_object().unwrap_or(&empty));
    if changed.is_empty() {
        return Ok(applied(Action::Unchanged, uuid, changed));
    }
    api.update(&doc.kind, &uuid, &doc.update_body(&uuid, &changed))?;
    Ok(applied(Action::Updated, uuid, changed))
}

/// Applies the documents in order, reporting each as it is done; stops at the first failure.
pub fn apply_all(
    api: &impl Vnc,
    docs: &[(usize, Document)],
    mut report: impl FnMut(&Applied),
) -> Result<Vec<Applied>, ApplyError> {
    let mut done = Vec::with_capacity(docs.len());
    for (index, doc) in docs {
        let applied = apply_one(api, doc).map_err(|error| ApplyError {
            index: *index,
            object: doc.describe(),
            error,
        })?;
        report(&applied);
        done.push(applied);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ListQuery;
    use crate::document::parse_documents;
    use serde_json::json;
    use std::cell::RefCell;

    /// An in-memory VNC server: fills a few fields as a real one does (uuid, href, ref uuids,
    /// subnet uuids) and refuses refs to missing objects, so idempotence is tested against a
    /// server that does not echo documents back verbatim.
    #[derive(Default)]
    struct FakeVnc {
        objects: RefCell<Vec<(String, Value)>>,
        calls: RefCell<Vec<String>>,
    }

    impl FakeVnc {
        fn find(&self, kind: &str, fq: &Value) -> Option<String> {
            self.objects
                .borrow()
                .iter()
                .find(|(k, o)| k == kind && &o["fq_name"] == fq)
                .map(|(_, o)| o["uuid"].as_str().unwrap().to_string())
        }

        fn resolve_refs(
            &self,
            owner: &str,
            obj: &mut serde_json::Map<String, Value>,
        ) -> Result<(), ApiError> {
            for (key, refs) in obj.iter_mut().filter(|(k, _)| k.ends_with("_refs")) {
                let kind = key.trim_end_matches("_refs").replace('_', "-");
                for r in refs.as_array_mut().unwrap() {
                    let Some(uuid) = self.find(&kind, &r["to"]) else {
                        return Err(ApiError::Status {
                            method: "POST",
                            path: format!("/{owner}s"),
                            status: 404,
                            body: format!("{kind} {} not found", r["to"]),
                        });
                    };
                    r["uuid"] = json!(uuid);
                    if let Some(subnets) = r.pointer_mut("/attr/ipam_subnets") {
                        for s in subnets.as_array_mut().unwrap() {
                            s["subnet_uuid"] = json!("s-uuid");
                        }
                    }
                }
            }
            Ok(())
        }
    }

    impl Vnc for FakeVnc {
        fn fqname_to_id(&self, kind: &str, fq: &[String]) -> Result<String, ApiError> {
            self.calls.borrow_mut().push(format!("fqname-to-id {kind}"));
            self.find(kind, &json!(fq)).ok_or_else(|| ApiError::Status {
                method: "POST",
                path: "/fqname-to-id".into(),
                status: 404,
                body: "not found".into(),
            })
        }
        fn read(&self, kind: &str, uuid: &str) -> Result<Value, ApiError> {
            self.calls.borrow_mut().push(format!("GET {kind}"));
            let objects = self.objects.borrow();
            let (_, o) = objects.iter().find(|(_, o)| o["uuid"] == uuid).unwrap();
            Ok(o.clone())
        }
        fn create(&self, kind: &str, body: &Value) -> Result<Value, ApiError> {
            self.calls.borrow_mut().push(format!("POST {kind}"));
            let mut obj = body[kind].as_object().unwrap().clone();
            self.resolve_refs(kind, &mut obj)?;
            let uuid = format!(
                "00000000-0000-0000-0000-{:012}",
                self.objects.borrow().len()
            );
            obj.insert("uuid".into(), json!(uuid));
            obj.insert("href".into(), json!(format!("http://x/{kind}/{uuid}")));
            obj.insert("id_perms".into(), json!({"enable": true}));
            self.objects
                .borrow_mut()
                .push((kind.to_string(), Value::Object(obj.clone())));
            Ok(Value::Object(obj))
        }
        fn update(&self, kind: &str, uuid: &str, body: &Value) -> Result<(), ApiError> {
            self.calls.borrow_mut().push(format!("PUT {kind} {}", {
                let mut keys: Vec<_> = body[kind].as_object().unwrap().keys().cloned().collect();
                keys.sort();
                keys.join(",")
            }));
            let mut fields = body[kind].as_object().unwrap().clone();
            self.resolve_refs(kind, &mut fields)?;
            let mut objects = self.objects.borrow_mut();
            let (_, o) = objects.iter_mut().find(|(_, o)| o["uuid"] == uuid).unwrap();
            o.as_object_mut().unwrap().extend(fields);
            Ok(())
        }
        fn delete(&self, _: &str, _: &str) -> Result<(), ApiError> {
            unimplemented!()
        }
        fn list(&self, _: &str, _: &ListQuery) -> Result<Vec<Value>, ApiError> {
            unimplemented!()
        }
    }

    const FILE: &str = r#"
kind: network-ipam
fq_name: [default-domain, default-project, ipam1]
---
kind: virtual-network
fq_name: default-domain:default-project:vn1
display_name: vn1
network_ipam_refs:
  - to: [default-domain, default-project, ipam1]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.1.0.0, ip_prefix_len: 24}
"#;

    fn run(api: &FakeVnc, text: &str) -> Result<Vec<String>, ApplyError> {
        let docs = parse_documents(text).unwrap();
        let mut lines = Vec::new();
        apply_all(api, &docs, |a| lines.push(a.to_string()))?;
        Ok(lines)
    }

    #[test]
    fn first_run_creates_second_changes_nothing() {
        let api = FakeVnc::default();
        let first = run(&api, FILE).unwrap();
        assert_eq!(
            first,
            [
                "created network-ipam default-domain:default-project:ipam1 00000000-0000-0000-0000-000000000000",
                "created virtual-network default-domain:default-project:vn1 00000000-0000-0000-0000-000000000001",
            ]
        );
        api.calls.borrow_mut().clear();
        let second = run(&api, FILE).unwrap();
        assert_eq!(
            second,
            [
                "unchanged network-ipam default-domain:default-project:ipam1 00000000-0000-0000-0000-000000000000",
                "unchanged virtual-network default-domain:default-project:vn1 00000000-0000-0000-0000-000000000001",
            ]
        );
        assert!(
            api.calls
                .borrow()
                .iter()
                .all(|c| !c.starts_with("PUT") && !c.starts_with("POST")),
            "{:?}",
            api.calls.borrow()
        );
    }

    #[test]
    fn a_changed_field_is_put_alone() {
        let api = FakeVnc::default();
        run(&api, FILE).unwrap();
        api.calls.borrow_mut().clear();
        let changed = FILE.replace("display_name: vn1", "display_name: vn one");
        let lines = run(&api, &changed).unwrap();
        assert!(
            lines[1].starts_with("updated virtual-network default-domain:default-project:vn1 ")
        );
        assert!(
            api.calls
                .borrow()
                .contains(&"PUT virtual-network display_name,fq_name,uuid".to_string()),
            "{:?}",
            api.calls.borrow()
        );
        // And then it is stable again.
        let again = run(&api, &changed).unwrap();
        assert!(again[1].starts_with("unchanged"), "{again:?}");
    }

    #[test]
    fn a_changed_ref_attr_is_an_update() {
        let api = FakeVnc::default();
        run(&api, FILE).unwrap();
        let lines = run(&api, &FILE.replace("10.1.0.0", "10.2.0.0")).unwrap();
        assert!(lines[1].starts_with("updated"), "{lines:?}");
        let docs = parse_documents(FILE).unwrap();
        let applied = apply_one(&api, &docs[1].1).unwrap();
        assert_eq!(applied.action, Action::Updated);
        assert_eq!(applied.changed, ["network_ipam_refs"]);
    }

    #[test]
    fn the_first_failure_stops_and_names_the_document() {
        let api = FakeVnc::default();
        let text = format!(
            "{FILE}\n---\nkind: virtual-network\nfq_name: default-domain:default-project:vn2\nnetwork_ipam_refs: [{{to: default-domain:default-project:nope}}]\n---\nkind: project\nfq_name: default-domain:p2\n"
        );
        let err = run(&api, &text).unwrap_err();
        assert_eq!(err.index, 3);
        assert_eq!(
            err.to_string(),
            "document 3 (virtual-network default-domain:default-project:vn2) failed: \
             POST /virtual-networks: 404 network-ipam [\"default-domain\",\"default-project\",\"nope\"] not found"
        );
        // The project after it was not attempted.
        assert!(
            api.find("project", &json!(["default-domain", "p2"]))
                .is_none()
        );
    }
}
