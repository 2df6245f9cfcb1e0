//! ACSP_V2 payload and signature checks, against SK's published vectors and our own
//! (how each was made: tests/fixtures/smart_id_v3/make_acsp_vector.py and its JSON).

use super::*;
use crate::means::smart_id::session::{AuthTarget, Interaction};
use crate::means::smart_id::v3::Interactions;
use crate::means::smart_id::{AuthHash, CertificateLevel, EndResult};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

fn vector() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../../../tests/fixtures/smart_id_v3/acsp_v2_vector.json"
    ))
    .unwrap()
}

fn sk_example_parts(v: &serde_json::Value) -> PayloadParts<'_> {
    let i = &v["inputs"];
    let s = |k: &str| i[k].as_str().unwrap();
    PayloadParts {
        scheme_name: s("scheme_name"),
        rp_challenge: s("rp_challenge"),
        relying_party_name: s("relying_party_name"),
        brokered_rp_name: s("brokered_rp_name"),
        interactions: s("interactions"),
        initial_callback_url: s("initial_callback_url"),
        server_random: s("server_random"),
        user_challenge: s("user_challenge"),
        interaction_type_used: s("interaction_type_used"),
        flow_type: FlowType::parse(s("flow_type")).unwrap(),
    }
}

#[test]
fn payload_is_sks_published_example() {
    let v = vector();
    let bytes = payload(&sk_example_parts(&v));
    // The SHA-512 digest SK's documentation prints for this example.
    assert_eq!(
        B64.encode(openssl::sha::sha512(&bytes)),
        "pKOjbNl/5Fy8NfrFqsj6pSn8W8O+Ik8rM33QSsbyD3J9qDJvEm90SboUciuY4wHGWa0Pnq8BgT3NJKmJiUDfKg=="
    );
    assert_eq!(std::str::from_utf8(&bytes).unwrap(), v["payload"]);
    // QR and notification sign no callback URL (its separator stays).
    let mut qr = sk_example_parts(&v);
    qr.flow_type = FlowType::Qr;
    let qr = String::from_utf8(payload(&qr)).unwrap();
    assert!(qr.ends_with("|confirmationMessage||QR"), "{qr}");
}

#[test]
fn python_made_pss_signature_verifies_and_a_changed_byte_does_not() {
    let v = vector();
    let cert = X509::from_der(
        &B64.decode(v["certificate_der_b64"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let sig = B64.decode(v["signature_b64"].as_str().unwrap()).unwrap();
    let message = payload(&sk_example_parts(&v));
    assert_eq!(verify_pss(&cert, HashType::Sha512, &message, &sig), Ok(()));
    let mut other = message.clone();
    other[0] ^= 1;
    assert_eq!(
        verify_pss(&cert, HashType::Sha512, &other, &sig),
        Err(VerifyError::Signature)
    );
    assert_eq!(
        verify_pss(&cert, HashType::Sha256, &message, &sig),
        Err(VerifyError::Signature)
    );
}

fn rsa_cert() -> (PKey<Private>, X509) {
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_pubkey(&key).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    (key, b.build())
}

fn sign(key: &PKey<Private>, message: &[u8]) -> Vec<u8> {
    let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha512(), key).unwrap();
    s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
    s.set_rsa_mgf1_md(openssl::hash::MessageDigest::sha512())
        .unwrap();
    s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(64)).unwrap();
    s.update(message).unwrap();
    s.sign_to_vec().unwrap()
}

/// A Web2App session, its answer and the signature over our own values.
fn web2app() -> (PendingAuthentication, CompletedSession, PKey<Private>, X509) {
    let interactions =
        Interactions::encode(&[Interaction::DisplayTextAndPin("Log in".into())], false).unwrap();
    let verifier = "a-verifier-the-app-appends-to-the-callback";
    let pending = PendingAuthentication {
        session_id: "00000000-0000-4000-8000-000000000001".into(),
        target: AuthTarget::Anonymous,
        hash: AuthHash::generate(HashType::Sha512).unwrap(),
        certificate_level: CertificateLevel::Qualified,
        v3: Some(Box::new(V3Pending {
            scheme_name: "smart-id-demo".into(),
            relying_party_name: "DEMO".into(),
            interactions,
            flow: V3Flow::DeviceLink {
                initial_callback_url: Some("https://rp.example/cb?s=abc".into()),
            },
            user_challenge_verifier: Some(verifier.into()),
        })),
    };
    let done = CompletedSession {
        end_result: EndResult::Ok,
        document_number: Some("PNOEE-40504040001-MOCK-Q".into()),
        signature_value: None,
        signature_algorithm: Some(RSASSA_PSS.into()),
        cert_value: None,
        cert_level: Some("QUALIFIED".into()),
        interaction_flow_used: Some("displayTextAndPIN".into()),
        v3: Some(Box::new(V3Signature {
            signature_protocol: Some(ACSP_V2.into()),
            server_random: Some("c2VydmVyLXJhbmRvbS0xMjM0NTY3OA==".into()),
            user_challenge: Some(user_challenge_of(verifier)),
            flow_type: Some("Web2App".into()),
            hash_algorithm: Some("SHA-512".into()),
            mask_gen_algorithm: Some("id-mgf1".into()),
            mask_gen_hash_algorithm: Some("SHA-512".into()),
            salt_length: Some(64),
            trailer_field: Some("0xbc".into()),
        })),
    };
    let (key, cert) = rsa_cert();
    (pending, done, key, cert)
}

fn our_payload(p: &PendingAuthentication, d: &CompletedSession) -> Vec<u8> {
    let (v3, got) = (p.v3.as_ref().unwrap(), d.v3.as_ref().unwrap());
    let challenge = p.hash.to_base64();
    payload(&PayloadParts {
        scheme_name: &v3.scheme_name,
        rp_challenge: &challenge,
        relying_party_name: &v3.relying_party_name,
        brokered_rp_name: "",
        interactions: v3.interactions.encoded(),
        initial_callback_url: "https://rp.example/cb?s=abc",
        server_random: got.server_random.as_deref().unwrap(),
        user_challenge: got.user_challenge.as_deref().unwrap(),
        interaction_type_used: "displayTextAndPIN",
        flow_type: FlowType::parse(got.flow_type.as_deref().unwrap()).unwrap(),
    })
}

#[test]
fn every_v3_field_we_did_not_offer_or_sign_is_refused() {
    let (pending, done, key, cert) = web2app();
    let sig = sign(&key, &our_payload(&pending, &done));
    let v3 = pending.v3.clone().unwrap();
    assert_eq!(check(&pending, &v3, &done, &cert, &sig), Ok(()));

    fn got(d: &mut CompletedSession) -> &mut V3Signature {
        d.v3.as_mut().unwrap()
    }
    let refused = |edit: &dyn Fn(&mut PendingAuthentication, &mut CompletedSession)| {
        let (mut p, mut d) = (pending.clone(), done.clone());
        edit(&mut p, &mut d);
        let v3 = p.v3.clone().unwrap();
        check(&p, &v3, &d, &cert, &sig).unwrap_err()
    };
    assert_eq!(
        refused(&|_, d| got(d).signature_protocol = Some("RAW_DIGEST_SIGNATURE".into())),
        VerifyError::Protocol
    );
    assert_eq!(
        refused(&|_, d| got(d).flow_type = Some("App2App".into())),
        VerifyError::FlowType
    );
    assert_eq!(
        refused(&|_, d| got(d).flow_type = Some("Notification".into())),
        VerifyError::FlowType
    );
    assert_eq!(
        refused(&|_, d| d.interaction_flow_used = Some("confirmationMessage".into())),
        VerifyError::Interaction
    );
    assert!(matches!(
        refused(&|_, d| got(d).salt_length = Some(32)),
        VerifyError::Algorithm(_)
    ));
    assert!(matches!(
        refused(&|_, d| got(d).hash_algorithm = Some("SHA-256".into())),
        VerifyError::Algorithm(_)
    ));
    assert!(matches!(
        refused(&|_, d| d.signature_algorithm = Some("sha512WithRSAEncryption".into())),
        VerifyError::Algorithm(_)
    ));
    assert_eq!(
        refused(&|p, _| p.v3.as_mut().unwrap().user_challenge_verifier = None),
        VerifyError::Callback
    );
    assert_eq!(
        refused(&|p, _| p.v3.as_mut().unwrap().user_challenge_verifier = Some("another".into())),
        VerifyError::Callback
    );
    // Values of ours that differ from what was signed: the signature fails.
    assert_eq!(
        refused(&|p, _| p.v3.as_mut().unwrap().relying_party_name = "demo".into()),
        VerifyError::Signature
    );
    assert_eq!(
        refused(&|p, _| p.hash = AuthHash::generate(HashType::Sha512).unwrap()),
        VerifyError::Signature
    );
    assert_eq!(
        refused(&|_, d| got(d).server_random = Some("b3RoZXItc2VydmVyLXJhbmRvbS0xMjM=".into())),
        VerifyError::Signature
    );
}
