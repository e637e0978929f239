//! The text exposition format, version 0.0.4: `# HELP` and `# TYPE` once per family, then its
//! samples, label values escaped.

use std::collections::HashSet;
use std::fmt::Write;

/// The `Content-Type` of an exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One exposition being written: families in the order they are started, each family's
/// samples together, as the format requires.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
    family: String,
    seen: HashSet<String>,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts the family `name`; the samples that follow belong to it. A counter's name ends
    /// in `_total`. A family started twice is a bug of the caller (its samples would be split).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        debug_assert!(self.seen.insert(name.to_string()), "family {name} twice");
        debug_assert!(
            kind != Kind::Counter || name.ends_with("_total"),
            "counter {name} without _total"
        );
        self.family = name.to_string();
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// A sample of the current (counter or gauge) family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        let name = std::mem::take(&mut self.family);
        self.line(&name, "", labels, None, value);
        self.family = name;
        self
    }

    /// A sample named `<family><suffix>` (`_bucket`, `_sum`, `_count`), with an optional
    /// `le` label last.
    pub(crate) fn line(
        &mut self,
        family: &str,
        suffix: &str,
        labels: &[(&str, &str)],
        le: Option<f64>,
        value: f64,
    ) {
        let out = &mut self.out;
        out.push_str(family);
        out.push_str(suffix);
        if !labels.is_empty() || le.is_some() {
            out.push('{');
            let mut first = true;
            for (k, v) in labels {
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "{k}=\"");
                escape_label(out, v);
                out.push('"');
            }
            if let Some(le) = le {
                if !first {
                    out.push(',');
                }
                let _ = write!(out, "le=\"{}\"", number(le));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {}", number(value));
    }

    /// The name of the family being written.
    pub(crate) fn current(&self) -> &str {
        &self.family
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A sample value or bound: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(h: &str) -> String {
    h.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escapes() {
        let mut e = Exposition::new();
        e.family(
            "cirrus_things_total",
            Kind::Counter,
            "Things.\nCounted \\ here.",
        )
        .sample(&[("peer", "a\"b\\c\nd")], 3.0)
        .sample(&[], 0.25);
        e.family("cirrus_level", Kind::Gauge, "A level.")
            .sample(&[("x", "1"), ("y", "2")], f64::INFINITY);
        assert_eq!(
            e.finish(),
            "# HELP cirrus_things_total Things.\\nCounted \\\\ here.\n\
             # TYPE cirrus_things_total counter\n\
             cirrus_things_total{peer=\"a\\\"b\\\\c\\nd\"} 3\n\
             cirrus_things_total 0.25\n\
             # HELP cirrus_level A level.\n\
             # TYPE cirrus_level gauge\n\
             cirrus_level{x=\"1\",y=\"2\"} +Inf\n"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(number(0.005), "0.005");
        assert_eq!(number(10.0), "10");
        assert_eq!(number(-2.0), "-2");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1e20), "100000000000000000000");
    }
}
