//! RP API v3 device-link flows against the simulator over HTTPS: the QR code and the Web2App
//! link our client builds are "scanned" by the simulated app (`POST /control/device-link`,
//! shaped like SK's demo Mock Service), which checks the link and its authCode bit for bit.

use std::time::{Duration, SystemTime};

use auth_eid::means::smart_id::outcome::FailureKind;
use auth_eid::means::smart_id::verify::Rejected;
use auth_eid::means::smart_id::*;
use auth_eid::simulate::smart_id::{Simulator, SimulatorOptions};
use serde_json::{json, Value};

use super::v3::client_v3;
use super::{chains, request, simulator};

const CALLBACK: &str = "https://rp.example/flow/abc/smart-id/callback?state=Zm9vYmFyYmF6cXV4";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The simulated app, over HTTPS: `(status, answer)`.
async fn scan(s: &Simulator, body: Value) -> (u16, Value) {
    let ca = reqwest::Certificate::from_pem(&s.tls_ca_pem()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/control/device-link", s.port());
    let res = http.post(url).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn start(c: &SmartIdClient, callback: Option<&str>) -> DeviceLinkSession {
    c.start_device_link(&AuthTarget::Anonymous, &request(c), callback, now_ms)
        .await
        .unwrap()
}

async fn complete(c: &SmartIdClient, id: &str) -> CompletedSession {
    for _ in 0..30 {
        if let SessionStatus::Complete(done) = c.session_status(id, 1000).await.unwrap() {
            return done;
        }
    }
    panic!("session never completed");
}

async fn qr_login(s: &Simulator, doc: &str) -> Result<VerifiedSmartId, Rejected> {
    let c = client_v3(s);
    let session = start(&c, None).await;
    let link = session.qr_link(now_ms(), "eng").unwrap();
    let (code, answer) = scan(
        s,
        json!({"deviceLink": link, "flowType": "QR", "documentNumber": doc}),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    let done = complete(&c, &session.pending.session_id).await;
    conclude(&session.pending, &done, SystemTime::now())
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_ok_anonymous_and_the_person_is_whoever_scanned() {
    let s = simulator(0).await;
    let v = qr_login(&s, "PNOEE-50001029996-DEMO-Q").await.unwrap();
    assert_eq!(v.fields()["national_identity_number"], "PNOEE-50001029996");
    assert!(chains(&s, v.cert.der()));
    let seen = s.recent_requests().last().cloned().unwrap();
    assert_eq!(seen["target"], "device-link/anonymous");
    assert_eq!(seen["initialCallbackUrl"], Value::Null);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn qr_refused_timeout_and_faults() {
    let s = simulator(0).await;
    let e = qr_login(&s, "PNOEE-30403039917-MOCK-Q").await.unwrap_err();
    assert_eq!(e, Rejected::EndResult(EndResult::UserRefused));
    let e = qr_login(&s, "PNOEE-30403039946-MOCK-Q").await.unwrap_err();
    assert_eq!(e, Rejected::EndResult(EndResult::UserRefusedInteraction));
    assert_eq!(e.failure().kind, FailureKind::Cancelled);
    for (fault, want) in [
        ("wrong_signature", VerifyError::Signature),
        ("wrong_interaction", VerifyError::Interaction),
        ("wrong_flow_type", VerifyError::FlowType),
        ("untrusted_ca", VerifyError::NotOk),
    ] {
        s.add_fault(&json!({"fault": fault})).unwrap();
        let got = qr_login(&s, "PNOEE-50001029996-DEMO-Q").await;
        if fault == "untrusted_ca" {
            // Verifies here; the chain check (pki) refuses it.
            assert!(!chains(&s, got.unwrap().cert.der()));
        } else {
            assert_eq!(got.unwrap_err(), Rejected::Invalid(want), "{fault}");
        }
    }
    // Another person's certificate in a session started for a named person.
    let c = client_v3(&s);
    let named = super::target("PNOEE-50001029996");
    let session = c
        .start_device_link(&named, &request(&c), None, now_ms)
        .await
        .unwrap();
    s.add_fault(&json!({"fault": "other_person_certificate"}))
        .unwrap();
    let link = session.qr_link(now_ms(), "eng").unwrap();
    assert_eq!(
        scan(&s, json!({"deviceLink": link, "flowType": "QR"}))
            .await
            .0,
        200
    );
    let done = complete(&c, &session.pending.session_id).await;
    let got = conclude(&session.pending, &done, SystemTime::now()).unwrap_err();
    assert_eq!(got, Rejected::Invalid(VerifyError::WrongPerson));
    // Nobody scans: TIMEOUT after the user timeout (300 ms here).
    let session = start(&c, None).await;
    let done = complete(&c, &session.pending.session_id).await;
    assert_eq!(done.end_result, EndResult::Timeout);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_or_forged_qr_codes_are_refused_and_a_fresh_one_works() {
    // Unscanned sessions must outlive the 4 s wait below.
    let mut o = SimulatorOptions::new("127.0.0.1:0".parse().unwrap(), super::state_dir());
    o.delay = Duration::ZERO;
    o.user_timeout = Duration::from_secs(30);
    let s = auth_eid::simulate::smart_id::start(o).await.unwrap();
    let c = client_v3(&s);
    let session = start(&c, None).await;
    let first = session.qr_link(now_ms(), "eng").unwrap();
    // A code from the future (precomputed), and a forged authCode.
    let ahead = session.qr_link(now_ms() + 5_000, "eng").unwrap();
    let (code, answer) = scan(&s, json!({"deviceLink": ahead, "flowType": "QR"})).await;
    assert_eq!(code, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("stale"));
    let mut forged = first.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (code, answer) = scan(&s, json!({"deviceLink": forged, "flowType": "QR"})).await;
    assert_eq!(
        (code, answer["error"].as_str()),
        (400, Some("authCode does not verify"))
    );
    // A Web2App flowType for a QR link, or a link of another form.
    assert_eq!(
        scan(&s, json!({"deviceLink": first, "flowType": "Web2App"}))
            .await
            .0,
        400
    );
    let reordered = first.replacen("deviceLinkType=QR&elapsedSeconds", "elapsedSeconds", 1);
    assert_eq!(
        scan(&s, json!({"deviceLink": reordered, "flowType": "QR"}))
            .await
            .0,
        400
    );
    // The first code, shown too long (more than 3 s): stale.
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    let (code, answer) = scan(&s, json!({"deviceLink": first, "flowType": "QR"})).await;
    assert_eq!(code, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("stale"));
    // The code of this second is fine, once.
    let fresh = session.qr_link(now_ms(), "eng").unwrap();
    assert_ne!(fresh, first);
    assert_eq!(
        scan(&s, json!({"deviceLink": fresh, "flowType": "QR"}))
            .await
            .0,
        200
    );
    assert_eq!(
        scan(&s, json!({"deviceLink": fresh, "flowType": "QR"}))
            .await
            .0,
        400
    );
    let done = complete(&c, &session.pending.session_id).await;
    assert!(conclude(&session.pending, &done, SystemTime::now()).is_ok());
    s.shutdown().await;
}

/// The query parameter `name` of a URL.
fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn web2app_ok_only_with_the_callbacks_verifier() {
    let s = simulator(0).await;
    let c = client_v3(&s);
    let session = start(&c, Some(CALLBACK)).await;
    assert!(
        session.qr_link(now_ms(), "eng").is_some(),
        "one session serves both"
    );
    let link = session.web2app_link("eng").unwrap();
    assert!(link.contains("deviceLinkType=Web2App&sessionToken="));
    let (code, answer) = scan(&s, json!({"deviceLink": link, "flowType": "Web2App"})).await;
    assert_eq!(code, 200, "{answer}");
    let callback = answer["callbackUrl"].as_str().unwrap();
    assert!(callback.starts_with(CALLBACK));
    assert!(session.callback_digest_matches(&param(callback, "sessionSecretDigest")));
    assert!(!session.callback_digest_matches("U4CKK13H1XFiyBofev9asqrzIrY5_Gszi_nL_zDKkBc"));
    let done = complete(&c, &session.pending.session_id).await;
    assert_eq!(
        done.v3.as_deref().unwrap().flow_type.as_deref(),
        Some("Web2App")
    );
    // Before the browser came back through the callback: not verifiable.
    let got = conclude(&session.pending, &done, SystemTime::now()).unwrap_err();
    assert_eq!(got, Rejected::Invalid(VerifyError::Callback));
    let mut pending = session.pending.clone();
    pending.v3.as_mut().unwrap().user_challenge_verifier = Some("someone-elses".into());
    let got = conclude(&pending, &done, SystemTime::now()).unwrap_err();
    assert_eq!(got, Rejected::Invalid(VerifyError::Callback));
    pending.v3.as_mut().unwrap().user_challenge_verifier =
        Some(param(callback, "userChallengeVerifier"));
    let v = conclude(&pending, &done, SystemTime::now()).unwrap();
    assert_eq!(v.fields()["national_identity_number"], "PNOEE-40504040001");
    // A session without a callback has no Web2App link, and the app refuses one.
    let qr_only = start(&c, None).await;
    assert!(qr_only.web2app_link("eng").is_none());
    s.shutdown().await;
}
