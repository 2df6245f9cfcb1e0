//! `[server]` and `[store]` settings: validated values, and `Debug` forms that never show the
//! cookie key or the password inside a Redis URL (a `{config:?}` in a log line must be safe).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::raw::{RawServer, RawStore, StoreKind};
use super::ConfigError;

#[derive(Clone)]
pub struct ServerSettings {
    pub address: IpAddr,
    pub port: u16,
    /// 64 bytes for Rocket's private cookies; `None` means a random key per start.
    pub cookie_secret: Option<Vec<u8>>,
    /// After SIGTERM/Ctrl-C: how long in-flight requests and deliveries may still run.
    pub shutdown_grace: Duration,
    /// After the grace period: how long connections get to close before they are cut.
    pub shutdown_mercy: Duration,
    pub limits: ConnectionLimits,
}

/// What one client connection may take: the defence against slow and idle connections
/// (docs/operations.md, "Connections").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub keep_alive: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
}

impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSettings")
            .field("address", &self.address)
            .field("port", &self.port)
            .field(
                "cookie_secret",
                &self.cookie_secret.as_ref().map(|_| "<set>"),
            )
            .field("shutdown_grace", &self.shutdown_grace)
            .field("shutdown_mercy", &self.shutdown_mercy)
            .field("limits", &self.limits)
            .finish()
    }
}

#[derive(Clone)]
pub struct StoreSettings {
    pub kind: StoreKind,
    /// `redis://`, `rediss://` (TLS) or `redis+unix://`; may hold a password.
    pub url: Option<String>,
    pub key_prefix: String,
    pub pool_size: usize,
    /// Bound on every Redis exchange (connect, command).
    pub timeout: Duration,
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("kind", &self.kind)
            .field("url", &self.url.as_deref().map(redact_url))
            .field("key_prefix", &self.key_prefix)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The URL with its password (if any) replaced by `***`; an unparsable URL is not shown at all,
/// since we cannot tell where its secret is.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                // Only fails for URLs that cannot have credentials, which then hold none.
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable URL>".to_string(),
    }
}

/// Schemes the redis client understands; `rediss` is Redis over TLS (native-tls/OpenSSL).
const REDIS_SCHEMES: &[&str] = &["redis", "rediss", "redis+unix", "unix"];

pub(super) fn store(raw: RawStore, errors: &mut Vec<ConfigError>) -> StoreSettings {
    if raw.timeout_ms == 0 || raw.timeout_ms > 60_000 {
        errors.push(ConfigError::key(
            "store.timeout_ms",
            "must be between 1 and 60000",
        ));
    }
    if raw.pool_size == 0 || raw.pool_size > 256 {
        errors.push(ConfigError::key(
            "store.pool_size",
            "must be between 1 and 256",
        ));
    }
    if raw.key_prefix.is_empty() {
        errors.push(ConfigError::key(
            "store.key_prefix",
            "must not be empty (it keeps this plugin's keys apart from others)",
        ));
    }
    match (&raw.kind, raw.url.as_deref()) {
        (StoreKind::Redis, None) => errors.push(ConfigError::key(
            "store.url",
            "is required when store.kind = \"redis\"",
        )),
        (StoreKind::Redis, Some(url)) => {
            let scheme_ok = url::Url::parse(url).is_ok_and(|u| REDIS_SCHEMES.contains(&u.scheme()))
                && ::redis::Client::open(url).is_ok();
            if !scheme_ok {
                // Never echo the value: it may hold a password.
                errors.push(ConfigError::key(
                    "store.url",
                    "must be a redis://, rediss:// (TLS) or redis+unix:// URL",
                ));
            }
        }
        (StoreKind::Memory, _) => {}
    }
    StoreSettings {
        kind: raw.kind,
        url: raw.url,
        key_prefix: raw.key_prefix,
        pool_size: raw.pool_size,
        timeout: Duration::from_millis(raw.timeout_ms),
    }
}

/// Grace and mercy, bounded so a typo cannot make a rollout hang for hours.
pub(super) fn shutdown(raw: &RawServer, errors: &mut Vec<ConfigError>) -> (Duration, Duration) {
    if raw.shutdown_grace_seconds > 300 {
        errors.push(ConfigError::key(
            "server.shutdown_grace_seconds",
            "must be at most 300",
        ));
    }
    if raw.shutdown_mercy_seconds > 60 {
        errors.push(ConfigError::key(
            "server.shutdown_mercy_seconds",
            "must be at most 60",
        ));
    }
    (
        Duration::from_secs(raw.shutdown_grace_seconds),
        Duration::from_secs(raw.shutdown_mercy_seconds),
    )
}

/// Connection limits, bounded to values that still protect the server.
pub(super) fn limits(raw: &RawServer, errors: &mut Vec<ConfigError>) -> ConnectionLimits {
    let mut check = |key: &str, ok: bool, rule: &str| {
        if !ok {
            errors.push(ConfigError::key(format!("server.{key}"), rule));
        }
    };
    let header = raw.header_read_timeout_seconds;
    check(
        "header_read_timeout_seconds",
        (1..=120).contains(&header),
        "must be between 1 and 120",
    );
    check(
        "keep_alive_seconds",
        (1..=header).contains(&raw.keep_alive_seconds),
        "must be between 1 and server.header_read_timeout_seconds (waiting for the next request counts as reading its head)",
    );
    check(
        "body_read_timeout_seconds",
        (1..=300).contains(&raw.body_read_timeout_seconds),
        "must be between 1 and 300",
    );
    check(
        "max_connections",
        (16..=1_000_000).contains(&raw.max_connections),
        "must be between 16 and 1000000",
    );
    check(
        "max_header_bytes",
        (8192..=1 << 20).contains(&raw.max_header_bytes),
        "must be between 8192 and 1048576",
    );
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(header),
        keep_alive: Duration::from_secs(raw.keep_alive_seconds),
        body_read_timeout: Duration::from_secs(raw.body_read_timeout_seconds),
        max_connections: raw.max_connections,
        max_header_bytes: raw.max_header_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_redis_password_and_the_cookie_key() {
        let store = StoreSettings {
            kind: StoreKind::Redis,
            url: Some("rediss://app:s3cr%40t@redis.internal:6380/2".into()),
            key_prefix: "auth-eid:".into(),
            pool_size: 4,
            timeout: Duration::from_secs(1),
        };
        let shown = format!("{store:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("rediss://app:***@redis.internal:6380/2"),
            "{shown}"
        );
        let server = ServerSettings {
            address: [127, 0, 0, 1].into(),
            port: 8400,
            cookie_secret: Some(vec![0xAB; 64]),
            shutdown_grace: Duration::from_secs(5),
            shutdown_mercy: Duration::from_secs(2),
            limits: limits(&RawServer::default(), &mut Vec::new()),
        };
        let shown = format!("{server:?}");
        assert!(shown.contains("<set>") && !shown.contains("171"), "{shown}");
        assert_eq!(redact_url("not a url :pw@"), "<unparsable URL>");
    }

    fn raw(url: &str, timeout_ms: u64, pool_size: usize) -> RawStore {
        RawStore {
            kind: StoreKind::Redis,
            url: Some(url.into()),
            key_prefix: "p:".into(),
            pool_size,
            timeout_ms,
        }
    }

    #[test]
    fn store_values_are_checked_without_echoing_the_url() {
        let keys = |r: RawStore| {
            let mut errors = Vec::new();
            store(r, &mut errors);
            errors
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        };
        assert!(keys(raw("redis://127.0.0.1:6379/", 1000, 4)).is_empty());
        assert!(keys(raw("rediss://:pw@127.0.0.1:6380/", 1000, 1)).is_empty());
        let bad = keys(raw("http://:hunter2@127.0.0.1/", 0, 0));
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad.iter().all(|e| !e.contains("hunter2")));
    }
}
