//! `[limits]`: the rate-limit budgets and the proxies whose `X-Forwarded-For` is believed.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use crate::limits::{Budget, Cidr, LimitSettings, Rule, TrustedProxies};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RawLimits {
    /// Networks (CIDR) of the reverse proxies in front of this plugin.
    pub trusted_proxies: Vec<String>,
    /// `[limits.<budget>]`, checked against the budget names below.
    #[serde(flatten)]
    pub budgets: BTreeMap<String, RawBudget>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawBudget {
    pub enabled: Option<bool>,
    pub count: Option<u64>,
    pub window_seconds: Option<u64>,
}

pub(super) fn limits(raw: &RawLimits, errors: &mut Vec<ConfigError>) -> LimitSettings {
    let mut settings = LimitSettings::default();
    for name in raw.budgets.keys() {
        if !Budget::ALL.iter().any(|b| b.name() == name) {
            errors.push(ConfigError::key(
                format!("limits.{name}"),
                "is not a known budget (see docs/configuration.md, [limits])",
            ));
        }
    }
    for budget in Budget::ALL {
        let (on, count, window) = budget.default_setting();
        let given = raw.budgets.get(budget.name());
        let on = given.and_then(|b| b.enabled).unwrap_or(on);
        let count = given.and_then(|b| b.count).unwrap_or(count);
        let window = given.and_then(|b| b.window_seconds).unwrap_or(window);
        let key = |field: &str| format!("limits.{}.{field}", budget.name());
        if count == 0 {
            errors.push(ConfigError::key(
                key("count"),
                "must be at least 1 (to refuse everything, turn the feature off instead)",
            ));
        }
        if window == 0 || window > 86_400 {
            errors.push(ConfigError::key(
                key("window_seconds"),
                "must be between 1 and 86400",
            ));
        }
        if on {
            settings.rules[budget.index()] = Some(Rule {
                count,
                window: std::time::Duration::from_secs(window),
            });
        }
    }
    let mut proxies = Vec::new();
    for (i, cidr) in raw.trusted_proxies.iter().enumerate() {
        match cidr.parse::<Cidr>() {
            Ok(c) => proxies.push(c),
            Err(problem) => errors.push(ConfigError::key(
                format!("limits.trusted_proxies[{i}]"),
                problem,
            )),
        }
    }
    settings.trusted_proxies = TrustedProxies::new(proxies);
    settings
}
