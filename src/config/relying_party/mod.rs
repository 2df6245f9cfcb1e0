//! `[[relying_party]]` and `[api]`: the direct callers of the session API (docs/rp-api.md).
//!
//! A relying party authenticates with a static API key (`Authorization: Bearer <key>`); the
//! configuration holds only the key's SHA-256. Keys are 256 random bits, so a fast hash is
//! enough: nobody can search a 2^256 space, and a slow password hash (Argon2) would add tens of
//! milliseconds to every call for no gain.

use std::time::Duration;

use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::ConfigError;
use crate::means::MeansId;
use crate::urls::{AllowList, HttpUrl, UrlPrefix};

/// `[[relying_party]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelyingParty {
    pub id: String,
    pub display_name: String,
    /// Means ids as the API names them: `test`, `beid`, `smart-id`.
    pub means: Vec<String>,
    pub callback_prefixes: Vec<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// Hex SHA-256 of the API key.
    pub api_key_sha256: String,
    #[serde(default)]
    pub subject_in_webhook: bool,
    #[serde(default)]
    pub validation_report: bool,
    /// `[relying_party.branding]`: its logo, colour and footer on its citizens' pages.
    #[serde(default)]
    pub branding: super::pages::RawBranding,
    /// The phone step for this relying party's sessions; absent: the deployment's `[phone]
    /// enabled`.
    pub phone_step: Option<bool>,
}

/// `[api]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApi {
    pub default_session_lifetime_seconds: u64,
    pub max_session_lifetime_seconds: u64,
    /// How long the subject stays readable after a session ended.
    pub subject_retention_seconds: u64,
    /// How long the status of an ended or expired session stays readable.
    pub status_retention_seconds: u64,
}

impl Default for RawApi {
    fn default() -> Self {
        RawApi {
            default_session_lifetime_seconds: 600,
            max_session_lifetime_seconds: 3600,
            subject_retention_seconds: 600,
            status_retention_seconds: 3600,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub default_lifetime: Duration,
    pub max_lifetime: Duration,
    pub subject_retention: Duration,
    pub status_retention: Duration,
}

/// The HMAC key webhooks are signed with. Its `Debug` prints nothing.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// Where a relying party's session events go.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: HttpUrl,
    pub secret: WebhookSecret,
}

/// A checked relying-party id: 1 to 64 of `a-z 0-9 - _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelyingPartyId(String);

impl RelyingPartyId {
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b));
        ok.then(|| RelyingPartyId(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct RelyingParty {
    pub id: RelyingPartyId,
    pub display_name: String,
    /// The means it may use, in the order of the catalogue's means ids.
    pub means: Vec<MeansId>,
    pub callbacks: AllowList,
    pub webhook: Option<Webhook>,
    /// SHA-256 of its API key.
    key_hash: [u8; 32],
    pub subject_in_webhook: bool,
    pub validation_report: bool,
    /// `phone_step`, when the relying party sets it.
    pub phone_step: Option<bool>,
}

/// Every configured relying party.
#[derive(Debug, Clone, Default)]
pub struct RelyingParties(Vec<RelyingParty>);

impl RelyingParties {
    /// The relying party whose key this is. Every entry is compared, in constant time, so the
    /// answer's timing tells nothing about which hash (or how much of one) matched.
    pub fn by_key(&self, presented: &str) -> Option<&RelyingParty> {
        let hash = openssl::sha::sha256(presented.as_bytes());
        let mut found = None;
        for rp in &self.0 {
            if bool::from(rp.key_hash.ct_eq(&hash)) {
                found = Some(rp);
            }
        }
        found
    }

    pub fn get(&self, id: &str) -> Option<&RelyingParty> {
        self.0.iter().find(|rp| rp.id.as_str() == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RelyingParty> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The API's name of a means (`beid` is the card).
pub fn means_by_api_name(name: &str) -> Option<MeansId> {
    match name {
        "test" => Some(MeansId::Test),
        "beid" => Some(MeansId::Card),
        "smart-id" => Some(MeansId::SmartId),
        _ => None,
    }
}

pub fn api_name(means: MeansId) -> &'static str {
    match means {
        MeansId::Test => "test",
        MeansId::Card => "beid",
        MeansId::SmartId => "smart-id",
    }
}

/// Shortest webhook secret: 32 bytes, what `openssl rand -hex 32` gives as 64 characters.
const MIN_SECRET_BYTES: usize = 32;

/// `enabled`: the means this configuration turns on; a relying party may only name those.
pub fn relying_parties(
    raw: &[RawRelyingParty],
    production: bool,
    enabled: &[MeansId],
    errors: &mut Vec<ConfigError>,
) -> RelyingParties {
    let mut out: Vec<RelyingParty> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = |field: &str| format!("relying_party[{i}].{field}");
        let before = errors.len();
        let id = RelyingPartyId::parse(&r.id);
        if id.is_none() {
            errors.push(ConfigError::key(
                at("id"),
                "must be 1 to 64 characters of a-z, 0-9, '-' or '_'",
            ));
        } else if out.iter().any(|o| o.id.as_str() == r.id) {
            errors.push(ConfigError::key(
                at("id"),
                "is used by an earlier relying party",
            ));
        }
        let display_name = r.display_name.trim();
        if display_name.is_empty() || display_name.chars().count() > 100 {
            errors.push(ConfigError::key(
                at("display_name"),
                "must be 1 to 100 characters (the citizen sees it)",
            ));
        }
        let mut means = Vec::new();
        for (j, name) in r.means.iter().enumerate() {
            match means_by_api_name(name) {
                Some(MeansId::Test) if production => errors.push(ConfigError::key(
                    format!("{}[{j}]", at("means")),
                    "the test means is refused in production mode",
                )),
                Some(m) if !enabled.contains(&m) => errors.push(ConfigError::key(
                    format!("{}[{j}]", at("means")),
                    format!("names \"{name}\", which is not enabled under [means]"),
                )),
                Some(m) if !means.contains(&m) => means.push(m),
                Some(_) => {}
                None => errors.push(ConfigError::key(
                    format!("{}[{j}]", at("means")),
                    "must be one of \"test\", \"beid\", \"smart-id\"",
                )),
            }
        }
        if r.means.is_empty() {
            errors.push(ConfigError::key(
                at("means"),
                "must name at least one means",
            ));
        }
        means.sort();
        let mut prefixes = Vec::new();
        for (j, p) in r.callback_prefixes.iter().enumerate() {
            match UrlPrefix::parse(p) {
                Ok(prefix) => prefixes.push(prefix),
                Err(e) => errors.push(ConfigError::key(
                    format!("{}[{j}]", at("callback_prefixes")),
                    e.to_string(),
                )),
            }
        }
        if r.callback_prefixes.is_empty() {
            errors.push(ConfigError::key(
                at("callback_prefixes"),
                "must list at least one URL prefix the callbacks may start with",
            ));
        }
        let webhook = webhook(r, production, &at, errors);
        let key_hash = key_hash(&r.api_key_sha256);
        if key_hash.is_none() {
            errors.push(ConfigError::key(
                at("api_key_sha256"),
                "must be the SHA-256 of the API key as 64 hex digits (docs/rp-api.md shows how to make both)",
            ));
        } else if production && demo_credentials(r, key_hash) {
            errors.push(ConfigError::key(
                at("api_key_sha256"),
                "the demo's published API key or webhook secret is refused in production mode",
            ));
        } else if out.iter().any(|o| Some(o.key_hash) == key_hash) {
            errors.push(ConfigError::key(
                at("api_key_sha256"),
                "is the key of an earlier relying party; give each its own key",
            ));
        }
        if errors.len() > before {
            continue;
        }
        let (Some(id), Some(key_hash)) = (id, key_hash) else {
            continue;
        };
        out.push(RelyingParty {
            id,
            display_name: display_name.to_string(),
            means,
            callbacks: AllowList::new(prefixes, false),
            webhook,
            key_hash,
            subject_in_webhook: r.subject_in_webhook,
            validation_report: r.validation_report,
            phone_step: r.phone_step,
        });
    }
    RelyingParties(out)
}

fn webhook(
    r: &RawRelyingParty,
    production: bool,
    at: &dyn Fn(&str) -> String,
    errors: &mut Vec<ConfigError>,
) -> Option<Webhook> {
    let url = match r.webhook_url.as_deref().map(HttpUrl::parse) {
        None => None,
        Some(Ok(u)) if production && u.as_url().scheme() != "https" => {
            errors.push(ConfigError::key(
                at("webhook_url"),
                "must be https in production mode",
            ));
            None
        }
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => {
            errors.push(ConfigError::key(at("webhook_url"), e.to_string()));
            None
        }
    };
    let secret = r.webhook_secret.as_deref().map(str::as_bytes);
    match (url, secret) {
        (Some(url), Some(s)) if s.len() >= MIN_SECRET_BYTES => Some(Webhook {
            url,
            secret: WebhookSecret(s.to_vec()),
        }),
        (_, Some(s)) if s.len() < MIN_SECRET_BYTES => {
            errors.push(ConfigError::key(
                at("webhook_secret"),
                "must be at least 32 characters (openssl rand -hex 32)",
            ));
            None
        }
        (Some(_), None) => {
            errors.push(ConfigError::key(
                at("webhook_secret"),
                "is required with webhook_url: every delivery is signed with it",
            ));
            None
        }
        (None, Some(_)) if r.webhook_url.is_none() => {
            errors.push(ConfigError::key(
                at("webhook_secret"),
                "is set without webhook_url",
            ));
            None
        }
        _ => None,
    }
}

/// The demo relying party's key or secret (`crate::demo_keys`): public, so never for real.
fn demo_credentials(r: &RawRelyingParty, key_hash: Option<[u8; 32]>) -> bool {
    use crate::demo_keys::{API_KEY, WEBHOOK_SECRET};
    key_hash == Some(openssl::sha::sha256(API_KEY.as_bytes()))
        || r.webhook_secret.as_deref() == Some(WEBHOOK_SECRET)
}

fn key_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

pub fn api(raw: &RawApi, errors: &mut Vec<ConfigError>) -> ApiSettings {
    if raw.max_session_lifetime_seconds == 0 || raw.max_session_lifetime_seconds > 86_400 {
        errors.push(ConfigError::key(
            "api.max_session_lifetime_seconds",
            "must be between 1 and 86400",
        ));
    }
    if raw.default_session_lifetime_seconds == 0
        || raw.default_session_lifetime_seconds > raw.max_session_lifetime_seconds
    {
        errors.push(ConfigError::key(
            "api.default_session_lifetime_seconds",
            "must be between 1 and api.max_session_lifetime_seconds",
        ));
    }
    if raw.subject_retention_seconds > raw.status_retention_seconds {
        errors.push(ConfigError::key(
            "api.subject_retention_seconds",
            "must be at most api.status_retention_seconds (the subject cannot outlive its session)",
        ));
    }
    if raw.status_retention_seconds > 7 * 86_400 {
        errors.push(ConfigError::key(
            "api.status_retention_seconds",
            "must be at most 604800 (a week)",
        ));
    }
    ApiSettings {
        default_lifetime: Duration::from_secs(raw.default_session_lifetime_seconds),
        max_lifetime: Duration::from_secs(raw.max_session_lifetime_seconds),
        subject_retention: Duration::from_secs(raw.subject_retention_seconds),
        status_retention: Duration::from_secs(raw.status_retention_seconds),
    }
}

#[cfg(test)]
mod tests;
