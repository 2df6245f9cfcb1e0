//! Scenario 1: `POST /start_authentication` under 64 kept-alive connections (wrk), the memory
//! store measured run by run against a stateless Rocket endpoint answering the same request
//! (`reference`), then the Redis store.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hyper::body::Bytes;

use crate::http::Conn;
use crate::keys;
use crate::load;
use crate::plugin::{self, free_port, Process};
use crate::redis_server::RedisServer;
use crate::reference;
use crate::report::{ratio, Opts, Row, Target};
use crate::wrk::{self, WrkRun};

const SECTION: &str = "1. POST /start_authentication, 64 connections (wrk, 1 thread)";
const CONNS: usize = 64;
const PATH: &str = "/start_authentication";

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let keys = keys::rsa();
    let window = opts.pick(Duration::from_secs(3), Duration::from_secs(1));
    let port = free_port();
    let p = Process::plugin(
        dir,
        port,
        &plugin::config(port, keys, 1, "kind = \"memory\"", ""),
    );
    // The same bytes to both; the reference ignores what the continuation says.
    let body = body_for(port);
    let r = reference::start(dir, free_port());
    answers(p.addr, &body, &format!("http://127.0.0.1:{port}/flow/"));
    answers(
        r.addr,
        &body,
        &format!("http://127.0.0.1:{}/confirm/", r.addr.port()),
    );
    let load =
        |s: &Process, d: Duration| wrk::post_json(dir, s.addr, PATH, &body, CONNS, d, s.pid());
    load(&p, Duration::from_secs(1));
    load(&r, Duration::from_secs(1));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 0..opts.runs {
        // Alternating which goes first, so a drift in the machine's load favours neither.
        if run % 2 == 0 {
            ours.push(load(&p, window));
            theirs.push(load(&r, window));
        } else {
            theirs.push(load(&r, window));
            ours.push(load(&p, window));
        }
    }
    drop((p, r));
    let mut rows = figures("memory store", "plugin", &ours);
    rows.extend(figures("stateless reference", "reference", &theirs));
    let rate = |v: &[WrkRun]| v.iter().map(|w| w.per_second).collect::<Vec<_>>();
    rows.push(
        Row::new(
            SECTION,
            "memory store / stateless reference, requests/s",
            "x",
            ratio(&rate(&ours), &rate(&theirs)),
        )
        .target(Target::AtLeast(1.0)),
    );

    let redis = RedisServer::start();
    let port = free_port();
    let store = format!("kind = \"redis\"\nurl = \"{}\"\npool_size = 4", redis.url());
    let p = Process::plugin(dir, port, &plugin::config(port, keys, 1, &store, ""));
    let body = body_for(port);
    answers(p.addr, &body, &format!("http://127.0.0.1:{port}/flow/"));
    let load = |d| wrk::post_json(dir, p.addr, PATH, &body, CONNS, d, p.pid());
    load(Duration::from_secs(1));
    let redis_runs: Vec<WrkRun> = (0..opts.runs).map(|_| load(window)).collect();
    rows.extend(figures("Redis store", "plugin", &redis_runs));
    rows
}

/// A start request for the plugin on `port` (its continuation allow-list names that port).
pub fn body_for(port: u16) -> String {
    format!(r#"{{"attributes":["email","name"],"continuation":"http://127.0.0.1:{port}/done/x"}}"#)
}

/// Requests/s, p50, p99 and the server's CPU of `runs`.
fn figures(name: &str, who: &str, runs: &[WrkRun]) -> Vec<Row> {
    figures_in(SECTION, name, who, runs)
}

/// [`figures`] under another section's heading.
pub fn figures_in(section: &str, name: &str, who: &str, runs: &[WrkRun]) -> Vec<Row> {
    let of = |f: fn(&WrkRun) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    vec![
        Row::new(
            section,
            format!("{name}: requests/s"),
            "/s",
            of(|w| w.per_second),
        ),
        Row::new(
            section,
            format!("{name}: p50 latency"),
            "ms",
            of(|w| w.p50_ms),
        ),
        Row::new(
            section,
            format!("{name}: p99 latency"),
            "ms",
            of(|w| w.p99_ms),
        ),
        Row::new(
            section,
            format!("{name}: {who} CPU"),
            "cores",
            of(|w| w.cores),
        ),
    ]
}

/// Panics unless `addr` answers `body` with 200 and a `client_url` starting with `prefix`: wrk
/// counts statuses, never looks at bodies.
pub fn answers(addr: SocketAddr, body: &str, prefix: &str) {
    let body = Bytes::from(body.to_string());
    let answer = load::block_on(async move {
        let mut c = Conn::new(addr);
        c.post_json(PATH, body).await?.expect(200, PATH)
    })
    .unwrap_or_else(|e| panic!("{addr}: {e}"));
    let json: serde_json::Value = serde_json::from_slice(&answer.body).expect("a JSON answer");
    let url = json["client_url"].as_str().unwrap_or("");
    assert!(url.starts_with(prefix), "{addr}: client_url {url:?}");
}
