//! Delivery to attr_url through the outbox: retried until the receiver takes it, same bytes.

use std::time::Duration;

use crate::harness::for_each_store;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use auth_eid::config::StoreKind;

for_each_store! {
    receiver_down_for_a_while_then_up_gets_the_result,
    receiver_answering_500_then_200_gets_the_same_bytes,
    a_cancelled_flow_delivers_failed_by_the_same_route,
}

async fn app_for(port: u16, store: StoreKind) -> TestApp {
    let allow = vec![format!("http://127.0.0.1:{port}/auth_result/")];
    TestApp::spawn(Options {
        store,
        attr_url_allow: allow,
        ..Options::default()
    })
    .await
}

async fn receiver_down_for_a_while_then_up_gets_the_result(store: StoreKind) {
    let port = free_port();
    let app = app_for(port, store).await;
    let url = format!("http://127.0.0.1:{port}/auth_result/late");
    let client_url = app.start_ok(&["email"], Some(&url)).await;
    let done = app.walk(&TestApp::browser(), &client_url).await;
    assert_eq!(
        done.status(),
        303,
        "the browser is not held up by a dead receiver"
    );
    // nothing listens for a while: connection refused, retried with backoff
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let receiver = Receiver::start(port, 0).await;
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "delivered once it is up");
    let opened = app.open_token(&got[0].body);
    assert_eq!(opened.claims["status"], "succes");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "and not again after a 2xx");
}

async fn receiver_answering_500_then_200_gets_the_same_bytes(store: StoreKind) {
    let receiver = Receiver::start(free_port(), 2).await;
    let app = app_for(receiver.port, store).await;
    let client_url = app.start_ok(&["email"], Some(&receiver.url("flaky"))).await;
    app.walk(&TestApp::browser(), &client_url).await;
    let got = receiver.wait_for(3, Duration::from_secs(8)).await;
    assert_eq!(got.len(), 3, "two failures and one success");
    assert!(
        got.iter().all(|r| r == &got[0]),
        "every attempt sends the same bytes"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 3, "nothing after the 200");
}

async fn a_cancelled_flow_delivers_failed_by_the_same_route(store: StoreKind) {
    let receiver = Receiver::start(free_port(), 0).await;
    let app = app_for(receiver.port, store).await;
    let client_url = app.start_ok(&["email"], Some(&receiver.url("c"))).await;
    let res = app.cancel(&TestApp::browser(), &client_url).await;
    assert_eq!(res.status(), 303);
    assert!(!res.headers()["location"]
        .to_str()
        .unwrap()
        .contains("result="));
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(app.open_token(&got[0].body).claims["status"], "failed");
}
