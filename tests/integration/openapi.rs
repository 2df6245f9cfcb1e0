//! The OpenAPI document (issue 13, item 6): served as generated, it lists exactly the public API
//! routes the server mounts, and real answers conform to it (the body checks sit in the tests
//! that make those answers: `rp_api`, and here for the ID Contact and health endpoints).

use serde_json::{json, Value};

use crate::harness::app::CONTINUATION;
use crate::harness::openapi::assert_conforms;
use crate::harness::{Options, TestApp};

/// The routes the document describes: what cores, platforms and relying parties call.
fn is_public_api(path: &str) -> bool {
    ["/api/v1/", "/start_authentication", "/session/", "/health/"]
        .iter()
        .any(|p| path.starts_with(p))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_the_generated_one_and_lists_every_api_route() {
    let app = TestApp::spawn(Options::default()).await;
    let res = reqwest::get(format!("{}/api/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let served: Value = res.json().await.unwrap();
    let generated: Value = serde_json::from_str(auth_eid::web::openapi::json()).unwrap();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");

    let mounted: Vec<(String, String)> = auth_eid::web::routes()
        .iter()
        .filter(|r| is_public_api(r.uri.path()))
        .map(|r| {
            let path = r.uri.path().replace('<', "{").replace('>', "}");
            (path, r.method.as_str().to_lowercase())
        })
        .collect();
    let mut documented = Vec::new();
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((path.clone(), method.clone()));
        }
    }
    let (mut a, mut b) = (mounted.clone(), documented.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "mounted API routes vs documented operations");
    assert!(served["webhooks"]["sessionEvent"]["post"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn id_contact_and_health_answers_conform() {
    let app = TestApp::spawn(Options::default()).await;
    let client = reqwest::Client::new();
    let started = client
        .post(format!("{}/start_authentication", app.base))
        .json(&json!({"attributes": ["email"], "continuation": CONTINUATION}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    assert_conforms(&started.json().await.unwrap(), "StartAuthResponse");
    let refused = client
        .post(format!("{}/start_authentication", app.base))
        .json(&json!({"attributes": [], "continuation": CONTINUATION}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_conforms(&refused.json().await.unwrap(), "Error");
    for (path, schema) in [("/health/live", "Live"), ("/health/ready", "Ready")] {
        let res = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_conforms(&res.json().await.unwrap(), schema);
    }
}

#[test]
#[should_panic(expected = "not in the document")]
fn a_field_the_document_does_not_name_fails_the_check() {
    assert_conforms(&json!({"error": "x", "message": "y", "extra": 1}), "Error");
}

#[test]
#[should_panic(expected = "is missing")]
fn a_missing_required_field_fails_the_check() {
    assert_conforms(&json!({"client_url": null}), "Session");
}
