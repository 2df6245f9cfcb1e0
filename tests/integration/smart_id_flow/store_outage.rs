//! The citizen confirms on the phone while the shared store does not answer (Redis frozen, as
//! in a failover): the answer is not dropped; it is recorded and delivered once Redis is back.

use std::time::Duration;

use super::{choose, ok_attributes, smart_id_toml, start, OK, TAGS};
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use crate::smart_id::simulator;
use crate::support::redis::RedisServer;
use auth_eid::config::StoreKind;

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_comes_while_redis_is_frozen_is_delivered_once_it_answers() {
    let redis = RedisServer::start();
    let sim = simulator(50).await;
    sim.hold(true);
    let receiver = Receiver::start(free_port(), 0).await;
    let app = TestApp::spawn(Options {
        store: StoreKind::Redis,
        redis_url: Some(redis.url()),
        extra_toml: smart_id_toml(&sim, 10),
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(TAGS, Some(&receiver.url("frozen"))).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    start(&b, &client_url, &csrf, "EE", OK).await;
    // The session is waiting at SK and its id is stored.
    for _ in 0..100 {
        if sim.stats()["waiting"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.stats()["waiting"], 1);
    tokio::time::sleep(Duration::from_millis(200)).await;

    redis.pause();
    assert_eq!(sim.release(), 1, "the phone answers");
    // The task sees COMPLETE, verifies, and meets a store that answers nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().is_empty());
    redis.resume();

    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "recorded and delivered after the outage");
    let opened = app.open_token(&got[0].body);
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(opened.claims["attributes"], ok_attributes());
    sim.shutdown().await;
}
