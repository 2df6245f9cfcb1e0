//! `[trust.<profile>]`: the raw serde shape of one trust profile and the names it accepts.
//! Their validation into a loaded profile is in `profile.rs`.

use serde::{Deserialize, Serialize};

/// One trust profile as written in `config.toml` (`[trust.<name>]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrustProfileConfig {
    /// Marks every anchor of this profile as a demo/test anchor: refused in production mode.
    #[serde(default)]
    pub demo: bool,
    /// PEM files with the trust anchors (roots, or pinned issuing CAs).
    pub anchors: Vec<String>,
    /// PEM files with intermediate CA certificates offered to the path builder (not trusted).
    #[serde(default)]
    pub intermediates: Vec<String>,
    /// The designated OCSP responder of each issuing CA.
    #[serde(default)]
    pub ocsp: Vec<OcspResponderConfig>,
    /// CRL sources: `http(s)://` URLs or file paths (DER or PEM), the fallback after OCSP.
    #[serde(default)]
    pub crl: Vec<String>,
    #[serde(default)]
    pub revocation: RevocationPolicy,
    /// Which certificates of the path are checked for revocation: every one below the anchor
    /// (`chain`, default) or the leaf only (`leaf`).
    #[serde(default)]
    pub revocation_scope: RevocationScope,
    /// For a CA certificate of the path whose issuer has no configured responder: ask the OCSP
    /// URL in that CA certificate's own authorityInfoAccess, once the path has validated.
    #[serde(default)]
    pub ca_ocsp_from_aia: bool,
    /// Key usage bits the leaf must all have (`digitalSignature`, `keyEncipherment`, ...).
    #[serde(default)]
    pub require_key_usage: Vec<String>,
    /// Alternatives: the leaf must satisfy at least one. An alternative is an OID or name, or
    /// a list of them that must all be present.
    #[serde(default)]
    pub require_eku: Vec<OneOrAll>,
    /// When true, a leaf with no EKU extension at all passes the EKU check (old Belgian
    /// cards); a leaf that has one must still satisfy `require_eku`.
    #[serde(default)]
    pub eku_optional: bool,
    /// Alternatives of certificate policy OIDs, same shape as `require_eku`.
    #[serde(default)]
    pub require_policies: Vec<OneOrAll>,
    /// Policy OIDs the leaf must not carry (another scheme's, or a signing certificate's).
    #[serde(default)]
    pub forbid_policies: Vec<String>,
    #[serde(default = "default_rsa_min")]
    pub rsa_min_bits: u32,
    #[serde(default = "default_rsa_max")]
    pub rsa_max_bits: u32,
    #[serde(default = "default_curves")]
    pub ec_curves: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Tolerated clock difference for OCSP/CRL thisUpdate/nextUpdate.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
}

/// A string, or a list of strings that must all hold.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrAll {
    One(String),
    All(Vec<String>),
}

impl OneOrAll {
    pub(crate) fn items(&self) -> Vec<&str> {
        match self {
            OneOrAll::One(s) => vec![s.as_str()],
            OneOrAll::All(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OcspResponderConfig {
    /// PEM file of the CA whose certificates this responder answers for.
    pub issuer: String,
    /// The responder URL. Only this URL is ever contacted for that issuer.
    pub url: String,
    /// A dedicated responder certificate (PEM) trusted for this issuer's responses. Without it,
    /// the CA itself or a delegate it issued with id-kp-OCSPSigning must sign.
    #[serde(default)]
    pub responder: Option<String>,
    /// Refuse responses that do not echo our nonce (default true). Set false only for
    /// responders that serve pre-signed responses; freshness limits then bound replays.
    #[serde(default = "yes")]
    pub require_nonce: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RevocationPolicy {
    /// No revocation answer: the certificate is refused.
    #[default]
    FailClosed,
    /// No revocation answer (responder down, timeout): accepted, with a `skipped` check.
    FailOpen,
    /// Never check revocation (tests, offline demos).
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RevocationScope {
    /// The leaf and every CA certificate between it and the anchor.
    #[default]
    Chain,
    /// The leaf only.
    Leaf,
}

fn yes() -> bool {
    true
}
fn default_rsa_min() -> u32 {
    2048
}
fn default_rsa_max() -> u32 {
    8192
}
fn default_curves() -> Vec<String> {
    vec!["P-256".into(), "P-384".into(), "P-521".into()]
}
fn default_timeout() -> u64 {
    5
}
fn default_skew() -> u64 {
    900
}

/// Key usage bits by their RFC 5280 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsageBit {
    DigitalSignature,
    NonRepudiation,
    KeyEncipherment,
    DataEncipherment,
    KeyAgreement,
    KeyCertSign,
    CrlSign,
}

impl KeyUsageBit {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "digitalSignature" => KeyUsageBit::DigitalSignature,
            "nonRepudiation" | "contentCommitment" => KeyUsageBit::NonRepudiation,
            "keyEncipherment" => KeyUsageBit::KeyEncipherment,
            "dataEncipherment" => KeyUsageBit::DataEncipherment,
            "keyAgreement" => KeyUsageBit::KeyAgreement,
            "keyCertSign" => KeyUsageBit::KeyCertSign,
            "cRLSign" => KeyUsageBit::CrlSign,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyUsageBit::DigitalSignature => "digitalSignature",
            KeyUsageBit::NonRepudiation => "nonRepudiation",
            KeyUsageBit::KeyEncipherment => "keyEncipherment",
            KeyUsageBit::DataEncipherment => "dataEncipherment",
            KeyUsageBit::KeyAgreement => "keyAgreement",
            KeyUsageBit::KeyCertSign => "keyCertSign",
            KeyUsageBit::CrlSign => "cRLSign",
        }
    }
}

/// EKU short names accepted in `require_eku`, mapped to their OIDs.
const EKU_NAMES: &[(&str, &str)] = &[
    ("serverAuth", "1.3.6.1.5.5.7.3.1"),
    ("clientAuth", "1.3.6.1.5.5.7.3.2"),
    ("codeSigning", "1.3.6.1.5.5.7.3.3"),
    ("emailProtection", "1.3.6.1.5.5.7.3.4"),
    ("timeStamping", "1.3.6.1.5.5.7.3.8"),
    ("OCSPSigning", "1.3.6.1.5.5.7.3.9"),
    ("smartIdAuthentication", "1.3.6.1.4.1.62306.5.7.0"),
];

/// A dotted OID: at least two arcs, digits only, no empty arcs.
pub(crate) fn is_dotted_oid(s: &str) -> bool {
    let arcs: Vec<&str> = s.split('.').collect();
    arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.len() <= 20 && a.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn eku_oid(s: &str) -> Option<String> {
    EKU_NAMES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, o)| o.to_string())
        .or_else(|| is_dotted_oid(s).then(|| s.to_string()))
}
