use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::pkey::{PKey, Private};

use super::*;
use crate::means::card::beid::Pin;
use crate::means::card::session::{self, AuthRequest};
use crate::means::card::token::b64;
use crate::simulate::card::{test_card, test_pki, EmulatorTransport, Profile};

const ORIGIN: &str = "https://rp.example";
const CHALLENGE: [u8; 32] = [7; 32];

fn token(profile: Profile, photo: bool) -> WebEidToken {
    let mut card = test_card(profile);
    let pin = Pin::parse("1234").unwrap();
    let nonce = STANDARD.encode(CHALLENGE);
    session::authenticate(
        &mut EmulatorTransport(&mut card),
        &AuthRequest {
            origin: ORIGIN,
            nonce: &nonce,
            pin: &pin,
            with_photo: photo,
        },
    )
    .unwrap()
}

fn field(v: &str) -> Vec<u8> {
    STANDARD.decode(v).unwrap()
}

#[test]
fn tokens_of_both_cards_verify_with_all_fields() {
    for profile in [Profile::Rsa, Profile::Ec] {
        let t = token(profile, true);
        let v = verify_token(&t, ORIGIN, &CHALLENGE).unwrap();
        let f = v.fields();
        let p = crate::simulate::card::pki::person(profile);
        assert_eq!(f["national_number"], p.national_number);
        assert_eq!(f["full_name"], format!("{} {}", p.given_names, p.surname));
        assert_eq!(f["postal_code"], "9999");
        assert_eq!(f["nationality"], "Belg");
        assert!(f["card_valid_until"] > f["card_valid_from"]);
        let dob = if profile == Profile::Rsa {
            "1985-07-30"
        } else {
            "2001-02-03"
        };
        assert_eq!(f["date_of_birth"], dob);
        assert_eq!(f.len(), 14);
        assert!(v.rrn_certificate.is_some() && v.ca_certificate.is_some());
        assert!(!format!("{v:?}").contains(p.surname));
    }
}

#[test]
fn certificate_only_tokens_give_certificate_fields() {
    let mut t = token(Profile::Ec, false);
    t.beid = None;
    let f = verify_token(&t, ORIGIN, &CHALLENGE).unwrap().fields();
    assert_eq!(
        f.keys().collect::<Vec<_>>(),
        ["full_name", "given_names", "national_number", "surname"]
    );
    assert_eq!(f["given_names"], "Zoë Demo");
}

#[test]
fn another_origin_or_challenge_fails() {
    let t = token(Profile::Rsa, false);
    let bad = Err(CardVerifyError::BadSignature("Web eID"));
    assert_eq!(
        verify_token(&t, "https://evil.example", &CHALLENGE).map(|_| ()),
        bad
    );
    assert_eq!(verify_token(&t, ORIGIN, &[8; 32]).map(|_| ()), bad);
}

#[test]
fn algorithm_confusion_is_refused() {
    let ec = token(Profile::Ec, false);
    for alg in ["none", "HS256", "ES384 ", ""] {
        let mut t = ec.clone();
        t.algorithm = alg.into();
        assert!(matches!(
            verify_token(&t, ORIGIN, &CHALLENGE),
            Err(CardVerifyError::AlgorithmNotAllowed(_))
        ));
    }
    for alg in ["RS256", "PS256", "ES256", "ES512"] {
        let mut t = ec.clone();
        t.algorithm = alg.into();
        assert!(matches!(
            verify_token(&t, ORIGIN, &CHALLENGE),
            Err(CardVerifyError::AlgorithmKeyMismatch(_))
        ));
    }
    let mut t = token(Profile::Rsa, false);
    t.algorithm = "ES384".into();
    assert!(matches!(
        verify_token(&t, ORIGIN, &CHALLENGE),
        Err(CardVerifyError::AlgorithmKeyMismatch(_))
    ));
    // PS256 is allowed for RSA but this signature is PKCS#1 v1.5.
    t.algorithm = "PS256".into();
    assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
}

#[test]
fn zero_and_out_of_range_ecdsa_values_are_refused() {
    let ec = token(Profile::Ec, false);
    // P-384 order, big-endian.
    let n = openssl::bn::BigNum::from_hex_str(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    )
    .unwrap()
    .to_vec();
    let sig = field(&ec.signature);
    for bad in [
        vec![0u8; 96],
        [&sig[..48], &[0u8; 48][..]].concat(),
        [&sig[..48], &n[..]].concat(),
        [&n[..], &sig[48..]].concat(),
        sig[..95].to_vec(),
        [&sig[..], &[0][..]].concat(),
    ] {
        let mut t = ec.clone();
        t.signature = b64(&bad);
        assert_eq!(
            verify_token(&t, ORIGIN, &CHALLENGE).map(|_| ()),
            Err(CardVerifyError::SignatureEncoding("Web eID"))
        );
    }
}

fn beid(t: &mut WebEidToken) -> &mut super::super::token::BeidData {
    t.beid.as_mut().unwrap()
}

#[test]
fn tampered_files_fail() {
    for profile in [Profile::Rsa, Profile::Ec] {
        let good = token(profile, true);
        // One byte of the identity file.
        let mut t = good.clone();
        let mut id = field(&beid(&mut t).identity);
        id[20] ^= 1;
        beid(&mut t).identity = b64(&id);
        assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
        // The photo.
        let mut t = good.clone();
        beid(&mut t).photo = Some(b64(b"another photo"));
        assert_eq!(
            verify_token(&t, ORIGIN, &CHALLENGE).map(|_| ()),
            Err(CardVerifyError::PhotoHash)
        );
        // One byte of the address.
        let mut t = good.clone();
        let mut a = field(&beid(&mut t).address);
        a[4] ^= 1;
        beid(&mut t).address = b64(&a);
        assert_eq!(
            verify_token(&t, ORIGIN, &CHALLENGE).map(|_| ()),
            Err(CardVerifyError::BadSignature("address"))
        );
    }
}

fn sign(key: &PKey<Private>, data: &[u8]) -> Vec<u8> {
    let md = openssl::hash::MessageDigest::sha256();
    openssl::sign::Signer::new(md, key)
        .unwrap()
        .sign_oneshot_to_vec(data)
        .unwrap()
}

#[test]
fn files_of_another_person_or_signer_fail() {
    let pki = test_pki();
    // Person B's (RRN-valid) files under person A's authentication.
    let mut t = token(Profile::Rsa, false);
    t.beid = token(Profile::Ec, false).beid;
    assert_eq!(
        verify_token(&t, ORIGIN, &CHALLENGE).map(|_| ()),
        Err(CardVerifyError::NationalNumberMismatch)
    );
    // Identity signed by the citizen CA key instead of the RRN key (RRN certificate kept).
    let mut t = token(Profile::Rsa, false);
    let id = field(&beid(&mut t).identity);
    let forged = sign(&pki.citizen_ca.key, &id);
    beid(&mut t).identity_signature = b64(&forged);
    assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
    // ... and with a certificate of that key as "RRN" certificate, the chain check is the
    // caller's; here the address signature no longer covers the new identity signature.
    beid(&mut t).rrn_certificate = b64(&pki.citizen_ca.cert.to_der().unwrap());
    assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
    // An address signature over the address alone.
    let mut t = token(Profile::Rsa, false);
    let addr = field(&beid(&mut t).address);
    let end = addr.iter().rposition(|b| *b != 0).unwrap() + 1;
    beid(&mut t).address_signature = b64(&sign(&pki.rrn_rsa.key, &addr[..end]));
    assert_eq!(
        verify_token(&t, ORIGIN, &CHALLENGE).map(|_| ()),
        Err(CardVerifyError::BadSignature("address"))
    );
}

#[test]
fn garbage_fields_are_errors() {
    let good = token(Profile::Ec, false);
    let mut t = good.clone();
    t.format = "web-eid:2".into();
    assert_eq!(
        verify_token(&t, ORIGIN, &CHALLENGE).map(|_| ()),
        Err(CardVerifyError::Format)
    );
    let mut t = good.clone();
    t.unverified_certificate = "!!!".into();
    assert!(matches!(
        verify_token(&t, ORIGIN, &CHALLENGE),
        Err(CardVerifyError::Field(_))
    ));
    let mut t = good.clone();
    t.unverified_certificate = b64(&[0x30, 0x03, 1, 2, 3]);
    assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
    let mut t = good.clone();
    beid(&mut t).identity = "A".repeat(100_000);
    assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
    let mut t = good;
    beid(&mut t).identity_signature = b64(&[0x30, 0x82, 0xFF]);
    assert!(verify_token(&t, ORIGIN, &CHALLENGE).is_err());
}
