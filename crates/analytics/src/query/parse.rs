//! A query as opserver's `POST /analytics/query` takes it, checked field by field: every
//! refusal names the field (`select_fields[2]`, `where[0][1].op`, ...).

use serde_json::Value;

use super::time::parse_time;
use crate::columns::Kind;
use crate::schema::{Table, table};

/// Contrail's match operators (`OpServerUtils.MatchOp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equal = 1,
    NotEqual = 2,
    InRange = 3,
    NotInRange = 4,
    Leq = 5,
    Geq = 6,
    Prefix = 7,
    Regex = 8,
    Contains = 9,
}

impl Op {
    fn from_code(c: i64) -> Option<Op> {
        Some(match c {
            1 => Op::Equal,
            2 => Op::NotEqual,
            3 => Op::InRange,
            4 => Op::NotInRange,
            5 => Op::Leq,
            6 => Op::Geq,
            7 => Op::Prefix,
            8 => Op::Regex,
            9 => Op::Contains,
            _ => return None,
        })
    }
}

/// A literal of a predicate, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Int(i64),
    Str(String),
}

/// One term of a where or filter clause.
#[derive(Debug, Clone)]
pub struct Pred {
    /// Where: the dataset column; filter: the result column's name.
    pub col: usize,
    pub name: String,
    pub op: Op,
    pub value: Lit,
    pub value2: Option<Lit>,
    pub regex: Option<regex::Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    Sum,
    Count,
    Min,
    Max,
    Avg,
    CountDistinct,
}

/// One select field.
#[derive(Debug, Clone, PartialEq)]
pub enum Sel {
    Col(usize),
    /// `T`: the sample's time.
    T,
    /// `T=<seconds>`: the start of the time bucket (microseconds), a group key.
    Bucket(i64),
    Agg(AggFn, Option<usize>),
}

/// A checked query.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: &'static Table,
    pub from: i64,
    pub to: i64,
    /// (result key, what it is).
    pub select: Vec<(String, Sel)>,
    /// OR of AND lists over dataset columns (empty: every row).
    pub where_: Vec<Vec<Pred>>,
    /// Applied to result rows: OR of AND lists over result keys.
    pub filter: Vec<Vec<Pred>>,
    pub sort_fields: Vec<String>,
    pub descending: bool,
    pub limit: Option<usize>,
    /// The start time was moved later to respect the maximum range.
    pub clamped_from: Option<i64>,
}

impl Query {
    pub fn aggregated(&self) -> bool {
        self.select.iter().any(|(_, s)| matches!(s, Sel::Agg(..)))
    }
}

/// A refusal naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {msg}")]
pub struct QueryError {
    pub field: String,
    pub msg: String,
}

fn err(field: impl Into<String>, msg: impl Into<String>) -> QueryError {
    QueryError {
        field: field.into(),
        msg: msg.into(),
    }
}

/// Limits of one query.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_range_us: i64,
    pub max_limit: usize,
}

fn literal(v: &Value, kind: Kind, field: &str) -> Result<Lit, QueryError> {
    match (kind, v) {
        (Kind::Int, Value::Number(n)) => n
            .as_i64()
            .map(Lit::Int)
            .ok_or_else(|| err(field, format!("{n} is not an integer"))),
        (Kind::Int, Value::String(s)) => s
            .trim()
            .parse()
            .map(Lit::Int)
            .map_err(|_| err(field, format!("{s:?} is not an integer"))),
        (Kind::Str, Value::String(s)) => Ok(Lit::Str(s.clone())),
        (Kind::Str, Value::Number(n)) => Ok(Lit::Str(n.to_string())),
        (_, other) => Err(err(
            field,
            format!("expected a string or number, got {other}"),
        )),
    }
}

/// Parses one clause (`where` or `filter`): a list of AND lists of `{name, value, op,
/// value2}`; a single AND list (a list of objects) is accepted too. `column` resolves a
/// name to (index, kind).
fn clause(
    v: &Value,
    field: &str,
    column: &dyn Fn(&str) -> Option<(usize, Kind)>,
) -> Result<Vec<Vec<Pred>>, QueryError> {
    let Value::Array(ors) = v else {
        return Err(err(
            field,
            "expected a list of AND lists of {name, value, op}",
        ));
    };
    let ors: Vec<&Value> = if ors.iter().all(Value::is_object) && !ors.is_empty() {
        vec![v]
    } else {
        ors.iter().collect()
    };
    let mut out = Vec::new();
    for (i, and) in ors.iter().enumerate() {
        let Value::Array(terms) = and else {
            return Err(err(
                format!("{field}[{i}]"),
                "expected a list of {name, value, op}",
            ));
        };
        let mut list = Vec::new();
        for (j, t) in terms.iter().enumerate() {
            let at = format!("{field}[{i}][{j}]");
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| err(format!("{at}.name"), "missing or not a string"))?;
            let (col, kind) = column(name)
                .ok_or_else(|| err(format!("{at}.name"), format!("unknown column {name:?}")))?;
            let op = t
                .get("op")
                .and_then(Value::as_i64)
                .ok_or_else(|| err(format!("{at}.op"), "missing or not an integer"))?;
            let op = Op::from_code(op)
                .ok_or_else(|| err(format!("{at}.op"), format!("unknown operator {op}")))?;
            let value = t.get("value").unwrap_or(&Value::Null);
            let (value, regex) = match op {
                Op::Regex => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| err(format!("{at}.value"), "a regex must be a string"))?;
                    let re = regex::Regex::new(s)
                        .map_err(|e| err(format!("{at}.value"), format!("bad regex: {e}")))?;
                    (Lit::Str(s.into()), Some(re))
                }
                Op::Prefix | Op::Contains => {
                    (literal(value, Kind::Str, &format!("{at}.value"))?, None)
                }
                _ => (literal(value, kind, &format!("{at}.value"))?, None),
            };
            let value2 = match op {
                Op::InRange | Op::NotInRange => Some(literal(
                    t.get("value2").unwrap_or(&Value::Null),
                    kind,
                    &format!("{at}.value2"),
                )?),
                _ => None,
            };
            list.push(Pred {
                col,
                name: name.to_string(),
                op,
                value,
                value2,
                regex,
            });
        }
        out.push(list);
    }
    Ok(out)
}

fn select_field(t: &Table, s: &str, at: &str) -> Result<Sel, QueryError> {
    let ds = t.dataset;
    if s == "T" {
        return Ok(Sel::T);
    }
    if let Some(w) = s.strip_prefix("T=") {
        let secs: i64 = if w.is_empty() {
            60
        } else {
            w.parse()
                .map_err(|_| err(at, format!("{s:?}: T=<seconds> needs a whole number")))?
        };
        if secs <= 0 {
            return Err(err(
                at,
                format!("{s:?}: the bucket must be at least 1 second"),
            ));
        }
        return Ok(Sel::Bucket(secs * 1_000_000));
    }
    if s == "sample_count" || s == "flow_count" {
        return Ok(Sel::Agg(AggFn::Count, None));
    }
    if let Some(open) = s.find('(')
        && let Some(inner) = s[open + 1..].strip_suffix(')')
    {
        let f = match s[..open].to_ascii_uppercase().as_str() {
            "SUM" => AggFn::Sum,
            "COUNT" => AggFn::Count,
            "MIN" => AggFn::Min,
            "MAX" => AggFn::Max,
            "AVG" => AggFn::Avg,
            "COUNT_DISTINCT" => AggFn::CountDistinct,
            other => return Err(err(at, format!("{s:?}: unknown aggregate {other}"))),
        };
        if f == AggFn::Count {
            return Ok(Sel::Agg(f, None));
        }
        let c = t
            .column(inner)
            .ok_or_else(|| err(at, format!("{s:?}: unknown column {inner:?}")))?;
        if matches!(f, AggFn::Sum | AggFn::Avg | AggFn::Min | AggFn::Max)
            && ds.columns()[c].kind != Kind::Int
        {
            return Err(err(at, format!("{s:?}: {inner} is not numeric")));
        }
        return Ok(Sel::Agg(f, Some(c)));
    }
    t.column(s)
        .map(Sel::Col)
        .ok_or_else(|| err(at, format!("unknown column {s:?} of {}", t.name)))
}

/// Checks a request body at time `now_us`.
pub fn parse(body: &Value, now_us: i64, bounds: Bounds) -> Result<Query, QueryError> {
    let Value::Object(_) = body else {
        return Err(err("body", "expected a JSON object"));
    };
    let name = body
        .get("table")
        .and_then(Value::as_str)
        .ok_or_else(|| err("table", "missing or not a string"))?;
    let t = table(name).ok_or_else(|| err("table", format!("unknown table {name:?}")))?;
    let ds = t.dataset;
    let time = |f: &str| -> Result<i64, QueryError> {
        let v = body.get(f).ok_or_else(|| err(f, "missing"))?;
        parse_time(v, now_us).map_err(|m| err(f, m))
    };
    let mut from = time("start_time")?;
    let to = time("end_time")?;
    if to < from {
        return Err(err("end_time", "is before start_time"));
    }
    let mut clamped_from = None;
    if to - from > bounds.max_range_us {
        from = to - bounds.max_range_us;
        clamped_from = Some(from);
    }
    let Some(Value::Array(sel)) = body.get("select_fields") else {
        return Err(err("select_fields", "missing or not a list"));
    };
    if sel.is_empty() {
        return Err(err("select_fields", "is empty"));
    }
    let mut select = Vec::new();
    for (i, s) in sel.iter().enumerate() {
        let at = format!("select_fields[{i}]");
        let s = s.as_str().ok_or_else(|| err(&at, "not a string"))?.trim();
        let key = if s.starts_with("T=") { "T=" } else { s };
        select.push((key.to_string(), select_field(t, s, &at)?));
    }
    let aggregated = select.iter().any(|(_, s)| matches!(s, Sel::Agg(..)));
    if aggregated && t.latest_by.is_some() {
        return Err(err(
            "select_fields",
            format!("{} has no aggregates: query the series table", t.name),
        ));
    }
    let stored = |n: &str| t.column(n).map(|c| (c, ds.columns()[c].kind));
    let mut where_ = match body.get("where") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => clause(v, "where", &stored)?,
    };
    // Top-level shortcuts: `session_type` for session tables, `dir` for flow tables.
    let mut extra = Vec::new();
    for (key, col) in [("session_type", "session_type"), ("dir", "direction_ing")] {
        let Some(v) = body.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some((c, kind)) = stored(col) else {
            return Err(err(key, format!("{} has no {col} column", t.name)));
        };
        extra.push(Pred {
            col: c,
            name: col.to_string(),
            op: Op::Equal,
            value: literal(v, kind, key)?,
            value2: None,
            regex: None,
        });
    }
    if !extra.is_empty() {
        if where_.is_empty() {
            where_.push(Vec::new());
        }
        for and in &mut where_ {
            and.extend(extra.iter().cloned());
        }
    }
    let keys: Vec<String> = select.iter().map(|(k, _)| k.clone()).collect();
    let result_col = |n: &str| {
        keys.iter().position(|k| k == n).map(|i| {
            let kind = match &select[i].1 {
                Sel::Col(c) => ds.columns()[*c].kind,
                _ => Kind::Int,
            };
            (i, kind)
        })
    };
    let filter = match body.get("filter") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => clause(v, "filter", &result_col)?,
    };
    let sort_fields = match body.get("sort_fields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let f = f
                    .as_str()
                    .ok_or_else(|| err(format!("sort_fields[{i}]"), "not a string"))?;
                let f = if f.starts_with("T=") { "T=" } else { f };
                if !keys.iter().any(|k| k == f) {
                    return Err(err(
                        format!("sort_fields[{i}]"),
                        format!("{f:?} is not among select_fields"),
                    ));
                }
                Ok(f.to_string())
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(err("sort_fields", "not a list")),
    };
    let descending = match body.get("sort") {
        None | Some(Value::Null) => false,
        Some(v) => match v.as_i64() {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(err("sort", "expected 1 (ascending) or 2 (descending)")),
        },
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 && n as usize <= bounds.max_limit => Some(n as usize),
            _ => {
                return Err(err(
                    "limit",
                    format!("expected an integer from 1 to {}", bounds.max_limit),
                ));
            }
        },
    };
    Ok(Query {
        table: t,
        from,
        to,
        select,
        where_,
        filter,
        sort_fields,
        descending,
        limit,
        clamped_from,
    })
}
