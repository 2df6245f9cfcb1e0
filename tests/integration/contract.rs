//! The ID Contact contract end to end: start, walk the test means, receive and open the token.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::harness::app::{location, result_of, Opened, CONTINUATION};
use crate::harness::for_each_store;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, keys, Options, TestApp};
use auth_eid::config::StoreKind;

for_each_store! {
    result_by_redirect_rsa,
    result_by_redirect_ec,
    result_by_attr_url_for_rsa_and_ec,
    cancel_delivers_a_signed_failed_token,
    jti_is_unique_and_client_urls_differ,
    bad_start_requests_are_4xx_with_json,
    allow_list_bypass_attempts_are_refused,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every header and claim the contract names.
fn assert_contract(opened: &Opened, kind: &str, status: &str) {
    let h = &opened.jwe_header;
    assert_eq!(h.token_type(), Some("JWT"));
    assert_eq!(h.content_type(), Some("JWT"));
    assert_eq!(h.content_encryption(), Some("A128CBC-HS256"));
    assert_eq!(
        h.algorithm(),
        Some(if kind == "RSA" { "RSA-OAEP" } else { "ECDH-ES" })
    );
    for forbidden in ["zip", "jku", "jwk", "x5u"] {
        assert!(
            h.claim(forbidden).is_none(),
            "{forbidden} in the JWE header"
        );
    }
    assert_eq!(opened.jws_header.token_type(), Some("JWT"));
    assert_eq!(
        opened.jws_header.algorithm(),
        Some(if kind == "RSA" { "RS256" } else { "ES256" })
    );
    let c = &opened.claims;
    assert_eq!(c["sub"], "id-contact-attributes");
    assert_eq!(c["status"], status);
    let iat = c["iat"].as_u64().expect("integer iat");
    assert!(iat.abs_diff(now()) <= 60);
    assert_eq!(c["exp"].as_u64(), Some(iat + 300), "exp = iat + 300");
    assert_eq!(c["jti"].as_str().map(str::len), Some(22));
}

async fn redirect_flow(kind: &'static str, store: StoreKind) {
    let app = TestApp::spawn(Options {
        store,
        keys: if kind == "RSA" {
            keys::rsa()
        } else {
            keys::ec()
        },
        ..Options::default()
    })
    .await;
    let client_url = app.start_ok(&["email", "name"], None).await;
    assert!(client_url.starts_with(&format!("{}/flow/", app.base)));
    let id = client_url.rsplit('/').next().unwrap();
    assert_eq!(id.len(), 22, "128-bit id and nothing else");

    let done = app.walk(&TestApp::browser(), &client_url).await;
    assert_eq!(done.status(), 303);
    let loc = location(&done);
    let url = url::Url::parse(&loc).unwrap();
    assert_eq!(
        format!(
            "{}://{}:{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.port().unwrap(),
            url.path()
        ),
        CONTINUATION
    );
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs[..2],
        [("session".into(), "5e09".into()), ("x".into(), "1".into())],
        "query kept"
    );
    assert_eq!(pairs.iter().filter(|(k, _)| k == "result").count(), 1);

    let opened = app.open_token(&result_of(&loc).unwrap());
    assert_contract(&opened, kind, "succes");
    assert_eq!(
        opened.claims["attributes"],
        json!({"email": "an@example.org", "name": "An Peeters"})
    );
    let session_url = opened.claims["session_url"].as_str().unwrap();
    assert!(
        session_url.starts_with(&format!("{}/session/", app.base))
            && session_url.ends_with("/update")
    );
    assert!(!session_url.contains(id), "session id is not the flow id");
}

async fn result_by_redirect_rsa(store: StoreKind) {
    redirect_flow("RSA", store).await;
}

async fn result_by_redirect_ec(store: StoreKind) {
    redirect_flow("EC", store).await;
}

async fn result_by_attr_url_for_rsa_and_ec(store: StoreKind) {
    for keys in [keys::rsa(), keys::ec()] {
        let receiver = Receiver::start(free_port(), 0).await;
        let allow = vec![format!("http://127.0.0.1:{}/auth_result/", receiver.port)];
        let app = TestApp::spawn(Options {
            store,
            keys,
            attr_url_allow: allow,
            ..Options::default()
        })
        .await;
        let client_url = app.start_ok(&["evil"], Some(&receiver.url("a1"))).await;
        let done = app.walk(&TestApp::browser(), &client_url).await;
        assert_eq!(done.status(), 303);
        assert_eq!(
            location(&done),
            format!("{CONTINUATION}?session=5e09&x=1"),
            "continuation unchanged"
        );
        let got = receiver.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].content_type.as_deref(), Some("application/jwt"));
        assert_eq!(got[0].body.split('.').count(), 5, "compact JWE");
        let opened = app.open_token(&got[0].body);
        assert_contract(&opened, keys.kind, "succes");
        // the value is delivered byte for byte, not HTML-escaped
        assert_eq!(
            opened.claims["attributes"],
            json!({"evil": "<script>alert(1)</script>\"'&"})
        );
    }
}

async fn cancel_delivers_a_signed_failed_token(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let client_url = app.start_ok(&["email"], None).await;
    let res = app.cancel(&TestApp::browser(), &client_url).await;
    assert_eq!(res.status(), 303);
    let opened = app.open_token(&result_of(&location(&res)).unwrap());
    assert_contract(&opened, "RSA", "failed");
    assert!(opened.claims.get("attributes").is_none());
    assert!(opened.claims.get("session_url").is_none());
}

async fn jti_is_unique_and_client_urls_differ(store: StoreKind) {
    let app = TestApp::with_store(store).await;
    let mut jtis = BTreeSet::new();
    let mut urls = BTreeSet::new();
    for _ in 0..5 {
        let client_url = app.start_ok(&["email"], None).await;
        urls.insert(client_url.clone());
        let done = app.walk(&TestApp::browser(), &client_url).await;
        let opened = app.open_token(&result_of(&location(&done)).unwrap());
        jtis.insert(opened.claims["jti"].as_str().unwrap().to_string());
    }
    assert_eq!((jtis.len(), urls.len()), (5, 5));
}

/// Bad input: a 4xx with a JSON `{error, message}` body, never a 5xx, no flow created.
async fn expect_rejected(
    app: &TestApp,
    res: reqwest::Response,
    status: u16,
    code: &str,
    what: &str,
) {
    assert_eq!(res.status().as_u16(), status, "{what}");
    assert_eq!(res.headers()["content-type"], "application/json", "{what}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "{what}: {body}");
    let message = body["message"].as_str().unwrap();
    for word in ["serde", "line ", "column", "Vec<"] {
        assert!(!message.contains(word), "{what}: {message}");
    }
    assert_eq!(app.flow_count().await, 0, "{what} created a flow");
}

async fn bad_start_requests_are_4xx_with_json(store: StoreKind) {
    let allow = vec!["http://127.0.0.1:9200/auth_result/".to_string()];
    let app = TestApp::spawn(Options {
        store,
        attr_url_allow: allow,
        ..Options::default()
    })
    .await;
    let url = format!("{}/start_authentication", app.base);
    let raw = |body: &'static str, ct: &'static str| {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let json_ct = "application/json";
    let cases: &[(&str, u16, &str)] = &[
        ("{", 400, "malformed_json"),
        ("null", 400, "invalid_request"),
        ("[]", 400, "invalid_request"),
        ("\"x\"", 400, "invalid_request"),
        (
            r#"{"attributes":"email","continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "invalid_request",
        ),
        (
            r#"{"attributes":[1],"continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "invalid_request",
        ),
        (r#"{"attributes":["email"]}"#, 400, "invalid_request"),
        (
            r#"{"attributes":["email"],"continuation":7}"#,
            400,
            "invalid_request",
        ),
        (
            r#"{"attributes":[],"continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "invalid_attributes",
        ),
        (
            r#"{"attributes":["doesnotexist"],"continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "unsupported_attributes",
        ),
        (
            r#"{"attributes":["email","doesnotexist"],"continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "unsupported_attributes",
        ),
        (
            r#"{"attributes":["EMAIL"],"continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "unsupported_attributes",
        ),
        (
            r#"{"attributes":["email","email"],"continuation":"http://127.0.0.1:9100/ui"}"#,
            400,
            "invalid_attributes",
        ),
        (
            r#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui","continuation":"https://evil.example/"}"#,
            400,
            "invalid_request",
        ),
        (
            r#"{"attributes":["email"],"continuation":"javascript:alert(1)"}"#,
            400,
            "invalid_continuation",
        ),
        (
            r#"{"attributes":["email"],"continuation":"data:text/html,<script>alert(1)</script>"}"#,
            400,
            "invalid_continuation",
        ),
        (
            r#"{"attributes":["email"],"continuation":"tel:+3212345678"}"#,
            400,
            "invalid_continuation",
        ),
        (
            r#"{"attributes":["email"],"continuation":"/relative"}"#,
            400,
            "invalid_continuation",
        ),
        (
            r#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui?result=AAAA"}"#,
            400,
            "invalid_continuation",
        ),
        (
            r#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui#frag"}"#,
            400,
            "invalid_continuation",
        ),
        (
            r#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui","attr_url":"javascript:x"}"#,
            400,
            "invalid_attr_url",
        ),
        (
            r#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui","attr_url":"http://169.254.169.254/latest/meta-data/"}"#,
            400,
            "attr_url_not_allowed",
        ),
    ];
    for (body, status, code) in cases {
        expect_rejected(&app, raw(body, json_ct).await.unwrap(), *status, code, body).await;
    }
    let valid = r#"{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui"}"#;
    expect_rejected(
        &app,
        raw(valid, "text/plain").await.unwrap(),
        415,
        "unsupported_media_type",
        "text/plain",
    )
    .await;
    let res = reqwest::Client::new()
        .post(&url)
        .body(valid)
        .send()
        .await
        .unwrap();
    expect_rejected(&app, res, 415, "unsupported_media_type", "no content type").await;
    let big = format!(
        r#"{{"attributes":["email"],"continuation":"http://127.0.0.1:9100/ui?q={}"}}"#,
        "a".repeat(70_000)
    );
    let res = reqwest::Client::new()
        .post(&url)
        .header("content-type", json_ct)
        .body(big)
        .send()
        .await
        .unwrap();
    expect_rejected(&app, res, 413, "payload_too_large", "70 KB body").await;
    let many: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let res = app
        .start(&json!({"attributes": many, "continuation": CONTINUATION}))
        .await;
    expect_rejected(&app, res, 400, "invalid_attributes", "100 tags").await;
    // and a good request right after all that still works
    assert_eq!(raw(valid, json_ct).await.unwrap().status(), 200);
}

async fn allow_list_bypass_attempts_are_refused(store: StoreKind) {
    let receiver_port = free_port();
    let allow = vec![format!("http://127.0.0.1:{receiver_port}/auth_result/")];
    let app = TestApp::spawn(Options {
        store,
        attr_url_allow: allow,
        ..Options::default()
    })
    .await;
    let continuations = [
        "https://evil.example/",
        "//evil.example/",
        "https:/\\evil.example/",
        "http://127.0.0.1:9100.evil.example/ui",
        "http://127.0.0.1:9100@evil.example/ui",
        "http://user@127.0.0.1:9100/ui",
        "http://127.0.0.1:9100/ui/../../x",
        "http://127.0.0.1:9100/ui/%2e%2e/x",
        "http://127.0.0.1:9101/ui",
        "HTTP://127.0.0.1:9100/ui",
        "Http://127.0.0.1:9100/ui",
        "https://127.0.0.1:9100/ui",
        "http://127.0.0.1:9100/uix",
        "http://127.0.0.1:9100/ui\r\nSet-Cookie: a=b",
        "http://127.0.0.1:9100/ui%0d%0aSet-Cookie:%20a=b\u{0}",
        "http://127.0.0.1:9100/ui\t",
        "http://2130706433:9100/ui",
        "http://0x7f.1:9100/ui",
    ];
    for c in continuations {
        let res = app
            .start(&json!({"attributes": ["email"], "continuation": c}))
            .await;
        let status = res.status().as_u16();
        assert!(res.headers().get("set-cookie").is_none());
        assert_eq!(status, 400, "continuation {c:?}");
        // Refused for the URL, not for some other fault of the body.
        let body: Value = res.json().await.unwrap();
        assert!(
            ["continuation_not_allowed", "invalid_continuation"]
                .contains(&body["error"].as_str().unwrap_or("")),
            "continuation {c:?}: {body}"
        );
    }
    let r = receiver_port;
    let attr_urls = [
        format!("http://[::1]:{r}/auth_result/x"),
        format!("http://2130706433:{r}/auth_result/x"),
        format!("http://0x7f.1:{r}/auth_result/x"),
        format!("http://017700000001:{r}/auth_result/x"),
        format!("http://127.0.0.1:{r}@evil.example/auth_result/x"),
        format!("http://127.0.0.1:{}/auth_result/x", r + 1),
        format!("HTTP://127.0.0.1:{r}/auth_result/x"),
        format!("http://127.0.0.1:{r}/auth_result/../admin"),
        format!("http://127.0.0.1:{r}/auth_resultx"),
        "file:///etc/passwd".to_string(),
        format!("gopher://127.0.0.1:{r}/_INFO"),
    ];
    for a in &attr_urls {
        let res = app
            .start(&json!({"attributes": ["email"], "continuation": CONTINUATION, "attr_url": a}))
            .await;
        assert_eq!(res.status().as_u16(), 400, "attr_url {a:?}");
        let body: Value = res.json().await.unwrap();
        assert!(
            ["attr_url_not_allowed", "invalid_attr_url"]
                .contains(&body["error"].as_str().unwrap_or("")),
            "attr_url {a:?}: {body}"
        );
    }
    assert_eq!(app.flow_count().await, 0);
}
