//! Scenario 1b: the memory store holds `max_live_flows`. Starts are refused (503) under 64
//! connections while two browsers open flows made before the store filled: how fast a full
//! store refuses, and whether other citizens' steps wait behind it.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hyper::body::Bytes;

use crate::flows;
use crate::http::Conn;
use crate::keys;
use crate::load::{self, Until};
use crate::plugin::{self, free_port, Process};
use crate::report::{Opts, Row};

const SECTION: &str = "1b. memory store full (max_live_flows), 64 connections starting";

/// A pause between one browser's steps: a citizen, not a load generator.
const THINK: Duration = Duration::from_millis(5);

pub fn rows(opts: &Opts, dir: &Path) -> Vec<Row> {
    let cap: usize = opts.pick(100_000, 3_000);
    // Flows opened during the measured windows, made before the store filled.
    let reserve: usize = opts.pick(12_000, 600);
    let port = free_port();
    let text = plugin::config(port, keys::rsa(), 1, "kind = \"memory\"", "").replace(
        "max_live_flows = 10000000",
        &format!("max_live_flows = {cap}"),
    );
    let p = Process::plugin(dir, port, &text);
    let body = Bytes::from(format!(
        r#"{{"attributes":["email"],"continuation":"http://127.0.0.1:{port}/done/x"}}"#
    ));
    let unopened: Rc<RefCell<Vec<String>>> = Rc::default();
    load::block_on(async {
        let made = unopened.clone();
        let make = async move |c: &mut Conn, _| {
            let path = flows::start(c, r#"["email"]"#, None).await?;
            made.borrow_mut().push(path);
            Ok(())
        };
        load::run(p.addr, 16, Until::Count(reserve as u64), make).await;
        // The rest of the cap, then one more to see the 503.
        let filler = body.clone();
        let fill = async move |c: &mut Conn, _| {
            c.post_json("/start_authentication", filler.clone())
                .await
                .map(drop)
        };
        load::run(p.addr, 64, Until::Count((cap - reserve) as u64), fill).await;
    });
    let (mut refused, mut step_p99, mut start_p99) = (vec![], vec![], vec![]);
    for _ in 0..opts.runs {
        let refuse = {
            let body = body.clone();
            async move |c: &mut Conn, _| {
                c.post_json("/start_authentication", body.clone())
                    .await?
                    .expect(503, "start with the store full")
                    .map(drop)
            }
        };
        let steps: Rc<RefCell<Vec<u32>>> = Rc::default();
        let (queue, times) = (unopened.clone(), steps.clone());
        let browse = async move |c: &mut Conn, _| {
            tokio::time::sleep(THINK).await;
            let path = queue.borrow_mut().pop().ok_or("no flow left to open")?;
            c.forget_cookies();
            let began = Instant::now();
            c.get(&path).await?.expect(200, "a flow page")?;
            times.borrow_mut().push(began.elapsed().as_micros() as u32);
            Ok(())
        };
        let measure = opts.pick(Duration::from_secs(4), Duration::from_millis(300));
        let (starts, browsing) = load::block_on(async {
            tokio::join!(
                load::measured(p.addr, 64, measure, p.pid(), refuse),
                load::run(p.addr, 2, Until::Elapsed(measure), browse),
            )
        });
        starts.check("start with the store full", 0.0);
        browsing.check("browser steps with the store full", 0.0);
        refused.push(starts.per_second());
        start_p99.push(starts.percentile_ms(99.0));
        step_p99.push(load::percentile_ms(&steps.borrow(), 99.0));
    }
    vec![
        Row::new(SECTION, "starts refused (503)/s", "/s", refused),
        Row::new(SECTION, "p99 of a refused start", "ms", start_p99),
        Row::new(
            SECTION,
            "p99 of a browser opening its flow meanwhile",
            "ms",
            step_p99,
        ),
    ]
}
