//! A Smart-ID session outlives its instance: two `auth-eid serve` processes on one Redis, the
//! one polling the session stopped (SIGKILL, or SIGTERM), the other resumes it from the stored
//! session id and the citizen's result arrives.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{choose, ok_attributes, settle, smart_id_toml, start, OK, TAGS};
use crate::harness::process::PluginProcess;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use crate::smart_id::simulator;
use crate::support::redis::RedisServer;
use auth_eid::config::StoreKind;
use auth_eid::simulate::smart_id::Simulator;

/// Two instances' options: Redis, the simulator, the lease of a waiting session.
fn options(redis: &RedisServer, sim: &Simulator, receiver: &Receiver, lease_ms: u64) -> Options {
    let toml = smart_id_toml(sim, 10).replacen(
        "max_sessions = 10\n",
        &format!("max_sessions = 10\nresume_after_ms = {lease_ms}\n"),
        1,
    );
    Options {
        store: StoreKind::Redis,
        redis_url: Some(redis.url()),
        extra_toml: toml,
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        ..Options::default()
    }
}

/// The same flow URL on the other instance (a load balancer may send any request anywhere).
fn on(base: &str, client_url: &str) -> String {
    let path = client_url.split("/flow/").nth(1).unwrap();
    format!("{base}/flow/{path}")
}

async fn until_waiting(sim: &Simulator, n: u64) {
    for _ in 0..250 {
        if sim.stats()["waiting"] == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{n} long poll(s) expected at the simulator: {}",
        sim.stats()
    );
}

/// Starts a flow on `a` whose result goes to the receiver and walks the browser to the
/// waiting page there; gives the browser, the flow URL and the flow's CSRF token.
async fn waiting_on(
    a: &PluginProcess,
    receiver: &Receiver,
    slot: &str,
) -> (reqwest::Client, String, String) {
    let client_url = a.start_ok(TAGS, Some(&receiver.url(slot))).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    start(&b, &client_url, &csrf, "EE", OK).await;
    (b, client_url, csrf)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_killed_during_a_smart_id_wait_leaves_the_result_to_the_other() {
    let redis = RedisServer::start();
    let sim = simulator(50).await;
    sim.hold(true);
    let receiver = Receiver::start(free_port(), 0).await;
    let opts = options(&redis, &sim, &receiver, 3_000);
    let mut a = PluginProcess::start(&opts, Some(&redis.url())).await;
    let b_instance = PluginProcess::start(&opts, Some(&redis.url())).await;
    let (browser, client_url, _) = waiting_on(&a, &receiver, "killed").await;
    until_waiting(&sim, 1).await;

    a.kill();
    assert_eq!(sim.release(), 1, "the phone answers after A is gone");
    let killed_at = Instant::now();
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1, "the result arrives through B");
    let opened = a.open_token(&got[0].body);
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(opened.claims["attributes"], ok_attributes());
    // Within the lease and one of B's rounds (a third of it), with room for a busy machine.
    let took = killed_at.elapsed();
    assert!(took < Duration::from_secs(12), "resumed after {took:?}");

    // The citizen's page, now answered by B, says done and leads to the continuation.
    let url_b = on(&b_instance.base, &client_url);
    let body: Value = serde_json::from_str(&settle(&browser, &url_b).await).unwrap();
    assert_eq!(body["state"], "done");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "delivered once");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_instance_hands_its_smart_id_sessions_over_without_waiting_for_the_lease() {
    let redis = RedisServer::start();
    let sim = simulator(50).await;
    sim.hold(true);
    let receiver = Receiver::start(free_port(), 0).await;
    // A lease far longer than the test may take: only the hand-back can be this fast.
    // B claims every third of it (10 s).
    let opts = Options {
        grace_seconds: 1,
        ..options(&redis, &sim, &receiver, 30_000)
    };
    let mut a = PluginProcess::start(&opts, Some(&redis.url())).await;
    let _b = PluginProcess::start(&opts, Some(&redis.url())).await;
    let _waiting = waiting_on(&a, &receiver, "stopped").await;
    until_waiting(&sim, 1).await;

    a.terminate();
    assert!(
        a.wait_exit(Duration::from_secs(10)).await.is_some(),
        "A exits"
    );
    assert_eq!(sim.release(), 1);
    // Without the hand-back B could claim it 20 s after the stop at the earliest (A renewed
    // at most 10 s before it): 20 s is the bound that tells the two apart.
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1, "the result arrives through B");
    assert_eq!(a.open_token(&got[0].body).claims["status"], "succes");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_whose_instance_died_before_sk_answered_can_be_retried() {
    let redis = RedisServer::start();
    let sim = simulator(50).await;
    let receiver = Receiver::start(free_port(), 0).await;
    let opts = options(&redis, &sim, &receiver, 3_000);
    let mut a = PluginProcess::start(&opts, Some(&redis.url())).await;
    let b_instance = PluginProcess::start(&opts, Some(&redis.url())).await;
    // SK takes 20 s to answer A's start request: A dies while waiting for it.
    let slow = serde_json::json!({"fault": "slow_answer", "delay_ms": 20_000});
    sim.add_fault(&slow).unwrap();
    let (browser, client_url, csrf) = waiting_on(&a, &receiver, "early").await;
    // The start request is at the simulator (counted), its answer 20 s away.
    for _ in 0..100 {
        if sim.stats()["requests"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.stats()["requests"], 1, "A's start request reached SK");
    a.kill();

    // B ends the attempt with a failure the citizen may retry; it starts no second session.
    let url_b = on(&b_instance.base, &client_url);
    let body: Value = serde_json::from_str(&settle(&browser, &url_b).await).unwrap();
    assert_eq!(body["state"], "failed");
    assert_eq!(body["message"], "The request was interrupted. Try again.");
    assert_eq!(sim.stats()["requests"], 1, "no second start");
    assert!(receiver.received().is_empty());

    // The citizen tries again on B, and that attempt succeeds.
    let res = browser
        .post(format!("{url_b}/smart-id/retry"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    start(&browser, &url_b, &csrf, "EE", OK).await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(a.open_token(&got[0].body).claims["status"], "succes");
    sim.shutdown().await;
}
