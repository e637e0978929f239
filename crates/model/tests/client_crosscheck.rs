//! Regression check of schema/vnc.schema against the real vnc_api client's
//! generated tables: every resource type, parent, prop (and its JSON type),
//! ref (and its attr type), prop-collection and struct field must agree, and
//! what the client sends for unset parts (default-built structs, bare
//! resources) must validate.
//!
//! Needs a python with `vnc_api` installed: `$CIRRUS_VNC_PYTHON`, else `bin/python` of the test
//! venv (`$CIRRUS_TEST_VENV`, else `target/test-venv`, which scripts/test.sh makes). When none is
//! there the test is a visible skip (a failure under `CI=true`). Once a python is found, any
//! failure of the helper (cannot start, exits non-zero, prints something that is not the JSON
//! tables) fails the test: this is the only independent check of `vnc.schema`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cirrus_model::{Collection, Schema, TypeRef, schema};
use serde_json::Value;

/// The python to run the helper with; `None` after a skip when there is none here.
fn python(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CIRRUS_VNC_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "CIRRUS_VNC_PYTHON={} does not exist",
            p.display()
        );
        return Some(p);
    }
    let venv = match std::env::var_os("CIRRUS_TEST_VENV") {
        Some(v) => {
            let v = PathBuf::from(v);
            assert!(
                v.is_dir(),
                "CIRRUS_TEST_VENV={} is not a folder",
                v.display()
            );
            v
        }
        None => cirrus_testkit::repo_root().join("target/test-venv"),
    };
    let p = venv.join("bin/python");
    if p.exists() {
        return Some(p);
    }
    cirrus_testkit::skip(
        &format!("client_crosscheck::{test}"),
        &format!(
            "no python with vnc_api at {} (set CIRRUS_VNC_PYTHON or CIRRUS_TEST_VENV; \
             scripts/install-test-deps.sh makes the venv)",
            p.display()
        ),
    );
    None
}

/// The installed client's tables as client_crosscheck.py dumps them; `None` after a skip.
/// Panics on any failure of the helper.
fn client_tables(test: &str) -> Option<Value> {
    let python = python(test)?;
    let mut child = Command::new(&python)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(include_bytes!("client_crosscheck.py"))
        .unwrap_or_else(|e| panic!("writing the helper to {}: {e}", python.display()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {}: {e}", python.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client_crosscheck.py under {} failed ({}):\n{stderr}",
        python.display(),
        out.status
    );
    let tables: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client_crosscheck.py printed something that is not JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    for key in ["resources", "structs", "defaults", "bodies"] {
        assert!(
            tables[key].as_object().is_some_and(|o| !o.is_empty()),
            "client_crosscheck.py gave no {key:?}"
        );
    }
    Some(tables)
}

/// Whether our type for a simple (non-struct) client field matches its facts.
fn simple_matches(ty: &TypeRef, xsd: &str, rtype: &Value, restr: &Value, simple: &Value) -> bool {
    let values: Vec<String> = restr
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let bounds: Vec<i64> = restr
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let simple = simple.as_str().unwrap_or("");
    match (xsd, ty) {
        ("string", TypeRef::IpAddress) => matches!(simple, "IpAddress" | "IpAddressType"),
        ("string", TypeRef::Community) => simple == "CommunityAttribute",
        ("string", TypeRef::ServiceInterface) => simple == "ServiceInterfaceType",
        ("string", TypeRef::MacAddress) => true,
        ("string", TypeRef::Enum(ours)) => rtype == "enum" && *ours == values,
        ("string", TypeRef::String) => values.is_empty(),
        ("integer", TypeRef::Integer { min, max }) => match bounds.as_slice() {
            [lo, hi] if rtype == "range" => *min == Some(*lo) && *max == Some(*hi),
            _ => min.is_none() && max.is_none(),
        },
        ("unsignedLong", TypeRef::UnsignedLong) => true,
        ("boolean", TypeRef::Boolean) => true,
        ("dateTime", TypeRef::DateTime) => true,
        ("time", TypeRef::Time) => true,
        _ => false,
    }
}

fn check_structs(s: &Schema, structs: &serde_json::Map<String, Value>, errors: &mut Vec<String>) {
    for (name, fields) in structs {
        let Some(def) = s.type_def(name) else {
            errors.push(format!("struct {name} missing"));
            continue;
        };
        let theirs: Vec<&str> = fields
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["name"].as_str())
            .collect();
        let ours: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
        if ours != theirs {
            errors.push(format!(
                "struct {name}: fields {ours:?} != client {theirs:?}"
            ));
            continue;
        }
        for (f, ours) in fields.as_array().into_iter().flatten().zip(&def.fields) {
            let mut ty = &ours.ty;
            if f["is_array"] == true {
                match ty {
                    TypeRef::List(inner) => ty = inner,
                    _ => {
                        errors.push(format!("{name}.{}: client has a list", ours.name));
                        continue;
                    }
                }
            }
            let at = f["attr_type"].as_str().unwrap_or("");
            let ok = if f["is_complex"] == true {
                ty.struct_name() == Some(at)
            } else {
                simple_matches(
                    ty,
                    at,
                    &f["restriction_type"],
                    &f["restrictions"],
                    &f["simple_type"],
                )
            };
            if !ok {
                errors.push(format!(
                    "{name}.{}: ours {} vs client {f}",
                    ours.name, ours.ty
                ));
            }
        }
    }
}

#[test]
fn schema_matches_installed_client() {
    let Some(tables) = client_tables("schema_matches_installed_client") else {
        return;
    };
    let s = schema();
    let mut errors = Vec::new();
    let resources = tables["resources"].as_object().expect("resources");
    let ours: BTreeSet<&str> = s.resources().map(|r| r.name.as_str()).collect();
    let theirs: BTreeSet<&str> = resources.keys().map(String::as_str).collect();
    if ours != theirs {
        errors.push(format!(
            "resource sets differ: only ours {:?}, only client {:?}",
            ours.difference(&theirs).collect::<Vec<_>>(),
            theirs.difference(&ours).collect::<Vec<_>>()
        ));
    }
    for (name, c) in resources {
        let Some(rt) = s.resource(name) else { continue };
        let parents: Vec<&str> = c["parents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if name != "config-root" && rt.parents != parents {
            errors.push(format!(
                "{name}: parents {:?} != client {parents:?}",
                rt.parents
            ));
        }
        // Props.
        let props = c["props"].as_object().expect("props");
        let our_props: BTreeSet<&str> = rt.props.iter().map(|p| p.name.as_str()).collect();
        let their_props: BTreeSet<&str> = props.keys().map(String::as_str).collect();
        if our_props != their_props {
            errors.push(format!(
                "{name}: props {our_props:?} != client {their_props:?}"
            ));
        }
        for (pname, v) in props {
            let Some(p) = rt.prop(pname) else { continue };
            let xsd = v["xsd_type"].as_str().unwrap_or("");
            let ok = if v["is_complex"] == true {
                p.ty.struct_name() == Some(xsd)
            } else {
                simple_matches(
                    &p.ty,
                    xsd,
                    &v["restriction_type"],
                    &v["restrictions"],
                    &v["simple_type"],
                )
            };
            if !ok {
                errors.push(format!("{name}.{pname}: ours {} vs client {v}", p.ty));
            }
            if p.required != (v["required"] == "required") {
                errors.push(format!("{name}.{pname}: required flag differs"));
            }
        }
        // Prop-collections.
        let lists: BTreeSet<&str> = c["lists"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let maps: BTreeMap<&str, &str> = c["maps"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
            .collect();
        for p in &rt.props {
            let ok = match &p.collection {
                None => !lists.contains(p.name.as_str()) && !maps.contains_key(p.name.as_str()),
                Some(Collection::List { .. }) => lists.contains(p.name.as_str()),
                Some(Collection::Map { key, .. }) => {
                    maps.get(p.name.as_str()) == Some(&key.as_str())
                }
            };
            if !ok {
                errors.push(format!("{name}.{}: collection kind differs", p.name));
            }
        }
        // Refs.
        let refs = c["refs"].as_object().expect("refs");
        if refs.len() != rt.refs.len() {
            errors.push(format!(
                "{name}: {} refs vs client {}",
                rt.refs.len(),
                refs.len()
            ));
        }
        for (field, v) in refs {
            let to = v[0].as_str().unwrap_or("");
            let attr = v[1].as_str();
            match rt.ref_by_field(field) {
                Some(r) if r.to == to && r.attr.as_ref().and_then(TypeRef::struct_name) == attr => {
                }
                other => errors.push(format!("{name}.{field}: ours {other:?} vs client {v}")),
            }
        }
        // Derived back refs and children.
        let back: BTreeSet<String> = rt
            .back_refs
            .iter()
            .map(|b| format!("{}_back_refs", b.replace('-', "_")))
            .collect();
        let their_back: BTreeSet<String> = c["back_refs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if back != their_back {
            errors.push(format!(
                "{name}: back refs {back:?} != client {their_back:?}"
            ));
        }
        if name != "config-root" {
            let kids: BTreeSet<String> = rt
                .children
                .iter()
                .map(|k| format!("{}s", k.replace('-', "_")))
                .collect();
            let their_kids: BTreeSet<String> = c["children"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            if kids != their_kids {
                errors.push(format!(
                    "{name}: children {kids:?} != client {their_kids:?}"
                ));
            }
        }
    }
    check_structs(
        s,
        tables["structs"].as_object().expect("structs"),
        &mut errors,
    );
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn client_defaults_validate() {
    let Some(tables) = client_tables("client_defaults_validate") else {
        return;
    };
    let s = schema();
    let mut errors = Vec::new();
    for (name, value) in tables["defaults"].as_object().expect("defaults") {
        if let Err(e) = s.validate_value(&TypeRef::Struct(name.clone()), value, name) {
            errors.push(format!("default {name}: {e}"));
        }
    }
    let bodies = tables["bodies"].as_object().expect("bodies");
    assert!(bodies.len() > 90, "{} bodies", bodies.len());
    for (rtype, body) in bodies {
        match s.resource(rtype) {
            Some(rt) => {
                if let Err(e) = s.validate_object(rt, body) {
                    errors.push(format!("body {rtype}: {e}"));
                }
            }
            None => errors.push(format!("body {rtype}: unknown type")),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
