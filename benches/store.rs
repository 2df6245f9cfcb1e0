//! The Redis store against the memory store, in the same run, through the domain layer
//! (`FlowService`, no HTTP): `start_authentication`, and whole flows (start, bind, choose,
//! complete: claims, RS256 sign, RSA-OAEP encrypt, compare-and-set).
//!
//! Criterion measures one operation at a time (latency: a Redis round trip each step). The
//! summary then measures throughput the way a server runs, with many requests in flight (in
//! the domain layer, and `start_authentication` through the whole HTTP server), and prints
//! Redis as a share of memory (target: at least 70 %). redis-server shares the machine's cores
//! with the benchmark, which a deployment would not do.
//!
//! Needs `redis-server` on PATH (or `REDIS_SERVER`); it runs one on a free loopback port,
//! without persistence (the tests' `support/redis.rs`). `cargo bench --bench store`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_eid::config::Config;
use auth_eid::flow::FlowService;
use auth_eid::store::{self, FlowStore};
mod common;
#[allow(dead_code)]
#[path = "../tests/integration/support/redis.rs"]
mod redis_server;

use redis_server::{free_port, RedisServer};

use auth_eid::delivery::Courier;
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

/// Requests in flight in the throughput runs.
const IN_FLIGHT: usize = 32;
const RUN_FOR: Duration = Duration::from_secs(4);

fn config(store: &str) -> Config {
    common::config(free_port(), &format!("[store]\n{store}"))
}

async fn service(config: &Config) -> Arc<FlowService> {
    let store: Arc<dyn FlowStore> = store::open(&config.store, config.flow.max_live_flows)
        .await
        .expect("the store opens");
    Arc::new(
        FlowService::new(
            config,
            store.clone(),
            Courier::new(store, config.delivery.clone()).unwrap(),
        )
        .unwrap(),
    )
}

#[derive(Clone, Copy)]
enum Work {
    Start,
    WholeFlow,
}

/// The whole server (`app::build`) on a loopback port; gives its base URL.
async fn serve(config: Config) -> (String, rocket::Shutdown) {
    let base = format!("http://127.0.0.1:{}", config.server.port);
    let rocket = auth_eid::app::build(config).await.unwrap();
    let rocket = rocket.ignite().await.unwrap();
    let shutdown = rocket.shutdown();
    tokio::spawn(rocket.launch());
    while reqwest::get(format!("{base}/health/live")).await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (base, shutdown)
}

/// `POST /start_authentication` per second over HTTP, `IN_FLIGHT` at a time.
fn http_throughput(rt: &Runtime, base: &str) -> f64 {
    let client = reqwest::Client::new();
    let url = format!("{base}/start_authentication");
    let done = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (client, url, done) = (client.clone(), url.clone(), done.clone());
                tokio::spawn(async move {
                    while began.elapsed() < RUN_FOR {
                        let res = client
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .body(common::BODY)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(res.status(), 200);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    done.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64()
}

/// Operations per second with `IN_FLIGHT` tasks looping for `RUN_FOR`.
fn throughput(rt: &Runtime, flows: &Arc<FlowService>, work: Work) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (flows, done) = (flows.clone(), done.clone());
                tokio::spawn(async move {
                    while began.elapsed() < RUN_FOR {
                        match work {
                            Work::Start => drop(flows.start(common::BODY).await.unwrap()),
                            Work::WholeFlow => drop(common::whole_flow(&flows).await),
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    done.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64()
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let redis = RedisServer::start();
    let memory_store = "kind = \"memory\"".to_string();
    let redis_store = format!("kind = \"redis\"\nurl = \"{}\"\npool_size = 4", redis.url());
    let memory = rt.block_on(service(&config(&memory_store)));
    let redis_flows = rt.block_on(service(&config(&redis_store)));

    for (name, flows) in [("memory", &memory), ("redis", &redis_flows)] {
        c.bench_function(
            &format!("start_authentication, one at a time ({name})"),
            |b| b.iter(|| rt.block_on(flows.start(black_box(common::BODY))).unwrap()),
        );
        c.bench_function(&format!("whole flow, one at a time ({name})"), |b| {
            b.iter(|| rt.block_on(common::whole_flow(flows)))
        });
    }

    // `cargo test --all-targets` runs benches once each, without `--bench`: only check that
    // they work, and spare the test suite the timed runs.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!(
        "\nsummary: {IN_FLIGHT} in flight, {} s each",
        RUN_FOR.as_secs()
    );
    println!(
        "  {:<22} {:>12} {:>12} {:>8}",
        "", "memory /s", "redis /s", "ratio"
    );
    for (name, work) in [
        ("start_authentication", Work::Start),
        ("whole flow", Work::WholeFlow),
    ] {
        let m = throughput(&rt, &memory, work);
        let r = throughput(&rt, &redis_flows, work);
        println!("  {name:<22} {m:>12.0} {r:>12.0} {:>7.0}%", 100.0 * r / m);
    }
    let (memory_base, stop_memory) = rt.block_on(serve(config(&memory_store)));
    let (redis_base, stop_redis) = rt.block_on(serve(config(&redis_store)));
    let m = http_throughput(&rt, &memory_base);
    let r = http_throughput(&rt, &redis_base);
    let name = "start over HTTP";
    println!("  {name:<22} {m:>12.0} {r:>12.0} {:>7.0}%", 100.0 * r / m);
    stop_memory.notify();
    stop_redis.notify();
}

criterion_group! {
    name = stores;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(stores);
