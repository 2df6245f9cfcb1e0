//! The one table the suite prints: every figure as the median of its runs with the spread
//! (min..max), and, where the issue sets one, the target and whether this run meets it.

use std::fmt::Write as _;

/// How many runs each figure gets, and how long each lasts.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    /// Every scenario briefly: proves the suite works, the figures mean nothing.
    pub quick: bool,
    pub runs: usize,
    /// `--smart-id-flows N`: another scale for scenario 4.
    pub smart_id_flows: Option<usize>,
}

impl Opts {
    /// `full` in a full run, `quick` in a quick one.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(self, v: f64) -> bool {
        match self {
            Target::AtLeast(t) => v >= t,
            Target::AtMost(t) => v <= t,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Target::AtLeast(t) => format!(">= {}{unit}", num(t)),
            Target::AtMost(t) => format!("<= {}{unit}", num(t)),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub section: String,
    pub what: String,
    pub unit: &'static str,
    pub runs: Vec<f64>,
    pub target: Option<Target>,
}

impl Row {
    pub fn new(section: &str, what: impl Into<String>, unit: &'static str, runs: Vec<f64>) -> Row {
        Row {
            section: section.to_string(),
            what: what.into(),
            unit,
            runs,
            target: None,
        }
    }

    pub fn target(mut self, t: Target) -> Row {
        self.target = Some(t);
        self
    }

    pub fn median(&self) -> f64 {
        median(&self.runs)
    }
}

pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Run by run `a[i] / b[i]`: a ratio's median is the median of per-run ratios, so each ratio
/// compares two figures measured in the same run.
pub fn ratio(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// A number with about three significant digits, thousands grouped.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_string();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", v);
        let (sign, digits) = s.split_at(usize::from(s.starts_with('-')));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 || a == 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The table, grouped by section, in the order given.
pub fn render(rows: &[Row], opts: &Opts) -> String {
    let w = rows
        .iter()
        .map(|r| r.what.len())
        .max()
        .unwrap_or(10)
        .max(10);
    let mut out = String::new();
    let mut section = "";
    let _ = writeln!(
        out,
        "{:w$}  {:>11}  {:>21}  {:>5}  {:>12}",
        "figure",
        "median",
        "spread (min..max)",
        "unit",
        "target",
        w = w
    );
    for r in rows {
        if r.section != section {
            section = &r.section;
            let _ = writeln!(out, "\n{section}");
        }
        let lo = r.runs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let m = r.median();
        let (target, verdict) = match r.target {
            Some(t) if m.is_finite() => (t.text(r.unit), if t.met(m) { "met" } else { "MISSED" }),
            Some(t) => (t.text(r.unit), "no figure"),
            None => (String::new(), ""),
        };
        let _ = writeln!(
            out,
            "{:w$}  {:>11}  {:>21}  {:>5}  {:>12}  {}",
            r.what,
            num(m),
            format!("{}..{}", num(lo), num(hi)),
            r.unit,
            target,
            verdict,
            w = w
        );
    }
    let _ = writeln!(
        out,
        "\n{} run(s) per figure{}",
        opts.runs,
        if opts.quick {
            "; QUICK MODE: every scenario ran briefly to prove the suite works, the figures mean nothing"
        } else {
            ""
        }
    );
    out
}
