//! The Web eID 1.0 authentication token and the `beid` extension the connector adds. Every
//! binary field is standard base64 (with padding). Nothing here is trusted before
//! [`super::verify::verify_token`].

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// `format` of the tokens this crate produces; verification accepts any `web-eid:1` prefix.
pub const FORMAT: &str = "web-eid:1.0";
/// `appVersion` of tokens made by `auth-eid connector`.
pub const APP_VERSION: &str = concat!(
    "https://auth-eid.invalid/connector/",
    env!("CARGO_PKG_VERSION")
);

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebEidToken {
    pub format: String,
    /// The authentication certificate, DER.
    pub unverified_certificate: String,
    /// `ES384`, `RS256`, ... (JWA names).
    pub algorithm: String,
    /// Over `H(origin) ‖ H(challenge)`; ECDSA as raw `r ‖ s`.
    pub signature: String,
    pub app_version: String,
    /// Card files signed by the National Register; absent in tokens of the Web eID extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beid: Option<BeidData>,
}

/// The identity and address files exactly as read from the card, with their RRN signatures.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeidData {
    /// EF 4031, padding included (the signature covers it).
    pub identity: String,
    /// EF 4032.
    pub identity_signature: String,
    /// EF 4033, as read.
    pub address: String,
    /// EF 4034.
    pub address_signature: String,
    /// The National Register signing certificate (EF 503C), DER.
    pub rrn_certificate: String,
    /// The issuing CA of the authentication certificate (EF 503A), DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// EF 4035 (JPEG), only on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
}

/// Personal data and signatures: Debug shows the shape only.
impl fmt::Debug for WebEidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebEidToken")
            .field("format", &self.format)
            .field("algorithm", &self.algorithm)
            .field("beid", &self.beid.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BeidData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeidData")
            .field("photo", &self.photo.is_some())
            .finish_non_exhaustive()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes one base64 field, refusing anything over `max` decoded bytes.
pub fn unb64(field: &'static str, value: &str, max: usize) -> Result<Vec<u8>, FieldError> {
    if value.len() > max.div_ceil(3) * 4 + 4 {
        return Err(FieldError(field));
    }
    STANDARD
        .decode(value.trim())
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= max)
        .ok_or(FieldError(field))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token field `{0}` is not valid base64 of an acceptable size")]
pub struct FieldError(pub &'static str);
