//! The card means in the plugin, browser-less, with the in-process emulated card signing real
//! challenges: the whole flow to the result token, and every server-side rejection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_eid::config::Config;
use auth_eid::delivery::Courier;
use auth_eid::flow::{BrowserProof, FlowService, FlowState};
use auth_eid::ids::FlowId;
use auth_eid::means::card::session::{authenticate, AuthRequest};
use auth_eid::means::card::{Pin, WebEidToken};
use auth_eid::means::MeansId;
use auth_eid::simulate::card::{load_card, EmulatorTransport, Profile};
use auth_eid::store::memory::MemoryStore;
use figment::providers::{Format, Toml};
use figment::Figment;
use openssl::pkey::PKey;
use openssl::x509::X509;
use serde_json::{json, Value};

use crate::harness::app::{config_text, location, result_of, CONTINUATION};
use crate::harness::{Options, TestApp};
use crate::pki::gen::Issued;
use crate::pki::responder::{index_line, Responder};

mod chain;

/// One card PKI per test run (the emulator writes it on first use).
pub fn card_pki() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("auth-eid-card-flow-{}", std::process::id()));
        load_card(Profile::Rsa, &dir).expect("card PKI");
        dir
    })
}

/// `[means.card]` and its two trust profiles over the card PKI in `dir`; `ocsp`: the
/// designated responder for the citizen CA, asked about the leaf only (else revocation is off).
pub fn card_toml(dir: &Path, connector: &str, ocsp: Option<&str>) -> String {
    let d = dir.display();
    let revocation = match ocsp {
        Some(url) => format!("revocation = \"fail_closed\"\nrevocation_scope = \"leaf\"\nocsp = [{{ issuer = \"{d}/citizen-ca.pem\", url = \"{url}\" }}]"),
        None => "revocation = \"off\"".to_string(),
    };
    card_toml_with(dir, connector, &revocation)
}

/// [`card_toml`] with `revocation` as the revocation keys of `beid_auth`.
fn card_toml_with(dir: &Path, connector: &str, revocation: &str) -> String {
    let d = dir.display();
    format!(
        r#"
[means.card]
enabled = true
connector_url = "{connector}"
[means.card.attributes]
nrn = "national_number"
fullname = "full_name"
birth = "date_of_birth"
city = "municipality"
[trust.beid_auth]
demo = true
anchors = ["{d}/root.pem"]
intermediates = ["{d}/citizen-ca.pem"]
require_key_usage = ["digitalSignature"]
{revocation}
[trust.beid_rrn]
demo = true
anchors = ["{d}/root.pem"]
revocation = "off"
"#
    )
}

async fn app_with(dir: &Path, ocsp: Option<&str>) -> TestApp {
    let extra_toml = card_toml(dir, "http://127.0.0.1:24801", ocsp);
    TestApp::spawn(Options {
        extra_toml,
        ..Options::default()
    })
    .await
}

/// The emulated card signs `challenge` for `origin`, as the connector would.
pub(crate) fn sign(dir: &Path, profile: Profile, origin: &str, challenge: &str) -> WebEidToken {
    let mut card = load_card(profile, dir).unwrap();
    let pin = Pin::parse("1234").unwrap();
    let req = AuthRequest {
        origin,
        nonce: challenge,
        pin: &pin,
        with_photo: false,
    };
    authenticate(&mut EmulatorTransport(&mut card), &req).unwrap()
}

struct CardStep {
    browser: reqwest::Client,
    client_url: String,
    csrf: String,
}

impl CardStep {
    async fn begin(app: &TestApp, tags: &[&str]) -> CardStep {
        let client_url = app.start_ok(tags, None).await;
        let browser = TestApp::browser();
        let csrf = app.choose(&browser, &client_url, "card").await;
        CardStep {
            browser,
            client_url,
            csrf,
        }
    }

    async fn challenge(&self) -> String {
        let res = self
            .browser
            .post(format!("{}/card/nonce", self.client_url))
            .json(&json!({"csrf": self.csrf}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["challenge"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn submit(&self, token: &WebEidToken) -> (u16, Value) {
        let body = json!({"csrf": self.csrf, "token": token});
        let res = self
            .browser
            .post(format!("{}/card/token", self.client_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
}

fn claims_of(app: &TestApp, location: &str) -> serde_json::Map<String, Value> {
    app.open_token(&result_of(location).expect("a result"))
        .claims
}

#[tokio::test(flavor = "multi_thread")]
async fn the_card_completes_a_flow_with_the_mapped_attributes() {
    let dir = card_pki();
    let app = app_with(dir, None).await;
    for profile in [Profile::Rsa, Profile::Ec] {
        let step = CardStep::begin(&app, &["nrn", "fullname", "birth", "city"]).await;
        let page = step
            .browser
            .get(format!("{}/card", step.client_url))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:24801"),
            "{csp}"
        );
        assert!(page.text().await.unwrap().contains("static/card.js"));
        let token = sign(dir, profile, &app.base, &step.challenge().await);
        let (status, body) = step.submit(&token).await;
        assert_eq!(status, 200, "{body}");
        let claims = claims_of(&app, body["location"].as_str().unwrap());
        assert_eq!(claims["status"], "succes");
        let nrn = auth_eid::simulate::card::pki::person(profile).national_number;
        assert_eq!(claims["attributes"]["nrn"], nrn);
        assert!(claims["attributes"]["fullname"]
            .as_str()
            .unwrap()
            .contains("Specimen"));
        assert_eq!(claims["attributes"].as_object().unwrap().len(), 4);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replays_other_flows_and_other_origins_are_refused() {
    let dir = card_pki();
    let app = app_with(dir, None).await;
    // replayed: the same token twice in one flow
    let a = CardStep::begin(&app, &["nrn"]).await;
    let token = sign(dir, Profile::Rsa, &app.base, &a.challenge().await);
    assert_eq!(a.submit(&token).await.0, 200);
    let (status, _) = a.submit(&token).await;
    assert!(
        matches!(status, 403 | 409 | 422),
        "replay after success: {status}"
    );

    // a challenge of flow B signed and posted to flow C
    let b = CardStep::begin(&app, &["nrn"]).await;
    let c = CardStep::begin(&app, &["nrn"]).await;
    let for_b = sign(dir, Profile::Rsa, &app.base, &b.challenge().await);
    c.challenge().await;
    assert_eq!(c.submit(&for_b).await.0, 422, "another flow's challenge");
    // the refused token has spent C's challenge; a new one in C works
    let for_c = sign(dir, Profile::Rsa, &app.base, &c.challenge().await);
    assert_eq!(
        c.submit(&for_c).await.0,
        200,
        "a failed attempt does not poison the flow"
    );

    // signed for another origin (a malicious page drove the connector)
    let d = CardStep::begin(&app, &["nrn"]).await;
    let evil = sign(
        dir,
        Profile::Rsa,
        "https://evil.example",
        &d.challenge().await,
    );
    assert_eq!(d.submit(&evil).await.0, 422);
    // no challenge issued at all
    let e = CardStep::begin(&app, &["nrn"]).await;
    assert_eq!(e.submit(&token).await.0, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_or_mixed_evidence_is_refused_and_three_strikes_fail_the_flow() {
    let dir = card_pki();
    let app = app_with(dir, None).await;
    let step = CardStep::begin(&app, &["nrn"]).await;
    // one byte of the identity file changed
    let mut tampered = sign(dir, Profile::Rsa, &app.base, &step.challenge().await);
    let beid = tampered.beid.as_mut().unwrap();
    let mut identity = base64_decode(&beid.identity);
    let last = identity.len() - 1;
    identity[last] ^= 1;
    beid.identity = base64_encode(&identity);
    assert_eq!(step.submit(&tampered).await.0, 422);
    // the identity of another person than the certificate (the EC card's files, RRN-signed)
    let mut mixed = sign(dir, Profile::Rsa, &app.base, &step.challenge().await);
    let other = sign(dir, Profile::Ec, &app.base, "AAAA");
    mixed.beid = other.beid;
    assert_eq!(step.submit(&mixed).await.0, 422);
    // third refusal: the flow ends with a failed result for the core
    let garbage = sign(dir, Profile::Rsa, &app.base, "AAAA");
    step.challenge().await;
    let (status, body) = step.submit(&garbage).await;
    assert_eq!(status, 422);
    let claims = claims_of(&app, body["location"].as_str().expect("the flow ended"));
    assert_eq!(claims["status"], "failed");
}

/// What keeps the card's refusal count honest under concurrency: a means' progress is computed
/// from the version it replaces. Two updates whose computations overlap (each takes 50 ms) both
/// count; with a read outside the compare-and-set, one would be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_progress_updates_both_count() {
    let text = config_text(1, &Options::default(), None);
    let config = Config::from_figment(Figment::from(Toml::string(&text)), Path::new(".")).unwrap();
    let store = Arc::new(MemoryStore::new(1000));
    let flows = Arc::new(
        FlowService::new(
            &config,
            store.clone(),
            Courier::new(store, config.delivery.clone()).unwrap(),
        )
        .unwrap(),
    );
    let body = json!({"attributes": ["email"], "continuation": CONTINUATION}).to_string();
    let url = flows.start(body.as_bytes()).await.unwrap();
    let id = FlowId::parse(url.rsplit('/').next().unwrap()).unwrap();
    let opened = flows.open(&id, None).await.unwrap();
    let cookie = opened.new_cookie.unwrap();
    let proof = BrowserProof {
        cookie: Some(&cookie),
        csrf: Some(&opened.view.csrf),
    };
    flows
        .choose_means(&id, &proof, MeansId::Test)
        .await
        .unwrap();
    let count = |flows: Arc<FlowService>, id: FlowId| async move {
        flows
            .set_progress(&id, None, MeansId::Test, |current| {
                std::thread::sleep(Duration::from_millis(50));
                let n = current.and_then(|p| p["n"].as_u64()).unwrap_or(0);
                Ok(json!({ "n": n + 1 }))
            })
            .await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(count(flows.clone(), id.clone())),
        tokio::spawn(count(flows.clone(), id.clone()))
    );
    a.unwrap().unwrap();
    b.unwrap().unwrap();
    match flows.state_of(&id).await.unwrap() {
        FlowState::Authenticating { progress, .. } => assert_eq!(progress["n"], 2),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn untrusted_expired_and_revoked_certificates_are_refused() {
    let dir = card_pki();
    // a card from another PKI (same names, different root)
    let rogue = std::env::temp_dir().join(format!("auth-eid-card-rogue-{}", std::process::id()));
    load_card(Profile::Rsa, &rogue).unwrap();
    let app = app_with(dir, None).await;
    let step = CardStep::begin(&app, &["nrn"]).await;
    let token = sign(&rogue, Profile::Rsa, &app.base, &step.challenge().await);
    assert_eq!(step.submit(&token).await.0, 422, "untrusted CA");

    // an expired authentication certificate: same key, re-issued by the citizen CA in the past
    let expired =
        std::env::temp_dir().join(format!("auth-eid-card-expired-{}", std::process::id()));
    copy_dir(dir, &expired);
    reissue_expired(&expired);
    let step = CardStep::begin(&app, &["nrn"]).await;
    let token = sign(&expired, Profile::Rsa, &app.base, &step.challenge().await);
    assert_eq!(step.submit(&token).await.0, 422, "expired");
    // ...and expiry is its only defect: the same profile accepts it at a time inside its validity.
    let trust = crate::pki::responder::store(&card_toml(dir, "http://127.0.0.1:1", None));
    let pem = std::fs::read(expired.join("card-rsa-auth.pem")).unwrap();
    let leaf = X509::from_pem(&pem).unwrap().to_der().unwrap();
    let ca_der = vec![issued(dir, "citizen-ca").cert.to_der().unwrap()];
    let inside = SystemTime::now() - Duration::from_secs(6 * 3600);
    let then = trust
        .validate("beid_auth", &leaf, &ca_der, inside)
        .await
        .unwrap();
    assert!(then.is_valid(), "{:?}", then.report.first_failure());
    let today = trust
        .validate("beid_auth", &leaf, &ca_der, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(
        today.report.first_failure().map(|c| c.name.as_str()),
        Some("validity")
    );

    // revoked, answered by a real `openssl ocsp` responder for the citizen CA
    let ca = issued(dir, "citizen-ca");
    let auth = X509::from_pem(&std::fs::read(dir.join("card-rsa-auth.pem")).unwrap()).unwrap();
    let work = std::env::temp_dir().join(format!("auth-eid-card-ocsp-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let ec_auth = X509::from_pem(&std::fs::read(dir.join("card-ec-auth.pem")).unwrap()).unwrap();
    let index = index_line(&auth, true) + &index_line(&ec_auth, false);
    let responder = Responder::start(&work, &index, &ca, &ca, Some(1));
    let app = app_with(dir, Some(&responder.url())).await;
    let step = CardStep::begin(&app, &["nrn"]).await;
    let token = sign(dir, Profile::Rsa, &app.base, &step.challenge().await);
    assert_eq!(step.submit(&token).await.0, 422, "revoked");
    assert!(
        responder.requests() >= 1,
        "the designated responder was asked"
    );
    // the EC card is good in that index: the same path accepts it
    let step = CardStep::begin(&app, &["nrn"]).await;
    let token = sign(dir, Profile::Ec, &app.base, &step.challenge().await);
    assert_eq!(step.submit(&token).await.0, 200, "good by OCSP");
}

#[tokio::test(flavor = "multi_thread")]
async fn card_steps_need_the_bound_browser_and_its_token() {
    let dir = card_pki();
    let app = app_with(dir, None).await;
    let step = CardStep::begin(&app, &["nrn"]).await;
    let res = step
        .browser
        .post(format!("{}/card/nonce", step.client_url))
        .json(&json!({"csrf": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let stranger = TestApp::browser();
    let res = stranger
        .post(format!("{}/card/nonce", step.client_url))
        .json(&json!({"csrf": step.csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = step
        .browser
        .post(format!("{}/card/token", step.client_url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // and a disabled card means has no routes at all
    let plain = TestApp::spawn(Options::default()).await;
    let url = plain.start_ok(&["email"], None).await;
    assert_eq!(
        TestApp::browser()
            .get(format!("{url}/card"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let _ = location;
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn issued(dir: &Path, name: &str) -> Issued {
    let cert = X509::from_pem(&std::fs::read(dir.join(format!("{name}.pem"))).unwrap()).unwrap();
    let key = PKey::private_key_from_pem(&std::fs::read(dir.join(format!("{name}.key"))).unwrap())
        .unwrap();
    Issued { cert, key }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Re-issues the RSA card's authentication certificate, same key and subject, valid only in
/// the past.
fn reissue_expired(dir: &Path) {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::x509::extension::KeyUsage;
    use openssl::x509::X509Builder;
    let ca = issued(dir, "citizen-ca");
    let old = X509::from_pem(&std::fs::read(dir.join("card-rsa-auth.pem")).unwrap()).unwrap();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(old.serial_number()).unwrap();
    b.set_subject_name(old.subject_name()).unwrap();
    b.set_issuer_name(ca.cert.subject_name()).unwrap();
    b.set_pubkey(&old.public_key().unwrap()).unwrap();
    // Valid from 12 h to 1 h ago: inside the CAs' validity (they start yesterday).
    let now = unix_now();
    b.set_not_before(&Asn1Time::from_unix(now - 12 * 3600).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now - 3600).unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&ca.key, MessageDigest::sha256()).unwrap();
    std::fs::write(dir.join("card-rsa-auth.pem"), b.build().to_pem().unwrap()).unwrap();
}
