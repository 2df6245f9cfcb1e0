//! Pure-function tests; whole results are verified against the simulator in
//! `tests/integration/smart_id`.

use super::*;

#[test]
fn levels_order_and_policies() {
    assert!(CertificateLevel::Advanced < CertificateLevel::Qualified);
    assert_eq!(
        CertificateLevel::parse("QUALIFIED"),
        Some(CertificateLevel::Qualified)
    );
    assert_eq!(CertificateLevel::parse("QSCD"), None);
    assert_eq!(
        CertificateLevel::Qualified.policy_oids(),
        ["1.3.6.1.4.1.10015.17.2", "0.4.0.2042.1.2"]
    );
}

#[test]
fn odd_responses_do_not_panic() {
    use crate::means::smart_id::{AuthHash, Checks, HashType, PendingAuthentication, PersonalCode};
    let pending = PendingAuthentication {
        session_id: "00000000-0000-4000-8000-000000000000".into(),
        target: super::AuthTarget::Etsi(
            PersonalCode::from_semantics_id("PNOEE-40504040001", Checks::Strict).unwrap(),
        ),
        hash: AuthHash::from_digest(HashType::Sha512, vec![0; 64]).unwrap(),
        certificate_level: CertificateLevel::Qualified,
        v3: None,
    };
    let mut done = CompletedSession {
        end_result: EndResult::Ok,
        document_number: Some("PNOEE-40504040001-MOCK-Q".into()),
        signature_value: Some("AAAA".into()),
        signature_algorithm: Some("sha512WithRSAEncryption".into()),
        cert_value: Some("MIIB".into()),
        cert_level: Some("QUALIFIED".into()),
        interaction_flow_used: None,
        v3: None,
    };
    let now = SystemTime::now();
    assert_eq!(
        conclude(&pending, &done, now).unwrap_err(),
        Rejected::Invalid(VerifyError::Certificate)
    );
    done.cert_value = Some("%%%".into());
    assert_eq!(
        conclude(&pending, &done, now).unwrap_err(),
        Rejected::Invalid(VerifyError::Base64("cert.value"))
    );
    done.cert_value = Some(String::new());
    assert!(conclude(&pending, &done, now).is_err());
    done.end_result = EndResult::Timeout;
    let f = conclude(&pending, &done, now).unwrap_err().failure();
    assert_eq!(f.message_key, "smart_id.timeout");
}
