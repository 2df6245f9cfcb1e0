//! Scenario 2, result issuance end to end (start, the test means walked by a browser, the
//! token), by redirect and by attr_url POST to a local receiver, for RSA and EC result keys;
//! next to the one-core `openssl speed` sign rate of the signing key's algorithm.

use std::path::Path;
use std::time::Duration;

use crate::floor::{self, Alg};
use crate::flows;
use crate::http::Conn;
use crate::keys::{self, KeySet};
use crate::load::{self, Until};
use crate::plugin::{self, free_port, Process};
use crate::receiver::Receiver;
use crate::report::{self, Opts, Row, Target};

const SECTION: &str = "2. result issuance end to end, 64 concurrent flows";
const TAGS: &str = r#"["email","name"]"#;

#[derive(Clone, Copy, PartialEq)]
enum Route {
    Redirect,
    AttrUrl,
}

struct Figures {
    rate: Vec<f64>,
    p99: Vec<f64>,
    cores: Vec<f64>,
}

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for kind in ["RSA", "EC"] {
        let keys = if kind == "RSA" {
            keys::rsa()
        } else {
            keys::ec()
        };
        let alg = if kind == "RSA" {
            Alg::Rsa2048
        } else {
            Alg::P256
        };
        let (floor, results) = load::block_on(measure(opts, dir, keys, alg));
        let alg = alg.label();
        for (route, f) in results {
            let name = match route {
                Route::Redirect => format!("{kind} keys, redirect"),
                Route::AttrUrl => format!("{kind} keys, attr_url POST"),
            };
            let per_core: Vec<f64> = f.rate.iter().zip(&f.cores).map(|(r, c)| r / c).collect();
            rows.push(Row::new(SECTION, format!("{name}: flows/s"), "/s", f.rate));
            rows.push(Row::new(
                SECTION,
                format!("{name}: p99 latency"),
                "ms",
                f.p99,
            ));
            rows.push(Row::new(
                SECTION,
                format!("{name}: plugin CPU"),
                "cores",
                f.cores,
            ));
            rows.push(Row::new(
                SECTION,
                format!("{name}: flows/s per core"),
                "/s",
                per_core.clone(),
            ));
            rows.push(
                Row::new(
                    SECTION,
                    format!("{name}: per core, share of {alg} sign floor"),
                    "%",
                    report::ratio(&per_core, &floor)
                        .iter()
                        .map(|r| r * 100.0)
                        .collect(),
                )
                .target(Target::AtLeast(80.0)),
            );
        }
        rows.push(Row::new(
            SECTION,
            format!("floor: openssl speed {alg} sign, 1 core"),
            "/s",
            floor,
        ));
    }
    rows
}

/// The floor of each run (measured right before it) and each route's figures.
async fn measure(
    opts: &Opts,
    dir: &Path,
    keys: &KeySet,
    alg: Alg,
) -> (Vec<f64>, Vec<(Route, Figures)>) {
    let receiver = Receiver::start().await;
    let port = free_port();
    let text = plugin::config(port, keys, receiver.port, "kind = \"memory\"", "");
    let p = Process::plugin(dir, port, &text);
    let mut out: Vec<(Route, Figures)> = [Route::Redirect, Route::AttrUrl]
        .into_iter()
        .map(|r| {
            (
                r,
                Figures {
                    rate: vec![],
                    p99: vec![],
                    cores: vec![],
                },
            )
        })
        .collect();
    let (mut floor, mut loads) = (Vec::new(), 0u64);
    for _ in 0..opts.runs {
        floor.push(floor::sign_rate(alg));
        // Alternating the two routes within each run keeps their conditions alike.
        for (route, f) in out.iter_mut() {
            let route = *route;
            // `load`: a number of its own for each load, so slots are unique across loads and a
            // late retry cannot stand in for another flow's result.
            let job = |load: u64| {
                let r = receiver.clone();
                async move |c: &mut Conn, n: u64| {
                    match route {
                        Route::Redirect => {
                            let client = flows::start(c, TAGS, None).await?;
                            let location = flows::walk_test(c, &client).await?;
                            if !location.contains("result=") {
                                return Err("redirect without a result".into());
                            }
                        }
                        Route::AttrUrl => {
                            let slot = format!("{load}-{n}");
                            let arrived = r.expect(&slot);
                            let client = flows::start(c, TAGS, Some(&r.url(&slot))).await?;
                            flows::walk_test(c, &client).await?;
                            tokio::time::timeout(Duration::from_secs(30), arrived)
                                .await
                                .map_err(|_| "no delivery within 30 s".to_string())?
                                .map_err(|_| "receiver gone".to_string())?;
                        }
                    }
                    Ok(())
                }
            };
            loads += 2;
            let warm = opts.pick(Duration::from_secs(1), Duration::from_millis(100));
            load::run(p.addr, 64, Until::Elapsed(warm), job(loads - 2)).await;
            let measure = opts.pick(Duration::from_secs(4), Duration::from_millis(400));
            let s = load::measured(p.addr, 64, measure, p.pid(), job(loads - 1)).await;
            s.check("result issuance", 0.0);
            f.rate.push(s.per_second());
            f.p99.push(s.percentile_ms(99.0));
            f.cores.push(s.cores.unwrap_or(f64::NAN));
        }
        // The flows produced real results: the latest delivered token opens and verifies.
        let token = receiver.last_token().expect("a delivered token");
        let claims = keys
            .open(std::str::from_utf8(&token).unwrap_or(""))
            .expect("the delivered token opens with the receiver key and verifies")
            .claims;
        assert_eq!(
            claims.get("attributes").map(|a| &a["email"]),
            Some(&serde_json::json!("an@example.org")),
            "{claims:?}"
        );
    }
    (floor, out)
}
