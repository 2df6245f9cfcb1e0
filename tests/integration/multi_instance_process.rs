//! Instances as real processes on one Redis: killed with SIGKILL while holding outbox entries,
//! stopped with SIGTERM while a request and a delivery are under way.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use auth_eid::config::StoreKind;
use auth_eid::store::now_millis;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::app::REDIS_PREFIX;
use crate::harness::process::PluginProcess;
use crate::harness::receiver::{Blackhole, Receiver};
use crate::harness::{free_port, Options, TestApp};
use crate::support::redis::{self, RedisServer};

fn options(redis: &RedisServer, attr_url_port: u16) -> Options {
    Options {
        store: StoreKind::Redis,
        redis_url: Some(redis.url()),
        attr_url_allow: vec![format!("http://127.0.0.1:{attr_url_port}/auth_result/")],
        ..Options::default()
    }
}

fn slot_url(port: u16, slot: &str) -> String {
    format!("http://127.0.0.1:{port}/auth_result/{slot}")
}

/// Outbox scores (due time or lease end) by entry id.
async fn outbox_scores(redis: &RedisServer) -> BTreeMap<String, u64> {
    let mut conn = redis::raw(redis).await;
    let pairs: Vec<(String, f64)> = ::redis::cmd("ZRANGE")
        .arg(format!("{REDIS_PREFIX}outbox:due"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut conn)
        .await
        .unwrap();
    pairs.into_iter().map(|(id, s)| (id, s as u64)).collect()
}

async fn wait_until_seen(hole: &Blackhole, slots: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let seen: BTreeSet<String> = hole.seen().into_iter().map(|(p, _)| p).collect();
        if seen.len() >= slots {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {} slots posted",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_down_30s_and_an_instance_killed_with_claimed_entries_lose_nothing() {
    let redis = RedisServer::start();
    let port = free_port();
    // The receiver hangs every POST: a sender holds its entry for the whole timeout.
    let hole = Blackhole::start(port).await;
    let down_since = Instant::now();

    // POSTs hang for 10 s (lease 15 s): A still holds every entry after walking ten flows,
    // even on a slow machine. First attempts hang too: each browser waits 300 ms, then A's
    // first attempts hold the entries until A is killed; B sends them after the lease.
    let slow_posts = || Options {
        delivery_timeout_seconds: 10,
        first_attempt_wait_ms: 300,
        ..options(&redis, port)
    };
    let mut a = PluginProcess::start(&slow_posts(), Some(&redis.url())).await;
    for i in 0..10 {
        let client_url = a
            .start_ok(&["email"], Some(&slot_url(port, &format!("a{i}"))))
            .await;
        assert_eq!(a.walk(&TestApp::browser(), &client_url).await.status(), 303);
    }
    wait_until_seen(&hole, 10, Duration::from_secs(5)).await;
    let now = now_millis();
    let leased = outbox_scores(&redis).await;
    assert_eq!(leased.len(), 10);
    assert!(
        leased.values().all(|&lease_end| lease_end > now),
        "A holds every entry"
    );
    a.kill();

    // B carries on: more flows complete while the receiver is still down.
    let b = TestApp::spawn(slow_posts()).await;
    for i in 0..10 {
        let client_url = b
            .start_ok(&["email"], Some(&slot_url(port, &format!("b{i}"))))
            .await;
        assert_eq!(b.walk(&TestApp::browser(), &client_url).await.status(), 303);
    }
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(down_since.elapsed())).await;
    let attempts = hole.seen();
    hole.stop().await;
    let receiver = Receiver::start(port, 0).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    let by_slot = loop {
        let mut by_slot: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in receiver.received() {
            by_slot.entry(r.slot.clone()).or_default().push(r.body);
        }
        if by_slot.len() == 20 || Instant::now() > deadline {
            break by_slot;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        by_slot.len(),
        20,
        "every result arrives: {:?}",
        by_slot.keys()
    );
    let mut jtis = BTreeSet::new();
    for (slot, bodies) in &by_slot {
        assert!(bodies.iter().all(|body| body == &bodies[0]), "{slot}");
        let earlier = attempts
            .iter()
            .filter(|(path, _)| path.ends_with(&format!("/{slot}")));
        assert!(earlier.clone().count() >= 1, "{slot} was tried while down");
        assert!(
            earlier.into_iter().all(|(_, body)| body == &bodies[0]),
            "{slot}: same bytes on every attempt"
        );
        let claims = b.open_token(&bodies[0]).claims;
        assert_eq!(claims["status"], "succes");
        jtis.insert(claims["jti"].to_string());
    }
    assert_eq!(jtis.len(), 20, "one result per flow");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(outbox_scores(&redis).await.is_empty(), "the outbox drained");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flips_readiness_finishes_requests_hands_back_deliveries_and_exits_zero() {
    let redis = RedisServer::start();
    let port = free_port();
    let hole = Blackhole::start(port).await;
    // A long delivery timeout (lease 15 s): only a hand-back makes the entry due at once.
    let mut a = PluginProcess::start(
        &Options {
            delivery_timeout_seconds: 10,
            grace_seconds: 2,
            ..options(&redis, port)
        },
        Some(&redis.url()),
    )
    .await;
    let client_url = a.start_ok(&["email"], Some(&slot_url(port, "t"))).await;
    a.walk(&TestApp::browser(), &client_url).await;
    wait_until_seen(&hole, 1, Duration::from_secs(5)).await;

    // A request in flight: headers sent, half of the body still to come.
    let body = br#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui"}"#;
    let address = a.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /start_authentication HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = Instant::now();
    a.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Rocket stops accepting at once; whatever answers says 503.
    let ready = reqwest::Client::new()
        .get(format!("{}/health/ready", a.base))
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    // Usually the listener no longer serves new connections, and the probe times out or is
    // refused, which a probe counts as "not ready" too. Only a 200 would be wrong.
    if let Ok(r) = ready {
        assert_eq!(r.status(), 503, "not ready while shutting down");
    }

    slow.write_all(&body[10..]).await.unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the in-flight request completes: {answer}"
    );

    let status = a.wait_exit(Duration::from_secs(6)).await;
    assert!(status.is_some_and(|s| s.success()), "exit 0: {status:?}");
    // grace 2 s + mercy 1 s + Rocket's 1 s, with a second of slack for a busy machine
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopping.elapsed()
    );

    // The hanging delivery was handed back: due now, not leased for 15 s.
    let scores = outbox_scores(&redis).await;
    assert_eq!(scores.len(), 1);
    assert!(
        scores.values().all(|&due| due <= now_millis()),
        "lease released"
    );
    hole.stop().await;
    let receiver = Receiver::start(port, 0).await;
    let _b = TestApp::spawn(options(&redis, port)).await;
    let got = receiver.wait_for(1, Duration::from_secs(3)).await;
    assert_eq!(got.len(), 1, "another instance delivers it at once");
}
