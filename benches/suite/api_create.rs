//! Scenario 1d: sessions created per second through the relying-party API
//! (`POST /api/v1/sessions`, bearer key, 64 connections) next to `POST /start_authentication`
//! on the same plugin, alternating in one run (issue 13's target: at least 0.8x). wrk panics
//! on any non-2xx answer, so a refused create (401, 400, 429) cannot pass for a fast one.

use std::path::Path;
use std::time::Duration;

use crate::keys;
use crate::plugin::{self, free_port, Process};
use crate::report::{ratio, Opts, Row};
use crate::start_auth::{answers, body_for, figures_in};
use crate::wrk::{self, WrkRun};

const SECTION: &str = "1d. Session API: POST /api/v1/sessions next to POST /start_authentication, 64 connections (wrk)";
const CONNS: usize = 64;
/// The bench relying party's key (made for this bench only) and its SHA-256.
const KEY: &str = "bench-api-key-0123456789abcdef0123456789abcdef0123456789abcdef";

fn relying_party(port: u16) -> String {
    let hash: String = openssl::sha::sha256(KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "[[relying_party]]\nid = \"bench\"\ndisplay_name = \"Bench portal\"\nmeans = [\"test\"]\n\
         callback_prefixes = [\"http://127.0.0.1:{port}/done/\"]\napi_key_sha256 = \"{hash}\"\n"
    )
}

fn create_body(port: u16) -> String {
    let back = format!("http://127.0.0.1:{port}/done");
    format!(
        r#"{{"allowedProviders":["test"],"requestedAttributes":["email","name"],"callbackUrls":{{"success":"{back}/ok","abort":"{back}/abort","error":"{back}/error"}}}}"#
    )
}

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let keys = keys::rsa();
    let window = opts.pick(Duration::from_secs(3), Duration::from_secs(1));
    let port = free_port();
    let config = plugin::config(port, keys, 1, "kind = \"memory\"", &relying_party(port));
    let p = Process::plugin(dir, port, &config);
    let start_body = body_for(port);
    answers(
        p.addr,
        &start_body,
        &format!("http://127.0.0.1:{port}/flow/"),
    );
    let api_body = create_body(port);
    let auth = format!("Bearer {KEY}");
    let headers = [("Authorization", auth.as_str())];
    let start = |d: Duration| {
        wrk::post_json(
            dir,
            p.addr,
            "/start_authentication",
            &start_body,
            CONNS,
            d,
            p.pid(),
        )
    };
    let api = |d: Duration| {
        let target = ("/api/v1/sessions", &headers[..]);
        wrk::post_json_with(dir, p.addr, target, &api_body, CONNS, d, p.pid())
    };
    start(Duration::from_secs(1));
    api(Duration::from_secs(1));
    let (mut starts, mut apis): (Vec<WrkRun>, Vec<WrkRun>) = (Vec::new(), Vec::new());
    for run in 0..opts.runs {
        if run % 2 == 0 {
            starts.push(start(window));
            apis.push(api(window));
        } else {
            apis.push(api(window));
            starts.push(start(window));
        }
    }
    let mut rows = figures_in(SECTION, "start_authentication", "plugin", &starts);
    rows.extend(figures_in(SECTION, "API create", "plugin", &apis));
    let per_second = |v: &[WrkRun]| v.iter().map(|w| w.per_second).collect::<Vec<_>>();
    rows.push(Row::new(
        SECTION,
        "API create / start_authentication, requests/s (target >= 0.8)",
        "x",
        ratio(&per_second(&apis), &per_second(&starts)),
    ));
    rows
}
