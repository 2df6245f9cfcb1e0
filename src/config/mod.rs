//! Configuration: defaults < `config.toml` < `AUTH_EID_*` environment (`__` for nesting),
//! validated once at start-up into [`Config`]. Errors name the key and never print values.

mod catalog;
mod errors;
mod keys;
mod limits;
mod means;
mod pages;
mod phone;
pub mod raw;
pub mod relying_party;
mod server_store;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use figment::providers::{Env, Format, Toml};
use figment::Figment;

pub use crate::token::{EncryptionAlg, EncryptionKey, SecretPem, SigningAlg, SigningKey};
use errors::figment_errors;
pub use errors::{ConfigError, ConfigErrors};
pub use keys::{is_demo_key, public_fingerprint};
pub use means::{CardSettings, SmartIdMeansSettings};
pub use pages::{PagesSettings, LANGUAGES};
pub use phone::{PhoneSettings, SenderSettings, SmtpLogin};
pub use raw::{LogFormat, Mode, StoreKind};
pub use relying_party::{ApiSettings, RelyingParties, RelyingParty, Webhook, WebhookSecret};
pub use server_store::{redact_url, ConnectionLimits, ServerSettings, StoreSettings};

use crate::attributes::AttributeTag;
use crate::urls::{AllowList, HttpUrl, UrlPrefix};

#[derive(Debug, Clone)]
pub struct FlowSettings {
    pub ttl: Duration,
    pub max_live_flows: usize,
    pub session_updates: bool,
    pub session_idle: Duration,
    pub session_max: Duration,
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub timeout: Duration,
    pub retry_for: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a browser's redirect waits for the first POST to `attr_url`; zero: not at all
    /// (the outbox worker sends it).
    pub first_attempt_wait: Duration,
}

#[derive(Debug, Clone)]
pub struct TestMeansSettings {
    pub enabled: bool,
    pub attributes: BTreeMap<AttributeTag, String>,
}

/// Which accepted name each result-token key was read from, for `check-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyNames {
    pub signing: &'static str,
    pub encryption: &'static str,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub public_url: HttpUrl,
    pub internal_url: HttpUrl,
    pub server: ServerSettings,
    pub signing: SigningKey,
    pub encryption: EncryptionKey,
    /// The names the two keys were given under (ours or the reference components').
    pub key_names: KeyNames,
    pub allow_continuation: AllowList,
    pub allow_attr_url: AllowList,
    pub flow: FlowSettings,
    pub delivery: DeliverySettings,
    pub test_means: TestMeansSettings,
    pub card: CardSettings,
    pub smart_id: SmartIdMeansSettings,
    pub log_format: LogFormat,
    pub log_level: String,
    pub store: StoreSettings,
    /// Attribute labels, who is asking, branding.
    pub pages: PagesSettings,
    /// Direct callers of the session API and its limits.
    pub relying_parties: RelyingParties,
    pub api: ApiSettings,
    /// `[limits]`: rate-limit budgets and trusted proxies.
    pub limits: crate::limits::LimitSettings,
    /// `[phone]`: the phone and one-time-code step.
    pub phone: PhoneSettings,
    /// Trust profiles, loaded and parsed once.
    pub trust: std::sync::Arc<crate::pki::TrustStore>,
    /// Directory relative paths in the file are resolved against.
    pub base_dir: PathBuf,
}

/// Where the configuration file is: `--config`, else `AUTH_EID_CONFIG`, else `./config.toml`.
pub fn resolve_path(cli: Option<PathBuf>) -> PathBuf {
    cli.or_else(|| std::env::var_os("AUTH_EID_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("config.toml"))
}

/// The layered sources for a configuration file (also used by operator commands that need
/// only part of it, such as `check-cert`).
pub fn figment_for(path: &Path) -> Figment {
    with_env(Figment::from(Toml::file_exact(path)))
}

/// The top-level keys of the configuration: an `AUTH_EID_*` variable is a setting only when
/// its name starts with one of them (`AUTH_EID_SERVER__PORT`).
const SECTIONS: &[&str] = &[
    "mode",
    "public_url",
    "internal_url",
    "server",
    "keys",
    "signing_privkey",
    "encryption_pubkey",
    "signature_pubkey",
    "allow",
    "flow",
    "delivery",
    "means",
    "log",
    "store",
    "trust",
    "pages",
    "relying_party",
    "api",
    "limits",
    "phone",
];

fn is_setting(key: &str) -> bool {
    let section = key.split('.').next().unwrap_or(key);
    SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(section))
}

/// Layers `AUTH_EID_*` variables over a figment (the file, or the demo's embedded text).
/// Variables that name no section (`AUTH_EID_BIN`, set by some other tool) are left out: see
/// [`unrelated_env_vars`]. A known section with a wrong key under it still fails.
pub fn with_env(figment: Figment) -> Figment {
    figment.merge(
        Env::prefixed("AUTH_EID_")
            .split("__")
            .filter(|key| is_setting(key.as_str())),
    )
}

/// `AUTH_EID_*` variables that are not settings (`AUTH_EID_CONFIG` names the file), for a
/// warning: ignored, not fatal.
pub fn unrelated_env_vars() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            upper.strip_prefix("AUTH_EID_").is_some_and(|rest| {
                !rest.is_empty() && rest != "CONFIG" && !is_setting(&rest.replace("__", "."))
            })
        })
        .collect()
}

impl Config {
    /// Loads and validates the file at `path` with the environment layered over it.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        if !path.is_file() {
            return Err(ConfigErrors(vec![ConfigError::key(
                "",
                format!("configuration file {} not found", path.display()),
            )]));
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::from_figment(figment_for(path), &base)
    }

    pub fn from_figment(figment: Figment, base_dir: &Path) -> Result<Config, ConfigErrors> {
        let raw: raw::RawConfig = figment.extract().map_err(figment_errors)?;
        validate(raw, base_dir).map_err(ConfigErrors)
    }
}

fn base_url(raw: &str, key: &str, errors: &mut Vec<ConfigError>) -> Option<HttpUrl> {
    let trimmed = raw.trim_end_matches('/');
    match HttpUrl::parse(trimmed) {
        Ok(u) if u.as_url().query().is_none() => Some(u),
        Ok(_) => {
            errors.push(ConfigError::key(key, "must not have a query"));
            None
        }
        Err(e) => {
            errors.push(ConfigError::key(key, e.to_string()));
            None
        }
    }
}

fn prefixes(list: &[String], key: &str, errors: &mut Vec<ConfigError>) -> Vec<UrlPrefix> {
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            UrlPrefix::parse(p)
                .map_err(|e| errors.push(ConfigError::key(format!("{key}[{i}]"), e.to_string())))
                .ok()
        })
        .collect()
}

fn validate(raw: raw::RawConfig, base_dir: &Path) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let production = raw.mode == Mode::Production;

    let public_url = base_url(&raw.public_url, "public_url", &mut errors);
    let internal_url = base_url(&raw.internal_url, "internal_url", &mut errors);
    if production
        && public_url
            .as_ref()
            .is_some_and(|u| u.as_url().scheme() != "https")
    {
        errors.push(ConfigError::key(
            "public_url",
            "must be https in production mode",
        ));
    }

    let address = raw.server.address.parse::<IpAddr>().map_err(|_| {
        errors.push(ConfigError::key("server.address", "must be an IP address"));
    });
    let cookie_secret = match raw
        .server
        .cookie_secret
        .as_deref()
        .map(decode_cookie_secret)
    {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(problem)) => {
            errors.push(ConfigError::key("server.cookie_secret", problem));
            None
        }
    };

    if raw.signature_pubkey.is_some() || raw.keys.signature_pubkey.is_some() {
        errors.push(ConfigError::key(
            "signature_pubkey",
            "is a communication plugin's setting (the key it checks our tokens with); give it \
             the public half of keys.signing (signing_privkey) there and remove it here",
        ));
    }
    let k = &raw.keys;
    let signing_name = keys::pick(
        keys::SIGNING_NAMES,
        [
            k.signing.as_ref(),
            k.signing_privkey.as_ref(),
            raw.signing_privkey.as_ref(),
        ],
    );
    let encryption_name = keys::pick(
        keys::ENCRYPTION_NAMES,
        [
            k.encryption.as_ref(),
            k.encryption_pubkey.as_ref(),
            raw.encryption_pubkey.as_ref(),
        ],
    );
    let key_names = KeyNames {
        signing: signing_name
            .as_ref()
            .map_or(keys::SIGNING_NAMES[0], |(n, _)| n),
        encryption: encryption_name
            .as_ref()
            .map_or(keys::ENCRYPTION_NAMES[0], |(n, _)| n),
    };
    let signing = signing_name
        .and_then(|(name, key)| keys::signing_key(key, name, base_dir, production))
        .map_err(|e| errors.push(e))
        .ok();
    let encryption = encryption_name
        .and_then(|(name, key)| keys::encryption_key(key, name, base_dir, production))
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(s), Some(e)) = (&signing, &encryption) {
        if keys::same_public_key(&s.public_pem, &e.public_pem) {
            errors.push(ConfigError::key(
                key_names.encryption,
                "is the plugin's own signing key; use separate keys for signing and encryption",
            ));
        }
    }

    let cont = prefixes(&raw.allow.continuation, "allow.continuation", &mut errors);
    let attr = prefixes(&raw.allow.attr_url, "allow.attr_url", &mut errors);

    let mut test_attributes = BTreeMap::new();
    for (tag, value) in &raw.means.test.attributes {
        match AttributeTag::parse(tag) {
            Ok(t) => {
                test_attributes.insert(t, value.clone());
            }
            Err(e) => errors.push(ConfigError::key(
                format!("means.test.attributes.{tag}"),
                e.to_string(),
            )),
        }
    }
    if production && raw.means.test.enabled {
        errors.push(ConfigError::key(
            "means.test.enabled",
            "the test means is refused in production mode",
        ));
    }

    let rp_looks: Vec<_> = raw
        .relying_party
        .iter()
        .map(|rp| (rp.id.clone(), &rp.branding))
        .collect();
    let pages = pages::pages(&raw.pages, &cont, &rp_looks, base_dir, &mut errors);
    let card = means::card(&raw.means.card, &mut errors);
    let smart_id = means::smart_id(&raw.means.smart_id, base_dir, production, &mut errors);

    let trust = crate::pki::TrustStore::load(&raw.trust, base_dir, production)
        .map_err(|e| errors.extend(e))
        .ok();
    if let Some(trust) = &trust {
        means::check_profiles(trust, &card, &smart_id, &mut errors);
    }

    let f = &raw.flow;
    if f.ttl_seconds == 0 || f.ttl_seconds > 3600 {
        errors.push(ConfigError::key(
            "flow.ttl_seconds",
            "must be between 1 and 3600",
        ));
    }
    if f.max_live_flows == 0 {
        errors.push(ConfigError::key(
            "flow.max_live_flows",
            "must be at least 1",
        ));
    }
    if f.session_idle_seconds == 0 || f.session_max_seconds < f.session_idle_seconds {
        errors.push(ConfigError::key(
            "flow.session_max_seconds",
            "must be at least flow.session_idle_seconds, which must be positive",
        ));
    }
    let d = &raw.delivery;
    if d.timeout_seconds == 0 || d.initial_backoff_ms == 0 || d.max_backoff_seconds == 0 {
        errors.push(ConfigError::key(
            "delivery",
            "timeouts and backoffs must be positive",
        ));
    }
    // 0 would drop every result before its first POST; beyond the token's lifetime the worker
    // would keep sending tokens the receiver must refuse as expired.
    if d.first_attempt_wait_ms > 10_000 {
        errors.push(ConfigError::key(
            "delivery.first_attempt_wait_ms",
            "must be between 0 and 10000",
        ));
    }
    if d.retry_for_seconds == 0 || d.retry_for_seconds > crate::contract::TOKEN_LIFETIME_SECS {
        errors.push(ConfigError::key(
            "delivery.retry_for_seconds",
            format!(
                "must be 1..={} (the result token's lifetime)",
                crate::contract::TOKEN_LIFETIME_SECS
            ),
        ));
    }
    let enabled: Vec<crate::means::MeansId> = [
        (raw.means.test.enabled, crate::means::MeansId::Test),
        (card.enabled, crate::means::MeansId::Card),
        (smart_id.enabled, crate::means::MeansId::SmartId),
    ]
    .into_iter()
    .filter_map(|(on, m)| on.then_some(m))
    .collect();
    let relying_parties =
        relying_party::relying_parties(&raw.relying_party, production, &enabled, &mut errors);
    let api = relying_party::api(&raw.api, &mut errors);
    let store = server_store::store(raw.store, &mut errors);
    let shutdown = server_store::shutdown(&raw.server, &mut errors);
    let limits = server_store::limits(&raw.server, &mut errors);
    let rate_limits = limits::limits(&raw.limits, &mut errors);
    let phone_wanted =
        raw.phone.enabled || raw.relying_party.iter().any(|r| r.phone_step == Some(true));
    let phone = phone::phone(&raw.phone, raw.mode, phone_wanted, base_dir, &mut errors);
    if tracing_subscriber::EnvFilter::try_new(&raw.log.level).is_err() {
        errors.push(ConfigError::key(
            "log.level",
            "is not a valid filter (e.g. \"info\")",
        ));
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let (
        Some(public_url),
        Some(internal_url),
        Ok(address),
        Some(signing),
        Some(encryption),
        Some(trust),
    ) = (
        public_url,
        internal_url,
        address,
        signing,
        encryption,
        trust,
    )
    else {
        unreachable!("every None above pushed an error");
    };
    Ok(Config {
        trust: std::sync::Arc::new(trust),
        mode: raw.mode,
        public_url,
        internal_url,
        server: ServerSettings {
            address,
            port: raw.server.port,
            cookie_secret,
            shutdown_grace: shutdown.0,
            shutdown_mercy: shutdown.1,
            limits,
        },
        signing,
        encryption,
        key_names,
        allow_continuation: AllowList::new(cont, !production),
        allow_attr_url: AllowList::new(attr, !production),
        flow: FlowSettings {
            ttl: Duration::from_secs(f.ttl_seconds),
            max_live_flows: f.max_live_flows,
            session_updates: f.session_updates,
            session_idle: Duration::from_secs(f.session_idle_seconds),
            session_max: Duration::from_secs(f.session_max_seconds),
        },
        delivery: DeliverySettings {
            timeout: Duration::from_secs(d.timeout_seconds),
            retry_for: Duration::from_secs(d.retry_for_seconds),
            initial_backoff: Duration::from_millis(d.initial_backoff_ms),
            max_backoff: Duration::from_secs(d.max_backoff_seconds),
            first_attempt_wait: Duration::from_millis(d.first_attempt_wait_ms),
        },
        test_means: TestMeansSettings {
            enabled: raw.means.test.enabled,
            attributes: test_attributes,
        },
        card,
        smart_id,
        log_format: raw.log.format,
        log_level: raw.log.level,
        store,
        pages,
        relying_parties,
        api,
        limits: rate_limits,
        phone,
        base_dir: base_dir.to_path_buf(),
    })
}

fn decode_cookie_secret(b64: &str) -> Result<Vec<u8>, &'static str> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.split_whitespace().collect::<String>())
        .map_err(|_| "must be base64")?;
    if bytes.len() == 64 {
        Ok(bytes)
    } else {
        Err("must be 64 random bytes, base64-encoded (openssl rand -base64 64)")
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::raw::{KeyKind, RawKey};
    use super::*;

    fn rsa(pem: &str) -> RawKey {
        RawKey {
            kind: KeyKind::Rsa,
            key: Some(pem.to_string()),
            key_file: None,
        }
    }

    pub fn rsa_signing_key(pem: &str) -> SigningKey {
        keys::signing_key(&rsa(pem), "keys.signing", Path::new("."), false).unwrap()
    }

    pub fn rsa_encryption_key(pem: &str) -> EncryptionKey {
        keys::encryption_key(&rsa(pem), "keys.encryption", Path::new("."), false).unwrap()
    }
}
