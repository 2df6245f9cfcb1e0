//! The caller's mistakes: missing or wrong keys (401), another relying party's session (404),
//! bad input (400 naming the field). Nothing is created or changed by any of them.

use crate::harness::openapi::assert_conforms;
use auth_eid::config::StoreKind;
use serde_json::{json, Value};

use super::{app, create, create_body, create_ok, get, status, CALLBACK, KEY, OTHER_KEY};

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_missing_keys_get_401_and_others_sessions_404() {
    let app = app(StoreKind::Memory, None, false).await;
    for key in [None, Some("not-a-key"), Some("")] {
        let res = create(&app, key, &create_body()).await;
        assert_eq!(res.status(), 401, "{key:?}");
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        let presented = key.is_some_and(|k| !k.is_empty());
        assert_eq!(
            challenge.contains("invalid_token"),
            presented,
            "{challenge}"
        );
        let body: Value = res.json().await.unwrap();
        assert_conforms(&body, "Error");
        assert_eq!(body["error"], "unauthorized");
    }
    let created = create_ok(&app).await;
    let id = created["id"].as_str().unwrap();
    let res = get(&app, OTHER_KEY, id).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
    let res = reqwest::Client::new()
        .delete(format!("{}/api/v1/sessions/{id}", app.base))
        .bearer_auth(OTHER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(status(&app, id).await["status"], "CREATED", "untouched");
    assert_eq!(get(&app, KEY, "nonsense").await.status(), 404);
    let unauth = reqwest::get(format!("{}/api/v1/sessions/{id}", app.base)).await;
    assert_eq!(unauth.unwrap().status(), 401);
}

/// RFC 7235: the auth scheme is case-insensitive.
#[tokio::test(flavor = "multi_thread")]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = app(StoreKind::Memory, None, false).await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/sessions", app.base))
            .header("Authorization", format!("{scheme} {KEY}"))
            .json(&create_body())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{scheme}");
    }
    let basic = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", app.base))
        .header("Authorization", format!("Basic {KEY}"))
        .json(&create_body())
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_400_naming_the_field() {
    let app = app(StoreKind::Memory, None, false).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"allowedProviders": ["beid"]}),
            "provider_not_allowed",
            "allowedProviders",
        ),
        (
            json!({"allowedProviders": ["card"]}),
            "invalid_request",
            "allowedProviders",
        ),
        (
            json!({"requestedAttributes": []}),
            "invalid_request",
            "requestedAttributes",
        ),
        (
            json!({"requestedAttributes": ["nrn"]}),
            "unsupported_attributes",
            "requestedAttributes",
        ),
        (
            json!({"callbackUrls": {"success": "https://evil.example/", "abort": format!("{CALLBACK}/a"), "error": format!("{CALLBACK}/e")}}),
            "callback_not_allowed",
            "callbackUrls.success",
        ),
        (
            json!({"callbackUrls": {"success": format!("{CALLBACK}/../x"), "abort": format!("{CALLBACK}/a"), "error": format!("{CALLBACK}/e")}}),
            "invalid_callback",
            "callbackUrls.success",
        ),
        (json!({"language": "es"}), "invalid_request", "language"),
        (
            json!({"sessionLifetime": 86400}),
            "invalid_request",
            "sessionLifetime",
        ),
        (
            json!({"externalReference": 7}),
            "invalid_request",
            "externalReference",
        ),
        (
            json!({"sesionLifetime": 60}),
            "invalid_request",
            "sesionLifetime",
        ),
    ];
    for (change, code, field) in cases {
        let mut body = create_body();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = create(&app, Some(KEY), &body).await;
        assert_eq!(res.status(), 400, "{change}");
        let err: Value = res.json().await.unwrap();
        assert_conforms(&err, "Error");
        assert_eq!(err["error"], code, "{change}: {err}");
        assert!(err["message"].as_str().unwrap().contains(field), "{err}");
        assert_eq!(
            err.as_object().unwrap().len(),
            2,
            "the start_authentication shape"
        );
    }
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", app.base))
        .bearer_auth(KEY)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "malformed_json"
    );
    assert_eq!(app.flow_count().await, 0, "nothing was created");
}
