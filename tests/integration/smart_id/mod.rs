//! Smart-ID client and verification against the simulator over real HTTPS, both in-process.
//! The test PKI is made once per target directory (the 6144-bit key takes a while) and reused.

mod errors;
mod faults;
mod v3;
mod v3_device_link;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use auth_eid::means::smart_id::outcome::FailureKind;
use auth_eid::means::smart_id::verify::Rejected;
use auth_eid::means::smart_id::*;
use auth_eid::simulate::smart_id::{self as sim, Simulator, SimulatorOptions, TestPki};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509StoreContext, X509};

fn state_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("smart-id-simulator");
        TestPki::load_or_create(&d).expect("test PKI");
        d
    })
    .clone()
}

pub async fn simulator(delay_ms: u64) -> Simulator {
    let mut o = SimulatorOptions::new("127.0.0.1:0".parse().unwrap(), state_dir());
    o.delay = Duration::from_millis(delay_ms);
    o.user_timeout = Duration::from_millis(300);
    sim::start(o).await.expect("simulator starts")
}

pub fn settings(s: &Simulator) -> SmartIdSettings {
    s.client_settings()
}

pub fn client(s: &Simulator) -> SmartIdClient {
    SmartIdClient::new(settings(s)).unwrap()
}

pub fn target(id: &str) -> AuthTarget {
    AuthTarget::Etsi(PersonalCode::from_semantics_id(id, Checks::FormatOnly).unwrap())
}

pub fn request(c: &SmartIdClient) -> AuthenticationRequest {
    AuthenticationRequest {
        hash: c.new_hash().unwrap(),
        interactions: vec![Interaction::DisplayTextAndPin(
            "Log in to ID Contact".into(),
        )],
        nonce: None,
    }
}

/// Start, then long-poll until COMPLETE.
pub async fn run(
    c: &SmartIdClient,
    t: &AuthTarget,
    r: &AuthenticationRequest,
) -> Result<(PendingAuthentication, CompletedSession), SmartIdError> {
    let pending = c.start_authentication(t, r).await?;
    for _ in 0..50 {
        if let SessionStatus::Complete(done) = c.session_status(&pending.session_id, 1000).await? {
            return Ok((pending, done));
        }
    }
    panic!("session never completed");
}

pub async fn login(c: &SmartIdClient, id: &str) -> Result<VerifiedSmartId, Rejected> {
    let (p, done) = run(c, &target(id), &request(c))
        .await
        .expect("session runs");
    conclude(&p, &done, SystemTime::now())
}

/// What the lead's `pki` step will do: chain the leaf to the simulator's root.
pub fn chains(s: &Simulator, leaf_der: &[u8]) -> bool {
    let (root, issuing) = s.trust_pem();
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(X509::from_pem(&root).unwrap()).unwrap();
    let store = store.build();
    let mut chain = Stack::new().unwrap();
    chain.push(X509::from_pem(&issuing).unwrap()).unwrap();
    let leaf = X509::from_der(leaf_der).unwrap();
    let mut ctx = X509StoreContext::new().unwrap();
    ctx.init(&store, &leaf, &chain, |c| c.verify_cert())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ok_end_to_end_with_a_6144_bit_key() {
    let s = simulator(0).await;
    let c = client(&s);
    let r = request(&c);
    let (p, done) = run(&c, &target("PNOEE-40504040001"), &r).await.unwrap();
    let v = conclude(&p, &done, SystemTime::now()).unwrap();
    let f = v.fields();
    assert_eq!(f["national_identity_number"], "PNOEE-40504040001");
    assert_eq!(f["personal_code"], "40504040001");
    assert_eq!(f["country"], "EE");
    assert_eq!(f["given_name"], "OK");
    assert_eq!(f["surname"], "TESTNUMBER");
    assert_eq!(f["full_name"], "OK TESTNUMBER");
    assert_eq!(f["date_of_birth"], "1905-04-04");
    assert_eq!(f["document_number"], "PNOEE-40504040001-DEMO-Q");
    assert_eq!(v.level, CertificateLevel::Qualified);
    let key = X509::from_der(v.cert.der()).unwrap().public_key().unwrap();
    assert_eq!(key.bits(), 6144);
    assert!(chains(&s, v.cert.der()));
    // The code on our page equals the one computed from the hash the service received (D.6 46).
    let seen = last_verification_code(&s).await;
    assert_eq!(seen, r.hash.verification_code());
    // Re-authentication by document number works and is checked against that document.
    let doc = AuthTarget::Document(v.document_number.clone());
    let (p, done) = run(&c, &doc, &request(&c)).await.unwrap();
    assert!(conclude(&p, &done, SystemTime::now()).is_ok());
    s.shutdown().await;
}

/// The verification code the simulator computed from the raw hash it received (its request log,
/// as `GET /control/requests` shows it).
async fn last_verification_code(s: &Simulator) -> String {
    s.recent_requests()
        .last()
        .and_then(|v| v["verificationCode"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn other_ok_accounts_hash_types_and_dates_of_birth() {
    let s = simulator(0).await;
    let cases = [
        ("PNOBE-05040400032", Some("2005-04-04"), HashType::Sha512),
        ("PNOLV-329999-99709", None, HashType::Sha384),
        ("PNOLV-329999-99901", Some("1999-09-09"), HashType::Sha256),
        ("PNOLT-30303039914", Some("1903-03-03"), HashType::Sha512), // legacy clientAuth EKU
        ("PNOEE-38001085718", Some("1980-01-08"), HashType::Sha256), // generated
        ("PNOBE-00010299944", Some("2000-01-02"), HashType::Sha384),
    ];
    for (id, dob, ht) in cases {
        let mut set = settings(&s);
        set.hash_type = ht;
        let c = SmartIdClient::new(set).unwrap();
        let v = login(&c, id).await.unwrap_or_else(|e| panic!("{id}: {e}"));
        let f = v.fields();
        assert_eq!(f["national_identity_number"], id);
        assert_eq!(f.get("date_of_birth").map(String::as_str), dob, "{id}");
        assert!(chains(&s, v.cert.der()));
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_end_result_is_a_typed_failure() {
    let s = simulator(0).await;
    let c = client(&s);
    let cases = [
        (
            "PNOEE-30403039917",
            EndResult::UserRefused,
            FailureKind::Cancelled,
        ),
        (
            "PNOBE-00010238349",
            EndResult::UserRefused,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039928",
            EndResult::UserRefusedDisplayTextAndPin,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039939",
            EndResult::UserRefusedVcChoice,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039946",
            EndResult::UserRefusedConfirmationMessage,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039950",
            EndResult::UserRefusedConfirmationMessageWithVcChoice,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039961",
            EndResult::UserRefusedCertChoice,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039972",
            EndResult::WrongVc,
            FailureKind::WrongVc,
        ),
        (
            "PNOBE-00010216276",
            EndResult::WrongVc,
            FailureKind::WrongVc,
        ),
        (
            "PNOEE-30403039983",
            EndResult::Timeout,
            FailureKind::TimedOut,
        ),
        (
            "PNOEE-10101010038",
            EndResult::DocumentUnusable,
            FailureKind::AccountProblem,
        ),
    ];
    for (id, end, kind) in cases {
        match login(&c, id).await {
            Err(Rejected::EndResult(got)) => {
                assert_eq!(got, end, "{id}");
                assert_eq!(Rejected::EndResult(got).failure().kind, kind, "{id}");
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    // The app of this identity supports displayTextAndPIN only.
    let mut r = request(&c);
    r.interactions = vec![Interaction::ConfirmationMessage("Log in?".into())];
    let (p, done) = run(&c, &target("PNOEE-10101010049"), &r).await.unwrap();
    assert_eq!(
        done.end_result,
        EndResult::RequiredInteractionNotSupportedByApp
    );
    assert!(conclude(&p, &done, SystemTime::now()).is_err());
    r.interactions
        .push(Interaction::DisplayTextAndPin("Log in".into()));
    let (p, done) = run(&c, &target("PNOEE-10101010049"), &r).await.unwrap();
    assert_eq!(
        done.interaction_flow_used.as_deref(),
        Some("displayTextAndPIN")
    );
    assert!(conclude(&p, &done, SystemTime::now()).is_ok());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn long_poll_waits_then_completes_and_results_expire() {
    let mut o = SimulatorOptions::new("127.0.0.1:0".parse().unwrap(), state_dir());
    o.delay = Duration::from_millis(2500);
    o.result_ttl = Duration::from_secs(1);
    let s = sim::start(o).await.unwrap();
    let c = client(&s);
    let p = c
        .start_authentication(&target("PNOEE-40504040001"), &request(&c))
        .await
        .unwrap();
    let t = Instant::now();
    assert_eq!(
        c.session_status(&p.session_id, 1000).await.unwrap(),
        SessionStatus::Running
    );
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    let t = Instant::now();
    let st = c.session_status(&p.session_id, 10_000).await.unwrap();
    assert!(matches!(st, SessionStatus::Complete(_)));
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        c.session_status(&p.session_id, 1000).await.unwrap_err(),
        SmartIdError::SessionNotFound
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_starts_within_15_s_are_one_session_unless_nonce() {
    let s = simulator(0).await;
    let c = client(&s);
    let t = target("PNOEE-50001029996");
    let mut r = request(&c);
    let a = c.start_authentication(&t, &r).await.unwrap();
    let b = c.start_authentication(&t, &r).await.unwrap();
    assert_eq!(a.session_id, b.session_id);
    r.nonce = Some("again".into());
    let n = c.start_authentication(&t, &r).await.unwrap();
    assert_ne!(a.session_id, n.session_id);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_parallel_sessions_all_complete() {
    let s = simulator(300).await;
    // 200 TLS handshakes at once on a busy 2-core machine can take longer than the product's
    // 5 s connect bound; this test is about every session completing, not about that bound.
    let c = SmartIdClient::new(SmartIdSettings {
        connect_timeout: Duration::from_secs(30),
        ..settings(&s)
    })
    .unwrap();
    let ids = [
        "PNOEE-50001029996",
        "PNOEE-39901012239",
        "PNOEE-61101012257",
        "PNOLT-40504040001",
        "PNOLV-020100-29990",
        "PNOBE-99010199987",
    ];
    let started = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let c = c.clone();
            let id = ids[i % ids.len()];
            tokio::spawn(async move { login(&c, id).await.map(|v| v.fields()) })
        })
        .collect();
    let mut ok = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        let f = t
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("session {i}: {e}"));
        assert_eq!(f["national_identity_number"], ids[i % ids.len()]);
        ok += 1;
    }
    assert_eq!(ok, 200);
    assert_eq!(s.stats()["sessions_created"], 200);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn held_sessions_wait_for_the_release_and_complete_at_once() {
    let s = simulator(0).await;
    s.hold(true);
    let c = client(&s);
    let p = c
        .start_authentication(&target("PNOEE-50001029996"), &request(&c))
        .await
        .unwrap();
    // Not complete after the normal delay (0 ms) while held: a 1 s poll answers RUNNING.
    assert_eq!(
        c.session_status(&p.session_id, 1000).await.unwrap(),
        SessionStatus::Running
    );
    let poll = {
        let (c, id) = (c.clone(), p.session_id.clone());
        tokio::spawn(async move { c.session_status(&id, 60_000).await })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.stats()["waiting"] != 1 {
        assert!(Instant::now() < deadline, "the long poll never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let released = Instant::now();
    assert_eq!(s.release(), 1);
    let st = poll.await.unwrap().unwrap();
    assert!(matches!(st, SessionStatus::Complete(_)), "{st:?}");
    assert!(
        released.elapsed() < Duration::from_secs(2),
        "{:?}",
        released.elapsed()
    );
    assert_eq!(s.stats()["waiting"], 0);
    assert_eq!(s.release(), 0, "a released session is not held any more");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_dropped_by_its_client_stops_counting_as_waiting() {
    let s = simulator(0).await;
    s.hold(true);
    let c = client(&s);
    let p = c
        .start_authentication(&target("PNOEE-50001029996"), &request(&c))
        .await
        .unwrap();
    let poll = {
        let (c, id) = (c.clone(), p.session_id.clone());
        tokio::spawn(async move { c.session_status(&id, 60_000).await })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.stats()["waiting"] != 1 {
        assert!(Instant::now() < deadline, "the long poll never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The client goes away mid-poll: its connection closes and hyper drops the handler.
    poll.abort();
    while s.stats()["waiting"] != 0 {
        assert!(
            Instant::now() < deadline,
            "a dropped poll still counts as waiting"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.shutdown().await;
}
