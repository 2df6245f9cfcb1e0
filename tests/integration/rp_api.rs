//! The relying-party session API against the real server: create, walk the citizen's pages,
//! status, redirect to the callbacks, signed webhook through the outbox; errors; both stores.

mod errors;
mod expiry;
mod means;
mod webhooks;

use std::time::Duration;

use auth_eid::config::StoreKind;
use auth_eid::delivery::webhook;
use serde_json::{json, Value};

use crate::harness::app::{csrf_of, location};
use crate::harness::openapi::assert_conforms;
use crate::harness::receiver::Receiver;
use crate::harness::{for_each_store, free_port, Options, TestApp};

/// The portal's API key (made with `openssl rand -hex 32`) and the other relying party's.
pub const KEY: &str = "5f0c9a4de3b8e1f2a7c6d5b4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4";
pub const OTHER_KEY: &str = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c";
pub const SECRET: &str = "whsec-test-0123456789abcdef0123456789abcdef";
pub const CALLBACK: &str = "http://127.0.0.1:9300/back";

pub fn sha256_hex(s: &str) -> String {
    openssl::sha::sha256(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Two relying parties: `portal` (webhook to `hook_port`, if any) and `helpdesk`.
pub fn rp_toml(hook_port: Option<u16>, subject_in_webhook: bool, retention: u64) -> String {
    let webhook = hook_port.map_or(String::new(), |p| {
        format!(
            "webhook_url = \"http://127.0.0.1:{p}/auth_result/rp\"\nwebhook_secret = \"{SECRET}\""
        )
    });
    format!(
        r#"
[api]
subject_retention_seconds = {retention}
[[relying_party]]
id = "portal"
display_name = "City of Testville <portal>"
means = ["test"]
callback_prefixes = ["{CALLBACK}"]
api_key_sha256 = "{key}"
subject_in_webhook = {subject_in_webhook}
{webhook}
[[relying_party]]
id = "helpdesk"
display_name = "Helpdesk"
means = ["test"]
callback_prefixes = ["http://127.0.0.1:9301/"]
api_key_sha256 = "{other}"
"#,
        key = sha256_hex(KEY),
        other = sha256_hex(OTHER_KEY),
    )
}

pub async fn app(store: StoreKind, hook_port: Option<u16>, subject: bool) -> TestApp {
    TestApp::spawn(Options {
        store,
        extra_toml: rp_toml(hook_port, subject, 600),
        ..Options::default()
    })
    .await
}

/// Two instances on `redis`, both with the portal's webhook to `hook_port`.
pub async fn redis_pair(
    redis: &crate::support::redis::RedisServer,
    hook_port: u16,
) -> (TestApp, TestApp) {
    let instance = || {
        TestApp::spawn(Options {
            store: StoreKind::Redis,
            redis_url: Some(redis.url()),
            extra_toml: rp_toml(Some(hook_port), false, 600),
            ..Options::default()
        })
    };
    (instance().await, instance().await)
}

pub fn create_body() -> Value {
    json!({
        "allowedProviders": ["test"],
        "requestedAttributes": ["email"],
        "callbackUrls": {
            "success": format!("{CALLBACK}/ok"),
            "abort": format!("{CALLBACK}/abort"),
            "error": format!("{CALLBACK}/error"),
        },
        "externalReference": "case 42/7",
        "language": "nl",
    })
}

pub async fn create(app: &TestApp, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", app.base))
        .json(body);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

pub async fn create_ok(app: &TestApp) -> Value {
    let res = create(app, Some(KEY), &create_body()).await;
    assert_eq!(res.status(), 201);
    let created = res.json().await.unwrap();
    assert_conforms(&created, "CreatedSession");
    created
}

pub async fn get(app: &TestApp, key: &str, id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/v1/sessions/{id}", app.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

pub async fn status(app: &TestApp, id: &str) -> Value {
    let res = get(app, KEY, id).await;
    assert_eq!(res.status(), 200);
    let session = res.json().await.unwrap();
    assert_conforms(&session, "Session");
    session
}

/// A received webhook body, checked against the document.
pub fn event_of(body: &str) -> Value {
    let event = serde_json::from_str(body).unwrap();
    assert_conforms(&event, "WebhookEvent");
    event
}

pub fn steps(session: &Value) -> Vec<String> {
    session["tracker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect()
}

/// Verifies a received webhook the way docs/rp-api.md tells a receiver to.
pub fn verify(signature: &str, body: &str) -> Result<(), webhook::VerifyError> {
    let now = auth_eid::store::now_millis() / 1000;
    webhook::verify(SECRET.as_bytes(), signature, body, now, 300)
}

async fn a_session_walks_to_success_with_status_redirect_and_webhook(store: StoreKind) {
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = app(store, Some(port), false).await;
    let created = create_ok(&app).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "CREATED");
    assert_eq!(created["externalReference"], "case 42/7");
    assert_eq!(created["allowedProviders"], json!(["test"]));
    assert_eq!(created["requestedAttributes"], json!(["email"]));
    assert_eq!(created["language"], "nl");
    assert_eq!(created["sessionLifetime"], 600);
    assert!(created["expiresAt"].as_str().unwrap().ends_with('Z'));
    let asked = created["authenticationUrl"].as_str().unwrap();
    assert_eq!(asked, format!("{}/flow/{id}?lang=nl", app.base));
    let url = crate::harness::app::without_query(asked);

    // Same pages as an ID Contact flow; the start page names the relying party, escaped.
    let browser = TestApp::browser();
    let page = browser
        .get(asked)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("City of Testville &lt;portal&gt;"), "{page}");
    assert_eq!(status(&app, id).await["status"], "CREATED");
    let csrf = csrf_of(&page);
    let chosen = browser
        .post(format!("{url}/means"))
        .form(&[("csrf", csrf.as_str()), ("means", "test")])
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), 303);
    let waiting = status(&app, id).await;
    assert_eq!(waiting["status"], "WAITING");
    assert_eq!(waiting["provider"], "test");
    assert!(waiting.get("subject").is_none());

    let done = browser
        .post(format!("{url}/test"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let back = location(&done);
    assert_eq!(
        back,
        format!("{CALLBACK}/ok?sessionId={id}&externalReference=case+42%2F7")
    );
    // Delivered before the redirect was answered: it is there already, once.
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let hook = &got[0];
    assert_eq!(hook.content_type.as_deref(), Some("application/json"));
    verify(hook.signature.as_deref().unwrap(), &hook.body).unwrap();
    let event = event_of(&hook.body);
    assert_eq!(event["type"], "session.success");
    assert_eq!(event["sessionId"], id);
    assert_eq!(event["status"], "SUCCESS");
    assert_eq!(event["externalReference"], "case 42/7");
    assert!(event.get("subject").is_none(), "not opted in: {event}");
    assert!(!hook.body.contains("an@example.org"));

    let done = status(&app, id).await;
    assert_eq!(done["status"], "SUCCESS");
    assert_eq!(done["subject"], json!({"email": "an@example.org"}));
    assert_eq!(
        steps(&done),
        [
            "created",
            "opened",
            "means_chosen:test",
            "evidence_received",
            "verified",
            "delivered"
        ]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "delivered once");
}

async fn the_citizen_cancels_abort(store: StoreKind) {
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = app(store, Some(port), true).await;
    let created = create_ok(&app).await;
    let id = created["id"].as_str().unwrap();
    let url = created["authenticationUrl"].as_str().unwrap();
    let res = app.cancel(&TestApp::browser(), url).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        format!("{CALLBACK}/abort?sessionId={id}&externalReference=case+42%2F7")
    );
    let aborted = status(&app, id).await;
    assert_eq!(aborted["status"], "ABORT");
    assert_eq!(aborted["error"]["code"], "cancelled_by_user");
    assert!(aborted.get("subject").is_none());
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    let event = event_of(&got[0].body);
    assert_eq!(event["type"], "session.abort");
    assert!(event.get("subject").is_none());
}

async fn idempotent_creates_give_the_same_session(store: StoreKind) {
    let app = app(store, None, false).await;
    let send = |key: &'static str, body: Value| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/sessions"))
                .bearer_auth(KEY)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send("order-1", create_body()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again: Value = send("order-1", create_body()).await.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["authenticationUrl"], first["authenticationUrl"]);
    let other: Value = send("order-2", create_body()).await.json().await.unwrap();
    assert_ne!(other["id"], first["id"]);
    let mut changed = create_body();
    changed["externalReference"] = json!("another");
    let conflict = send("order-1", changed).await;
    assert_eq!(conflict.status(), 422);
    let body: Value = conflict.json().await.unwrap();
    assert_eq!(body["error"], "idempotency_key_reused");
}

/// A create that failed after claiming its `Idempotency-Key` (the store full) releases the key:
/// the retry with the same key creates the session, and the one after that gets it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_create_does_not_hold_its_idempotency_key() {
    let toml = rp_toml(None, false, 0).replace("[api]\n", "[api]\nstatus_retention_seconds = 0\n");
    let app = TestApp::spawn(Options {
        extra_toml: toml,
        max_live_flows: 1,
        ..Options::default()
    })
    .await;
    let mut short = create_body();
    short["sessionLifetime"] = json!(1);
    let filler = create(&app, Some(KEY), &short).await;
    assert_eq!(filler.status(), 201);
    let send = || {
        reqwest::Client::new()
            .post(format!("{}/api/v1/sessions", app.base))
            .bearer_auth(KEY)
            .header("Idempotency-Key", "order-9")
            .json(&create_body())
            .send()
    };
    let full = send().await.unwrap();
    assert_eq!(full.status(), 503, "{:?}", full.text().await);
    // The filler's place is free once it has expired.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let retried = send().await.unwrap();
    assert_eq!(retried.status(), 201);
    let retried: Value = retried.json().await.unwrap();
    let again: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(again["id"], retried["id"]);
    assert_eq!(
        status(&app, retried["id"].as_str().unwrap()).await["status"],
        "CREATED"
    );
}

/// A bad body (400) claims nothing: the same key with a good body then creates the session.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_create_does_not_hold_its_idempotency_key() {
    let app = app(StoreKind::Memory, None, false).await;
    let send = |body: Value| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/sessions", app.base))
            .bearer_auth(KEY)
            .header("Idempotency-Key", "order-10")
            .json(&body)
            .send()
    };
    let mut bad = create_body();
    bad["language"] = json!("xx");
    assert_eq!(send(bad).await.unwrap().status(), 400);
    assert_eq!(send(create_body()).await.unwrap().status(), 201);
}

for_each_store!(
    a_session_walks_to_success_with_status_redirect_and_webhook,
    the_citizen_cancels_abort,
    idempotent_creates_give_the_same_session,
);

#[tokio::test(flavor = "multi_thread")]
async fn delete_cancels_an_open_session_once() {
    let app = app(StoreKind::Memory, None, false).await;
    let created = create_ok(&app).await;
    let id = created["id"].as_str().unwrap();
    let delete = || {
        reqwest::Client::new()
            .delete(format!("{}/api/v1/sessions/{id}", app.base))
            .bearer_auth(KEY)
            .send()
    };
    let res = delete().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_conforms(&body, "Session");
    assert_eq!(body["status"], "ABORT");
    assert_eq!(body["error"]["code"], "cancelled_by_relying_party");
    let again = delete().await.unwrap();
    assert_eq!(again.status(), 409);
    assert_conforms(&again.json().await.unwrap(), "Error");
    // The citizen's link shows the flow as finished: no means to choose any more.
    let url = created["authenticationUrl"].as_str().unwrap();
    let page = TestApp::browser().get(url).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(!page.contains("name=\"means\""), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_past_its_lifetime_is_expired_and_its_pages_closed() {
    let app = app(StoreKind::Memory, None, false).await;
    let mut body = create_body();
    body["sessionLifetime"] = json!(1);
    let res = create(&app, Some(KEY), &body).await;
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = status(&app, id).await;
    assert_eq!(expired["status"], "EXPIRED");
    assert_eq!(expired["error"]["code"], "expired");
    let url = created["authenticationUrl"].as_str().unwrap();
    let page = TestApp::browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_subject_is_readable_for_the_retention_window_only() {
    let app = TestApp::spawn(Options {
        extra_toml: rp_toml(None, false, 1),
        ..Options::default()
    })
    .await;
    let created = create_ok(&app).await;
    let id = created["id"].as_str().unwrap();
    let url = created["authenticationUrl"].as_str().unwrap();
    assert_eq!(app.walk(&TestApp::browser(), url).await.status(), 303);
    assert_eq!(status(&app, id).await["subject"]["email"], "an@example.org");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let later = status(&app, id).await;
    assert_eq!(later["status"], "SUCCESS");
    assert!(later.get("subject").is_none(), "{later}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_contact_flow_and_an_api_session_side_by_side() {
    let app = app(StoreKind::Memory, None, false).await;
    let created = create_ok(&app).await;
    let client_url = app.start_ok(&["email"], None).await;
    let api_browser = TestApp::browser();
    let core_browser = TestApp::browser();
    let api_url = created["authenticationUrl"].as_str().unwrap();
    let (api_done, core_done) = tokio::join!(
        app.walk(&api_browser, api_url),
        app.walk(&core_browser, &client_url)
    );
    assert!(location(&api_done).starts_with(&format!("{CALLBACK}/ok?sessionId=")));
    let token = crate::harness::app::result_of(&location(&core_done)).unwrap();
    assert_eq!(app.open_token(&token).claims["status"], "succes");
    let id = created["id"].as_str().unwrap();
    assert_eq!(status(&app, id).await["status"], "SUCCESS");
}

fn page_lang(html: &str) -> &str {
    let at = html.find("<html lang=\"").expect("an html lang") + 12;
    html[at..].split('"').next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_open_in_the_sessions_language_and_the_switcher_still_wins() {
    let app = app(StoreKind::Memory, None, false).await;
    let french = |b: &reqwest::Client, url: String| {
        b.get(url)
            .header("Accept-Language", "fr-BE,fr;q=0.9")
            .send()
    };
    // `language: nl` beats the browser's French.
    let created = create_ok(&app).await;
    let url = created["authenticationUrl"].as_str().unwrap();
    assert!(url.ends_with("?lang=nl"), "{url}");
    let browser = TestApp::browser();
    let page = french(&browser, url.to_string()).await.unwrap();
    assert_eq!(page_lang(&page.text().await.unwrap()), "nl");
    // The citizen switches to German; the session's language does not come back.
    let flow = url.split('?').next().unwrap();
    let switched = french(&browser, format!("{flow}?lang=de")).await.unwrap();
    assert_eq!(page_lang(&switched.text().await.unwrap()), "de");
    let again = french(&browser, flow.to_string()).await.unwrap();
    assert_eq!(page_lang(&again.text().await.unwrap()), "de");
    // No `language`: the URL has no query and the browser's language is used.
    let mut body = create_body();
    body.as_object_mut().unwrap().remove("language");
    let res = create(&app, Some(KEY), &body).await;
    let created: Value = res.json().await.unwrap();
    let url = created["authenticationUrl"].as_str().unwrap();
    assert!(!url.contains('?'), "{url}");
    let page = french(&TestApp::browser(), url.to_string()).await.unwrap();
    assert_eq!(page_lang(&page.text().await.unwrap()), "fr");
}
