//! The Smart-ID means through the plugin's pages: real HTTP to the app, the app to the
//! simulator over pinned HTTPS (both in this process), the result token opened like a receiver.

use std::time::Duration;

use auth_eid::simulate::smart_id::Simulator;
use serde_json::{json, Value};

use crate::harness::app::{csrf_of, location, result_of};
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use crate::smart_id::simulator;

mod demo;
pub(crate) mod device_link;
mod logs;
mod resume;
mod revocation;
mod store_outage;

const OK: &str = "40504040001"; // PNOEE: OK, "OK TESTNUMBER", born 1905-04-04, 6144-bit key
pub(crate) const TAGS: &[&str] = &["name", "birthdate", "sid"];

/// `[means.smart_id]` and a demo `[trust.smart_id]` pointing at `sim`. Revocation is off: the
/// simulator runs no OCSP responder, and `off` is refused in production mode only.
pub(crate) fn smart_id_toml(sim: &Simulator, max_sessions: usize) -> String {
    let pki = sim.pki();
    format!(
        r#"
[means.smart_id]
enabled = true
environment = "demo"
base_url = "{base}"
relying_party_uuid = "00000000-0000-4000-8000-000000000000"
relying_party_name = "DEMO"
tls_pins = ["{pin}"]
tls_ca_file = "{ca}"
poll_timeout_ms = 1000
max_sessions = {max_sessions}
[means.smart_id.attributes]
name = "full_name"
birthdate = "date_of_birth"
sid = "national_identity_number"
{trust}"#,
        base = sim.base_url(),
        pin = sim.tls_pin(),
        ca = pki.file("tls-ca.pem").display(),
        trust = auth_eid::simulate::smart_id::trust_profile_toml("smart_id", &pki.file("")),
    )
}

async fn app_with(sim: &Simulator, attr_port: Option<u16>, max_sessions: usize) -> TestApp {
    TestApp::spawn(Options {
        extra_toml: smart_id_toml(sim, max_sessions),
        attr_url_allow: attr_port
            .map(|p| vec![format!("http://127.0.0.1:{p}/auth_result/")])
            .unwrap_or_default(),
        ..Options::default()
    })
    .await
}

/// Opens the flow and picks Smart-ID; gives the CSRF token.
pub(crate) async fn choose(b: &reqwest::Client, client_url: &str) -> String {
    let page = b.get(client_url).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("value=\"smart-id\""), "Smart-ID is offered");
    let csrf = csrf_of(&html);
    let res = b
        .post(format!("{client_url}/means"))
        .form(&[("csrf", csrf.as_str()), ("means", "smart-id")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let form = b
        .get(format!("{client_url}/smart-id"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    csrf
}

pub(crate) async fn submit(
    b: &reqwest::Client,
    client_url: &str,
    csrf: &str,
    country: &str,
    code: &str,
) -> reqwest::Response {
    b.post(format!("{client_url}/smart-id"))
        .form(&[("csrf", csrf), ("country", country), ("code", code)])
        .send()
        .await
        .unwrap()
}

/// Submits the code and shows the waiting page (which starts the session); gives its HTML.
pub(crate) async fn start(
    b: &reqwest::Client,
    client_url: &str,
    csrf: &str,
    country: &str,
    code: &str,
) -> String {
    let res = submit(b, client_url, csrf, country, code).await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).ends_with("/smart-id/wait"));
    let wait = b
        .get(format!("{client_url}/smart-id/wait"))
        .send()
        .await
        .unwrap();
    assert_eq!(wait.status(), 200);
    wait.text().await.unwrap()
}

/// Polls the status endpoint until the phone has answered; gives the last answer's body.
pub(crate) async fn settle(b: &reqwest::Client, client_url: &str) -> String {
    for _ in 0..200 {
        let res = b
            .get(format!("{client_url}/smart-id/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v.as_object().unwrap().len(),
            2,
            "state and message only: {body}"
        );
        if v["state"] != "running" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the Smart-ID session never ended");
}

pub(crate) async fn finish(b: &reqwest::Client, client_url: &str, csrf: &str) -> reqwest::Response {
    b.post(format!("{client_url}/smart-id/finish"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap()
}

fn vc_of(html: &str) -> String {
    let at = html.find("class=\"vc\"").expect("a verification code");
    let text = &html[at..];
    let text = &text[text.find('>').unwrap() + 1..];
    text[..text.find('<').unwrap()].to_string()
}

fn ok_attributes() -> Value {
    json!({"name": "OK TESTNUMBER", "birthdate": "1905-04-04", "sid": "PNOEE-40504040001"})
}

#[tokio::test(flavor = "multi_thread")]
async fn ok_by_redirect_end_to_end() {
    let sim = simulator(200).await;
    let app = app_with(&sim, None, 10).await;
    let client_url = app.start_ok(TAGS, None).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    let page = start(&b, &client_url, &csrf, "EE", OK).await;
    let status = settle(&b, &client_url).await;
    // The code on the page is the one SK computes from the hash it received (D.6 #46); the
    // page was served before the session started.
    let seen = sim.recent_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(vc_of(&page), seen[0]["verificationCode"].as_str().unwrap());
    assert!(status.contains("\"done\""));
    for personal in [OK, "TESTNUMBER", "1905", &vc_of(&page)] {
        assert!(
            !status.contains(personal),
            "status endpoint leaks {personal}"
        );
    }
    let done = finish(&b, &client_url, &csrf).await;
    assert_eq!(done.status(), 303);
    let opened = app.open_token(&result_of(&location(&done)).unwrap());
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(opened.claims["attributes"], ok_attributes());
    // One result only: a second finish shows the "done" page, no second token.
    let again = finish(&b, &client_url, &csrf).await;
    assert_eq!(again.status(), 200);
    assert_eq!(sim.stats()["sessions_created"], 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ok_by_attr_url_reaches_the_receiver_after_the_browser_left() {
    let sim = simulator(300).await;
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = app_with(&sim, Some(port), 10).await;
    let url = format!("http://127.0.0.1:{port}/auth_result/sid");
    let client_url = app.start_ok(TAGS, Some(&url)).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    start(&b, &client_url, &csrf, "EE", OK).await;
    drop(b); // the citizen closes the tab while the phone asks
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "delivered without the browser");
    let opened = app.open_token(&got[0].body);
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(opened.claims["attributes"], ok_attributes());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_stays_lands_after_the_background_result_arrived() {
    let sim = simulator(200).await;
    let port = free_port();
    // Answers each POST after 800 ms: the status says "done" well before that.
    let receiver = Receiver::start_slow(port, 0, Duration::from_millis(800)).await;
    let app = app_with(&sim, Some(port), 10).await;
    let url = format!("http://127.0.0.1:{port}/auth_result/stay");
    let client_url = app.start_ok(TAGS, Some(&url)).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    start(&b, &client_url, &csrf, "EE", OK).await;
    assert!(settle(&b, &client_url).await.contains("\"done\""));
    let done = finish(&b, &client_url, &csrf).await;
    assert_eq!(done.status(), 303);
    assert!(
        !location(&done).contains("result="),
        "the token went server-side"
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "the result is there when the user lands"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_end_failed_and_unusable_documents_fail_at_once() {
    let sim = simulator(100).await;
    let app = app_with(&sim, None, 10).await;
    // USER_REFUSED: a retry is offered; the citizen cancels instead: `failed`.
    let client_url = app.start_ok(TAGS, None).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    start(&b, &client_url, &csrf, "EE", "30403039917").await;
    assert!(settle(&b, &client_url).await.contains("\"failed\""));
    let res = finish(&b, &client_url, &csrf).await;
    assert!(
        location(&res).ends_with("/smart-id/wait"),
        "a retryable failure stays"
    );
    let page = b
        .get(format!("{client_url}/smart-id/wait"))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("/smart-id/retry"));
    let res = b
        .post(format!("{client_url}/cancel"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let opened = app.open_token(&result_of(&location(&res)).unwrap());
    assert_eq!(opened.claims["status"], "failed");
    assert!(opened.claims.get("attributes").is_none());
    // DOCUMENT_UNUSABLE: no retry; finish delivers `failed`.
    let client_url = app.start_ok(TAGS, None).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    start(&b, &client_url, &csrf, "EE", "10101010038").await;
    settle(&b, &client_url).await;
    let res = finish(&b, &client_url, &csrf).await;
    let opened = app.open_token(&result_of(&location(&res)).unwrap());
    assert_eq!(opened.claims["status"], "failed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_code_and_timeout_offer_a_retry_that_then_succeeds() {
    let sim = simulator(100).await;
    let app = app_with(&sim, None, 10).await;
    let client_url = app.start_ok(TAGS, None).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    for code in ["30403039972", "30403039983"] {
        start(&b, &client_url, &csrf, "EE", code).await;
        assert!(
            settle(&b, &client_url).await.contains("\"failed\""),
            "{code}"
        );
        let res = b
            .post(format!("{client_url}/smart-id/retry"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{code}");
        assert!(location(&res).ends_with("/smart-id"));
    }
    start(&b, &client_url, &csrf, "EE", OK).await;
    settle(&b, &client_url).await;
    let res = finish(&b, &client_url, &csrf).await;
    let opened = app.open_token(&result_of(&location(&res)).unwrap());
    assert_eq!(opened.claims["status"], "succes");
    assert_eq!(sim.stats()["sessions_created"], 3);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_results_never_succeed() {
    let sim = simulator(50).await;
    let app = app_with(&sim, None, 10).await;
    // untrusted_ca passes `conclude` and must be stopped by the trust profile.
    for fault in [
        "wrong_signature",
        "untrusted_ca",
        "advanced_level",
        "other_person_certificate",
    ] {
        sim.add_fault(&json!({"fault": fault})).unwrap();
        let client_url = app.start_ok(TAGS, None).await;
        let b = TestApp::browser();
        let csrf = choose(&b, &client_url).await;
        start(&b, &client_url, &csrf, "EE", OK).await;
        assert!(
            settle(&b, &client_url).await.contains("\"failed\""),
            "{fault}"
        );
        let res = finish(&b, &client_url, &csrf).await;
        let opened = app.open_token(&result_of(&location(&res)).unwrap());
        assert_eq!(opened.claims["status"], "failed", "{fault}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_any_session() {
    let sim = simulator(50).await;
    let app = app_with(&sim, None, 10).await;
    let client_url = app.start_ok(TAGS, None).await;
    let b = TestApp::browser();
    let csrf = choose(&b, &client_url).await;
    for (country, code) in [("EE", "40504040002"), ("EE", "123"), ("XX", OK), ("EE", "")] {
        let res = submit(&b, &client_url, &csrf, country, code).await;
        assert_eq!(res.status(), 400, "{country} {code}");
        assert!(
            res.text().await.unwrap().contains("name=\"csrf\""),
            "the form again"
        );
    }
    // No CSRF token: 403, and nothing changes.
    let res = b
        .post(format!("{client_url}/smart-id"))
        .form(&[("country", "EE"), ("code", OK)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Another browser: 403 too.
    let other = TestApp::browser();
    assert_eq!(
        submit(&other, &client_url, &csrf, "EE", OK).await.status(),
        403
    );
    let status = other
        .get(format!("{client_url}/smart-id/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 403);
    assert_eq!(sim.stats()["requests"], 0, "SK never asked");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_beyond_the_bound_fail_busy_and_may_retry() {
    let sim = simulator(1500).await;
    let app = app_with(&sim, None, 1).await;
    let first = app.start_ok(TAGS, None).await;
    let b1 = TestApp::browser();
    let c1 = choose(&b1, &first).await;
    start(&b1, &first, &c1, "EE", OK).await;
    let second = app.start_ok(TAGS, None).await;
    let b2 = TestApp::browser();
    let c2 = choose(&b2, &second).await;
    start(&b2, &second, &c2, "EE", OK).await;
    let busy = settle(&b2, &second).await;
    assert!(busy.contains("\"failed\""), "{busy}");
    assert!(settle(&b1, &first).await.contains("\"done\""));
    let page = b2
        .get(format!("{second}/smart-id/wait"))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("/smart-id/retry"));
    assert_eq!(
        sim.stats()["sessions_created"],
        1,
        "the busy one never reached SK"
    );
    sim.shutdown().await;
}
