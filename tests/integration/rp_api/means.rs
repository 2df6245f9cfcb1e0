//! API sessions through the real means: Smart-ID through the simulator over pinned HTTPS, the
//! card through the emulated card signing the page's challenge. Status, subject, validation
//! report, redirect and signed webhook, each body checked against the OpenAPI document.

use auth_eid::simulate::card::Profile;
use serde_json::{json, Value};

use super::{create, event_of, status, verify, CALLBACK, KEY, SECRET};
use crate::harness::app::location;
use crate::harness::openapi::assert_conforms;
use crate::harness::receiver::Receiver;
use crate::harness::{free_port, Options, TestApp};
use crate::rp_api::sha256_hex;
use crate::smart_id::simulator;
use crate::smart_id_flow as sid;

/// One relying party that may use `means`, wants reports and the subject in its
/// webhook.
fn portal(means: &str, hook_port: u16) -> String {
    format!(
        r#"
[[relying_party]]
id = "portal"
display_name = "City of Testville"
means = ["{means}"]
callback_prefixes = ["{CALLBACK}"]
api_key_sha256 = "{key}"
webhook_url = "http://127.0.0.1:{hook_port}/auth_result/rp"
webhook_secret = "{SECRET}"
subject_in_webhook = true
validation_report = true
"#,
        key = sha256_hex(KEY),
    )
}

async fn create_for(app: &TestApp, provider: &str, tags: &[&str]) -> (String, String) {
    let body = json!({
        "allowedProviders": [provider],
        "requestedAttributes": tags,
        "callbackUrls": {
            "success": format!("{CALLBACK}/ok"),
            "abort": format!("{CALLBACK}/abort"),
            "error": format!("{CALLBACK}/error"),
        },
    });
    let res = create(app, Some(KEY), &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_conforms(&created, "CreatedSession");
    let id = created["id"].as_str().unwrap().to_string();
    (
        id,
        created["authenticationUrl"].as_str().unwrap().to_string(),
    )
}

/// What a success shows: the subject, a valid report with the chain, and the same in the one
/// signed webhook.
async fn assert_success(app: &TestApp, receiver: &Receiver, id: &str, provider: &str) -> Value {
    let done = status(app, id).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    assert_eq!(done["provider"], provider);
    let report = &done["validationReport"];
    // The card's has its authentication certificate's report (and the National Register's).
    let auth = report.get("authentication").unwrap_or(report);
    assert_eq!(auth["verdict"], "valid", "{report}");
    assert!(auth["chain"].as_array().unwrap().len() >= 2, "{report}");
    let got = receiver
        .wait_for(1, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1);
    verify(got[0].signature.as_deref().unwrap(), &got[0].body).unwrap();
    let event = event_of(&got[0].body);
    assert_eq!(event["type"], "session.success");
    assert_eq!(event["subject"], done["subject"]);
    assert_eq!(event["validationReport"], *report);
    done
}

/// The simulator, a webhook receiver, and the plugin with the portal on Smart-ID.
async fn smart_id_app() -> (auth_eid::simulate::smart_id::Simulator, Receiver, TestApp) {
    let sim = simulator(100).await;
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let app = TestApp::spawn(Options {
        extra_toml: format!(
            "{}{}",
            sid::smart_id_toml(&sim, 10),
            portal("smart-id", port)
        ),
        ..Options::default()
    })
    .await;
    (sim, receiver, app)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_smart_id_session_succeeds_with_subject_and_report() {
    let (sim, receiver, app) = smart_id_app().await;
    let (id, url) = create_for(&app, "smart-id", sid::TAGS).await;
    let b = TestApp::browser();
    let csrf = sid::choose(&b, &url).await;
    assert_eq!(status(&app, &id).await["status"], "WAITING");
    sid::start(&b, &url, &csrf, "EE", sid::OK).await;
    sid::settle(&b, &url).await;
    let back = sid::finish(&b, &url, &csrf).await;
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), format!("{CALLBACK}/ok?sessionId={id}"));
    let done = assert_success(&app, &receiver, &id, "smart-id").await;
    assert_eq!(done["subject"], sid::ok_attributes());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_smart_id_document_is_an_error_without_subject() {
    let (sim, receiver, app) = smart_id_app().await;
    let (id, url) = create_for(&app, "smart-id", sid::TAGS).await;
    let b = TestApp::browser();
    let csrf = sid::choose(&b, &url).await;
    // The simulator's DOCUMENT_UNUSABLE: no retry, the session ends (a refusal offers one).
    sid::start(&b, &url, &csrf, "EE", "10101010038").await;
    sid::settle(&b, &url).await;
    let back = sid::finish(&b, &url, &csrf).await;
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), format!("{CALLBACK}/error?sessionId={id}"));
    let failed = status(&app, &id).await;
    assert_eq!(failed["status"], "ERROR", "{failed}");
    assert_eq!(failed["error"]["code"], "evidence_refused");
    assert!(failed.get("subject").is_none(), "{failed}");
    let got = receiver
        .wait_for(1, std::time::Duration::from_secs(5))
        .await;
    let event = event_of(&got[0].body);
    assert_eq!(event["type"], "session.error");
    assert!(event.get("subject").is_none(), "{event}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_session_succeeds_with_subject_and_report() {
    let dir = crate::card_flow::card_pki();
    let port = free_port();
    let receiver = Receiver::start(port, 0).await;
    let card = crate::card_flow::card_toml(dir, "http://127.0.0.1:24801", None);
    let app = TestApp::spawn(Options {
        extra_toml: format!("{card}{}", portal("beid", port)),
        ..Options::default()
    })
    .await;
    let tags = ["nrn", "fullname"];
    let (id, url) = create_for(&app, "beid", &tags).await;
    let b = TestApp::browser();
    let csrf = app.choose(&b, &url, "card").await;
    let nonce = b
        .post(format!("{url}/card/nonce"))
        .json(&json!({"csrf": csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(nonce.status(), 200);
    let challenge: Value = nonce.json().await.unwrap();
    let token = crate::card_flow::sign(
        dir,
        Profile::Rsa,
        &app.base,
        challenge["challenge"].as_str().unwrap(),
    );
    let res = b
        .post(format!("{url}/card/token"))
        .json(&json!({"csrf": csrf, "token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["location"],
        format!("{CALLBACK}/ok?sessionId={id}"),
        "{answer}"
    );
    let done = assert_success(&app, &receiver, &id, "beid").await;
    let nrn = auth_eid::simulate::card::pki::person(Profile::Rsa).national_number;
    assert_eq!(done["subject"]["nrn"], nrn);
    assert_eq!(done["subject"].as_object().unwrap().len(), 2, "{done}");
}
