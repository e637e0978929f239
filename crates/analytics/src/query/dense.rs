//! Aggregates of one batch per dictionary id, for the common grouped query whose only key
//! is one string column ("top talkers": `sourceip`, `SUM(bytes)`): a pass per aggregate
//! adds each kept row into an array indexed by the row's dictionary id, and the batch's
//! few hundred or thousand partials are merged into the query's groups afterwards. The
//! per-row work is an index and an add, not a group lookup.

use super::parse::AggFn;

/// One aggregate of the query: its function and the integer column it reads (`None`
/// only for `COUNT` without a column).
#[derive(Debug, Clone, Copy)]
pub struct DenseAgg<'a> {
    pub f: AggFn,
    pub vals: Option<&'a [i64]>,
}

/// The partials of one batch: per dictionary id, the rows kept, and per aggregate its
/// sum (SUM, AVG), minimum or maximum (unused for COUNT).
#[derive(Debug, Default)]
pub struct Partials {
    pub count: Vec<i64>,
    pub vals: Vec<Vec<i64>>,
}

/// Whether an aggregate can be computed per dictionary id (COUNT_DISTINCT cannot).
pub fn supported(f: AggFn, has_int_column: bool) -> bool {
    match f {
        AggFn::Count => true,
        AggFn::Sum | AggFn::Min | AggFn::Max | AggFn::Avg => has_int_column,
        AggFn::CountDistinct => false,
    }
}

/// Fills `p` for the rows `keep` accepts, `ids` being each row's dictionary id (< `n`).
pub fn partials(
    n: usize,
    ids: &[u32],
    aggs: &[DenseAgg<'_>],
    keep: impl Fn(usize) -> bool,
    p: &mut Partials,
) {
    p.count.clear();
    p.count.resize(n, 0);
    for (row, &d) in ids.iter().enumerate() {
        if keep(row) {
            p.count[d as usize] += 1;
        }
    }
    p.vals.resize_with(aggs.len(), Vec::new);
    for (a, acc) in aggs.iter().zip(p.vals.iter_mut()) {
        acc.clear();
        let Some(v) = a.vals else {
            continue;
        };
        let rows = ids.iter().zip(v).enumerate();
        match a.f {
            AggFn::Sum | AggFn::Avg => {
                acc.resize(n, 0);
                for (row, (&d, &x)) in rows {
                    if keep(row) {
                        acc[d as usize] += x;
                    }
                }
            }
            AggFn::Min => {
                acc.resize(n, i64::MAX);
                for (row, (&d, &x)) in rows {
                    if keep(row) {
                        let m = &mut acc[d as usize];
                        *m = (*m).min(x);
                    }
                }
            }
            AggFn::Max => {
                acc.resize(n, i64::MIN);
                for (row, (&d, &x)) in rows {
                    if keep(row) {
                        let m = &mut acc[d as usize];
                        *m = (*m).max(x);
                    }
                }
            }
            AggFn::Count | AggFn::CountDistinct => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_counts_and_extremes_per_id_of_kept_rows() {
        let ids = [0, 1, 0, 2, 1, 0];
        let v = [5, 7, 1, 9, -3, 100];
        let aggs = [
            DenseAgg {
                f: AggFn::Sum,
                vals: Some(&v),
            },
            DenseAgg {
                f: AggFn::Count,
                vals: None,
            },
            DenseAgg {
                f: AggFn::Min,
                vals: Some(&v),
            },
            DenseAgg {
                f: AggFn::Max,
                vals: Some(&v),
            },
        ];
        let mut p = Partials::default();
        // The last row is outside the range.
        partials(4, &ids, &aggs, |row| row < 5, &mut p);
        assert_eq!(p.count, vec![2, 2, 1, 0]);
        assert_eq!(p.vals[0], vec![6, 4, 9, 0]);
        assert_eq!(p.vals[2][..3], [1, -3, 9]);
        assert_eq!(p.vals[3][..3], [5, 7, 9]);
    }
}
