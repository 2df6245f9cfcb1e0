//! Scenario 4, Smart-ID at scale: many concurrent flows long-polling the simulator (a separate
//! process, held so no session completes), then every user "answers" in one instant (the
//! simulator's release): how many results reach the attr_url receiver, how long after that
//! instant, and the plugin's peak resident set over the whole run. Measured on RP API v2 and,
//! as its own scenario (`--only smart-id-v3`), on v3's notification flow: same accounts, same
//! hold and release, v3's start and status endpoints and ACSP_V2 verification.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::flows;
use crate::http::Conn;
use crate::keys::{self, KeySet};
use crate::load::{self, Until};
use crate::plugin::{self, free_port, Process};
use crate::probe::Probe;
use crate::receiver::Receiver;
use crate::report::{Opts, Row, Target};

const SECTION: &str = "4. Smart-ID: concurrent flows long-polling the simulator";
const SECTION_V3: &str =
    "4b. Smart-ID RP API v3 (notification): concurrent flows long-polling the simulator";
/// A simulator account that answers OK with a 2048-bit key (docs/smart-id.md).
const COUNTRY: &str = "LV";
const CODE: &str = "329999-99901";
const BROWSERS: usize = 16;
const STARTS_PER_S: f64 = 400.0;

/// The RP API the plugin is configured for (the simulator serves both).
#[derive(Clone, Copy)]
pub enum Api {
    V2,
    V3,
}

impl Api {
    fn path(self) -> &'static str {
        match self {
            Api::V2 => "v2",
            Api::V3 => "v3",
        }
    }

    fn section(self) -> &'static str {
        match self {
            Api::V2 => SECTION,
            Api::V3 => SECTION_V3,
        }
    }
}

pub fn rows(opts: &Opts, dir: &Path, api: Api) -> Vec<Row> {
    let n: usize = opts.smart_id_flows.unwrap_or(opts.pick(10_000, 200));
    // The simulator's test PKI (its 6144-bit key takes a while) is made once and kept.
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-smart-id-simulator");
    let keys = keys::rsa();
    let (mut done, mut p50, mut p99, mut peak) = (vec![], vec![], vec![], vec![]);
    let (mut live50, mut live99, mut live_max) = (vec![], vec![], vec![]);
    for _ in 0..opts.runs {
        let sim_port = free_port();
        let listen = format!("127.0.0.1:{sim_port}");
        let sim_log = dir.join(format!("simulator-{sim_port}.txt"));
        let sim = Process::start(
            &[
                "simulate",
                "smart-id",
                "--listen",
                &listen,
                "--state-dir",
                &state.display().to_string(),
            ],
            ([127, 0, 0, 1], sim_port).into(),
            &sim_log,
        );
        let r = load::block_on(run(n, dir, keys, &state, &sim, api));
        done.push(r.arrived as f64 / n as f64 * 100.0);
        p50.push(r.p50);
        p99.push(r.p99);
        peak.push(r.peak_kb as f64 / 1024.0);
        live50.push(load::percentile_ms(&r.live_us, 50.0));
        live99.push(load::percentile_ms(&r.live_us, 99.0));
        live_max.push(load::percentile_ms(&r.live_us, 100.0));
        eprintln!(
            "suite: smart-id {}: /health/live during the burst ({} probes): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            api.path(),
            r.live_us.len(),
            live50.last().unwrap_or(&f64::NAN),
            live99.last().unwrap_or(&f64::NAN),
            live_max.last().unwrap_or(&f64::NAN),
        );
    }
    let section = api.section();
    vec![
        Row::new(section, format!("{n} flows: results delivered"), "%", done)
            .target(Target::AtLeast(100.0)),
        Row::new(section, "COMPLETE to result at attr_url: p50", "ms", p50),
        Row::new(section, "COMPLETE to result at attr_url: p99", "ms", p99),
        Row::new(section, "plugin peak RSS", "MB", peak).target(Target::AtMost(300.0)),
        Row::new(section, "/health/live during the burst: p50", "ms", live50),
        Row::new(section, "/health/live during the burst: p99", "ms", live99)
            .target(Target::AtMost(50.0)),
        Row::new(
            section,
            "/health/live during the burst: max",
            "ms",
            live_max,
        ),
    ]
}

struct Outcome {
    arrived: usize,
    p50: f64,
    p99: f64,
    peak_kb: u64,
    /// `/health/live` latencies (µs) from the release until the last result arrived.
    live_us: Vec<u32>,
}

async fn run(
    n: usize,
    dir: &Path,
    keys: &KeySet,
    state: &Path,
    sim: &Process,
    api: Api,
) -> Outcome {
    let pki = state.join("pki");
    let control = Control::new(&pki, sim.addr.port());
    control.post("hold", r#"{"hold": true}"#).await;
    let receiver = Receiver::start().await;
    let port = free_port();
    let text = plugin::config(
        port,
        keys,
        receiver.port,
        "kind = \"memory\"",
        &smart_id_toml(&pki, sim.addr.port(), api),
    );
    let p = Process::plugin(dir, port, &text);
    let r = receiver.clone();
    // Citizens arrive at STARTS_PER_S: faster, and the simulator (one process on the same two
    // cores, issuing a certificate per session) becomes the bottleneck, not the plugin.
    let pause = Duration::from_secs_f64(BROWSERS as f64 / STARTS_PER_S);
    let job = async move |c: &mut Conn, i: u64| {
        let client = flows::start(c, r#"["name"]"#, Some(&r.url(&i.to_string()))).await?;
        flows::start_smart_id(c, &client, COUNTRY, CODE).await?;
        tokio::time::sleep(pause).await;
        Ok(())
    };
    let started = load::run(p.addr, BROWSERS, Until::Count(n as u64), job).await;
    started.check("Smart-ID flows", 0.0);
    // Wait until every session's long poll waits at the simulator, or no more arrive.
    let (mut waiting, mut last_change) = (0, Instant::now());
    while waiting < n as u64 && last_change.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = control.waiting().await;
        if now != waiting {
            (waiting, last_change) = (now, Instant::now());
        }
    }
    eprintln!(
        "suite: smart-id {}: {waiting} of {n} long polls waiting; releasing",
        api.path()
    );
    let probe = Probe::start(p.addr);
    let complete = Instant::now();
    control.post("release", "{}").await;
    receiver
        .wait_for(n, complete + Duration::from_secs(120))
        .await;
    let live_us = probe.stop();
    let arrivals = receiver.arrivals();
    // A result before the release means the hold did not hold: the figures would be wrong.
    assert!(
        arrivals.iter().all(|a| *a >= complete),
        "results arrived before the simulator released the sessions"
    );
    let lat: Vec<u32> = arrivals
        .iter()
        .map(|a| u32::try_from(a.duration_since(complete).as_micros()).unwrap_or(u32::MAX))
        .collect();
    let token = receiver.last_token().expect("a delivered token");
    let claims = keys
        .open(std::str::from_utf8(&token).unwrap_or(""))
        .expect("the token opens and verifies")
        .claims;
    let name = claims
        .get("attributes")
        .and_then(|a| a["name"].as_str())
        .unwrap_or("");
    assert!(name.contains("TESTNUMBER"), "{claims:?}");
    Outcome {
        arrived: lat.len(),
        p50: load::percentile_ms(&lat, 50.0),
        p99: load::percentile_ms(&lat, 99.0),
        peak_kb: p.usage().peak_kb,
        live_us,
    }
}

fn smart_id_toml(pki: &Path, sim_port: u16, api: Api) -> String {
    let f = |name: &str| pki.join(name).display().to_string();
    let pin = std::fs::read_to_string(pki.join("tls-pin.txt")).expect("the simulator's pin");
    format!(
        r#"
[means.smart_id]
enabled = true
environment = "demo"
base_url = "https://localhost:{sim_port}/smart-id-rp/{version}/"
relying_party_uuid = "00000000-0000-4000-8000-000000000000"
relying_party_name = "DEMO"
tls_pins = ["{pin}"]
tls_ca_file = "{ca}"
poll_timeout_ms = 120000
max_sessions = 20000
[means.smart_id.attributes]
name = "full_name"
{trust}"#,
        version = api.path(),
        pin = pin.trim(),
        ca = f("tls-ca.pem"),
        trust = auth_eid::simulate::smart_id::trust_profile_toml("smart_id", pki),
    )
}

/// The simulator's control API, over its HTTPS port.
struct Control {
    client: reqwest::Client,
    base: String,
}

impl Control {
    fn new(pki: &Path, port: u16) -> Control {
        let ca = std::fs::read(pki.join("tls-ca.pem")).expect("the simulator's TLS CA");
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM CA"))
            .no_proxy()
            .build()
            .expect("an HTTPS client");
        Control {
            client,
            base: format!("https://localhost:{port}/control/"),
        }
    }

    async fn post(&self, what: &str, body: &str) {
        let res = self
            .client
            .post(format!("{}{what}", self.base))
            .body(body.to_string())
            .send()
            .await
            .expect("the simulator's control API answers");
        assert!(
            res.status().is_success(),
            "control/{what}: {}",
            res.status()
        );
    }

    async fn waiting(&self) -> u64 {
        let res = self.client.get(format!("{}stats", self.base)).send().await;
        match res {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["waiting"].as_u64())
                .unwrap_or(0),
            Err(_) => 0,
        }
    }
}
