//! `session.expired`: a session that reaches its lifetime without ending sends it once, signed,
//! with the tracker as it stood; one that ended does not; two instances on one Redis send it
//! once between them.

use std::time::Duration;

use auth_eid::config::StoreKind;
use serde_json::{json, Value};

use super::{app, create, create_body, redis_pair, status, steps, verify, KEY};
use crate::harness::receiver::Receiver;
use crate::harness::{for_each_store, free_port, TestApp};
use crate::support::redis::RedisServer;

/// A session of `app` that lives `seconds`.
async fn create_short(app: &TestApp, seconds: u64) -> Value {
    let mut body = create_body();
    body["sessionLifetime"] = json!(seconds);
    let res = create(app, Some(KEY), &body).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn an_expired_session_sends_session_expired_once(store: StoreKind) {
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = app(store, Some(port), true).await;
    let created = create_short(&app, 1).await;
    let id = created["id"].as_str().unwrap();
    let url = created["authenticationUrl"].as_str().unwrap();
    let page = TestApp::browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(receiver.received().is_empty(), "nothing before the expiry");
    let got = receiver.wait_for(1, Duration::from_secs(6)).await;
    assert_eq!(got.len(), 1);
    verify(got[0].signature.as_deref().unwrap(), &got[0].body).unwrap();
    let event = super::event_of(&got[0].body);
    assert_eq!(event["type"], "session.expired");
    assert_eq!(event["sessionId"], id);
    assert_eq!(event["status"], "EXPIRED");
    assert_eq!(event["error"]["code"], "expired");
    assert_eq!(event["externalReference"], "case 42/7");
    assert_eq!(event["occurredAt"], created["expiresAt"]);
    assert_eq!(steps(&event), ["created", "opened", "expired"]);
    assert!(event.get("subject").is_none(), "{event}");
    let later = status(&app, id).await;
    assert_eq!(later["status"], "EXPIRED");
    assert!(steps(&later).contains(&"delivered".to_string()), "{later}");
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(receiver.received().len(), 1, "once");
}

async fn an_ended_session_sends_no_expiry_event(store: StoreKind) {
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = app(store, Some(port), false).await;
    let created = create_short(&app, 2).await;
    let url = created["authenticationUrl"].as_str().unwrap();
    assert_eq!(app.walk(&TestApp::browser(), url).await.status(), 303);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "the success only");
    let event = super::event_of(&got[0].body);
    assert_eq!(event["type"], "session.success");
}

for_each_store!(
    an_expired_session_sends_session_expired_once,
    an_ended_session_sends_no_expiry_event,
);

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_redis_send_each_expiry_once() {
    let redis = RedisServer::start();
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let (a, b) = redis_pair(&redis, port).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let on = if i % 2 == 0 { &a } else { &b };
        ids.push(
            create_short(on, 1).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let got = receiver.wait_for(10, Duration::from_secs(8)).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let got_then = receiver.received();
    assert_eq!(got_then.len(), got.len(), "nothing more came");
    let mut sent: Vec<String> = got_then
        .iter()
        .map(|r| {
            let event = super::event_of(&r.body);
            assert_eq!(event["type"], "session.expired");
            event["sessionId"].as_str().unwrap().to_string()
        })
        .collect();
    sent.sort();
    ids.sort();
    assert_eq!(sent, ids, "each session's expiry once, from one of the two");
    assert_eq!(status(&b, &ids[0]).await["status"], "EXPIRED");
}
