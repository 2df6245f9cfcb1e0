//! `[phone]`: the optional phone (or e-mail) and one-time-code step before the means choice
//! (docs/phone.md), its limits and where the codes go.

use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, Mode};
use crate::phone::sender::GatewayToken;
use crate::phone::{CodeRules, NumberPolicy};
use crate::urls::HttpUrl;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPhone {
    /// The step for every flow of this deployment (a relying party may say otherwise).
    pub enabled: bool,
    /// Country calling codes whose numbers are accepted (32 Belgium, 31 the Netherlands).
    pub countries: Vec<u16>,
    /// ISO 3166 region assumed for a number typed without its country code.
    pub default_region: String,
    pub code_lifetime_seconds: u64,
    pub max_tries: u8,
    pub max_sends: u8,
    pub resend_after_seconds: u64,
    /// "gateway", "smtp" or "demo"; required once the step can apply.
    pub sender: Option<String>,
    pub gateway: Option<RawGateway>,
    pub smtp: Option<RawSmtp>,
}

impl Default for RawPhone {
    fn default() -> Self {
        RawPhone {
            enabled: false,
            countries: vec![32],
            default_region: "BE".into(),
            code_lifetime_seconds: 300,
            max_tries: 3,
            max_sends: 3,
            resend_after_seconds: 30,
            sender: None,
            gateway: None,
            smtp: None,
        }
    }
}

/// `[phone.gateway]`: an HTTP SMS gateway taking a JSON POST with a bearer token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    pub url: String,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub sender_id: Option<String>,
    #[serde(default = "three")]
    pub attempts: u32,
}

fn three() -> u32 {
    3
}

/// `[phone.smtp]`: codes by e-mail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub host: String,
    #[serde(default = "submission_port")]
    pub port: u16,
    pub from: String,
    #[serde(default = "yes")]
    pub starttls: bool,
    pub user: Option<String>,
    pub password_file: Option<String>,
}

fn submission_port() -> u16 {
    587
}

fn yes() -> bool {
    true
}

/// Where the codes go, checked.
#[derive(Debug, Clone)]
pub enum SenderSettings {
    Gateway {
        url: HttpUrl,
        token: GatewayToken,
        sender_id: Option<String>,
        attempts: u32,
    },
    Smtp {
        host: String,
        port: u16,
        from: String,
        login: Option<SmtpLogin>,
    },
    /// Keeps the code for the demo page; refused in production.
    Demo,
}

/// SMTP user and password; `Debug` prints only the user.
#[derive(Clone)]
pub struct SmtpLogin {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for SmtpLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpLogin({}, ..)", self.user)
    }
}

/// The validated `[phone]` section.
#[derive(Debug, Clone)]
pub struct PhoneSettings {
    pub enabled: bool,
    pub policy: NumberPolicy,
    pub rules: CodeRules,
    /// `None` when no sender is configured (then the step can apply nowhere).
    pub sender: Option<SenderSettings>,
}

impl PhoneSettings {
    /// The codes go by e-mail: the citizen types an address, not a number.
    pub fn by_email(&self) -> bool {
        matches!(self.sender, Some(SenderSettings::Smtp { .. }))
    }
}

impl Default for PhoneSettings {
    fn default() -> Self {
        PhoneSettings {
            enabled: false,
            policy: NumberPolicy::new(vec![32], "BE").expect("BE is a region"),
            rules: CodeRules::default(),
            sender: None,
        }
    }
}

/// `wanted`: whether the step can apply anywhere (deployment or some relying party), so a
/// sender is needed.
pub(super) fn phone(
    raw: &RawPhone,
    mode: Mode,
    wanted: bool,
    base_dir: &Path,
    errors: &mut Vec<ConfigError>,
) -> PhoneSettings {
    let mut push = |key: &str, problem: &str| errors.push(ConfigError::key(key, problem));
    if raw.countries.is_empty() {
        push(
            "phone.countries",
            "must list at least one country calling code",
        );
    }
    for (i, cc) in raw.countries.iter().enumerate() {
        if !(1..=999).contains(cc) {
            push(
                &format!("phone.countries[{i}]"),
                "must be a country calling code (1..999), e.g. 32",
            );
        }
    }
    let policy = NumberPolicy::new(raw.countries.clone(), &raw.default_region);
    if policy.is_none() {
        push(
            "phone.default_region",
            "must be an ISO 3166 region code, e.g. \"BE\"",
        );
    }
    if raw.code_lifetime_seconds == 0 || raw.code_lifetime_seconds > 600 {
        push(
            "phone.code_lifetime_seconds",
            "must be between 1 and 600 (a code lives at most 10 minutes)",
        );
    }
    if raw.max_tries == 0 || raw.max_tries > 5 {
        push("phone.max_tries", "must be between 1 and 5");
    }
    if raw.max_sends == 0 || raw.max_sends > 10 {
        push("phone.max_sends", "must be between 1 and 10");
    }
    if raw.resend_after_seconds > 600 {
        push("phone.resend_after_seconds", "must be between 0 and 600");
    }
    let sender = match raw.sender.as_deref() {
        None if wanted => {
            errors.push(ConfigError::key(
                "phone.sender",
                "is required when the phone step is on (\"gateway\", \"smtp\" or \"demo\")",
            ));
            None
        }
        None => None,
        Some("demo") if mode == Mode::Production => {
            errors.push(ConfigError::key(
                "phone.sender",
                "\"demo\" is refused in production mode (it sends no code anywhere)",
            ));
            None
        }
        Some("demo") => Some(SenderSettings::Demo),
        Some("gateway") => gateway(raw.gateway.as_ref(), mode, base_dir, errors),
        Some("smtp") => smtp(raw.smtp.as_ref(), base_dir, errors),
        Some(_) => {
            errors.push(ConfigError::key(
                "phone.sender",
                "must be one of \"gateway\", \"smtp\", \"demo\"",
            ));
            None
        }
    };
    PhoneSettings {
        enabled: raw.enabled,
        policy: policy.unwrap_or_else(|| PhoneSettings::default().policy),
        rules: CodeRules {
            lifetime_ms: raw.code_lifetime_seconds * 1000,
            resend_after_ms: raw.resend_after_seconds * 1000,
            max_sends: raw.max_sends,
            max_wrong_tries: raw.max_tries,
        },
        sender,
    }
}

fn read_secret(file: &str, key: &str, base_dir: &Path) -> Result<String, ConfigError> {
    let path = base_dir.join(file);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|e| ConfigError::key(key, format!("cannot read {}: {e}", path.display())))
}

fn gateway(
    raw: Option<&RawGateway>,
    mode: Mode,
    base_dir: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<SenderSettings> {
    let Some(g) = raw else {
        errors.push(ConfigError::key(
            "phone.gateway",
            "is required with sender = \"gateway\" (url, token or token_file)",
        ));
        return None;
    };
    let url = match HttpUrl::parse(&g.url) {
        Ok(u) if mode == Mode::Production && u.as_url().scheme() != "https" => {
            errors.push(ConfigError::key(
                "phone.gateway.url",
                "must be https in production mode",
            ));
            None
        }
        Ok(u) => Some(u),
        Err(e) => {
            errors.push(ConfigError::key("phone.gateway.url", e.to_string()));
            None
        }
    };
    let token = match (&g.token, &g.token_file) {
        (Some(t), None) => Some(t.trim().to_string()),
        (None, Some(f)) => read_secret(f, "phone.gateway.token_file", base_dir)
            .map_err(|e| errors.push(e))
            .ok(),
        (Some(_), Some(_)) => {
            errors.push(ConfigError::key(
                "phone.gateway.token",
                "set either `token` or `token_file`, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(ConfigError::key(
                "phone.gateway.token",
                "set `token` or `token_file` (the gateway's bearer token)",
            ));
            None
        }
    };
    if token.as_deref().is_some_and(str::is_empty) {
        errors.push(ConfigError::key("phone.gateway.token", "must not be empty"));
    }
    if g.attempts == 0 || g.attempts > 5 {
        errors.push(ConfigError::key(
            "phone.gateway.attempts",
            "must be between 1 and 5",
        ));
    }
    if g.sender_id
        .as_deref()
        .is_some_and(|s| s.is_empty() || s.len() > 16 || s.chars().any(char::is_control))
    {
        errors.push(ConfigError::key(
            "phone.gateway.sender_id",
            "must be 1 to 16 characters without control characters",
        ));
    }
    Some(SenderSettings::Gateway {
        url: url?,
        token: GatewayToken(token?),
        sender_id: g.sender_id.clone(),
        attempts: g.attempts,
    })
}

fn smtp(
    raw: Option<&RawSmtp>,
    base_dir: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<SenderSettings> {
    let Some(s) = raw else {
        errors.push(ConfigError::key(
            "phone.smtp",
            "is required with sender = \"smtp\" (host, from)",
        ));
        return None;
    };
    let before = errors.len();
    let host = s.host.trim();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        errors.push(ConfigError::key("phone.smtp.host", "must be a host name"));
    }
    if !s.starttls && !loopback {
        errors.push(ConfigError::key(
            "phone.smtp.starttls",
            "may be false only for a relay on loopback (codes must not cross a network in clear)",
        ));
    }
    if s.from.parse::<lettre::message::Mailbox>().is_err() {
        errors.push(ConfigError::key(
            "phone.smtp.from",
            "must be an e-mail address",
        ));
    }
    let login = match (&s.user, &s.password_file) {
        (Some(user), Some(file)) => read_secret(file, "phone.smtp.password_file", base_dir)
            .map(|password| SmtpLogin {
                user: user.clone(),
                password,
            })
            .map_err(|e| errors.push(e))
            .ok(),
        (None, None) => None,
        _ => {
            errors.push(ConfigError::key(
                "phone.smtp.user",
                "set both `user` and `password_file`, or neither",
            ));
            None
        }
    };
    (errors.len() == before).then(|| SenderSettings::Smtp {
        host: host.to_string(),
        port: s.port,
        from: s.from.clone(),
        login,
    })
}

#[cfg(test)]
#[path = "phone_tests.rs"]
mod tests;
