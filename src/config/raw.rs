//! The configuration as written in `config.toml` (and `AUTH_EID_*` variables), before validation.
//! Every struct refuses unknown keys so a typo is an error that names the key, not a silent
//! default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Demo,
    Production,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub mode: Mode,
    pub public_url: String,
    pub internal_url: String,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub keys: RawKeys,
    /// The reference components' name for `keys.signing`, as a top-level table.
    pub signing_privkey: Option<RawKey>,
    /// The reference components' name for `keys.encryption`, as a top-level table.
    pub encryption_pubkey: Option<RawKey>,
    /// A communication plugin's setting (our public key); read only to explain that it is not
    /// ours to set.
    pub signature_pubkey: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub allow: RawAllow,
    #[serde(default)]
    pub flow: RawFlow,
    #[serde(default)]
    pub delivery: RawDelivery,
    #[serde(default)]
    pub means: RawMeans,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub store: RawStore,
    /// `[pages]`: labels, who is asking, branding (config/pages.rs).
    #[serde(default)]
    pub pages: super::pages::RawPages,
    /// `[trust.<profile>]`: anchors, intermediates, revocation and rules (see docs/pki.md).
    #[serde(default)]
    pub trust: BTreeMap<String, crate::pki::TrustProfileConfig>,
    /// `[[relying_party]]`: direct callers of the session API (docs/rp-api.md).
    #[serde(default)]
    pub relying_party: Vec<super::relying_party::RawRelyingParty>,
    #[serde(default)]
    pub api: super::relying_party::RawApi,
    /// `[limits]`: rate-limit budgets and trusted proxies (config/limits.rs).
    #[serde(default)]
    pub limits: super::limits::RawLimits,
    /// `[phone]`: the phone and one-time-code step (config/phone.rs).
    #[serde(default)]
    pub phone: super::phone::RawPhone,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub address: String,
    pub port: u16,
    /// Base64 of 64 random bytes: the key of the private flow cookie. Instances behind one load
    /// balancer share it. Absent: a random key per start (cookies die with the process).
    pub cookie_secret: Option<String>,
    /// After SIGTERM/Ctrl-C, seconds in-flight requests and deliveries may still run.
    pub shutdown_grace_seconds: u64,
    /// Then seconds open connections get to close before they are cut.
    pub shutdown_mercy_seconds: u64,
    /// Seconds a connection has to deliver a complete request head, counted from when the
    /// server is ready for it (accepted, or the previous response sent).
    pub header_read_timeout_seconds: u64,
    /// Seconds an idle connection (no byte in either direction, no request being handled) stays
    /// open; at most `header_read_timeout_seconds`.
    pub keep_alive_seconds: u64,
    /// Seconds a request has to deliver its whole body once its head is in.
    pub body_read_timeout_seconds: u64,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Largest request head (request line and headers) in bytes; larger gets 431.
    pub max_header_bytes: usize,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            address: "127.0.0.1".into(),
            port: 8400,
            cookie_secret: None,
            shutdown_grace_seconds: 5,
            shutdown_mercy_seconds: 2,
            header_read_timeout_seconds: 10,
            keep_alive_seconds: 5,
            body_read_timeout_seconds: 30,
            max_connections: 4096,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// `[keys]`; each key may also be written under the reference components' name
/// (`keys.signing_privkey`, or a top-level `[signing_privkey]`): `config::key_source` picks
/// the one given and refuses two.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawKeys {
    pub signing: Option<RawKey>,
    pub encryption: Option<RawKey>,
    pub signing_privkey: Option<RawKey>,
    pub encryption_pubkey: Option<RawKey>,
    pub signature_pubkey: Option<serde::de::IgnoredAny>,
}

/// The reference components' key format: `type` plus inline `key` or `key_file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    #[serde(rename = "type")]
    pub kind: KeyKind,
    pub key: Option<String>,
    pub key_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyKind {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "EC")]
    Ec,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawAllow {
    pub continuation: Vec<String>,
    pub attr_url: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFlow {
    pub ttl_seconds: u64,
    pub max_live_flows: usize,
    pub session_updates: bool,
    pub session_idle_seconds: u64,
    pub session_max_seconds: u64,
}

impl Default for RawFlow {
    fn default() -> Self {
        RawFlow {
            ttl_seconds: 900,
            max_live_flows: 100_000,
            session_updates: true,
            session_idle_seconds: 900,
            session_max_seconds: 12 * 3600,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDelivery {
    pub timeout_seconds: u64,
    pub retry_for_seconds: u64,
    pub initial_backoff_ms: u64,
    pub max_backoff_seconds: u64,
    pub first_attempt_wait_ms: u64,
}

impl Default for RawDelivery {
    fn default() -> Self {
        RawDelivery {
            timeout_seconds: 5,
            retry_for_seconds: 290,
            initial_backoff_ms: 500,
            max_backoff_seconds: 30,
            first_attempt_wait_ms: 2000,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawMeans {
    pub test: RawTestMeans,
    pub card: RawCardMeans,
    pub smart_id: RawSmartIdMeans,
}

/// `[means.card]`: the Belgian eID card through the citizen's local connector.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCardMeans {
    pub enabled: bool,
    /// Where the citizen's connector listens (the page talks to it from the browser).
    pub connector_url: String,
    pub nonce_ttl_seconds: u64,
    /// Trust profiles for the authentication certificate and the National Register signer.
    pub auth_profile: String,
    pub rrn_profile: String,
    /// tag = identity field (docs/configuration.md lists the card's fields)
    pub attributes: BTreeMap<String, String>,
    /// Where citizens get the connector; the card page links it when no connector answers.
    pub connector_download_url: Option<String>,
}

impl Default for RawCardMeans {
    fn default() -> Self {
        RawCardMeans {
            enabled: false,
            connector_url: "http://127.0.0.1:24801".into(),
            nonce_ttl_seconds: 300,
            auth_profile: "beid_auth".into(),
            rrn_profile: "beid_rrn".into(),
            attributes: BTreeMap::new(),
            connector_download_url: None,
        }
    }
}

/// `[means.smart_id]`: Smart-ID RP API v3 (or v2): notification flow by national identity code,
/// device-link flows (QR code, Web2App) with v3.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSmartIdMeans {
    pub enabled: bool,
    /// "demo" (SK's demo service or the simulator) or "live"; production refuses "demo".
    pub environment: String,
    pub base_url: String,
    /// "v2" or "v3"; absent: from base_url's last segment (`…/v2/` is v2, else v3).
    pub api_version: Option<String>,
    /// v3 `schemeName`; absent: "smart-id-demo" for environment "demo", else "smart-id".
    pub scheme_name: Option<String>,
    pub relying_party_uuid: String,
    pub relying_party_name: String,
    pub certificate_level: String,
    pub hash_type: String,
    /// Accepted TLS server keys: "sha256/<base64 of the SPKI hash>".
    pub tls_pins: Vec<String>,
    /// PEM files whose public keys are accepted as TLS server keys too.
    pub tls_pin_certificates: Vec<String>,
    /// CA for the RP API's TLS chain; absent: the system store.
    pub tls_ca_file: Option<String>,
    pub trust_profile: String,
    pub countries: Vec<String>,
    /// Accept personal codes without checking the national check digit (demo only: SK's
    /// Belgian demo account does not pass it).
    pub format_only_codes: bool,
    pub display_text: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub poll_timeout_ms: u64,
    /// Most Smart-ID sessions polled at once (background tasks).
    pub max_sessions: usize,
    /// How long a session waiting at SK stays leased to its instance without a renewal; after
    /// that another instance resumes it.
    pub resume_after_ms: u64,
    pub attributes: BTreeMap<String, String>,
}

impl Default for RawSmartIdMeans {
    fn default() -> Self {
        RawSmartIdMeans {
            enabled: false,
            environment: "live".into(),
            base_url: String::new(),
            api_version: None,
            scheme_name: None,
            relying_party_uuid: String::new(),
            relying_party_name: String::new(),
            certificate_level: "QUALIFIED".into(),
            hash_type: "SHA512".into(),
            tls_pins: Vec::new(),
            tls_pin_certificates: Vec::new(),
            tls_ca_file: None,
            trust_profile: "smart_id".into(),
            countries: vec!["EE".into(), "LV".into(), "LT".into(), "BE".into()],
            format_only_codes: false,
            display_text: "Log in to the service".into(),
            connect_timeout_ms: 5_000,
            request_timeout_ms: 40_000,
            poll_timeout_ms: 30_000,
            max_sessions: 1_000,
            resume_after_ms: 15_000,
            attributes: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawTestMeans {
    pub enabled: bool,
    /// tag = fixed value
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub format: LogFormat,
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Memory,
    Redis,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub kind: StoreKind,
    pub url: Option<String>,
    pub key_prefix: String,
    pub pool_size: usize,
    pub timeout_ms: u64,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            kind: StoreKind::Memory,
            url: None,
            key_prefix: "auth-eid:".into(),
            pool_size: 4,
            timeout_ms: 1000,
        }
    }
}
