//! The COMPLETE answer of an RP API v3 session: for OK, a certificate from the test PKI and a
//! real RSASSA-PSS signature (MGF1 with the same hash, salt = hash length) over the ACSP_V2
//! payload of the values the relying party SENT (its rpChallenge, name and interactions as
//! received), as the app does; faults bend exactly one thing.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use serde_json::{json, Value};

use super::accounts::Account;
use super::faults::Fault;
use super::pki::{PkiError, TestPki};
use super::results::{bend, leaf};
use super::validate_v3::V3Start;
use crate::means::smart_id::verify::acsp::{payload, PayloadParts};
use crate::means::smart_id::{FlowType, HashType};

pub struct V3Outcome<'a> {
    pub account: &'a Account,
    pub start: &'a V3Start,
    pub scheme_name: &'a str,
    pub end_result: &'a str,
    pub interaction_used: &'a str,
    pub flow_type: FlowType,
    /// BASE64URL(SHA-256(verifier)); the verifier goes to the Web2App callback.
    pub user_challenge: &'a str,
    pub fault: Option<Fault>,
}

/// v2's interaction refusals are one endResult in v3, with the screen in `details`.
fn v3_end_result(v2: &str) -> (&str, Option<&str>) {
    match v2 {
        "USER_REFUSED_DISPLAYTEXTANDPIN" => ("USER_REFUSED_INTERACTION", Some("displayTextAndPIN")),
        "USER_REFUSED_CONFIRMATIONMESSAGE" => {
            ("USER_REFUSED_INTERACTION", Some("confirmationMessage"))
        }
        "USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE" | "USER_REFUSED_VC_CHOICE" => (
            "USER_REFUSED_INTERACTION",
            Some("confirmationMessageAndVerificationCodeChoice"),
        ),
        other => (other, None),
    }
}

/// The JSON of a COMPLETE v3 session.
pub fn complete(pki: &TestPki, o: &V3Outcome<'_>) -> Result<Value, PkiError> {
    let (end, details) = match o.fault {
        Some(Fault::UnknownEndResult) => ("SOMETHING_NEW", None),
        Some(Fault::DocumentUnusable) => ("DOCUMENT_UNUSABLE", None),
        _ => v3_end_result(o.end_result),
    };
    let mut v = json!({
        "state": "COMPLETE",
        "result": {"endResult": end, "simulatorNote": "unknown fields must be ignored"},
        "unknownTopLevel": {"nested": [1, 2, 3]},
    });
    if let Some(screen) = details {
        v["result"]["details"] = json!({"interaction": screen});
    }
    if end != "OK" {
        return Ok(v);
    }
    let a = o.account;
    let (cert, key) = leaf(pki, a, o.fault)?;
    let mut server_random = [0u8; 24];
    openssl::rand::rand_bytes(&mut server_random)?;
    let server_random = B64.encode(server_random);
    let used = if o.fault == Some(Fault::WrongInteraction) {
        ["confirmationMessage", "displayTextAndPIN"]
            .into_iter()
            .find(|t| !o.start.interaction_types.iter().any(|i| i == t))
            .unwrap_or("confirmationMessageAndVerificationCodeChoice")
    } else {
        o.interaction_used
    };
    let flow_type = match (o.fault, o.flow_type) {
        (Some(Fault::WrongFlowType), FlowType::Qr) => FlowType::App2App,
        (Some(Fault::WrongFlowType), _) => FlowType::Qr,
        (_, f) => f,
    };
    let message = payload(&PayloadParts {
        scheme_name: o.scheme_name,
        rp_challenge: &o.start.rp_challenge,
        relying_party_name: &o.start.relying_party_name,
        brokered_rp_name: "",
        interactions: &o.start.interactions,
        initial_callback_url: o.start.initial_callback_url.as_deref().unwrap_or(""),
        server_random: &server_random,
        user_challenge: o.user_challenge,
        interaction_type_used: used,
        flow_type,
    });
    let mut signed = message.clone();
    if o.fault == Some(Fault::WrongSignature) {
        signed[0] ^= 0x01;
    }
    let mut sig = sign_pss(&key, o.start.hash, &signed)?;
    let reported_hash = bend(&mut v, o.fault, &mut sig, o.start.hash, a, &cert)?;
    let h = reported_hash.v3_name();
    v["signatureProtocol"] = json!("ACSP_V2");
    v["signature"] = json!({
        "value": B64.encode(&sig),
        "serverRandom": server_random,
        "userChallenge": o.user_challenge,
        "flowType": flow_type.as_str(),
        "signatureAlgorithm": "rsassa-pss",
        "signatureAlgorithmParameters": {
            "hashAlgorithm": h,
            "maskGenAlgorithm": {"algorithm": "id-mgf1", "parameters": {"hashAlgorithm": h}},
            "saltLength": reported_hash.digest_len(),
            "trailerField": "0xbc",
        },
        "unknownInSignature": true,
    });
    v["interactionTypeUsed"] = json!(used);
    v["ignoredProperties"] = json!([]);
    Ok(v)
}

/// RSASSA-PSS over `message`: `hash`, MGF1(`hash`), salt = hash length, trailer 0xbc.
pub fn sign_pss(
    key: &PKey<Private>,
    hash: HashType,
    message: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut s = Signer::new(hash.message_digest(), key)?;
    s.set_rsa_padding(Padding::PKCS1_PSS)?;
    s.set_rsa_mgf1_md(hash.message_digest())?;
    s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(hash.digest_len() as i32))?;
    s.update(message)?;
    s.sign_to_vec()
}
