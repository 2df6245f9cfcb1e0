//! What an operator swapping in auth-eid reads in its logs: why a start was refused (the core
//! hides our 4xx behind its own 500) and why a delivery was given up.

use std::time::Duration;

use serde_json::json;

use crate::harness::process::PluginProcess;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn every_refused_start_says_code_field_and_origin_never_the_query() {
    let attr_port = free_port();
    let options = Options {
        attr_url_allow: vec![format!("http://127.0.0.1:{attr_port}/auth_result/")],
        ..Options::default()
    };
    let server = PluginProcess::start_logged(&options).await;
    let secret = "session=s3cr3t-q";
    let cases = [
        // (body, the code, what the log line must hold)
        (
            json!({"attributes": ["email"], "continuation": format!("http://localhost:9100/ui?{secret}")}),
            "continuation_not_allowed",
            vec![
                "field=\"continuation\"",
                "origin=\"http://localhost:9100\"",
                "localhost and 127.0.0.1 are different hosts",
            ],
        ),
        (
            json!({"attributes": ["email"], "continuation": "http://127.0.0.1:9100/ui",
                   "attr_url": format!("http://127.0.0.1:{attr_port}/elsewhere/x?{secret}")}),
            "attr_url_not_allowed",
            vec!["field=\"attr_url\"", "only under the paths /auth_result/"],
        ),
        (
            json!({"attributes": ["email"], "continuation": "tel:+3212345678"}),
            "invalid_continuation",
            vec!["origin=\"tel:\"", "shim_tel_url"],
        ),
        (
            json!({"attributes": ["shoe_size"], "continuation": "http://127.0.0.1:9100/ui"}),
            "unsupported_attributes",
            vec!["field=\"attributes\"", "shoe_size"],
        ),
        (
            json!({"attributes": "email"}),
            "invalid_request",
            vec!["field=\"body\""],
        ),
    ];
    for (body, code, expected) in &cases {
        let before = server.log_size();
        let res = server.start(body).await;
        assert_eq!(res.status(), 400, "{body}");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let logs = server.logs_so_far();
        let line = logs[before as usize..]
            .lines()
            .find(|l| l.contains("start_authentication refused"))
            .unwrap_or_else(|| panic!("no refusal line for {code}:\n{logs}"));
        assert!(line.contains(&format!("code=\"{code}\"")), "{line}");
        for part in expected {
            assert!(line.contains(part), "{part:?} missing in {line}");
        }
        assert!(
            !line.contains(secret) && !line.contains("/ui?"),
            "query in {line}"
        );
    }
    // Refused before the body is read: the media type.
    let before = server.log_size();
    let res = reqwest::Client::new()
        .post(format!("{}/start_authentication", server.base))
        .body("attributes=email")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let logs = server.logs_so_far();
    assert!(
        logs[before as usize..].contains("code=\"unsupported_media_type\""),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_given_up_says_which_limit_ran_out_and_how_many_attempts() {
    // Refuses every POST; the retry window is 2 s.
    let receiver = Receiver::start(free_port(), usize::MAX).await;
    let options = Options {
        attr_url_allow: vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)],
        retry_for_seconds: 2,
        ..Options::default()
    };
    let server = PluginProcess::start_logged(&options).await;
    let client_url = server.start_ok(&["email"], Some(&receiver.url("g"))).await;
    assert_eq!(
        server.walk(&TestApp::browser(), &client_url).await.status(),
        303
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let line = loop {
        let logs = server.logs_so_far();
        if let Some(l) = logs.lines().find(|l| l.contains("gave up")) {
            break l.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no give-up line:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let attempts = receiver.received().len();
    assert!(attempts >= 2, "retried before giving up: {attempts}");
    assert!(
        line.contains(&format!("gave up after {attempts} attempt(s)")),
        "{line}"
    );
    assert!(
        line.contains("the retry window (delivery.retry_for_seconds = 2) ran out"),
        "{line}"
    );
    assert!(
        line.contains(&format!("origin=http://127.0.0.1:{}", receiver.port)),
        "{line}"
    );
}
