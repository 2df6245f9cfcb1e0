//! The COMPLETE answer of a session: for OK, a certificate from the test PKI and a real
//! RSASSA-PKCS1-v1_5 signature over `DigestInfo(hashType) || hash` (the hash as received),
//! as the app does; faults bend exactly one thing. Unknown fields are sprinkled at every level,
//! because clients must ignore them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use serde_json::{json, Value};

use super::accounts::{self, Account};
use super::faults::Fault;
use super::pki::{LeafSpec, PkiError, TestPki};
use crate::means::smart_id::{CertificateLevel, HashType};

pub struct Outcome<'a> {
    pub account: &'a Account,
    pub hash: &'a [u8],
    pub hash_type: HashType,
    pub end_result: &'a str,
    pub interaction_used: &'a str,
    pub fault: Option<Fault>,
}

/// The JSON of a COMPLETE session.
pub fn complete(pki: &TestPki, o: &Outcome<'_>) -> Result<Value, PkiError> {
    let end = match o.fault {
        Some(Fault::UnknownEndResult) => "SOMETHING_NEW",
        Some(Fault::DocumentUnusable) => "DOCUMENT_UNUSABLE",
        _ => o.end_result,
    };
    let mut v = json!({
        "state": "COMPLETE",
        "result": {"endResult": end, "simulatorNote": "unknown fields must be ignored"},
        "unknownTopLevel": {"nested": [1, 2, 3]},
    });
    if end != "OK" {
        return Ok(v);
    }
    let a = o.account;
    let (cert, key) = leaf(pki, a, o.fault)?;
    let signed: Vec<u8> = if o.fault == Some(Fault::WrongSignature) {
        let mut other = o.hash.to_vec();
        other[0] ^= 0x01;
        other
    } else {
        o.hash.to_vec()
    };
    let mut sig = sign(&key, o.hash_type, &signed)?;
    let algorithm = bend(&mut v, o.fault, &mut sig, o.hash_type, a, &cert)?;
    v["signature"] = json!({
        "value": B64.encode(&sig),
        "algorithm": algorithm.signature_algorithm(),
        "unknownInSignature": true,
    });
    v["interactionFlowUsed"] = json!(o.interaction_used);
    v["ignoredProperties"] = json!([]);
    Ok(v)
}

/// What v2 and v3 answers bend alike: the signature cut short, the hash algorithm reported
/// wrong (the one reported is returned), the level raised, the document number emptied, the
/// certificate not Base64 or left out. Writes `result.documentNumber` and `cert` into `v`.
pub(super) fn bend(
    v: &mut Value,
    fault: Option<Fault>,
    sig: &mut Vec<u8>,
    hash: HashType,
    a: &Account,
    cert: &openssl::x509::X509,
) -> Result<HashType, PkiError> {
    if fault == Some(Fault::TruncatedSignature) {
        sig.pop();
    }
    let reported = match (fault, hash) {
        (Some(Fault::AlgorithmMismatch), HashType::Sha256) => HashType::Sha512,
        (Some(Fault::AlgorithmMismatch), _) => HashType::Sha256,
        _ => hash,
    };
    let level = match fault {
        Some(Fault::AdvancedLevel) => CertificateLevel::Advanced,
        _ => a.level,
    };
    let document = match fault {
        Some(Fault::EmptyDocumentNumber) => String::new(),
        _ => a.document_number.clone(),
    };
    v["result"]["documentNumber"] = json!(document);
    if fault != Some(Fault::MissingCertificate) {
        let value = match fault {
            Some(Fault::BadBase64) => "!!! not base64 ***".to_string(),
            _ => B64.encode(cert.to_der()?),
        };
        v["cert"] = json!({
            "value": value,
            "certificateLevel": level.as_str(),
            "unknownInCert": "x",
        });
    }
    Ok(reported)
}

/// The leaf certificate and key of a session of `a`, bent by a result fault where it says so
/// (another person, passport serial number, wrong level, signing purpose, expiry, untrusted).
pub fn leaf(
    pki: &TestPki,
    a: &Account,
    fault: Option<Fault>,
) -> Result<(openssl::x509::X509, PKey<Private>), PkiError> {
    let other;
    let (person, key) = if fault == Some(Fault::OtherPersonCertificate) {
        other = accounts::by_identity("PNOEE-39901012239").unwrap_or_else(|| a.clone());
        (&other, pki.leaf_key(&other.semantics_id)?)
    } else {
        (a, key_for(pki, a)?)
    };
    let serial = if fault == Some(Fault::PassportSerialNumber) {
        "PASEE-K0000001"
    } else {
        &person.semantics_id
    };
    let spec = LeafSpec {
        semantics_id: serial,
        given_name: person.given_name,
        surname: person.surname,
        country: person.country(),
        document_number: &person.document_number,
        policy_level: if fault == Some(Fault::WrongLevel) {
            CertificateLevel::Advanced
        } else {
            a.level
        },
        purpose: if fault == Some(Fault::SigningCertificate) {
            super::pki::Purpose::Signing
        } else {
            person.purpose
        },
        date_of_birth: person.date_of_birth,
        expired: fault == Some(Fault::ExpiredCertificate),
        untrusted: fault == Some(Fault::UntrustedCa),
    };
    let cert = pki.issue_leaf(&spec, &key)?;
    Ok((cert, key))
}

fn key_for(pki: &TestPki, a: &Account) -> Result<PKey<Private>, PkiError> {
    if a.big_key {
        Ok(pki.big_key.clone())
    } else {
        pki.leaf_key(&a.semantics_id)
    }
}

/// Prehashed RSASSA-PKCS1-v1_5: OpenSSL wraps `digest` in the DigestInfo of `hash_type`.
pub fn sign(
    key: &PKey<Private>,
    hash_type: HashType,
    digest: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut ctx = PkeyCtx::new(key)?;
    ctx.sign_init()?;
    ctx.set_rsa_padding(Padding::PKCS1)?;
    ctx.set_signature_md(hash_type.md())?;
    let mut sig = Vec::new();
    ctx.sign_to_vec(digest, &mut sig)?;
    Ok(sig)
}
