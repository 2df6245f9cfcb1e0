//! Server-side cost of the foundation's hot paths, next to the floor they are bounded by:
//! - starting a flow (parse + checks + store) should take well under a millisecond;
//! - issuing a result (bind, choose, complete: claims, RS256 sign, RSA-OAEP encrypt, store)
//!   should cost little more than the RSA-2048 signature it contains.
//!
//! `cargo bench --bench flow` prints criterion's figures and then a summary with the ratios.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_eid::config::Config;
use auth_eid::flow::FlowService;
use auth_eid::store::memory::MemoryStore;
use auth_eid::token::{Outcome, TokenIssuer};
mod common;

use auth_eid::delivery::Courier;
use criterion::{criterion_group, criterion_main, Criterion};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use tokio::runtime::Runtime;

fn config() -> Config {
    common::config(0, "")
}

fn service(config: &Config) -> FlowService {
    let store = Arc::new(MemoryStore::new(config.flow.max_live_flows));
    FlowService::new(
        config,
        store.clone(),
        Courier::new(store, config.delivery.clone()).unwrap(),
    )
    .unwrap()
}

fn raw_rsa_sign(key: &PKey<openssl::pkey::Private>) -> Vec<u8> {
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer
        .update(b"a JWS signing input of about the usual size")
        .unwrap();
    signer.sign_to_vec().unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let config = config();
    let flows = service(&config);
    let issuer = TokenIssuer::new(&config.signing, &config.encryption).unwrap();
    let key = PKey::private_key_from_pem(auth_eid::demo_keys::SIGNING_PRIVATE.as_bytes()).unwrap();
    let outcome = Outcome::Success {
        attributes: [("email".into(), "an@example.org".into())].into(),
        session_url: None,
    };

    c.bench_function("start_authentication (domain)", |b| {
        b.iter(|| rt.block_on(flows.start(black_box(common::BODY))).unwrap())
    });
    c.bench_function("issue result (bind, choose, complete)", |b| {
        b.iter(|| rt.block_on(common::whole_flow(&flows)))
    });
    c.bench_function("token only (sign + encrypt)", |b| {
        b.iter(|| issuer.issue(black_box(&outcome), 1).unwrap())
    });
    c.bench_function("floor: raw RSA-2048 SHA-256 signature", |b| {
        b.iter(|| raw_rsa_sign(black_box(&key)))
    });

    // The summary: each figure as a ratio to the floor, measured now.
    let per = |n: u32, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed() / n
    };
    let start = per(20_000, &mut || {
        drop(rt.block_on(flows.start(common::BODY)).unwrap())
    });
    let full = per(300, &mut || drop(rt.block_on(common::whole_flow(&flows))));
    let sign = per(300, &mut || drop(raw_rsa_sign(&key)));
    println!("\nsummary (single thread, memory store):");
    println!("  start_authentication        {:>9.1} us", micros(start));
    println!("  issue result, whole flow    {:>9.1} us", micros(full));
    println!("  floor: RSA-2048 signature   {:>9.1} us", micros(sign));
    println!(
        "  issuance / signature        {:>9.2} x",
        full.as_secs_f64() / sign.as_secs_f64()
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

criterion_group! {
    name = foundation;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(foundation);
