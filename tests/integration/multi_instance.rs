//! Several instances on one Redis, no sticky sessions; and Redis going away under traffic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use auth_eid::config::StoreKind;
use serde_json::{json, Value};

use crate::harness::app::{csrf_of, location, result_of, CONTINUATION};
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use crate::support::redis::RedisServer;

async fn instance(redis: &RedisServer, attr_url_port: u16) -> TestApp {
    TestApp::spawn(Options {
        store: StoreKind::Redis,
        redis_url: Some(redis.url()),
        attr_url_allow: vec![format!("http://127.0.0.1:{attr_url_port}/auth_result/")],
        ..Options::default()
    })
    .await
}

/// The same flow URL on the other instance (a load balancer may send any request anywhere).
fn on(app: &TestApp, client_url: &str) -> String {
    let path = client_url.split("/flow/").nth(1).unwrap();
    format!("{}/flow/{path}", app.base)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_started_on_a_is_walked_on_b_and_delivered_once() {
    let redis = RedisServer::start();
    let receiver = Receiver::start(free_port(), 0).await;
    let a = instance(&redis, receiver.port).await;
    let b = instance(&redis, receiver.port).await;

    // redirect: started on A, every browser step on B, the token opens with the shared keys
    let client_url = a.start_ok(&["email"], None).await;
    let done = b.walk(&TestApp::browser(), &on(&b, &client_url)).await;
    assert_eq!(done.status(), 303);
    let opened = b.open_token(&result_of(&location(&done)).unwrap());
    assert_eq!(opened.claims["status"], "succes");

    // the browser alternates between instances on every step
    let client_url = a.start_ok(&["email"], Some(&receiver.url("ab"))).await;
    let browser = TestApp::browser();
    let page = browser.get(&client_url).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let chosen = browser
        .post(format!("{}/means", on(&b, &client_url)))
        .form(&[("csrf", csrf.as_str()), ("means", "test")])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 303);
    let confirm = browser.get(format!("{client_url}/test")).send().await;
    assert_eq!(confirm.unwrap().status(), 200);
    let done = browser
        .post(format!("{}/test", on(&b, &client_url)))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(
        result_of(&location(&done)).is_none(),
        "attr_url: no result in the URL"
    );
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(a.open_token(&got[0].body).claims["status"], "succes");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "two workers, one delivery");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_double_completions_on_two_instances_yield_fifty_results() {
    let redis = RedisServer::start();
    let a = instance(&redis, 9).await;
    let b = instance(&redis, 9).await;
    let mut ready = Vec::new();
    for _ in 0..50 {
        let client_url = a.start_ok(&["email"], None).await;
        let browser = TestApp::browser();
        let csrf = a.choose_test(&browser, &client_url).await;
        ready.push((client_url, browser, csrf));
    }
    // Both confirmations of each flow at once, one to each instance; all 50 flows at once.
    let races: Vec<_> = ready
        .into_iter()
        .map(|(client_url, browser, csrf)| {
            let on_b = on(&b, &client_url);
            tokio::spawn(async move {
                let post = |url: String| {
                    browser
                        .post(format!("{url}/test"))
                        .form(&[("csrf", csrf.as_str())])
                        .send()
                };
                let (x, y) = tokio::join!(post(client_url.clone()), post(on_b));
                [x.unwrap(), y.unwrap()]
            })
        })
        .collect();
    let mut answers = Vec::new();
    for race in races {
        answers.push(race.await.unwrap());
    }
    let mut jtis = BTreeSet::new();
    let mut statuses = BTreeMap::<u16, usize>::new();
    for pair in answers {
        let results: Vec<String> = pair
            .iter()
            .filter_map(|r| r.headers().get("location"))
            .filter_map(|l| result_of(l.to_str().unwrap()))
            .collect();
        assert_eq!(results.len(), 1, "exactly one result per flow");
        jtis.insert(a.open_token(&results[0]).claims["jti"].to_string());
        for r in &pair {
            *statuses.entry(r.status().as_u16()).or_default() += 1;
        }
    }
    assert_eq!(jtis.len(), 50, "fifty distinct results");
    // one 303 with the result and one "finished" page per flow; never a 5xx
    assert_eq!(statuses, BTreeMap::from([(200, 50), (303, 50)]));
}

async fn status_of(res: reqwest::Result<reqwest::Response>) -> u16 {
    res.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_and_restarted_gives_503s_then_service_resumes() {
    let mut redis = RedisServer::start();
    let app = instance(&redis, 9).await;
    let http = reqwest::Client::new();
    let ready = || http.get(format!("{}/health/ready", app.base)).send();
    assert_eq!(status_of(ready().await).await, 200);
    let open_flow = app.start_ok(&["email"], None).await;
    let session_url = {
        let done = app
            .walk(&TestApp::browser(), &app.start_ok(&["email"], None).await)
            .await;
        let claims = app.open_token(&result_of(&location(&done)).unwrap()).claims;
        claims["session_url"].as_str().unwrap().to_string()
    };

    tokio::task::block_in_place(|| redis.stop());
    assert_eq!(status_of(ready().await).await, 503, "ready says the truth");
    let live = http.get(format!("{}/health/live", app.base)).send().await;
    assert_eq!(status_of(live).await, 200, "alive all the same");

    let started = Instant::now();
    let res = app
        .start(&json!({"attributes": ["email"], "continuation": CONTINUATION}))
        .await;
    assert!(started.elapsed() < Duration::from_secs(2), "fails fast");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable", "{body}");

    let page = TestApp::browser()
        .get(&open_flow)
        .header("Accept-Language", "nl-BE")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let update = http
        .post(format!("{session_url}?type=user_active"))
        .send()
        .await;
    assert_eq!(
        status_of(update).await,
        200,
        "session updates always answer 200"
    );

    // A fresh, empty Redis (no persistence): the plugin heals by itself.
    tokio::task::block_in_place(|| redis.restart());
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_of(ready().await).await != 200 {
        assert!(Instant::now() < deadline, "ready again within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client_url = app.start_ok(&["email"], None).await;
    let done = app.walk(&TestApp::browser(), &client_url).await;
    assert!(result_of(&location(&done)).is_some());
    // The flow from before the outage is gone with Redis' data: "expired", not an error.
    let old = TestApp::browser().get(&open_flow).send().await.unwrap();
    assert_eq!(old.status(), 404);
}
