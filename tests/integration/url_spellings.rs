//! Issue 18: path spellings the URL parser keeps but servers behind an allowed URL read as
//! another path. `start_authentication` refuses them for continuation and attr_url alike.

use serde_json::{json, Value};

use crate::harness::app::CONTINUATION;
use crate::harness::{Options, TestApp};

/// Each lands outside the allowed prefix on some server, proxy or framework.
const DISGUISED: &[&str] = &[
    "..;/x",
    "%2e%2e;/x",
    "%2e%2e%2fx",
    "%2E%2E%2Fx",
    "..%2f..%2fx",
    "..%5c..%5cx",
    ".%2e%2fx",
    "%2e.%2fx",
    "%252e%252e%252fx",
    "%u002e%u002e/x",
    "%c0%ae%c0%ae/x",
    ".../x",
    "..%20/x",
    "%ef%bc%8e%ef%bc%8e/x",
];

async fn refused(app: &TestApp, body: Value, code: &str, what: &str) {
    let res = app.start(&body).await;
    assert_eq!(res.status().as_u16(), 400, "{what}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "{what}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("path"), "{what}: says why: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn disguised_dot_segments_are_refused() {
    let app = TestApp::spawn(Options {
        attr_url_allow: vec!["http://127.0.0.1:9200/demo/".to_string()],
        ..Options::default()
    })
    .await;
    for tail in DISGUISED {
        let c = format!("{CONTINUATION}/{tail}");
        let body = json!({"attributes": ["email"], "continuation": c});
        refused(&app, body, "invalid_continuation", &c).await;
        let a = format!("http://127.0.0.1:9200/demo/{tail}");
        let body = json!({"attributes": ["email"], "continuation": CONTINUATION, "attr_url": a});
        refused(&app, body, "invalid_attr_url", &a).await;
    }
    assert_eq!(app.flow_count().await, 0);
    // The same path in another spelling of unreserved characters is still allowed.
    let body = json!({"attributes": ["email"], "continuation": "http://127.0.0.1:9100/u%69/x",
        "attr_url": "http://127.0.0.1:9200/d%65mo/a1"});
    assert_eq!(app.start(&body).await.status(), 200);
}
