//! Webhooks: at least once through the outbox, the same bytes on every attempt, a signature
//! that fails when the body is changed or the delivery replayed; two instances on one Redis.

use std::time::Duration;

use auth_eid::config::StoreKind;
use auth_eid::delivery::webhook::{self, VerifyError};

use super::{app, create_ok, redis_pair, status, verify, SECRET};
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, TestApp};
use crate::support::redis::RedisServer;

/// Walks a new session of `app` to success; gives its id.
async fn walk_one(app: &TestApp) -> String {
    let created = create_ok(app).await;
    let url = created["authenticationUrl"].as_str().unwrap();
    assert_eq!(app.walk(&TestApp::browser(), url).await.status(), 303);
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_down_for_30_s_then_up_gets_the_event_once() {
    let port = free_port();
    let app = app(StoreKind::Memory, Some(port), false).await;
    let id = walk_one(&app).await;
    // Nothing listens on the port: each attempt is refused and retried with backoff.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let receiver = Receiver::start(port, 0).await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    verify(got[0].signature.as_deref().unwrap(), &got[0].body).unwrap();
    let event = super::event_of(&got[0].body);
    assert_eq!(event["sessionId"], id.as_str());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "once, no more retries");
    let steps = status(&app, &id).await["tracker"].to_string();
    assert!(steps.contains("delivered"), "{steps}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_send_the_same_bytes_each_signed_afresh() {
    let port = free_port();
    let receiver = Receiver::start(port, 2).await;
    let app = app(StoreKind::Memory, Some(port), true).await;
    walk_one(&app).await;
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 3, "two refused, one accepted");
    assert!(got.iter().all(|r| r.body == got[0].body), "same bytes");
    for r in &got {
        verify(r.signature.as_deref().unwrap(), &r.body).unwrap();
    }
    let event = super::event_of(&got[0].body);
    assert_eq!(event["subject"]["email"], "an@example.org", "opted in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_or_replayed_webhook_fails_verification() {
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = app(StoreKind::Memory, Some(port), false).await;
    walk_one(&app).await;
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    let (header, body) = (got[0].signature.clone().unwrap(), got[0].body.clone());
    assert_eq!(verify(&header, &body), Ok(()));
    let tampered = body.replace("SUCCESS", "ABORT\u{0}");
    assert_eq!(verify(&header, &tampered), Err(VerifyError::Mismatch));
    // Replayed ten minutes later: outside the five-minute window.
    let later = auth_eid::store::now_millis() / 1000 + 600;
    let replay = webhook::verify(SECRET.as_bytes(), &header, &body, later, 300);
    assert_eq!(replay, Err(VerifyError::Stale));
    // ... and moving `t` forward breaks the signature.
    let t: u64 = header[2..header.find(',').unwrap()].parse().unwrap();
    let moved = header.replace(&format!("t={t}"), &format!("t={}", t + 600));
    let moved = webhook::verify(SECRET.as_bytes(), &moved, &body, later, 300);
    assert_eq!(moved, Err(VerifyError::Mismatch));
    // The receiver's check by hand, as docs/rp-api.md shows it with openssl.
    let v1 = header.split("v1=").nth(1).unwrap();
    let by_hand = openssl::pkey::PKey::hmac(SECRET.as_bytes()).unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &by_hand).unwrap();
    signer.update(format!("{t}.{body}").as_bytes()).unwrap();
    let mac: String = signer
        .sign_to_vec()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(mac, v1);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_redis_serve_any_call_of_a_session() {
    let redis = RedisServer::start();
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let (a, b) = redis_pair(&redis, port).await;
    let created = create_ok(&a).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(status(&b, id).await["status"], "CREATED");
    // The browser on B (same cookie key), the status on A; an ID Contact flow beside it.
    let path = created["authenticationUrl"]
        .as_str()
        .unwrap()
        .split("/flow/")
        .nth(1)
        .unwrap();
    let on_b = format!("{}/flow/{path}", b.base);
    let client_url = a.start_ok(&["email"], None).await;
    let done = b.walk(&TestApp::browser(), &on_b).await;
    assert_eq!(done.status(), 303);
    assert_eq!(a.walk(&TestApp::browser(), &client_url).await.status(), 303);
    let on_a = status(&a, id).await;
    assert_eq!(on_a["status"], "SUCCESS");
    assert_eq!(on_a["subject"]["email"], "an@example.org");
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "one instance sent it, once");
}
