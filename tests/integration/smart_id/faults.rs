//! Every scripted result fault is rejected: by verification, or (untrusted CA) by the chain
//! check the lead's `pki` step does.

use std::time::SystemTime;

use auth_eid::means::smart_id::verify::Rejected;
use auth_eid::means::smart_id::*;
use serde_json::json;

use super::{chains, client, login, request, run, simulator, target};

#[tokio::test(flavor = "multi_thread")]
async fn every_result_fault_is_rejected() {
    let s = simulator(0).await;
    let c = client(&s);
    let id = "PNOEE-50001029996";
    let cases: [(&str, VerifyError); 13] = [
        ("wrong_signature", VerifyError::Signature),
        ("truncated_signature", VerifyError::Signature),
        ("expired_certificate", VerifyError::NotValidNow),
        ("wrong_level", VerifyError::Policies),
        ("advanced_level", VerifyError::Level("ADVANCED".into())),
        ("other_person_certificate", VerifyError::WrongPerson),
        (
            "algorithm_mismatch",
            VerifyError::Algorithm("sha256WithRSAEncryption".into()),
        ),
        ("signing_certificate", VerifyError::Purpose),
        ("missing_certificate", VerifyError::Missing("cert.value")),
        (
            "empty_document_number",
            VerifyError::Missing("documentNumber"),
        ),
        ("bad_base64", VerifyError::Base64("cert.value")),
        ("unknown_end_result", VerifyError::NotOk),
        // A passport-number serial: no crash, no date of birth guessed, and not the PNO asked for.
        ("passport_serial_number", VerifyError::WrongPerson),
    ];
    for (fault, want) in cases {
        s.add_fault(&json!({"fault": fault})).unwrap();
        match login(&c, id).await {
            Err(Rejected::Invalid(got)) => assert_eq!(got, want, "{fault}"),
            Err(Rejected::EndResult(EndResult::Unknown(_))) => {
                assert_eq!(fault, "unknown_end_result")
            }
            other => panic!("{fault}: {other:?}"),
        }
    }
    // An untrusted CA passes the pure checks; the chain check (pki) refuses it.
    s.add_fault(&json!({"fault": "untrusted_ca"})).unwrap();
    let v = login(&c, id).await.unwrap();
    assert!(!chains(&s, v.cert.der()));
    let v = login(&c, id).await.unwrap();
    assert!(chains(&s, v.cert.der()));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn per_identity_faults_and_a_different_stored_hash() {
    let s = simulator(0).await;
    let c = client(&s);
    s.add_fault(&json!({"fault": "document_unusable", "identity": "PNOEE-39901012239"}))
        .unwrap();
    for _ in 0..2 {
        let got = login(&c, "PNOEE-39901012239").await.unwrap_err();
        assert_eq!(got, Rejected::EndResult(EndResult::DocumentUnusable));
    }
    assert!(login(&c, "PNOEE-61101012257").await.is_ok());
    // The signature must verify over the hash WE kept, not whatever the session says.
    let (mut p, done) = run(&c, &target("PNOEE-61101012257"), &request(&c))
        .await
        .unwrap();
    p.hash = c.new_hash().unwrap();
    let got = conclude(&p, &done, SystemTime::now()).unwrap_err();
    assert_eq!(got, Rejected::Invalid(VerifyError::Signature));
    // Someone else's identity asked for, this one's certificate returned.
    let (mut p, done) = run(&c, &target("PNOEE-61101012257"), &request(&c))
        .await
        .unwrap();
    p.target = target("PNOEE-50001029996");
    let got = conclude(&p, &done, SystemTime::now()).unwrap_err();
    assert_eq!(got, Rejected::Invalid(VerifyError::WrongPerson));
    s.shutdown().await;
}
