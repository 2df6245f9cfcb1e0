//! Scenario 1: `POST /start_authentication` under 64 concurrent connections, memory and Redis store.

use std::path::Path;
use std::time::Duration;

use hyper::body::Bytes;

use crate::http::Conn;
use crate::keys;
use crate::load::{self, Until};
use crate::plugin::{self, free_port, Process};
use crate::redis_server::RedisServer;
use crate::report::{Opts, Row};

const SECTION: &str = "1. POST /start_authentication, 64 connections";

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let keys = keys::rsa();
    let redis = RedisServer::start();
    let stores = [
        ("memory", "kind = \"memory\"".to_string()),
        (
            "Redis",
            format!("kind = \"redis\"\nurl = \"{}\"\npool_size = 4", redis.url()),
        ),
    ];
    let mut rows = Vec::new();
    for (name, store) in stores {
        let port = free_port();
        let p = Process::plugin(dir, port, &plugin::config(port, keys, 1, &store, ""));
        let body = Bytes::from(format!(
            r#"{{"attributes":["email","name"],"continuation":"http://127.0.0.1:{port}/done/x"}}"#
        ));
        let (mut rate, mut p50, mut p99, mut cores) = (vec![], vec![], vec![], vec![]);
        for _ in 0..opts.runs {
            let body = body.clone();
            let job = async move |c: &mut Conn, _| {
                c.post_json("/start_authentication", body.clone())
                    .await?
                    .expect(200, "start_authentication")
                    .map(drop)
            };
            let s = load::block_on(async {
                let warm = opts.pick(Duration::from_secs(1), Duration::from_millis(100));
                load::run(p.addr, 64, Until::Elapsed(warm), job.clone()).await;
                let measure = opts.pick(Duration::from_secs(4), Duration::from_millis(300));
                load::measured(p.addr, 64, measure, p.pid(), job).await
            });
            s.check(&format!("start_authentication ({name})"), 0.0);
            rate.push(s.per_second());
            p50.push(s.percentile_ms(50.0));
            p99.push(s.percentile_ms(99.0));
            cores.push(s.cores.unwrap_or(f64::NAN));
        }
        rows.push(Row::new(
            SECTION,
            format!("{name} store: requests/s"),
            "/s",
            rate,
        ));
        rows.push(Row::new(
            SECTION,
            format!("{name} store: p50 latency"),
            "ms",
            p50,
        ));
        rows.push(Row::new(
            SECTION,
            format!("{name} store: p99 latency"),
            "ms",
            p99,
        ));
        rows.push(Row::new(
            SECTION,
            format!("{name} store: plugin CPU"),
            "cores",
            cores,
        ));
    }
    rows
}
