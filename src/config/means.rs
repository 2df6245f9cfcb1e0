//! `[means.card]` and `[means.smart_id]`: checked once, with errors that name the key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::raw::{RawCardMeans, RawSmartIdMeans};
use super::ConfigError;
use crate::attributes::AttributeTag;
use crate::means::smart_id::v3::{SCHEME_DEMO, SCHEME_LIVE};
use crate::means::smart_id::{
    ApiVersion, CertificateLevel, Checks, Country, HashType, Pin, PinnedCertificate,
    SmartIdSettings, TlsSettings,
};
use crate::means::{CARD_FIELDS, SMART_ID_FIELDS};
use crate::urls::HttpUrl;

/// SK's public demo relying party: fine against the demo service, refused in production.
const SK_DEMO_RP_UUID: &str = "00000000-0000-4000-8000-000000000000";

#[derive(Debug, Clone)]
pub struct CardSettings {
    pub enabled: bool,
    /// Origin of the citizen's connector (`http://127.0.0.1:PORT`).
    pub connector_url: String,
    pub nonce_ttl: Duration,
    pub auth_profile: String,
    pub rrn_profile: String,
    pub attributes: BTreeMap<AttributeTag, String>,
    /// Where citizens download the connector (https), shown when none answers.
    pub connector_download_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SmartIdMeansSettings {
    pub enabled: bool,
    /// Present when enabled.
    pub client: Option<SmartIdSettings>,
    pub demo_environment: bool,
    pub trust_profile: String,
    pub countries: Vec<Country>,
    pub checks: Checks,
    pub display_text: String,
    pub poll_timeout: Duration,
    pub max_sessions: usize,
    /// Lease of a waiting session to its instance (renewed at a third of it).
    pub resume_after: Duration,
    pub attributes: BTreeMap<AttributeTag, String>,
    /// The certificates of `tls_pin_certificates`, for expiry warnings.
    pub pinned_certificates: Vec<PinnedCertificate>,
}

impl SmartIdMeansSettings {
    /// Warnings for `check-config` and the start-up log: pinned TLS certificates that expired
    /// or expire within 30 days (SK renews its RP API certificate about every October).
    pub fn pin_warnings(&self, now: std::time::SystemTime) -> Vec<String> {
        if !self.enabled {
            return Vec::new();
        }
        self.pinned_certificates
            .iter()
            .filter_map(|c| c.expiry_warning(now))
            .map(|w| format!("means.smart_id.tls_pin_certificates: {w}"))
            .collect()
    }
}

/// tag = field, with every field one the means provides.
fn mapping(
    raw: &BTreeMap<String, String>,
    key: &str,
    fields: &[&str],
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<AttributeTag, String> {
    let mut out = BTreeMap::new();
    for (tag, field) in raw {
        let at = format!("{key}.{tag}");
        match AttributeTag::parse(tag) {
            Err(e) => errors.push(ConfigError::key(at, e.to_string())),
            Ok(_) if !fields.contains(&field.as_str()) => errors.push(ConfigError::key(
                at,
                format!(
                    "is not a field of this means; use one of: {}",
                    fields.join(", ")
                ),
            )),
            Ok(t) => {
                out.insert(t, field.clone());
            }
        }
    }
    out
}

pub(super) fn card(raw: &RawCardMeans, errors: &mut Vec<ConfigError>) -> CardSettings {
    let attributes = mapping(
        &raw.attributes,
        "means.card.attributes",
        CARD_FIELDS,
        errors,
    );
    let connector = HttpUrl::parse(raw.connector_url.trim_end_matches('/'))
        .ok()
        .filter(|u| {
            let url = u.as_url();
            url.scheme() == "http"
                && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        });
    if raw.enabled && connector.is_none() {
        errors.push(ConfigError::key(
            "means.card.connector_url",
            "must be http://127.0.0.1:<port> (the citizen's own machine)",
        ));
    }
    if raw.enabled && attributes.is_empty() {
        errors.push(ConfigError::key(
            "means.card.attributes",
            "map at least one tag to a card field",
        ));
    }
    if !(10..=900).contains(&raw.nonce_ttl_seconds) {
        errors.push(ConfigError::key(
            "means.card.nonce_ttl_seconds",
            "must be between 10 and 900",
        ));
    }
    let download = raw.connector_download_url.as_deref().and_then(|u| {
        HttpUrl::parse(u)
            .ok()
            .filter(|u| u.as_url().scheme() == "https")
            .map(|u| u.as_str().to_string())
            .or_else(|| {
                errors.push(ConfigError::key(
                    "means.card.connector_download_url",
                    "must be an https URL in canonical form",
                ));
                None
            })
    });
    CardSettings {
        connector_download_url: download,
        enabled: raw.enabled,
        connector_url: connector.map(|u| u.origin_string()).unwrap_or_default(),
        nonce_ttl: Duration::from_secs(raw.nonce_ttl_seconds),
        auth_profile: raw.auth_profile.clone(),
        rrn_profile: raw.rrn_profile.clone(),
        attributes,
    }
}

pub(super) fn smart_id(
    raw: &RawSmartIdMeans,
    base_dir: &Path,
    production: bool,
    errors: &mut Vec<ConfigError>,
) -> SmartIdMeansSettings {
    let k = |name: &str| format!("means.smart_id.{name}");
    let attributes = mapping(
        &raw.attributes,
        "means.smart_id.attributes",
        SMART_ID_FIELDS,
        errors,
    );
    let demo = match raw.environment.as_str() {
        "demo" => true,
        "live" => false,
        _ => {
            errors.push(ConfigError::key(
                k("environment"),
                "must be \"demo\" or \"live\"",
            ));
            false
        }
    };
    let mut countries = Vec::new();
    for (i, c) in raw.countries.iter().enumerate() {
        match Country::parse(c) {
            Some(c) => countries.push(c),
            None => errors.push(ConfigError::key(
                format!("{}[{i}]", k("countries")),
                "must be EE, LV, LT or BE",
            )),
        }
    }
    if raw.enabled {
        if production && demo {
            errors.push(ConfigError::key(
                k("environment"),
                "the demo environment is refused in production mode",
            ));
        }
        // Live means SK's production service: its demo host there would send citizens' codes to
        // a test system and accept demo accounts.
        if !demo && is_sk_demo_host(&raw.base_url) {
            errors.push(ConfigError::key(
                k("base_url"),
                "is SK's demo service (sid.demo.sk.ee), refused with environment = \"live\"",
            ));
        }
        if production && raw.relying_party_uuid == SK_DEMO_RP_UUID {
            errors.push(ConfigError::key(
                k("relying_party_uuid"),
                "SK's public demo relying party is refused in production mode",
            ));
        }
        if production && raw.format_only_codes {
            errors.push(ConfigError::key(
                k("format_only_codes"),
                "is refused in production mode",
            ));
        }
        if attributes.is_empty() {
            errors.push(ConfigError::key(
                k("attributes"),
                "map at least one tag to a Smart-ID field",
            ));
        }
        // The app shows at most 60 characters with the PIN prompt; SK refuses longer texts.
        if !(1..=60).contains(&raw.display_text.chars().count()) {
            errors.push(ConfigError::key(
                k("display_text"),
                "must be 1 to 60 characters",
            ));
        }
        if raw.max_sessions == 0 {
            errors.push(ConfigError::key(k("max_sessions"), "must be at least 1"));
        }
        // Below 3 s a busy instance could miss its own renewal (at a third of the lease);
        // above 5 min a stopped instance's citizens would wait longer than anyone stays.
        if !(3_000..=300_000).contains(&raw.resume_after_ms) {
            errors.push(ConfigError::key(
                k("resume_after_ms"),
                "must be 3000 to 300000 (milliseconds)",
            ));
        }
    }
    let mut pinned_certificates = Vec::new();
    let client = raw
        .enabled
        .then(|| client_settings(raw, base_dir, &mut pinned_certificates, errors))
        .flatten();
    SmartIdMeansSettings {
        enabled: raw.enabled,
        client,
        demo_environment: demo,
        trust_profile: raw.trust_profile.clone(),
        countries,
        checks: if raw.format_only_codes {
            Checks::FormatOnly
        } else {
            Checks::Strict
        },
        display_text: raw.display_text.clone(),
        poll_timeout: Duration::from_millis(raw.poll_timeout_ms.clamp(1_000, 120_000)),
        max_sessions: raw.max_sessions,
        resume_after: Duration::from_millis(raw.resume_after_ms),
        attributes,
        pinned_certificates,
    }
}

/// SK's demo RP API host (reference/smart-id.md), in any spelling the URL parser accepts.
fn is_sk_demo_host(base_url: &str) -> bool {
    url::Url::parse(base_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        })
        .is_some_and(|h| h == "sid.demo.sk.ee")
}

fn client_settings(
    raw: &RawSmartIdMeans,
    base_dir: &Path,
    pinned: &mut Vec<PinnedCertificate>,
    errors: &mut Vec<ConfigError>,
) -> Option<SmartIdSettings> {
    let k = |name: &str| format!("means.smart_id.{name}");
    let before = errors.len();
    let base_url = url::Url::parse(&raw.base_url)
        .ok()
        .filter(|u| u.scheme() == "https" && u.path().ends_with('/'))
        .or_else(|| {
            errors.push(ConfigError::key(
                k("base_url"),
                "must be an https URL ending in / (e.g. https://rp-api.smart-id.com/v3/)",
            ));
            None
        });
    if !crate::means::smart_id::client::is_uuid(&raw.relying_party_uuid) {
        errors.push(ConfigError::key(
            k("relying_party_uuid"),
            "must be the UUID SK issued",
        ));
    }
    if raw.relying_party_name.is_empty() || raw.relying_party_name.len() > 32 {
        errors.push(ConfigError::key(
            k("relying_party_name"),
            "must be 1 to 32 bytes",
        ));
    }
    let level = CertificateLevel::parse(&raw.certificate_level).unwrap_or_else(|| {
        errors.push(ConfigError::key(
            k("certificate_level"),
            "must be QUALIFIED or ADVANCED",
        ));
        CertificateLevel::Qualified
    });
    let hash_type = HashType::parse(&raw.hash_type).unwrap_or_else(|| {
        errors.push(ConfigError::key(
            k("hash_type"),
            "must be SHA256, SHA384 or SHA512",
        ));
        HashType::Sha512
    });
    let mut pins = Vec::new();
    for (i, p) in raw.tls_pins.iter().enumerate() {
        match Pin::parse(p) {
            Ok(pin) => pins.push(pin),
            Err(_) => errors.push(ConfigError::key(
                format!("{}[{i}]", k("tls_pins")),
                "must be sha256/<base64 of 32 bytes>",
            )),
        }
    }
    for (i, file) in raw.tls_pin_certificates.iter().enumerate() {
        let at = format!("{}[{i}]", k("tls_pin_certificates"));
        match std::fs::read(base_dir.join(file)) {
            Ok(pem) => match PinnedCertificate::read_pem(&pem, file) {
                Ok(more) => {
                    for (pin, cert) in more {
                        pins.push(pin);
                        pinned.push(cert);
                    }
                }
                Err(_) => errors.push(ConfigError::key(at, "holds no PEM certificate")),
            },
            Err(e) => errors.push(ConfigError::key(at, format!("cannot read {file}: {e}"))),
        }
    }
    if pins.is_empty() {
        errors.push(ConfigError::key(
            k("tls_pins"),
            "pinning is mandatory: give tls_pins or tls_pin_certificates",
        ));
    }
    let ca_pem = raw.tls_ca_file.as_ref().and_then(|f| {
        std::fs::read(base_dir.join(f))
            .map_err(|e| {
                errors.push(ConfigError::key(
                    k("tls_ca_file"),
                    format!("cannot read {f}: {e}"),
                ))
            })
            .ok()
    });
    let segment_version = base_url.as_ref().and_then(|u| {
        let last = u
            .path()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        ApiVersion::parse(last)
    });
    let api_version = match raw.api_version.as_deref().map(ApiVersion::parse) {
        None => segment_version.unwrap_or_default(),
        Some(Some(v)) if segment_version.is_none_or(|s| s == v) => v,
        Some(Some(_)) => {
            errors.push(ConfigError::key(
                k("api_version"),
                "differs from the version in base_url (…/v2/ or …/v3/)",
            ));
            ApiVersion::default()
        }
        Some(None) => {
            errors.push(ConfigError::key(
                k("api_version"),
                "must be \"v2\" or \"v3\"",
            ));
            ApiVersion::default()
        }
    };
    let scheme_name = match &raw.scheme_name {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            s.clone()
        }
        Some(_) => {
            errors.push(ConfigError::key(
                k("scheme_name"),
                "must be like smart-id or smart-id-demo",
            ));
            String::new()
        }
        None if raw.environment == "demo" => SCHEME_DEMO.to_string(),
        None => SCHEME_LIVE.to_string(),
    };
    if errors.len() > before {
        return None;
    }
    let mut settings = SmartIdSettings::new(
        base_url?,
        &raw.relying_party_uuid,
        &raw.relying_party_name,
        TlsSettings { pins, ca_pem },
    );
    settings.api_version = api_version;
    settings.scheme_name = scheme_name;
    settings.certificate_level = level;
    settings.hash_type = hash_type;
    settings.connect_timeout = Duration::from_millis(raw.connect_timeout_ms.max(100));
    settings.request_timeout = Duration::from_millis(raw.request_timeout_ms.max(1_000));
    Some(settings)
}

/// The trust profiles the enabled means name must exist; Smart-ID's demo and live never mix.
pub(super) fn check_profiles(
    trust: &crate::pki::TrustStore,
    card: &CardSettings,
    smart_id: &SmartIdMeansSettings,
    errors: &mut Vec<ConfigError>,
) {
    let wanted = [
        (card.enabled, "means.card.auth_profile", &card.auth_profile),
        (card.enabled, "means.card.rrn_profile", &card.rrn_profile),
        (
            smart_id.enabled,
            "means.smart_id.trust_profile",
            &smart_id.trust_profile,
        ),
    ];
    for (enabled, key, profile) in wanted {
        if enabled && !trust.has_profile(profile) {
            errors.push(ConfigError::key(
                key,
                format!("names trust profile `{profile}`, which [trust] does not define"),
            ));
        }
    }
    if smart_id.enabled
        && trust.has_profile(&smart_id.trust_profile)
        && trust.is_demo(&smart_id.trust_profile) != smart_id.demo_environment
    {
        errors.push(ConfigError::key(
            "means.smart_id.trust_profile",
            "demo and live never mix: a demo environment needs a profile with demo = true, live one without",
        ));
    }
}
