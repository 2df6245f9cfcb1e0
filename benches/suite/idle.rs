//! Scenario 5, memory per idle flow: the plugin's resident-set growth over many started (and
//! never walked) flows, divided by their number. Memory store; a fresh process per run.

use std::path::Path;
use std::time::Duration;

use hyper::body::Bytes;

use crate::http::Conn;
use crate::keys;
use crate::load::{self, Until};
use crate::plugin::{self, free_port, Process};
use crate::report::{Opts, Row, Target};

const SECTION: &str = "5. memory per idle flow (memory store)";

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let n: u64 = opts.pick(100_000, 5_000);
    let keys = keys::rsa();
    let mut per_flow = Vec::new();
    let mut total = Vec::new();
    for _ in 0..opts.runs {
        let port = free_port();
        let p = Process::plugin(
            dir,
            port,
            &plugin::config(port, keys, 1, "kind = \"memory\"", ""),
        );
        let body = Bytes::from(format!(
            r#"{{"attributes":["email","name"],"continuation":"http://127.0.0.1:{port}/done/x"}}"#
        ));
        let job = async move |c: &mut Conn, _| {
            c.post_json("/start_authentication", body.clone())
                .await?
                .expect(200, "start_authentication")
                .map(drop)
        };
        let (before, after) = load::block_on(async {
            // The first flows grow what every later one shares (allocator arenas, tables).
            load::run(p.addr, 64, Until::Count(1_000), job.clone()).await;
            settle().await;
            let before = p.usage();
            let s = load::run(p.addr, 64, Until::Count(n), job).await;
            s.check("idle flows", 0.0);
            settle().await;
            (before, p.usage())
        });
        // Signed: a shrinking RSS shows as a negative figure, not as a flattering zero.
        let grown = (after.rss_kb as f64 - before.rss_kb as f64) * 1024.0;
        per_flow.push(grown / n as f64);
        total.push(after.rss_kb as f64 / 1024.0);
    }
    vec![
        Row::new(
            SECTION,
            format!("RSS growth per started flow ({n} flows)"),
            "B",
            per_flow,
        )
        .target(Target::AtMost(2048.0)),
        Row::new(
            SECTION,
            format!("plugin RSS after {n} idle flows"),
            "MB",
            total,
        ),
    ]
}

/// Lets the request buffers of the last burst be freed before reading the RSS.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}
