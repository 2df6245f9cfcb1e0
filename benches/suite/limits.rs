//! Scenario 1c: what the rate-limit check costs `POST /start_authentication`: the same start
//! with its budget off (the default) and on (a budget wrk never reaches, so every request is
//! counted and let through), alternating in one run, in memory and on Redis. wrk itself panics on any non-2xx answer, so a
//! refused start cannot pass for a fast one.

use std::path::Path;
use std::time::Duration;

use crate::keys;
use crate::plugin::{self, free_port, Process};
use crate::redis_server::RedisServer;
use crate::report::{ratio, Opts, Row};
use crate::start_auth::{answers, body_for, figures_in};
use crate::wrk::{self, WrkRun};

const SECTION: &str = "1c. Rate-limit check on POST /start_authentication, 64 connections (wrk)";
const CONNS: usize = 64;
const PATH: &str = "/start_authentication";

/// Counted on every request, never refused.
const ON: &str =
    "[limits.start_authentication]\nenabled = true\ncount = 1000000000\nwindow_seconds = 86400\n";

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let mut rows = pair(opts, dir, "memory", "kind = \"memory\"");
    let redis = RedisServer::start();
    let store = format!("kind = \"redis\"\nurl = \"{}\"\npool_size = 4", redis.url());
    rows.extend(pair(opts, dir, "Redis", &store));
    rows
}

/// The two plugins on one store kind, measured in alternation.
fn pair(opts: &Opts, dir: &Path, store_name: &str, store: &str) -> Vec<Row> {
    let keys = keys::rsa();
    let window = opts.pick(Duration::from_secs(3), Duration::from_secs(1));
    let start = |limits: &str| {
        let port = free_port();
        let p = Process::plugin(dir, port, &plugin::config(port, keys, 1, store, limits));
        let body = body_for(port);
        answers(p.addr, &body, &format!("http://127.0.0.1:{port}/flow/"));
        (p, body)
    };
    let (off, off_body) = start("");
    let (on, on_body) = start(ON);
    let load = |s: &Process, body: &str, d: Duration| {
        wrk::post_json(dir, s.addr, PATH, body, CONNS, d, s.pid())
    };
    load(&off, &off_body, Duration::from_secs(1));
    load(&on, &on_body, Duration::from_secs(1));
    let (mut offs, mut ons): (Vec<WrkRun>, Vec<WrkRun>) = (Vec::new(), Vec::new());
    for run in 0..opts.runs {
        if run % 2 == 0 {
            offs.push(load(&off, &off_body, window));
            ons.push(load(&on, &on_body, window));
        } else {
            ons.push(load(&on, &on_body, window));
            offs.push(load(&off, &off_body, window));
        }
    }
    let mut rows = figures_in(
        SECTION,
        &format!("{store_name}, limit off"),
        "plugin",
        &offs,
    );
    rows.extend(figures_in(
        SECTION,
        &format!("{store_name}, limit on"),
        "plugin",
        &ons,
    ));
    let of = |v: &[WrkRun], f: fn(&WrkRun) -> f64| v.iter().map(f).collect::<Vec<_>>();
    rows.push(Row::new(
        SECTION,
        format!("{store_name}: requests/s, on / off"),
        "x",
        ratio(&of(&ons, |w| w.per_second), &of(&offs, |w| w.per_second)),
    ));
    rows.push(Row::new(
        SECTION,
        format!("{store_name}: p50 added by the check"),
        "ms",
        diff(&of(&ons, |w| w.p50_ms), &of(&offs, |w| w.p50_ms)),
    ));
    rows.push(Row::new(
        SECTION,
        format!("{store_name}: p99 added by the check"),
        "ms",
        diff(&of(&ons, |w| w.p99_ms), &of(&offs, |w| w.p99_ms)),
    ));
    rows
}

/// Run by run differences (`on - off`): the pairs ran next to each other.
fn diff(on: &[f64], off: &[f64]) -> Vec<f64> {
    on.iter().zip(off).map(|(a, b)| a - b).collect()
}
