//! Pure verification of a COMPLETE + OK session (RP API v2 §2.3.13.3, reference §4): the
//! signature over the hash WE sent (v3: the ACSP_V2 payload of our own values, `acsp.rs`), the algorithm, the level in JSON and in the policies, the
//! authentication key usage, and the identity. Chain, revocation and trust anchors are the `pki`
//! module's job with the `smart_id` profile: hand it [`VerifiedSmartId::cert`], decoded once.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::pkey::PKey;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::client::{AuthTarget, PendingAuthentication};
use super::outcome::{CompletedSession, EndResult, Failure, FailureKind};
use crate::pki::DecodedCert;

/// Smart-ID account level; `Advanced` < `Qualified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CertificateLevel {
    Advanced,
    #[default]
    Qualified,
}

impl CertificateLevel {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ADVANCED" => Some(CertificateLevel::Advanced),
            "QUALIFIED" => Some(CertificateLevel::Qualified),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CertificateLevel::Advanced => "ADVANCED",
            CertificateLevel::Qualified => "QUALIFIED",
        }
    }

    /// Certificate policy OIDs a Smart-ID authentication certificate of this level carries
    /// (SK policy + ETSI NCP+/NCP), all of which must be present.
    pub fn policy_oids(self) -> [&'static str; 2] {
        match self {
            CertificateLevel::Qualified => ["1.3.6.1.4.1.10015.17.2", "0.4.0.2042.1.2"],
            CertificateLevel::Advanced => ["1.3.6.1.4.1.10015.17.1", "0.4.0.2042.1.1"],
        }
    }
}

/// Smart-ID authentication EKU (certificates from April 2025).
pub const EKU_SMART_ID_AUTH: &str = "1.3.6.1.4.1.62306.5.7.0";
const MAX_RSA_BITS: u32 = 8192;
const MIN_RSA_BITS: u32 = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("endResult is not OK")]
    NotOk,
    #[error("response lacks {0}")]
    Missing(&'static str),
    #[error("{0} is not valid Base64")]
    Base64(&'static str),
    #[error("certificate cannot be parsed")]
    Certificate,
    #[error("certificate is not valid at this time")]
    NotValidNow,
    #[error("certificate key is not RSA of 2048 to 8192 bits")]
    Key,
    #[error("signature.algorithm {0:?} does not match the requested hash type")]
    Algorithm(String),
    #[error("signature does not verify over the hash that was sent")]
    Signature,
    #[error("certificateLevel {0:?} is below the requested level or unknown")]
    Level(String),
    #[error("certificate policies do not match certificateLevel")]
    Policies,
    #[error("certificate is not for authentication (key usage / EKU)")]
    Purpose,
    #[error("certificate subject has no serialNumber of the PNO/IDC/PAS form")]
    NoSerialNumber,
    #[error("certificate belongs to another person than the one asked for")]
    WrongPerson,
    #[error("documentNumber differs from the one asked for")]
    WrongDocument,
    #[error("signatureProtocol is not the one of the session (ACSP_V2)")]
    Protocol,
    #[error("flowType is not one this session offered")]
    FlowType,
    #[error("interactionTypeUsed is not one we offered")]
    Interaction,
    #[error("the Web2App callback did not come back, or its userChallengeVerifier does not match")]
    Callback,
}

/// A verified Smart-ID authentication, before chain validation.
#[derive(Clone)]
pub struct VerifiedSmartId {
    /// The end-entity certificate, decoded, for `pki` validation with the `smart_id` profile.
    pub cert: DecodedCert,
    /// v2 returns the leaf only; the issuing CAs come from configuration. Always empty for v2.
    pub intermediates: Vec<Vec<u8>>,
    /// e.g. `PNOEE-40504040001-MOCK-Q`; for `document/` re-authentication.
    pub document_number: String,
    pub level: CertificateLevel,
    fields: BTreeMap<String, String>,
}

impl fmt::Debug for VerifiedSmartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedSmartId")
            .field("level", &self.level)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl VerifiedSmartId {
    /// Identity fields (documented in `docs/smart-id.md`):
    /// `national_identity_number` (`PNOEE-40504040001`), `personal_code` (`40504040001`),
    /// `identifier_type` (`PNO`/`IDC`/`PAS`), `country`, `given_name`, `surname`, `full_name`
    /// (given name + surname, never from CN), `date_of_birth` (YYYY-MM-DD; absent if unknown),
    /// `document_number`, `certificate_level`.
    pub fn fields(&self) -> BTreeMap<String, String> {
        self.fields.clone()
    }
}

/// Why a completed session did not verify, or how it ended otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("Smart-ID ended with {0:?}")]
    EndResult(EndResult),
    #[error("Smart-ID result rejected: {0}")]
    Invalid(#[from] VerifyError),
}

impl Rejected {
    pub fn failure(&self) -> Failure {
        match self {
            Rejected::EndResult(r) => r.failure().unwrap_or_else(|| invalid(VerifyError::NotOk)),
            Rejected::Invalid(e) => invalid(e.clone()),
        }
    }
}

fn invalid(e: VerifyError) -> Failure {
    Failure {
        kind: FailureKind::Failed,
        retry: false,
        message_key: "smart_id.failed",
        detail: e.to_string(),
    }
}

/// The end of a session: verified identity, or why not. `now` is for the validity check.
pub fn conclude(
    pending: &PendingAuthentication,
    done: &CompletedSession,
    now: SystemTime,
) -> Result<VerifiedSmartId, Rejected> {
    if done.end_result != EndResult::Ok {
        return Err(Rejected::EndResult(done.end_result.clone()));
    }
    Ok(verify_ok(pending, done, now)?)
}

fn verify_ok(
    pending: &PendingAuthentication,
    done: &CompletedSession,
    now: SystemTime,
) -> Result<VerifiedSmartId, VerifyError> {
    let document_number = done
        .document_number
        .clone()
        .filter(|d| !d.is_empty())
        .ok_or(VerifyError::Missing("documentNumber"))?;
    let cert_der = decode(&done.cert_value, "cert.value")?;
    let sig = decode(&done.signature_value, "signature.value")?;
    let algorithm = done
        .signature_algorithm
        .as_deref()
        .ok_or(VerifyError::Missing("signature.algorithm"))?;

    // Decoded once here; path validation takes this object as it is.
    let decoded = DecodedCert::from_der(&cert_der).map_err(|_| VerifyError::Certificate)?;
    let hash = &pending.hash;
    match &pending.v3 {
        Some(v3) => acsp::check(pending, v3, done, decoded.x509(), &sig)?,
        None => {
            // The algorithm is ours to choose, not the response's.
            if algorithm != hash.hash_type().signature_algorithm() {
                return Err(VerifyError::Algorithm(algorithm.chars().take(40).collect()));
            }
            verify_signature(
                decoded.x509(),
                &hash.hash_type().digest_info(hash.digest()),
                &sig,
            )?;
        }
    }

    let (rest, cert) =
        X509Certificate::from_der(&cert_der).map_err(|_| VerifyError::Certificate)?;
    if !rest.is_empty() {
        return Err(VerifyError::Certificate);
    }
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let at =
        x509_parser::time::ASN1Time::from_timestamp(secs).map_err(|_| VerifyError::NotValidNow)?;
    if !cert.validity().is_valid_at(at) {
        return Err(VerifyError::NotValidNow);
    }

    let level_label = done.cert_level.as_deref().unwrap_or("");
    let level = CertificateLevel::parse(level_label)
        .filter(|l| *l >= pending.certificate_level)
        .ok_or_else(|| VerifyError::Level(level_label.chars().take(20).collect()))?;
    check_policies(&cert, level)?;
    check_purpose(&cert)?;

    let mut fields = identity_fields(&cert)?;
    let serial = fields["national_identity_number"].clone();
    match &pending.target {
        AuthTarget::Etsi(code) if code.semantics_id() != serial => {
            return Err(VerifyError::WrongPerson)
        }
        AuthTarget::Document(doc) if *doc != document_number => {
            return Err(VerifyError::WrongDocument)
        }
        _ => {}
    }
    // A document number names its account: PNOEE-40504040001-MOCK-Q belongs to PNOEE-40504040001.
    if !document_number.starts_with(&format!("{serial}-")) {
        return Err(VerifyError::WrongDocument);
    }
    fields.insert("document_number".into(), document_number.clone());
    fields.insert("certificate_level".into(), level.as_str().into());
    Ok(VerifiedSmartId {
        cert: decoded,
        intermediates: Vec::new(),
        document_number,
        level,
        fields,
    })
}

fn decode(v: &Option<String>, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    let s = v.as_deref().ok_or(VerifyError::Missing(what))?;
    let bytes = B64.decode(s).map_err(|_| VerifyError::Base64(what))?;
    if bytes.is_empty() {
        return Err(VerifyError::Missing(what));
    }
    Ok(bytes)
}

/// RSASSA-PKCS1-v1_5: the signature must open to exactly `DigestInfo(hashType) || hash`.
/// OpenSSL with PKCS#1 padding and no digest set compares the recovered block byte for byte
/// (the "NONEwithRSA" check of SK's Java client); it handles keys up to 16384 bits.
fn verify_signature(
    cert: &openssl::x509::X509,
    digest_info: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let key = cert.public_key().map_err(|_| VerifyError::Key)?;
    let rsa = key.rsa().map_err(|_| VerifyError::Key)?;
    let bits = rsa.n().num_bits() as u32;
    if !(MIN_RSA_BITS - 1..=MAX_RSA_BITS).contains(&bits) {
        return Err(VerifyError::Key);
    }
    if sig.len() != rsa.size() as usize {
        return Err(VerifyError::Signature);
    }
    let key = PKey::from_rsa(rsa).map_err(|_| VerifyError::Key)?;
    let ok = (|| {
        let mut ctx = PkeyCtx::new(&key)?;
        ctx.verify_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        ctx.verify(digest_info, sig)
    })();
    match ok {
        Ok(true) => Ok(()),
        _ => Err(VerifyError::Signature),
    }
}

fn check_policies(cert: &X509Certificate<'_>, level: CertificateLevel) -> Result<(), VerifyError> {
    use x509_parser::extensions::ParsedExtension;
    let present: Vec<String> = cert
        .iter_extensions()
        .filter_map(|e| match e.parsed_extension() {
            ParsedExtension::CertificatePolicies(p) => Some(p),
            _ => None,
        })
        .flat_map(|p| p.iter().map(|i| i.policy_id.to_id_string()))
        .collect();
    if level
        .policy_oids()
        .iter()
        .all(|o| present.iter().any(|p| p == o))
    {
        Ok(())
    } else {
        Err(VerifyError::Policies)
    }
}

/// digitalSignature, not a CA, and the Smart-ID authentication EKU or (certificates before
/// April 2025) id-kp-clientAuth with keyEncipherment + dataEncipherment.
fn check_purpose(cert: &X509Certificate<'_>) -> Result<(), VerifyError> {
    let bad = |_| VerifyError::Purpose;
    if cert.is_ca() {
        return Err(VerifyError::Purpose);
    }
    let ku = cert.key_usage().map_err(bad)?.ok_or(VerifyError::Purpose)?;
    let eku = cert
        .extended_key_usage()
        .map_err(bad)?
        .ok_or(VerifyError::Purpose)?;
    let ku = ku.value;
    if !ku.digital_signature() {
        return Err(VerifyError::Purpose);
    }
    let current = eku
        .value
        .other
        .iter()
        .any(|o| o.to_id_string() == EKU_SMART_ID_AUTH);
    let legacy = eku.value.client_auth && ku.key_encipherment() && ku.data_encipherment();
    if current || legacy {
        Ok(())
    } else {
        Err(VerifyError::Purpose)
    }
}

pub mod acsp;
mod identity;

use identity::identity_fields;

#[cfg(test)]
mod tests;
