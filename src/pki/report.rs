//! The ValidationReport: what was checked, against what, and why the verdict is what it is.
//! Its JSON form is a stable schema (documented in `docs/pki.md`); add fields, never rename.
//! It holds only the certificates' own public fields.

use std::time::{SystemTime, UNIX_EPOCH};

use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::X509Ref;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

/// Version of the JSON schema below.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    Pass,
    Fail,
    Skipped,
}

/// Where a revocation answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RevocationSource {
    Ocsp,
    Crl,
    Cache,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Check {
    /// `parse`, `anchor`, `signature`, `validity`, `end_entity`, `key`, `key_usage`, `eku`,
    /// `policy`, `revocation`.
    pub name: String,
    pub result: CheckResult,
    pub reason: String,
    /// Revocation only: where the answer came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RevocationSource>,
    /// Revocation only: thisUpdate of the answer used (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_update: Option<String>,
    /// Revocation only: nextUpdate of the answer used (RFC 3339), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_update: Option<String>,
}

impl Check {
    pub fn new(name: &str, result: CheckResult, reason: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            result,
            reason: reason.into(),
            source: None,
            this_update: None,
            next_update: None,
        }
    }
    pub fn pass(name: &str, reason: impl Into<String>) -> Check {
        Check::new(name, CheckResult::Pass, reason)
    }
    pub fn fail(name: &str, reason: impl Into<String>) -> Check {
        Check::new(name, CheckResult::Fail, reason)
    }
    pub fn skipped(name: &str, reason: impl Into<String>) -> Check {
        Check::new(name, CheckResult::Skipped, reason)
    }
}

/// One certificate of the chain, leaf first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Serial number, lowercase hex without separators.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// `RSA`, `EC`, or OpenSSL's name for anything else.
    pub key_type: String,
    pub key_bits: u32,
    /// EC only: `P-256`, `P-384`, `P-521` or the curve's short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationReport {
    pub schema_version: u32,
    pub profile: String,
    /// The time the certificate was judged at (RFC 3339, UTC).
    pub validated_at: String,
    pub verdict: Verdict,
    pub chain: Vec<CertSummary>,
    pub checks: Vec<Check>,
}

impl ValidationReport {
    /// The first failed check, for a one-line log or refusal reason.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.result == CheckResult::Fail)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub(crate) fn to_offset(t: SystemTime) -> OffsetDateTime {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn curve_name(nid: Nid) -> String {
    match nid {
        Nid::X9_62_PRIME256V1 => "P-256".into(),
        Nid::SECP384R1 => "P-384".into(),
        Nid::SECP521R1 => "P-521".into(),
        other => other.short_name().unwrap_or("unknown").to_string(),
    }
}

/// Key type, size and curve of a certificate's public key.
pub(crate) fn key_info(cert: &X509Ref) -> (String, u32, Option<Nid>) {
    match cert.public_key() {
        Ok(k) => match k.id() {
            Id::RSA => ("RSA".into(), k.bits(), None),
            Id::EC => {
                let nid = k.ec_key().ok().and_then(|e| e.group().curve_name());
                ("EC".into(), k.bits(), nid)
            }
            Id::ED25519 => ("Ed25519".into(), k.bits(), None),
            Id::ED448 => ("Ed448".into(), k.bits(), None),
            _ => ("other".into(), k.bits(), None),
        },
        Err(_) => ("unreadable".into(), 0, None),
    }
}

impl CertSummary {
    pub(crate) fn of(cert: &X509Ref) -> CertSummary {
        let der = cert.to_der().unwrap_or_default();
        let parsed = x509_parser::parse_x509_certificate(&der)
            .ok()
            .map(|(_, c)| c);
        CertSummary::from_parsed(cert, &der, parsed.as_ref())
    }

    /// From a certificate already encoded and parsed (the validation path has both).
    pub(crate) fn from_parsed(
        cert: &X509Ref,
        der: &[u8],
        parsed: Option<&X509Certificate<'_>>,
    ) -> CertSummary {
        let (subject, issuer, not_before, not_after) = match parsed {
            Some(c) => (
                c.subject().to_string(),
                c.issuer().to_string(),
                rfc3339(c.validity().not_before.to_datetime()),
                rfc3339(c.validity().not_after.to_datetime()),
            ),
            None => Default::default(),
        };
        let serial = cert
            .serial_number()
            .to_bn()
            .ok()
            .and_then(|b| b.to_hex_str().ok().map(|s| s.to_ascii_lowercase()))
            .unwrap_or_default();
        let (key_type, key_bits, nid) = key_info(cert);
        let sha256 = hex(&openssl::sha::sha256(der));
        CertSummary {
            subject,
            issuer,
            serial,
            not_before,
            not_after,
            key_type,
            key_bits,
            curve: nid.map(curve_name),
            sha256,
        }
    }
}
