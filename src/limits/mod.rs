//! Rate limits: named budgets of `count` hits per `window`, each counted per keyed hash of an
//! identifier (national number, phone, flow, IP address, relying party). Memory mode counts in
//! this process; with `[store] kind = "redis"` the counts live in Redis, so every instance on
//! one Redis spends the same budget. No Rocket types here: routes ask [`Limits::check`] and
//! map [`Limited`] to a 429.

mod budget;
mod counter;
mod key;
mod proxies;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use budget::{Budget, Rule};
pub use counter::{Counter, Hits, MemoryCounter, RedisCounter};
pub use key::{HashKey, KeyedHash};
pub use proxies::{Cidr, TrustedProxies};

use crate::config::{Config, StoreKind};
use crate::store::StoreError;

/// The validated `[limits]` section.
#[derive(Debug, Clone, Default)]
pub struct LimitSettings {
    /// Indexed by [`Budget::index`]; `None`: that budget is off.
    pub rules: [Option<Rule>; Budget::ALL.len()],
    pub trusted_proxies: TrustedProxies,
}

impl LimitSettings {
    pub fn rule(&self, budget: Budget) -> Option<Rule> {
        self.rules[budget.index()]
    }
}

/// Over budget: try again once the window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
#[error("rate limited; retry after {} s", retry_after_seconds(*.retry_after))]
pub struct Limited {
    pub retry_after: Duration,
}

impl Limited {
    /// `Retry-After` in whole seconds, rounded up and at least 1.
    pub fn seconds(&self) -> u64 {
        retry_after_seconds(self.retry_after)
    }
}

fn retry_after_seconds(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

/// The limits and the client's address, for domain steps that count per person and per
/// address.
pub struct Client<'a> {
    pub limits: &'a Limits,
    /// The client's IP address as text (it is hashed before it is counted or logged).
    pub ip: String,
}

pub struct Limits {
    settings: LimitSettings,
    key: HashKey,
    counter: Arc<dyn Counter>,
    prefix: String,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Limits {
    /// Counts where the flow store keeps its state: Redis (shared) or this process's memory.
    pub fn from_config(config: &Config) -> Result<Limits, StoreError> {
        let counter: Arc<dyn Counter> = match config.store.kind {
            StoreKind::Redis => Arc::new(RedisCounter::new(&config.store)?),
            StoreKind::Memory => Arc::new(MemoryCounter::default()),
        };
        Ok(Limits::new(
            config.limits.clone(),
            HashKey::derive(config.server.cookie_secret.as_deref()),
            counter,
            format!("{}limit:", config.store.key_prefix),
        ))
    }

    pub fn new(
        settings: LimitSettings,
        key: HashKey,
        counter: Arc<dyn Counter>,
        prefix: String,
    ) -> Limits {
        Limits {
            settings,
            key,
            counter,
            prefix,
        }
    }

    /// Whether a budget is counted at all (a caller may skip preparing its key when not).
    pub fn is_on(&self, budget: Budget) -> bool {
        self.settings.rule(budget).is_some()
    }

    /// Counts one hit of `identifier` against `budget`. A budget that is off costs nothing.
    /// When the counter cannot be reached the hit is let through (and logged): the request
    /// itself then meets the same unavailable store, and an outage must not lock everyone out.
    pub async fn check(&self, budget: Budget, identifier: &str) -> Result<(), Limited> {
        let Some(rule) = self.settings.rule(budget) else {
            return Ok(());
        };
        let hash = self.key.hash(budget, identifier);
        let key = format!("{}{}:{}", self.prefix, budget.name(), hash);
        match self.counter.hit(&key, rule.window).await {
            Ok(hits) if hits.count > rule.count => {
                let limited = Limited {
                    retry_after: hits.window_left,
                };
                // Logged once per window and key: the first refused hit, not every one after.
                if hits.count == rule.count + 1 {
                    tracing::warn!(
                        budget = budget.name(),
                        key = %hash,
                        retry_after_seconds = limited.seconds(),
                        "rate limit reached"
                    );
                }
                Err(limited)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(budget = budget.name(), error = %e, "rate limit not counted: counter unavailable");
                Ok(())
            }
        }
    }

    /// [`Limits::check`] for several budgets, each with its own identifier; all are counted
    /// and the longest wait wins.
    pub async fn check_all(&self, checks: &[(Budget, &str)]) -> Result<(), Limited> {
        let mut worst: Option<Limited> = None;
        for (budget, identifier) in checks {
            if let Err(l) = self.check(*budget, identifier).await {
                worst = Some(worst.map_or(l, |w| w.max(l)));
            }
        }
        worst.map_or(Ok(()), Err)
    }

    /// The client's address, honouring `X-Forwarded-For` only from trusted proxies.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        self.settings.trusted_proxies.client_ip(peer, forwarded_for)
    }
}
