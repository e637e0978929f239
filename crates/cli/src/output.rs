//! How results are printed: `-o json` and `-o yaml` print the objects as the API has them (out of
//! their envelopes); `-o table` prints aligned columns for lists (UUID, FQ_NAME and a few
//! well-known properties of some types) and FIELD/VALUE rows for one object.

use serde_json::Value;

/// The `-o` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// A value as JSON (pretty) or YAML; `Table` callers use the table functions instead.
pub fn to_text(format: Format, value: &Value) -> String {
    match format {
        Format::Yaml => serde_yaml::to_string(value).unwrap_or_else(|e| format!("# {e}\n")),
        Format::Json | Format::Table => {
            let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

/// Aligned columns separated by two spaces, one line per row, headers first.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `a:b:c` from an object's (or list entry's) `fq_name`.
pub fn fq_name_of(obj: &Value) -> String {
    match obj.get("fq_name").and_then(Value::as_array) {
        Some(parts) => parts
            .iter()
            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(":"),
        None => "-".into(),
    }
}

fn uuid_of(obj: &Value) -> String {
    obj.get("uuid").map_or_else(|| "-".into(), scalar_text)
}

/// A scalar as a cell: strings bare, null as `-`, anything else as compact JSON.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn non_empty(cells: Vec<String>) -> String {
    if cells.is_empty() {
        "-".into()
    } else {
        cells.join(",")
    }
}

// ---- lists ----

type Column = (&'static str, fn(&Value) -> String);

fn field(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer).map_or_else(|| "-".into(), scalar_text)
}

fn vn_subnets(obj: &Value) -> String {
    let mut cells = Vec::new();
    for r in obj["network_ipam_refs"].as_array().into_iter().flatten() {
        for s in r
            .pointer("/attr/ipam_subnets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(prefix), Some(len)) = (
                s.pointer("/subnet/ip_prefix"),
                s.pointer("/subnet/ip_prefix_len"),
            ) {
                cells.push(format!("{}/{}", scalar_text(prefix), scalar_text(len)));
            }
        }
    }
    non_empty(cells)
}

fn vmi_macs(obj: &Value) -> String {
    let macs = obj.pointer("/virtual_machine_interface_mac_addresses/mac_address");
    non_empty(
        macs.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(scalar_text)
            .collect(),
    )
}

/// Well-known properties shown by `list --detail` for some types.
fn extra_columns(kind: &str) -> &'static [Column] {
    match kind {
        "virtual-network" => &[
            ("VN_ID", |o| field(o, "/virtual_network_network_id")),
            ("SUBNETS", vn_subnets),
        ],
        "instance-ip" => &[("ADDRESS", |o| field(o, "/instance_ip_address"))],
        "floating-ip" => &[("ADDRESS", |o| field(o, "/floating_ip_address"))],
        "virtual-machine-interface" => &[("MAC", vmi_macs)],
        "security-group" => &[("SG_ID", |o| field(o, "/security_group_id"))],
        "virtual-router" => &[("IP", |o| field(o, "/virtual_router_ip_address"))],
        "bgp-router" => &[
            ("ADDRESS", |o| field(o, "/bgp_router_parameters/address")),
            ("ASN", |o| {
                field(o, "/bgp_router_parameters/autonomous_system")
            }),
        ],
        "global-system-config" => &[("ASN", |o| field(o, "/autonomous_system"))],
        _ => &[],
    }
}

/// The table of a list: UUID and FQ_NAME, and with `detail` the type's well-known columns.
pub fn list_table(kind: &str, entries: &[Value], detail: bool) -> String {
    let extra: &[Column] = if detail { extra_columns(kind) } else { &[] };
    let mut headers = vec!["UUID", "FQ_NAME"];
    headers.extend(extra.iter().map(|(h, _)| *h));
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut row = vec![uuid_of(e), fq_name_of(e)];
            row.extend(extra.iter().map(|(_, f)| f(e)));
            row
        })
        .collect();
    table(&headers, &rows)
}

// ---- one object ----

/// Fields left out of the object table: long and rarely what one looks for (see `-o yaml`).
const HIDDEN: &[&str] = &["href", "parent_href", "name", "perms2", "id_perms"];
const FIRST: &[&str] = &["uuid", "fq_name", "parent_type", "display_name"];
const MAX_CELL: usize = 100;

/// A field's value in the object table: refs, back refs and children as their targets' fq_names,
/// other structures as compact JSON cut at 100 characters.
fn cell_text(v: &Value) -> String {
    if let Some(items) = v.as_array()
        && !items.is_empty()
        && items.iter().all(|i| i.get("to").is_some())
    {
        return items
            .iter()
            .map(|i| {
                i["to"].as_array().map_or_else(
                    || scalar_text(&i["to"]),
                    |to| to.iter().map(scalar_text).collect::<Vec<_>>().join(":"),
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    let text = match v {
        Value::Array(_) | Value::Object(_) => v.to_string(),
        other => scalar_text(other),
    };
    if text.chars().count() > MAX_CELL {
        let cut: String = text.chars().take(MAX_CELL - 3).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// FIELD/VALUE rows for one object: identity first, then the other fields by name.
pub fn object_table(obj: &Value) -> String {
    let Some(map) = obj.as_object() else {
        return to_text(Format::Json, obj);
    };
    let mut rows = Vec::new();
    for key in FIRST {
        if let Some(v) = map.get(*key) {
            let text = if *key == "fq_name" {
                fq_name_of(obj)
            } else {
                cell_text(v)
            };
            rows.push(vec![key.to_string(), text]);
        }
    }
    for (key, v) in map {
        if !FIRST.contains(&key.as_str()) && !HIDDEN.contains(&key.as_str()) {
            rows.push(vec![key.clone(), cell_text(v)]);
        }
    }
    table(&["FIELD", "VALUE"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns() {
        let out = table(
            &["UUID", "FQ_NAME"],
            &[
                vec!["u1".into(), "a:b".into()],
                vec!["longer-uuid".into(), "c".into()],
            ],
        );
        assert_eq!(
            out,
            "UUID         FQ_NAME\nu1           a:b\nlonger-uuid  c\n"
        );
    }

    #[test]
    fn list_tables_with_and_without_detail() {
        let vn = json!({
            "uuid": "u1", "fq_name": ["d", "p", "vn1"], "virtual_network_network_id": 5,
            "network_ipam_refs": [{"to": ["d", "p", "i"], "attr": {"ipam_subnets": [
                {"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}},
                {"subnet": {"ip_prefix": "10.2.0.0", "ip_prefix_len": 16}}]}}]
        });
        assert_eq!(
            list_table("virtual-network", std::slice::from_ref(&vn), false),
            "UUID  FQ_NAME\nu1    d:p:vn1\n"
        );
        assert_eq!(
            list_table(
                "virtual-network",
                &[vn, json!({"uuid": "u2", "fq_name": ["d", "p", "vn2"]})],
                true
            ),
            "UUID  FQ_NAME  VN_ID  SUBNETS\nu1    d:p:vn1  5      10.1.0.0/24,10.2.0.0/16\nu2    d:p:vn2  -      -\n"
        );
    }

    #[test]
    fn object_tables_put_identity_first_and_name_refs() {
        let obj = json!({
            "uuid": "u1", "fq_name": ["d", "p", "vn1"], "parent_type": "project", "href": "h",
            "network_ipam_refs": [{"to": ["d", "p", "i"], "uuid": "x"}],
            "virtual_network_properties": {"forwarding_mode": "l3"},
            "is_shared": false,
            "long": "x".repeat(200)
        });
        let out = object_table(&obj);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "FIELD                       VALUE");
        assert_eq!(lines[1], "uuid                        u1");
        assert_eq!(lines[2], "fq_name                     d:p:vn1");
        assert_eq!(lines[3], "parent_type                 project");
        assert_eq!(lines[4], "is_shared                   false");
        assert!(lines[5].starts_with("long ") && lines[5].ends_with("...") && lines[5].len() < 130);
        assert_eq!(lines[6], "network_ipam_refs           d:p:i");
        assert_eq!(
            lines[7],
            "virtual_network_properties  {\"forwarding_mode\":\"l3\"}"
        );
        assert!(!out.contains("href"));
    }

    #[test]
    fn json_and_yaml() {
        let v = json!({"uuid": "u", "fq_name": ["a", "b"]});
        assert_eq!(
            to_text(Format::Json, &v),
            "{\n  \"fq_name\": [\n    \"a\",\n    \"b\"\n  ],\n  \"uuid\": \"u\"\n}\n"
        );
        assert_eq!(to_text(Format::Yaml, &v), "fq_name:\n- a\n- b\nuuid: u\n");
    }
}
