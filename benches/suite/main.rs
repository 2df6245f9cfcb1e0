//! The benchmark suite behind `scripts/bench` (docs/performance.md): each figure an operator or
//! a reviewer asks for, measured on loopback against the release binary and printed next to the
//! floor it is bounded by, measured in the same run. Figures print; nothing here fails a build.
//!
//! `cargo bench --bench suite -- [--quick] [--runs N] [--only NAME,...]`. Without `--bench` (as
//! `cargo test --all-targets` runs it) it only says how to run it.

mod card;
mod report;

use report::{Opts, Row};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("benchmark suite: run it with scripts/bench (or cargo bench --bench suite)");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let runs = value_of(&args, "--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let only: Option<Vec<String>> =
        value_of(&args, "--only").map(|v| v.split(',').map(str::to_string).collect());
    let opts = Opts { quick, runs };
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    let mut rows: Vec<Row> = Vec::new();
    if wanted("card") {
        rows.extend(card::rows(&opts));
    }
    print!("{}", report::render(&rows, &opts));
    rows.clear();
}

fn value_of(args: &[String], flag: &str) -> Option<String> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).cloned()
}
