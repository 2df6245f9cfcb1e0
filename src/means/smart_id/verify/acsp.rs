//! ACSP_V2, the signature protocol of RP API v3 authentication (SK's "Signature protocols" and
//! "Response verification" pages; the Java client 3.x `constructPayload` joins the same eleven
//! fields). The signed message is built from OUR stored values wherever one exists, never from
//! the response's echo of them:
//!
//! ```text
//! scheme | ACSP_V2 | serverRandom | rpChallenge | userChallenge | B64(rpName) | B64(brokered) |
//! B64(SHA-256(interactions, the Base64 string as sent)) | interactionTypeUsed |
//! initialCallbackUrl (Web2App/App2App only, else empty) | flowType
//! ```
//! signed RSASSA-PSS with the hash we asked for, MGF1 with the same hash, salt = hash length,
//! trailer 0xbc. Only serverRandom, userChallenge, interactionTypeUsed and flowType come from
//! the response, and each is checked first (form, and that it is one we allowed).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};

use super::VerifyError;
use crate::means::smart_id::hash::HashType;
use crate::means::smart_id::outcome::{CompletedSession, V3Signature};
use crate::means::smart_id::session::PendingAuthentication;
use crate::means::smart_id::v3::device_link::{same, user_challenge_of};
use crate::means::smart_id::v3::{FlowType, V3Flow, V3Pending, ACSP_V2, RSASSA_PSS};

/// What the payload is built from; the first group is ours, the second checked response data.
pub struct PayloadParts<'a> {
    pub scheme_name: &'a str,
    pub rp_challenge: &'a str,
    pub relying_party_name: &'a str,
    pub brokered_rp_name: &'a str,
    pub interactions: &'a str,
    pub initial_callback_url: &'a str,
    pub server_random: &'a str,
    pub user_challenge: &'a str,
    pub interaction_type_used: &'a str,
    pub flow_type: FlowType,
}

/// The exact bytes ACSP_V2 signs.
pub fn payload(p: &PayloadParts<'_>) -> Vec<u8> {
    let b64_or_empty = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            B64.encode(s)
        }
    };
    let callback = match p.flow_type {
        FlowType::Web2App | FlowType::App2App => p.initial_callback_url,
        FlowType::Qr | FlowType::Notification => "",
    };
    [
        p.scheme_name,
        ACSP_V2,
        p.server_random,
        p.rp_challenge,
        p.user_challenge,
        &B64.encode(p.relying_party_name),
        &b64_or_empty(p.brokered_rp_name),
        &B64.encode(openssl::sha::sha256(p.interactions.as_bytes())),
        p.interaction_type_used,
        callback,
        p.flow_type.as_str(),
    ]
    .join("|")
    .into_bytes()
}

/// The v3 checks of a COMPLETE + OK session up to and including the signature. The rest
/// (certificate, level, identity) is shared with v2 in `verify.rs`.
pub(super) fn check(
    pending: &PendingAuthentication,
    v3: &V3Pending,
    done: &CompletedSession,
    cert: &openssl::x509::X509,
    sig: &[u8],
) -> Result<(), VerifyError> {
    let got = done
        .v3
        .as_ref()
        .ok_or(VerifyError::Missing("v3 signature fields"))?;
    if got.signature_protocol.as_deref() != Some(ACSP_V2) {
        return Err(VerifyError::Protocol);
    }
    // We asked for one hash (the rpChallenge's own type: `new_hash` makes it of the
    // configured type) and accept only that one.
    let requested = pending.hash.hash_type();
    if response_hash(done)? != requested {
        return Err(VerifyError::Algorithm(requested.v3_name().into()));
    }
    check_pss_parameters(done, got, requested)?;
    let flow_type = got
        .flow_type
        .as_deref()
        .and_then(FlowType::parse)
        .filter(|f| v3.flow.allows(*f))
        .ok_or(VerifyError::FlowType)?;
    let server_random = got
        .server_random
        .as_deref()
        .filter(|r| r.len() >= 24 && r.len() <= 128 && B64.decode(r).is_ok())
        .ok_or(VerifyError::Missing("signature.serverRandom"))?;
    let user_challenge = got.user_challenge.as_deref().unwrap_or("");
    let well_formed = user_challenge.len() == 43
        && user_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let absent_ok = user_challenge.is_empty() && flow_type == FlowType::Notification;
    if !(well_formed || absent_ok) {
        return Err(VerifyError::Missing("signature.userChallenge"));
    }
    let used = done
        .interaction_flow_used
        .as_deref()
        .filter(|u| v3.interactions.offered(u))
        .ok_or(VerifyError::Interaction)?;
    let callback = match &v3.flow {
        V3Flow::DeviceLink {
            initial_callback_url: Some(url),
        } => url.as_str(),
        _ => "",
    };
    if matches!(flow_type, FlowType::Web2App | FlowType::App2App) {
        // The browser came back through our callback with the verifier whose hash the app
        // signed; without it the result may have been completed on another device.
        let verifier = v3
            .user_challenge_verifier
            .as_deref()
            .ok_or(VerifyError::Callback)?;
        if !same(&user_challenge_of(verifier), user_challenge) {
            return Err(VerifyError::Callback);
        }
    }
    let rp_challenge = pending.hash.to_base64();
    let message = payload(&PayloadParts {
        scheme_name: &v3.scheme_name,
        rp_challenge: &rp_challenge,
        relying_party_name: &v3.relying_party_name,
        brokered_rp_name: "",
        interactions: v3.interactions.encoded(),
        initial_callback_url: callback,
        server_random,
        user_challenge,
        interaction_type_used: used,
        flow_type,
    });
    verify_pss(cert, requested, &message, sig)
}

/// The hash the response says it used.
fn response_hash(done: &CompletedSession) -> Result<HashType, VerifyError> {
    let raw = done
        .v3
        .as_ref()
        .and_then(|v| v.hash_algorithm.as_deref())
        .unwrap_or("");
    HashType::parse_v3(raw).ok_or_else(|| VerifyError::Algorithm(raw.chars().take(40).collect()))
}

fn check_pss_parameters(
    done: &CompletedSession,
    got: &V3Signature,
    hash: HashType,
) -> Result<(), VerifyError> {
    let algorithm = done.signature_algorithm.as_deref().unwrap_or("");
    let salt = usize::try_from(got.salt_length.unwrap_or(0)).unwrap_or(0);
    let ok = algorithm == RSASSA_PSS
        && got.mask_gen_algorithm.as_deref() == Some("id-mgf1")
        && got.mask_gen_hash_algorithm.as_deref() == Some(hash.v3_name())
        && salt == hash.digest_len()
        && got.trailer_field.as_deref() == Some("0xbc");
    if ok {
        Ok(())
    } else {
        Err(VerifyError::Algorithm(algorithm.chars().take(40).collect()))
    }
}

/// RSASSA-PSS over `message` with `hash`, MGF1(`hash`), salt = hash length.
pub fn verify_pss(
    cert: &openssl::x509::X509,
    hash: HashType,
    message: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let key = cert.public_key().map_err(|_| VerifyError::Key)?;
    let rsa = key.rsa().map_err(|_| VerifyError::Key)?;
    let bits = rsa.n().num_bits() as u32;
    if !(super::MIN_RSA_BITS - 1..=super::MAX_RSA_BITS).contains(&bits) {
        return Err(VerifyError::Key);
    }
    if sig.len() != rsa.size() as usize {
        return Err(VerifyError::Signature);
    }
    let ok = (|| {
        let mut v = Verifier::new(hash.message_digest(), &key)?;
        v.set_rsa_padding(Padding::PKCS1_PSS)?;
        v.set_rsa_mgf1_md(hash.message_digest())?;
        v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(hash.digest_len() as i32))?;
        v.update(message)?;
        v.verify(sig)
    })();
    match ok {
        Ok(true) => Ok(()),
        _ => Err(VerifyError::Signature),
    }
}

#[cfg(test)]
mod tests;
