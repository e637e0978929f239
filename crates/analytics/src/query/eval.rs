//! Evaluation of a checked [`Query`] over the store's batches: the time range and the
//! where clause per row (a string predicate is decided once per dictionary entry), then
//! either rows (the record tables keep the latest row per flow or session) or groups keyed
//! by the non-aggregate fields with their aggregates; then filter, sort and limit.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::dense::{self, DenseAgg, Partials};
use super::parse::{AggFn, Lit, Op, Pred, Query, Sel};
use crate::columns::{Batch, FxMap, Kind, StrCol};
use crate::parquet_io::FileError;
use crate::store::Store;

/// What a query returned, and the bounds it met.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rows: Vec<Map<String, Value>>,
    /// Each bound that cut the answer short, said in words.
    pub bounded: Vec<String>,
    pub scanned_rows: u64,
}

/// Limits of evaluation.
#[derive(Debug, Clone, Copy)]
pub struct EvalBounds {
    /// Rows (or groups) kept before sorting.
    pub max_rows: usize,
    /// Rows read before the scan stops.
    pub max_scan_rows: u64,
}

fn int_match(op: Op, v: i64, a: &Lit, b: Option<&Lit>) -> bool {
    let (Lit::Int(a), b) = (a, b) else {
        return false;
    };
    let b = match b {
        Some(Lit::Int(b)) => *b,
        _ => 0,
    };
    match op {
        Op::Equal => v == *a,
        Op::NotEqual => v != *a,
        Op::InRange => v >= *a && v <= b,
        Op::NotInRange => v < *a || v > b,
        Op::Leq => v <= *a,
        Op::Geq => v >= *a,
        Op::Prefix | Op::Contains | Op::Regex => false,
    }
}

fn str_match(p: &Pred, v: &str) -> bool {
    let s = match &p.value {
        Lit::Str(s) => s.as_str(),
        Lit::Int(_) => return false,
    };
    let s2 = match &p.value2 {
        Some(Lit::Str(s)) => s.as_str(),
        _ => "",
    };
    match p.op {
        Op::Equal => v == s,
        Op::NotEqual => v != s,
        Op::InRange => v >= s && v <= s2,
        Op::NotInRange => v < s || v > s2,
        Op::Leq => v <= s,
        Op::Geq => v >= s,
        // An empty prefix matches everything (`name=*` in Contrail's tools).
        Op::Prefix => v.starts_with(s.trim_end_matches('*')),
        Op::Contains => v.contains(s),
        Op::Regex => p.regex.as_ref().is_some_and(|r| r.is_match(v)),
    }
}

/// A predicate bound to one batch.
enum Matcher<'a> {
    Str(&'a [u32], Vec<bool>),
    Int(&'a [i64], &'a Pred),
}

impl Matcher<'_> {
    fn test(&self, row: usize) -> bool {
        match self {
            Matcher::Str(ids, ok) => ok[ids[row] as usize],
            Matcher::Int(v, p) => int_match(p.op, v[row], &p.value, p.value2.as_ref()),
        }
    }
}

fn bind<'a>(b: &'a Batch, where_: &'a [Vec<Pred>]) -> Vec<Vec<Matcher<'a>>> {
    where_
        .iter()
        .map(|and| {
            and.iter()
                .map(|p| match b.str(p.col) {
                    Some(s) => {
                        Matcher::Str(&s.ids, s.dict.iter().map(|d| str_match(p, d)).collect())
                    }
                    None => Matcher::Int(b.int(p.col).expect("projected column"), p),
                })
                .collect()
        })
        .collect()
}

enum Agg {
    Sum(i64),
    Count(i64),
    Min(Option<i64>),
    Max(Option<i64>),
    Avg(i64, i64),
    Distinct(HashSet<i64>),
}

impl Agg {
    fn new(f: AggFn) -> Agg {
        match f {
            AggFn::Sum => Agg::Sum(0),
            AggFn::Count => Agg::Count(0),
            AggFn::Min => Agg::Min(None),
            AggFn::Max => Agg::Max(None),
            AggFn::Avg => Agg::Avg(0, 0),
            AggFn::CountDistinct => Agg::Distinct(HashSet::new()),
        }
    }
    fn add(&mut self, v: i64) {
        match self {
            Agg::Sum(s) => *s += v,
            Agg::Count(n) => *n += 1,
            Agg::Min(m) => *m = Some(m.map_or(v, |m| m.min(v))),
            Agg::Max(m) => *m = Some(m.map_or(v, |m| m.max(v))),
            Agg::Avg(s, n) => {
                *s += v;
                *n += 1;
            }
            Agg::Distinct(set) => {
                set.insert(v);
            }
        }
    }
    /// Adds a partial of `count` rows whose sum, minimum or maximum is `v`.
    fn merge(&mut self, count: i64, v: i64) {
        match self {
            Agg::Sum(s) => *s += v,
            Agg::Count(n) => *n += count,
            Agg::Min(m) => *m = Some(m.map_or(v, |m| m.min(v))),
            Agg::Max(m) => *m = Some(m.map_or(v, |m| m.max(v))),
            Agg::Avg(s, n) => {
                *s += v;
                *n += count;
            }
            Agg::Distinct(_) => unreachable!("COUNT_DISTINCT is never pre-aggregated"),
        }
    }
    fn value(&self) -> Value {
        match self {
            Agg::Sum(v) | Agg::Count(v) => (*v).into(),
            Agg::Min(v) | Agg::Max(v) => v.map_or(Value::Null, Value::from),
            Agg::Avg(s, n) if *n > 0 => (*s as f64 / *n as f64).into(),
            Agg::Avg(..) => Value::Null,
            Agg::Distinct(s) => (s.len() as i64).into(),
        }
    }
}

/// Per select field: where its value comes from in one batch. Strings map the batch's
/// dictionary to the query-wide one (`global`), so keys compare across batches.
enum Source<'a> {
    None,
    T,
    Bucket(i64),
    Int(&'a [i64]),
    Str(&'a [u32], Vec<u32>),
}

impl Source<'_> {
    fn get(&self, t: i64, row: usize) -> i64 {
        match self {
            Source::None => 0,
            Source::T => t,
            Source::Bucket(w) => t.div_euclid(*w) * w,
            Source::Int(v) => v[row],
            Source::Str(ids, map) => map[ids[row] as usize] as i64,
        }
    }
}

fn column_of(s: &Sel) -> Option<usize> {
    match s {
        Sel::Col(c) | Sel::Agg(_, Some(c)) => Some(*c),
        _ => None,
    }
}

/// The dataset columns `q` reads.
pub fn wanted(q: &Query) -> Vec<usize> {
    let ds = q.table.dataset;
    // T only when its values are used: the store reads it anyway where the range cuts.
    let needs_t = q.table.latest_by.is_some()
        || q.select
            .iter()
            .any(|(_, s)| matches!(s, Sel::T | Sel::Bucket(_)));
    let mut w: Vec<usize> = needs_t.then_some(0).into_iter().collect();
    w.extend(q.select.iter().filter_map(|(_, s)| column_of(s)));
    w.extend(q.where_.iter().flatten().map(|p| p.col));
    if let Some(c) = q.table.latest_by.and_then(|n| ds.column(n)) {
        w.push(c);
    }
    w.sort_unstable();
    w.dedup();
    w
}

struct State<'q> {
    q: &'q Query,
    bounds: EvalBounds,
    global: Vec<StrCol>,
    groups: FxMap<Box<[i64]>, usize>,
    aggs: Vec<Vec<Agg>>,
    keys: Vec<Box<[i64]>>,
    /// Record tables: latest row per key (by global id of the key string).
    latest: FxMap<i64, (i64, usize)>,
    /// Reused by the one-string-key path.
    partials: Partials,
    out: Outcome,
    stopped: bool,
}

impl<'q> State<'q> {
    fn sources<'b>(&mut self, b: &'b Batch) -> Vec<Source<'b>> {
        self.q
            .select
            .iter()
            .enumerate()
            .map(|(i, (_, s))| match s {
                Sel::T => Source::T,
                Sel::Bucket(w) => Source::Bucket(*w),
                Sel::Agg(_, None) => Source::None,
                Sel::Col(c) | Sel::Agg(_, Some(c)) => match b.str(*c) {
                    Some(sc) => {
                        let g = &mut self.global[i];
                        Source::Str(&sc.ids, sc.dict.iter().map(|d| g.intern(d)).collect())
                    }
                    None => Source::Int(b.int(*c).expect("projected column")),
                },
            })
            .collect()
    }

    fn value(&self, i: usize, v: i64) -> Value {
        match &self.q.select[i].1 {
            Sel::Col(c) if self.q.table.dataset.columns()[*c].kind == Kind::Str => {
                Value::String(self.global[i].dict[v as usize].to_string())
            }
            _ => v.into(),
        }
    }

    fn batch(&mut self, b: &Batch) {
        if self.stopped || b.len == 0 {
            return;
        }
        if self.out.scanned_rows + b.len as u64 > self.bounds.max_scan_rows {
            self.stopped = true;
            self.out.bounded.push(format!(
                "scan stopped after {} rows (the most one query reads): give a shorter time range or a narrower where",
                self.out.scanned_rows
            ));
            return;
        }
        self.out.scanned_rows += b.len as u64;
        // No T: every row is in the range (and T is not selected).
        let t = b.int(0);
        let matchers = bind(b, &self.q.where_);
        let src = self.sources(b);
        let latest_src = self.q.table.latest_by.map(|n| {
            let c = self.q.table.dataset.column(n).expect("latest_by column");
            b.str(c).expect("latest_by is a string column")
        });
        let aggregated = self.q.aggregated();
        if aggregated && self.batch_dense(t, &matchers, &src) {
            return;
        }
        let mut key: Vec<i64> = Vec::with_capacity(src.len());
        let keyed: Vec<usize> = (0..src.len())
            .filter(|&i| !matches!(self.q.select[i].1, Sel::Agg(..)))
            .collect();
        let mut dense = match (aggregated, keyed.as_slice()) {
            (true, &[k]) => match &src[k] {
                Source::Str(ids, map) => Some((*ids, vec![u32::MAX; map.len()])),
                _ => None,
            },
            _ => None,
        };
        let (from, to) = (self.q.from, self.q.to);
        for row in 0..b.len {
            let ts = t.map_or(0, |t| t[row]);
            if t.is_some() && (ts < from || ts > to) {
                continue;
            }
            if !matchers.is_empty() && !matchers.iter().any(|and| and.iter().all(|m| m.test(row))) {
                continue;
            }
            // One string key: its group is remembered per dictionary id of this batch.
            let cached = dense.as_mut().map(|(ids, cache)| {
                let d = ids[row] as usize;
                (d, cache[d])
            });
            if let Some((_, g)) = cached
                && g != u32::MAX
            {
                let g = g as usize;
                let mut a = 0;
                for (i, (_, s)) in self.q.select.iter().enumerate() {
                    if let Sel::Agg(..) = s {
                        self.aggs[g][a].add(src[i].get(ts, row));
                        a += 1;
                    }
                }
                continue;
            }
            key.clear();
            for (i, (_, s)) in self.q.select.iter().enumerate() {
                if !matches!(s, Sel::Agg(..)) {
                    key.push(src[i].get(ts, row));
                }
            }
            if aggregated {
                let Some(g) = self.group(&key) else {
                    return;
                };
                if let (Some((_, cache)), Some((d, _))) = (dense.as_mut(), cached) {
                    cache[d] = g as u32;
                }
                let mut a = 0;
                for (i, (_, s)) in self.q.select.iter().enumerate() {
                    if let Sel::Agg(..) = s {
                        self.aggs[g][a].add(src[i].get(ts, row));
                        a += 1;
                    }
                }
            } else if let Some(ls) = latest_src {
                // The latest row per flow (or session): key by its uuid string.
                let id = {
                    let g = self.global.last_mut().expect("a slot for the latest key");
                    g.intern(ls.get(row)) as i64
                };
                let fields: Box<[i64]> = key.as_slice().into();
                match self.latest.get(&id).copied() {
                    Some((seen, at)) => {
                        if ts >= seen {
                            self.keys[at] = fields;
                            self.latest.insert(id, (ts, at));
                        }
                    }
                    None => {
                        if self.keys.len() >= self.bounds.max_rows {
                            self.stop_rows();
                            return;
                        }
                        self.latest.insert(id, (ts, self.keys.len()));
                        self.keys.push(fields);
                    }
                }
            } else {
                if self.keys.len() >= self.bounds.max_rows {
                    self.stop_rows();
                    return;
                }
                self.keys.push(key.as_slice().into());
            }
        }
    }

    /// The group of `key`, added when new; `None` (and the scan stopped) past the bound.
    fn group(&mut self, key: &[i64]) -> Option<usize> {
        if let Some(&g) = self.groups.get(key) {
            return Some(g);
        }
        if self.keys.len() >= self.bounds.max_rows {
            self.stop_rows();
            return None;
        }
        let g = self.keys.len();
        let k: Box<[i64]> = key.into();
        self.groups.insert(k.clone(), g);
        self.keys.push(k);
        self.aggs.push(
            self.q
                .select
                .iter()
                .filter_map(|(_, s)| match s {
                    Sel::Agg(f, _) => Some(Agg::new(*f)),
                    _ => None,
                })
                .collect(),
        );
        Some(g)
    }

    /// The aggregates of a batch whose only key is a string column, when every aggregate
    /// can be taken per dictionary id ([`dense`]); false when they cannot.
    fn batch_dense(
        &mut self,
        t: Option<&[i64]>,
        matchers: &[Vec<Matcher<'_>>],
        src: &[Source<'_>],
    ) -> bool {
        let mut aggs = Vec::new();
        let mut key = None;
        for (i, (_, s)) in self.q.select.iter().enumerate() {
            match (s, &src[i]) {
                (Sel::Agg(f, _), Source::Int(v)) if dense::supported(*f, true) => {
                    aggs.push(DenseAgg {
                        f: *f,
                        vals: Some(v),
                    })
                }
                (Sel::Agg(f, _), Source::None) if dense::supported(*f, false) => {
                    aggs.push(DenseAgg { f: *f, vals: None })
                }
                (Sel::Agg(..), _) => return false,
                (_, Source::Str(ids, map)) if key.is_none() => key = Some((*ids, map)),
                _ => return false,
            }
        }
        let Some((ids, map)) = key else {
            return false;
        };
        let (from, to) = (self.q.from, self.q.to);
        let mut p = std::mem::take(&mut self.partials);
        let n = map.len();
        match (t, matchers.is_empty()) {
            (None, true) => dense::partials(n, ids, &aggs, |_| true, &mut p),
            (Some(t), true) => {
                dense::partials(n, ids, &aggs, |row| (from..=to).contains(&t[row]), &mut p)
            }
            (t, false) => {
                let keep = |row: usize| {
                    t.is_none_or(|t| (from..=to).contains(&t[row]))
                        && matchers.iter().any(|and| and.iter().all(|m| m.test(row)))
                };
                dense::partials(n, ids, &aggs, keep, &mut p);
            }
        }
        for (d, &n) in p.count.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let Some(g) = self.group(&[map[d] as i64]) else {
                break;
            };
            for (a, agg) in self.aggs[g].iter_mut().enumerate() {
                agg.merge(n, p.vals[a].get(d).copied().unwrap_or(0));
            }
        }
        self.partials = p;
        true
    }

    fn stop_rows(&mut self) {
        self.stopped = true;
        self.out.bounded.push(format!(
            "result cut at {} rows (the most one query returns): give a limit, a shorter time range or a narrower where",
            self.bounds.max_rows
        ));
    }

    fn finish(mut self) -> Outcome {
        let mut rows = Vec::with_capacity(self.keys.len());
        for (g, key) in self.keys.iter().enumerate() {
            let mut m = Map::new();
            let (mut k, mut a) = (0, 0);
            for (i, (name, s)) in self.q.select.iter().enumerate() {
                if let Sel::Agg(..) = s {
                    m.insert(name.clone(), self.aggs[g][a].value());
                    a += 1;
                } else {
                    m.insert(name.clone(), self.value(i, key[k]));
                    k += 1;
                }
            }
            rows.push(m);
        }
        self.out.rows = rows;
        self.out
    }
}

fn json_match(p: &Pred, v: &Value) -> bool {
    match v {
        Value::String(s) => str_match(p, s),
        Value::Number(n) => match (n.as_i64(), &p.value) {
            (Some(i), Lit::Int(_)) => int_match(p.op, i, &p.value, p.value2.as_ref()),
            _ => str_match(p, &n.to_string()),
        },
        _ => false,
    }
}

fn cmp_json(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Runs `q` over `store`.
pub fn run(store: &Store, q: &Query, bounds: EvalBounds) -> Result<Outcome, FileError> {
    let mut st = State {
        q,
        bounds,
        // One dictionary per select field, and one more for the record tables' key.
        global: (0..=q.select.len()).map(|_| StrCol::default()).collect(),
        groups: FxMap::default(),
        aggs: Vec::new(),
        keys: Vec::new(),
        latest: FxMap::default(),
        partials: Partials::default(),
        out: Outcome::default(),
        stopped: false,
    };
    store.scan(q.table.dataset, &wanted(q), q.from, q.to, |b| st.batch(b))?;
    let mut out = st.finish();
    if !q.filter.is_empty() {
        out.rows.retain(|r| {
            q.filter.iter().any(|and| {
                and.iter()
                    .all(|p| r.get(&p.name).is_some_and(|v| json_match(p, v)))
            })
        });
    }
    if !q.sort_fields.is_empty() {
        out.rows.sort_by(|a, b| {
            let o = q
                .sort_fields
                .iter()
                .map(|f| cmp_json(&a[f], &b[f]))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal);
            if q.descending { o.reverse() } else { o }
        });
    }
    if let Some(l) = q.limit {
        out.rows.truncate(l);
    }
    if let Some(from) = q.clamped_from {
        out.bounded.push(format!(
            "start_time moved to {from}: the longest range one query reads is {} hours",
            (q.to - from) / 3_600_000_000
        ));
    }
    Ok(out)
}
