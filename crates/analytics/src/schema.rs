//! What is stored and what is queried. Two datasets are stored (`flow`: one row per flow
//! direction per sample; `session`: one row per local endpoint per sample) and four of
//! Contrail's query tables read them: the series tables every row in the time range, the
//! record tables the latest row of each flow (by `UuidKey`) or session (by
//! `forward_flow_uuid`). Column names and datatypes are Contrail's (`viz.sandesh`
//! `_TABLES`); the flow tables also carry the rule, action and underlay columns of
//! `FlowRecordTable`, so a series query can name the rule that decided. A third dataset,
//! `vmi_stats` (one row per port per export interval), is read by the StatTables
//! `StatTable.VMIStats.raw_if_stats` and `StatTable.VMIStats.raw_drop_stats` (the names
//! `VMIStats`'s `tags` annotations give them in Contrail's agent), each showing only its
//! attribute's columns.

use crate::columns::Kind;

/// One stored column: its name, storage kind and Contrail's datatype.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub datatype: &'static str,
    pub index: bool,
}

const fn c(name: &'static str, kind: Kind, datatype: &'static str, index: bool) -> Column {
    Column {
        name,
        kind,
        datatype,
        index,
    }
}

use Kind::{Int, Str};

/// The `flow` dataset, in storage order (ingest pushes in this order).
pub const FLOW: &[Column] = &[
    c("T", Int, "int", false),
    c("vrouter", Str, "string", true),
    c("sourcevn", Str, "string", true),
    c("sourceip", Str, "ipaddr", true),
    c("destvn", Str, "string", true),
    c("destip", Str, "ipaddr", true),
    c("protocol", Int, "int", true),
    c("sport", Int, "int", true),
    c("dport", Int, "int", true),
    c("direction_ing", Int, "int", true),
    c("UuidKey", Str, "uuid", false),
    c("setup_time", Int, "long", false),
    c("teardown_time", Int, "long", false),
    c("packets", Int, "int", false),
    c("bytes", Int, "int", false),
    c("agg-packets", Int, "long", false),
    c("agg-bytes", Int, "long", false),
    c("action", Str, "string", false),
    c("sg_rule_uuid", Str, "uuid", false),
    c("nw_ace_uuid", Str, "uuid", false),
    c("security_policy_rule", Str, "string", false),
    c("drop_reason", Str, "string", false),
    c("teardown_reason", Str, "string", false),
    c("vrouter_ip", Str, "string", false),
    c("other_vrouter_ip", Str, "string", false),
    c("underlay_proto", Int, "int", false),
    c("underlay_source_port", Int, "int", false),
    c("vmi", Str, "string", false),
    c("flow_class_id", Int, "int", false),
];

/// The `session` dataset, in storage order.
pub const SESSION: &[Column] = &[
    c("T", Int, "int", false),
    c("session_type", Str, "string", true),
    c("is_service_instance", Int, "int", true),
    c("vmi", Str, "string", true),
    c("vn", Str, "string", true),
    c("deployment", Str, "string", true),
    c("tier", Str, "string", true),
    c("application", Str, "string", true),
    c("site", Str, "string", true),
    c("labels", Str, "string", true),
    c("custom_tags", Str, "string", true),
    c("remote_deployment", Str, "string", true),
    c("remote_tier", Str, "string", true),
    c("remote_application", Str, "string", true),
    c("remote_site", Str, "string", true),
    c("remote_labels", Str, "string", true),
    c("remote_custom_tags", Str, "string", true),
    c("remote_vn", Str, "string", true),
    c("remote_prefix", Str, "string", true),
    c("security_policy_rule", Str, "string", true),
    c("vrouter", Str, "string", false),
    c("vrouter_ip", Str, "ipaddr", false),
    c("local_ip", Str, "ipaddr", true),
    c("protocol", Int, "int", true),
    c("server_port", Int, "int", true),
    c("remote_ip", Str, "ipaddr", false),
    c("client_port", Int, "int", false),
    c("forward_flow_uuid", Str, "uuid", false),
    c("forward_action", Str, "string", false),
    c("forward_sg_rule_uuid", Str, "string", false),
    c("forward_nw_ace_uuid", Str, "string", false),
    c("forward_underlay_source_port", Str, "string", false),
    c("forward_drop_reason", Str, "string", false),
    c("reverse_flow_uuid", Str, "uuid", false),
    c("reverse_action", Str, "string", false),
    c("reverse_sg_rule_uuid", Str, "string", false),
    c("reverse_nw_ace_uuid", Str, "string", false),
    c("reverse_underlay_source_port", Str, "string", false),
    c("reverse_drop_reason", Str, "string", false),
    c("session_class_id", Int, "int", false),
    c("forward_sampled_bytes", Int, "int", false),
    c("forward_sampled_pkts", Int, "int", false),
    c("forward_logged_bytes", Int, "int", false),
    c("forward_logged_pkts", Int, "int", false),
    c("reverse_sampled_bytes", Int, "int", false),
    c("reverse_sampled_pkts", Int, "int", false),
    c("reverse_logged_bytes", Int, "int", false),
    c("reverse_logged_pkts", Int, "int", false),
    c("setup_time", Int, "long", false),
    c("teardown_time", Int, "long", false),
    c("teardown_reason", Str, "string", false),
    c("other_vrouter_ip", Str, "string", false),
    c("underlay_proto", Int, "int", false),
];

/// The `vmi_stats` dataset (per-interface counters, [`crate::vmi_stats`]), in storage
/// order. Column names are those of Contrail's `VMIStats` StatTables: the stat attribute's
/// fields prefixed by its name, `Source`, the object's `name`; `vmi_uuid` and
/// `virtual_network` are tags on both tables here.
pub const VMI_STATS: &[Column] = &[
    c("T", Int, "int", false),
    c("Source", Str, "string", true),
    c("name", Str, "string", true),
    c("vmi_uuid", Str, "uuid", true),
    c("virtual_network", Str, "string", true),
    c("raw_if_stats.in_pkts", Int, "int", false),
    c("raw_if_stats.in_bytes", Int, "int", false),
    c("raw_if_stats.out_pkts", Int, "int", false),
    c("raw_if_stats.out_bytes", Int, "int", false),
    c("raw_drop_stats.ds_drop_pkts", Int, "int", false),
];

/// Columns that hold one flow's uuid per row: open batches keep them as 16 bytes, and
/// their files have no dictionary.
pub const RAW_UUIDS: &[&str] = &["UuidKey", "forward_flow_uuid", "reverse_flow_uuid"];

/// A stored dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    Flow,
    Session,
    /// Per-interface counters: the `StatTable.VMIStats.*` tables.
    VmiStats,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::Flow, Dataset::Session, Dataset::VmiStats];
    pub fn columns(self) -> &'static [Column] {
        match self {
            Dataset::Flow => FLOW,
            Dataset::Session => SESSION,
            Dataset::VmiStats => VMI_STATS,
        }
    }
    pub fn dir(self) -> &'static str {
        match self {
            Dataset::Flow => "flow",
            Dataset::Session => "session",
            Dataset::VmiStats => "vmi_stats",
        }
    }
    /// The table type opserver names (`/analytics/tables`, the schema's `type`).
    pub fn table_type(self) -> &'static str {
        match self {
            Dataset::Flow => "FLOW",
            Dataset::Session => "SESSION",
            Dataset::VmiStats => "STAT",
        }
    }
    pub fn column(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }
}

/// One of Contrail's query tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub dataset: Dataset,
    /// Record tables keep only the latest row of each key column value.
    pub latest_by: Option<&'static str>,
    /// Aggregates listed in the schema (any `SUM`/`COUNT`/... of a column is accepted).
    pub aggregates: &'static [&'static str],
    /// Columns of the dataset this table does not have (a StatTable shows its own
    /// attribute's columns only).
    pub hidden: &'static [&'static str],
    /// opserver's `display_name` (StatTables have one).
    pub display_name: Option<&'static str>,
}

impl Table {
    /// The dataset column `name` of this table.
    pub fn column(&self, name: &str) -> Option<usize> {
        if self.hidden.contains(&name) {
            return None;
        }
        self.dataset.column(name)
    }
}

const IF_STATS: &[&str] = &["raw_drop_stats.ds_drop_pkts"];
const DROP_STATS: &[&str] = &[
    "raw_if_stats.in_pkts",
    "raw_if_stats.in_bytes",
    "raw_if_stats.out_pkts",
    "raw_if_stats.out_bytes",
];

pub const TABLES: &[Table] = &[
    Table {
        name: "FlowSeriesTable",
        dataset: Dataset::Flow,
        latest_by: None,
        aggregates: &["T=", "SUM(packets)", "SUM(bytes)", "COUNT(flow)"],
        hidden: &[],
        display_name: None,
    },
    Table {
        name: "FlowRecordTable",
        dataset: Dataset::Flow,
        latest_by: Some("UuidKey"),
        aggregates: &[],
        hidden: &[],
        display_name: None,
    },
    Table {
        name: "SessionSeriesTable",
        dataset: Dataset::Session,
        latest_by: None,
        aggregates: &[
            "T=",
            "SUM(forward_sampled_bytes)",
            "SUM(forward_sampled_pkts)",
            "SUM(forward_logged_bytes)",
            "SUM(forward_logged_pkts)",
            "SUM(reverse_sampled_bytes)",
            "SUM(reverse_sampled_pkts)",
            "SUM(reverse_logged_bytes)",
            "SUM(reverse_logged_pkts)",
            "COUNT_DISTINCT(local_ip)",
            "COUNT_DISTINCT(vn)",
            "COUNT_DISTINCT(remote_vn)",
            "COUNT_DISTINCT(remote_ip)",
            "sample_count",
        ],
        hidden: &[],
        display_name: None,
    },
    Table {
        name: "SessionRecordTable",
        dataset: Dataset::Session,
        latest_by: Some("forward_flow_uuid"),
        aggregates: &[],
        hidden: &[],
        display_name: None,
    },
    Table {
        name: "StatTable.VMIStats.raw_if_stats",
        dataset: Dataset::VmiStats,
        latest_by: None,
        aggregates: &["T=", "COUNT(raw_if_stats)"],
        hidden: IF_STATS,
        display_name: Some("Virtual Machine Interface Statistics"),
    },
    Table {
        name: "StatTable.VMIStats.raw_drop_stats",
        dataset: Dataset::VmiStats,
        latest_by: None,
        aggregates: &["T=", "COUNT(raw_drop_stats)"],
        hidden: DROP_STATS,
        display_name: Some("Interface drop statistics"),
    },
];

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The table's schema as opserver serves it (`/analytics/table/<t>/schema`).
pub fn schema_json(t: &Table) -> serde_json::Value {
    let mut cols: Vec<serde_json::Value> = t
        .dataset
        .columns()
        .iter()
        .filter(|c| !t.hidden.contains(&c.name))
        .map(|c| {
            let mut v = serde_json::json!({
                "name": c.name,
                "datatype": c.datatype,
                "index": c.index,
                "select": null,
                "suffixes": null,
            });
            if c.name == "session_type" {
                v["requiredness"] = "mandatory".into();
                v["choices"] = serde_json::json!(["server", "client"]);
            }
            v
        })
        .collect();
    for a in t.aggregates {
        cols.push(serde_json::json!({
            "name": a, "datatype": "int", "index": false, "select": null, "suffixes": null,
        }));
    }
    if t.dataset.table_type() == "STAT" {
        cols.extend(stat_aggregates(t));
    }
    serde_json::json!({ "type": t.dataset.table_type(), "columns": cols })
}

/// A StatTable's aggregate columns as opserver lists them: `COUNT_DISTINCT` of every
/// attribute, `SUM`/`MAX`/`MIN`/`AVG` of the numeric ones.
fn stat_aggregates(t: &Table) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for c in t.dataset.columns() {
        if c.name == "T" || t.hidden.contains(&c.name) {
            continue;
        }
        let mut fns = vec!["COUNT_DISTINCT"];
        if c.kind == Int {
            fns.extend(["SUM", "MAX", "MIN", "AVG"]);
        }
        for f in fns {
            let datatype = if f == "AVG" { "avg" } else { c.datatype };
            out.push(serde_json::json!({
                "name": format!("{f}({})", c.name), "datatype": datatype,
                "index": false, "select": null, "suffixes": null,
            }));
        }
    }
    out
}
