//! `TrustStore`: every trust profile loaded once at start-up, the revocation caches, and the
//! one validation entry point both means call.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use openssl::x509::{X509Ref, X509};
use time::OffsetDateTime;

use super::certcache::{self, CertCache};
use super::checks;
use super::config::{RevocationPolicy, TrustProfileConfig};
use super::crl::{self, CrlCache};
use super::identity::{identity_of, CertIdentity};
use super::ocsp::{self, OcspQuery, RevStatus};
use super::ocsp_cache::{self, OcspCache};
use super::path;
use super::profile::Profile;
use super::report::{
    rfc3339, to_offset, CertSummary, Check, CheckResult, RevocationSource, ValidationReport,
    Verdict, SCHEMA_VERSION,
};
use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("no trust profile named `{0}` is configured")]
    UnknownProfile(String),
    #[error("the certificate verifier failed internally")]
    Internal,
}

/// The answer to "is this certificate, at this time, valid for this profile?".
#[derive(Debug, Clone)]
pub struct Validation {
    pub verdict: Verdict,
    pub report: ValidationReport,
    /// The leaf's identity fields; present whenever the leaf could be parsed, also for an
    /// invalid verdict (so the caller can say whose certificate was refused). Use only with a
    /// `Valid` verdict for authentication.
    pub identity: Option<CertIdentity>,
}

impl Validation {
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }
}

/// All trust profiles plus shared revocation state. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct TrustStore {
    profiles: BTreeMap<String, Arc<Profile>>,
    http: reqwest::Client,
    ocsp_cache: OcspCache,
    certs: CertCache,
    crl_cache: CrlCache,
}

fn valid_profile_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl TrustStore {
    /// Reads and parses every file of every profile once. Relative paths resolve against
    /// `base_dir`; demo anchors are refused when `production`.
    pub fn load(
        raw: &BTreeMap<String, TrustProfileConfig>,
        base_dir: &Path,
        production: bool,
    ) -> Result<TrustStore, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut profiles = BTreeMap::new();
        for (name, cfg) in raw {
            if !valid_profile_name(name) {
                errors.push(ConfigError::key(
                    format!("trust.{name}"),
                    "profile names use a-z, 0-9 and _ only",
                ));
                continue;
            }
            match Profile::load(name, cfg, base_dir, production) {
                Ok(p) => {
                    profiles.insert(name.clone(), Arc::new(p));
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        // Redirects could lead anywhere: only the configured URL is ever contacted.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build();
        let http = match http {
            Ok(h) => Some(h),
            Err(_) => {
                errors.push(ConfigError::key(
                    "trust",
                    "the HTTP client could not be created",
                ));
                None
            }
        };
        match (errors.is_empty(), http) {
            (true, Some(http)) => Ok(TrustStore {
                profiles,
                http,
                ocsp_cache: OcspCache::new(ocsp_cache::DEFAULT_CACHE_ENTRIES),
                crl_cache: CrlCache::default(),
                certs: CertCache::new(certcache::DEFAULT_ENTRIES),
            }),
            _ => Err(errors),
        }
    }

    pub fn has_profile(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    /// How many `good` OCSP answers are cached (for metrics).
    pub fn cached_ocsp_answers(&self) -> usize {
        self.ocsp_cache.len()
    }

    /// Whether the profile is marked `demo = true` (for a loud start-up log line).
    pub fn is_demo(&self, name: &str) -> bool {
        self.profiles.get(name).is_some_and(|p| p.demo)
    }

    /// Validates `leaf_der` for `profile` at `at`: path to a configured anchor (OpenSSL), the
    /// profile's rules, then revocation. Malformed input gives an `Invalid` verdict, never an
    /// error; errors are for an unknown profile or an internal OpenSSL failure.
    pub async fn validate(
        &self,
        profile: &str,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        at: SystemTime,
    ) -> Result<Validation, PkiError> {
        let p = self
            .profiles
            .get(profile)
            .cloned()
            .ok_or_else(|| PkiError::UnknownProfile(profile.to_string()))?;
        let at_dt = to_offset(at);
        let finish = |chain: Vec<CertSummary>, checks: Vec<Check>, identity| {
            let verdict = if checks.iter().any(|c| c.result == CheckResult::Fail) {
                Verdict::Invalid
            } else {
                Verdict::Valid
            };
            Validation {
                verdict,
                report: ValidationReport {
                    schema_version: SCHEMA_VERSION,
                    profile: p.name.clone(),
                    validated_at: rfc3339(at_dt),
                    verdict,
                    chain,
                    checks,
                },
                identity,
            }
        };

        let leaf = match self.certs.parse(leaf_der) {
            Ok(c) => c,
            Err(why) => return Ok(finish(vec![], vec![Check::fail("parse", why)], None)),
        };
        let mut untrusted = Vec::with_capacity(intermediates_der.len() + p.intermediates.len());
        for (i, der) in intermediates_der.iter().enumerate() {
            match self.certs.parse(der) {
                Ok(c) => untrusted.push(c),
                Err(why) => {
                    let check = Check::fail("parse", format!("intermediate {i}: {why}"));
                    return Ok(finish(vec![CertSummary::of(&leaf)], vec![check], None));
                }
            }
        }
        untrusted.extend(p.intermediates.iter().cloned());

        let mut list = Vec::new();
        let at_unix = at_dt.unix_timestamp();
        let outcome = path::verify(&p.anchors, &leaf, &untrusted, at_unix, false)
            .map_err(|_| PkiError::Internal)?;
        let mut chain = outcome.chain.clone();
        let mut trusted = outcome.is_ok();
        match outcome.error {
            None if chain.len() < 2 => {
                trusted = false;
                list.push(Check::fail("anchor", "the leaf is itself a trust anchor"));
                list.push(Check::skipped("signature", "no path below an anchor"));
            }
            None => {
                list.push(anchor_pass());
                list.push(Check::pass(
                    "signature",
                    "every signature on the path verified",
                ));
            }
            Some((err, _)) if path::is_time_error(err.as_raw()) => {
                // Expired somewhere: ask OpenSSL again with the clock ignored, so the report
                // still says whether the path itself is trusted.
                let again = path::verify(&p.anchors, &leaf, &untrusted, at_unix, true)
                    .map_err(|_| PkiError::Internal)?;
                if again.is_ok() && again.chain.len() >= 2 {
                    chain = again.chain.clone();
                    list.push(anchor_pass());
                    list.push(Check::pass(
                        "signature",
                        "every signature on the path verified",
                    ));
                } else {
                    push_path_failure(&mut list, &again);
                }
            }
            Some(_) => push_path_failure(&mut list, &outcome),
        }
        if chain.is_empty() {
            chain.push(leaf.clone());
        }
        let ders: Vec<Vec<u8>> = chain.iter().filter_map(|c| c.to_der().ok()).collect();
        let parsed: Vec<_> = ders
            .iter()
            .filter_map(|d| x509_parser::parse_x509_certificate(d).ok().map(|(_, c)| c))
            .collect();
        let leaf_parsed = match parsed.first() {
            Some(l) if parsed.len() == chain.len() => l,
            _ => {
                list.push(Check::fail("parse", "a certificate could not be read"));
                let summaries = chain.iter().map(|c| CertSummary::of(c)).collect();
                return Ok(finish(summaries, list, None));
            }
        };
        list.push(checks::validity(&parsed, at_dt));
        list.push(checks::end_entity(leaf_parsed));
        list.push(checks::key(&leaf, &p));
        list.push(checks::key_usage(leaf_parsed, &p));
        list.push(checks::eku(leaf_parsed, &p));
        list.push(checks::policy(leaf_parsed, &p));
        let identity = identity_of(leaf_parsed);

        let all_good = trusted && !list.iter().any(|c| c.result == CheckResult::Fail);
        if all_good {
            list.push(self.revocation(&p, &chain, at_dt).await);
        } else {
            // Nothing is fetched for a certificate that has not validated (T10).
            list.push(Check::skipped(
                "revocation",
                "not checked: the certificate failed an earlier check",
            ));
        }
        let summaries: Vec<CertSummary> = chain
            .iter()
            .zip(&ders)
            .zip(&parsed)
            .map(|((c, d), p)| CertSummary::from_parsed(c, d, Some(p)))
            .collect();
        if let (Some(anchor), Some(c)) = (
            summaries.last(),
            list.iter_mut()
                .find(|c| c.name == "anchor" && c.result == CheckResult::Pass),
        ) {
            c.reason = format!("chains to the configured anchor {}", anchor.subject);
        }
        Ok(finish(summaries, list, Some(identity)))
    }

    async fn revocation(&self, p: &Profile, chain: &[X509], at: OffsetDateTime) -> Check {
        let none = |reason: String| {
            let mut c = match p.revocation {
                RevocationPolicy::FailClosed => {
                    Check::fail("revocation", format!("no revocation answer: {reason}"))
                }
                _ => Check::skipped(
                    "revocation",
                    format!("no revocation answer ({reason}); accepted: revocation = fail_open"),
                ),
            };
            c.source = Some(RevocationSource::None);
            c
        };
        if p.revocation == RevocationPolicy::Off {
            let mut c = Check::skipped("revocation", "revocation checking is off in this profile");
            c.source = Some(RevocationSource::None);
            return c;
        }
        let (leaf, issuer) = (&chain[0], &chain[1]);
        let mut unavailable = Vec::new();
        match p.ocsp.iter().find(|r| same_ca(&r.issuer, issuer)) {
            Some(responder) => {
                let q = OcspQuery {
                    responder,
                    leaf,
                    issuer,
                    at,
                    timeout: p.timeout,
                    skew: p.skew,
                };
                match ocsp::check(&self.http, &self.ocsp_cache, &q).await {
                    RevStatus::Unavailable(why) => unavailable.push(why),
                    other => return status_check(other),
                }
            }
            None => unavailable.push("no OCSP responder is configured for this issuer".into()),
        }
        if !p.crl.is_empty() {
            let limits = crl::Limits {
                at,
                timeout: p.timeout,
                skew: p.skew,
            };
            let st = crl::check(&self.http, &self.crl_cache, &p.crl, leaf, issuer, &limits).await;
            match st {
                RevStatus::Unavailable(why) => unavailable.push(why),
                other => return status_check(other),
            }
        }
        none(unavailable.join("; "))
    }
}

fn status_check(st: RevStatus) -> Check {
    match st {
        RevStatus::Good {
            source,
            this_update,
            next_update,
        } => {
            let mut c = Check::pass("revocation", "not revoked");
            c.source = Some(source);
            c.this_update = Some(rfc3339(this_update));
            c.next_update = next_update.map(rfc3339);
            c
        }
        RevStatus::Revoked { source, detail } => {
            let mut c = Check::fail("revocation", detail);
            c.source = Some(source);
            c
        }
        RevStatus::Unknown => {
            let mut c = Check::fail(
                "revocation",
                "the OCSP responder does not know this certificate",
            );
            c.source = Some(RevocationSource::Ocsp);
            c
        }
        RevStatus::Invalid(why) => {
            let mut c = Check::fail("revocation", why);
            c.source = Some(RevocationSource::None);
            c
        }
        RevStatus::Unavailable(why) => Check::fail("revocation", why),
    }
}

/// Same CA: same subject name and same public key (a re-issued CA certificate still matches).
fn same_ca(a: &X509Ref, b: &X509Ref) -> bool {
    let names = a
        .subject_name()
        .try_cmp(b.subject_name())
        .is_ok_and(|o| o.is_eq());
    let keys = match (a.public_key(), b.public_key()) {
        (Ok(x), Ok(y)) => x.public_eq(&y),
        _ => false,
    };
    names && keys
}

/// The anchor's name is filled in once the chain has been parsed for the report.
fn anchor_pass() -> Check {
    Check::pass("anchor", "chains to a configured anchor")
}

fn push_path_failure(list: &mut Vec<Check>, o: &path::PathOutcome) {
    let (err, depth) = o.error.unwrap_or((openssl::x509::X509VerifyResult::OK, 0));
    let why = format!("{} (at depth {depth})", err.error_string());
    if err.as_raw() == path::SIGNATURE_FAILURE {
        list.push(Check::fail("anchor", "the path does not verify"));
        list.push(Check::fail("signature", why));
    } else {
        list.push(Check::fail("anchor", why));
        list.push(Check::skipped(
            "signature",
            "not every signature could be checked",
        ));
    }
}

#[cfg(test)]
mod tests {
    /// Rocket handlers and spawned tasks need a `Send` future: fail the build if it is not.
    #[allow(dead_code)]
    fn validate_future_is_send(store: &super::TrustStore) {
        fn is_send<T: Send>(_: &T) {}
        let f = store.validate("p", &[], &[], std::time::SystemTime::now());
        is_send(&f);
    }
}
