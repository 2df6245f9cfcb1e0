//! RP API v3 notification flow against the simulator over HTTPS: the client's start and long
//! poll, and ACSP_V2 verification of the simulator's real RSASSA-PSS signatures; every end
//! result and the faults that must be refused.

use std::time::SystemTime;

use auth_eid::means::smart_id::outcome::FailureKind;
use auth_eid::means::smart_id::verify::Rejected;
use auth_eid::means::smart_id::*;
use auth_eid::simulate::smart_id::Simulator;
use serde_json::json;

use super::{chains, request, run, simulator, target};

pub fn client_v3(s: &Simulator) -> SmartIdClient {
    SmartIdClient::new(s.client_settings_v3()).unwrap()
}

pub async fn login_v3(c: &SmartIdClient, id: &str) -> Result<VerifiedSmartId, Rejected> {
    let (p, done) = run(c, &target(id), &request(c))
        .await
        .expect("session runs");
    assert!(p.v3.is_some(), "a v3 session");
    conclude(&p, &done, SystemTime::now())
}

#[tokio::test(flavor = "multi_thread")]
async fn notification_ok_with_acsp_v2_and_the_code_from_the_rp_challenge() {
    let s = simulator(0).await;
    let c = client_v3(&s);
    let r = request(&c);
    let (p, done) = run(&c, &target("PNOEE-40504040001"), &r).await.unwrap();
    let v3 = done.v3.as_deref().expect("v3 answer");
    assert_eq!(v3.signature_protocol.as_deref(), Some("ACSP_V2"));
    assert_eq!(v3.flow_type.as_deref(), Some("Notification"));
    assert_eq!(done.signature_algorithm.as_deref(), Some("rsassa-pss"));
    let v = conclude(&p, &done, SystemTime::now()).unwrap();
    assert_eq!(v.fields()["national_identity_number"], "PNOEE-40504040001");
    assert!(chains(&s, v.cert.der()));
    // What the simulator received: the rpChallenge we keep, its code the one we show.
    let seen = s.recent_requests().last().cloned().unwrap();
    assert_eq!(seen["api"], "v3");
    assert_eq!(seen["target"], "notification/etsi/PNOEE-40504040001");
    assert_eq!(seen["rpChallenge"], r.hash.to_base64());
    assert_eq!(seen["verificationCode"], r.hash.verification_code());
    assert_eq!(seen["hashAlgorithm"], "SHA-512");
    // Every hash type verifies.
    for ht in [HashType::Sha256, HashType::Sha384] {
        let mut settings = s.client_settings_v3();
        settings.hash_type = ht;
        let c = SmartIdClient::new(settings).unwrap();
        assert!(login_v3(&c, "PNOEE-50001029996").await.is_ok(), "{ht:?}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notification_end_results_are_failures_of_their_kind() {
    let s = simulator(0).await;
    let c = client_v3(&s);
    let cases = [
        (
            "PNOEE-30403039917",
            EndResult::UserRefused,
            FailureKind::Cancelled,
        ),
        // v2's USER_REFUSED_DISPLAYTEXTANDPIN is v3's USER_REFUSED_INTERACTION.
        (
            "PNOEE-30403039928",
            EndResult::UserRefusedInteraction,
            FailureKind::Cancelled,
        ),
        (
            "PNOEE-30403039983",
            EndResult::Timeout,
            FailureKind::TimedOut,
        ),
        (
            "PNOEE-30403039972",
            EndResult::WrongVc,
            FailureKind::WrongVc,
        ),
        (
            "PNOEE-10101010038",
            EndResult::DocumentUnusable,
            FailureKind::AccountProblem,
        ),
    ];
    for (id, end, kind) in cases {
        let e = login_v3(&c, id).await.unwrap_err();
        assert_eq!(e, Rejected::EndResult(end.clone()), "{id}");
        assert_eq!(e.failure().kind, kind, "{id}");
    }
    // v3.2: no account of the level (v2's 471) and the view-the-app case are 404s.
    for id in [
        "PNOEE-10101010005",
        "PNOEE-10101010016",
        "PNOEE-10101010027",
    ] {
        let err = c
            .start_authentication(&target(id), &request(&c))
            .await
            .unwrap_err();
        assert_eq!(err, SmartIdError::AccountNotFound, "{id}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notification_faults_are_refused() {
    let s = simulator(0).await;
    let c = client_v3(&s);
    let cases: [(&str, VerifyError); 9] = [
        ("wrong_signature", VerifyError::Signature),
        ("truncated_signature", VerifyError::Signature),
        ("other_person_certificate", VerifyError::WrongPerson),
        ("wrong_interaction", VerifyError::Interaction),
        ("wrong_flow_type", VerifyError::FlowType),
        (
            "algorithm_mismatch",
            VerifyError::Algorithm("SHA-512".into()),
        ),
        ("expired_certificate", VerifyError::NotValidNow),
        ("wrong_level", VerifyError::Policies),
        ("passport_serial_number", VerifyError::WrongPerson),
    ];
    for (fault, want) in cases {
        s.add_fault(&json!({"fault": fault})).unwrap();
        let got = login_v3(&c, "PNOEE-50001029996").await.unwrap_err();
        assert_eq!(got, Rejected::Invalid(want), "{fault}");
    }
    // And without a fault the same account verifies: the refusals above were the faults'.
    assert!(login_v3(&c, "PNOEE-50001029996").await.is_ok());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn v3_requests_the_simulator_refuses_as_sk_does() {
    let s = simulator(0).await;
    let mut settings = s.client_settings_v3();
    settings.relying_party_uuid = "00000000-0000-4000-8000-0000000000ff".into();
    let c = SmartIdClient::new(settings).unwrap();
    let err = c
        .start_authentication(&target("PNOEE-50001029996"), &request(&c))
        .await
        .unwrap_err();
    assert_eq!(err, SmartIdError::Forbidden, "v3.2: an unknown RP is 403");
    // The v2 body on the v3 path is a 400: the client really speaks v3 there.
    let mut v2_on_v3 = s.client_settings_v3();
    v2_on_v3.api_version = ApiVersion::V2;
    let c = SmartIdClient::new(v2_on_v3).unwrap();
    let err = c
        .start_authentication(&target("PNOEE-50001029996"), &request(&c))
        .await
        .unwrap_err();
    assert_eq!(err, SmartIdError::AccountNotFound, "no v2 route under /v3/");
    s.shutdown().await;
}
