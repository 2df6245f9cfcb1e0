//! Delivery to attr_url through the outbox: tried before the browser is redirected (bounded),
//! then retried until the receiver takes it, same bytes.

use std::time::Duration;

use crate::harness::for_each_store;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use auth_eid::config::StoreKind;

for_each_store! {
    receiver_down_for_a_while_then_up_gets_the_result,
    receiver_answering_500_then_200_gets_the_same_bytes,
    a_cancelled_flow_delivers_failed_by_the_same_route,
    the_result_is_at_the_attr_url_before_the_browser_is_redirected,
    a_slow_receiver_holds_the_browser_no_longer_than_the_wait,
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

async fn the_result_is_at_the_attr_url_before_the_browser_is_redirected(store: StoreKind) {
    // Each POST takes 300 ms: the worker's later POST would land well after the 303.
    let receiver = Receiver::start_slow(free_port(), 0, Duration::from_millis(300)).await;
    let app = app_for(receiver.port, store).await;
    let client_url = app.start_ok(&["email"], Some(&receiver.url("o"))).await;
    let done = app.walk(&TestApp::browser(), &client_url).await;
    assert_eq!(done.status(), 303);
    // What a communication platform's continuation page looks up when the browser lands.
    let present = receiver.received();
    assert_eq!(present.len(), 1, "the result is there when the user lands");
    assert_eq!(app.open_token(&present[0].body).claims["status"], "succes");
    assert_eq!(
        app.store.next_delivery_due().await.unwrap(),
        None,
        "and the outbox is empty: no second POST"
    );
}

async fn a_slow_receiver_holds_the_browser_no_longer_than_the_wait(store: StoreKind) {
    let receiver = Receiver::start_slow(free_port(), 0, Duration::from_millis(3500)).await;
    let app = TestApp::spawn(Options {
        store,
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        delivery_timeout_seconds: 6,
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email"], Some(&receiver.url("s"))).await;
    let browser = TestApp::browser();
    let csrf = app.choose_test(&browser, &client_url).await;
    let began = std::time::Instant::now();
    let done = browser
        .post(format!("{client_url}/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let held = began.elapsed();
    assert_eq!(done.status(), 303);
    assert!(
        held >= Duration::from_millis(1900) && held < Duration::from_millis(3300),
        "the redirect waited the configured 2 s, not the receiver's 3.5 s: {held:?}"
    );
    assert!(receiver.received().is_empty(), "still being answered");
    // The attempt goes on in the background and settles the entry itself.
    let got = receiver.wait_for(1, Duration::from_secs(4)).await;
    assert_eq!(got.len(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.store.next_delivery_due().await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_wait_the_browser_is_redirected_at_once_and_the_worker_delivers() {
    let receiver = Receiver::start_slow(free_port(), 0, Duration::from_millis(1500)).await;
    let app = TestApp::spawn(Options {
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        first_attempt_wait_ms: 0,
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email"], Some(&receiver.url("n"))).await;
    let began = std::time::Instant::now();
    let done = app.walk(&TestApp::browser(), &client_url).await;
    assert_eq!(done.status(), 303);
    assert!(
        began.elapsed() < Duration::from_millis(1400),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(receiver.wait_for(1, Duration::from_secs(5)).await.len(), 1);
}
