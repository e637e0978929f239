//! Bulk create (`POST /v2.0/<collection>` with `{"<collection>": [{...}, ...]}`), as Neutron
//! emulates it for every resource: each item is created as a single `{"<member>": {...}}`
//! would be, in order; when one fails, those already made are deleted again and that failure
//! is the answer, so a bulk request makes all of its resources or none. The answer is 201
//! with `{"<collection>": [...]}`.

use serde_json::{Value, json};

use crate::error::{NResult, NeutronError};

/// The single bodies of a bulk body, or None when `bytes` is not one (then it is a single
/// create's, whose parsing reports what is wrong with it).
pub fn items(bytes: &[u8], member: &str, collection: &str) -> NResult<Option<Vec<Vec<u8>>>> {
    let Ok(Value::Object(mut outer)) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(None);
    };
    let Some(list) = outer.remove(collection) else {
        return Ok(None);
    };
    if let Some(other) = outer.keys().next() {
        return Err(NeutronError::UnknownAttributes(other.clone()));
    }
    let Value::Array(list) = list else {
        return Err(NeutronError::Malformed(format!(
            "Malformed request body: '{collection}' is not a list"
        )));
    };
    if list.is_empty() {
        return Err(NeutronError::Malformed("Resources required".into()));
    }
    // an item is the resource's attributes, or (as Neutron also takes it) wrapped as a single
    // body `{"<member>": {...}}`
    Ok(Some(
        list.into_iter()
            .map(|it| match it {
                Value::Object(m) if m.len() == 1 && m.contains_key(member) => {
                    Value::Object(m).to_string().into_bytes()
                }
                it => json!({ member: it }).to_string().into_bytes(),
            })
            .collect(),
    ))
}

/// The ids of the resources a failed bulk request made, newest first (to delete).
pub fn made_ids(made: &[Value]) -> Vec<String> {
    made.iter()
        .rev()
        .filter_map(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_body_is_split_into_single_bodies() {
        let b = br#"{"networks": [{"name": "a"}, {"network": {"name": "b"}}]}"#;
        let got = items(b, "network", "networks").unwrap().unwrap();
        let got: Vec<Value> = got
            .iter()
            .map(|x| serde_json::from_slice(x).unwrap())
            .collect();
        assert_eq!(
            got,
            vec![
                json!({"network": {"name": "a"}}),
                json!({"network": {"name": "b"}})
            ]
        );
    }

    #[test]
    fn single_and_broken_bodies_are_not_bulk_and_bad_bulk_bodies_are_400() {
        assert!(
            items(br#"{"network": {}}"#, "network", "networks")
                .unwrap()
                .is_none()
        );
        assert!(items(b"not json", "network", "networks").unwrap().is_none());
        for bad in [
            &br#"{"networks": []}"#[..],
            br#"{"networks": {"name": "a"}}"#,
            br#"{"networks": [{}], "x": 1}"#,
        ] {
            let e = items(bad, "network", "networks").unwrap_err();
            assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST, "{e}");
        }
    }

    #[test]
    fn made_ids_are_newest_first() {
        let made = vec![json!({"id": "1"}), json!({"id": "2"})];
        assert_eq!(made_ids(&made), vec!["2", "1"]);
    }
}
