//! The benchmark suite behind `scripts/bench` (docs/performance.md): each figure an operator or
//! a reviewer asks for, measured on loopback against the release binary and printed next to the
//! floor it is bounded by, measured in the same run. Figures print; nothing here fails a build.
//!
//! `cargo bench --bench suite -- [--quick] [--runs N] [--only NAME,...]`. Without `--bench` (as
//! `cargo test --all-targets` runs it) it only says how to run it.

mod api_create;
mod card;
mod floor;
mod flows;
mod full_store;
mod http;
mod idle;
mod issuance;
#[allow(dead_code)]
#[path = "../../tests/integration/harness/keys.rs"]
mod keys;
mod limits;
mod load;
mod plugin;
mod probe;
mod receiver;
#[allow(dead_code)]
#[path = "../../tests/integration/support/redis.rs"]
mod redis_server;
mod reference;
mod report;
mod smart_id;
mod start_auth;
mod wrk;

use std::time::Instant;

use report::{Opts, Row};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Scenario 1 starts this binary again as its stateless reference server.
    if let [flag, port] = &args[..] {
        if flag == reference::FLAG {
            reference::serve(port.parse().expect("a port number"));
            return;
        }
    }
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
    let smart_id_flows = value_of(&args, "--smart-id-flows").and_then(|v| v.parse().ok());
    let opts = Opts {
        quick,
        runs,
        smart_id_flows,
    };
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    let began = Instant::now();
    let dir = tempfile::tempdir().expect("a scratch directory");
    let mut rows: Vec<Row> = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Vec<Row>| {
        if wanted(name) {
            let t = Instant::now();
            eprintln!("suite: {name} ...");
            rows.extend(f());
            eprintln!("suite: {name} took {:.0?}", t.elapsed());
        }
    };
    step("start", &mut || start_auth::rows(&opts, dir.path()));
    step("limits", &mut || limits::rows(&opts, dir.path()));
    step("api", &mut || api_create::rows(&opts, dir.path()));
    step("full-store", &mut || full_store::rows(&opts, dir.path()));
    step("issuance", &mut || issuance::rows(&opts, dir.path()));
    step("card", &mut || card::rows(&opts));
    step("smart-id", &mut || {
        smart_id::rows(&opts, dir.path(), smart_id::Api::V2)
    });
    step("smart-id-v3", &mut || {
        smart_id::rows(&opts, dir.path(), smart_id::Api::V3)
    });
    step("idle", &mut || idle::rows(&opts, dir.path()));
    print!("{}", report::render(&rows, &opts));
    println!("whole suite: {:.0?}", began.elapsed());
}

fn value_of(args: &[String], flag: &str) -> Option<String> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).cloned()
}
