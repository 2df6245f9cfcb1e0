//! `TrustStore`: every trust profile loaded once at start-up, the revocation caches, and the
//! one validation entry point both means call.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::assess::{assess, Assessed, Supplied};
use super::cert::DecodedCert;
use super::certcache::{self, CertCache};
use super::config::TrustProfileConfig;
use super::crl::CrlCache;
use super::identity::CertIdentity;
use super::ocsp_cache::{self, OcspCache};
use super::profile::Profile;
use super::report::{
    rfc3339, to_offset, CertSummary, Check, CheckResult, ValidationReport, Verdict, SCHEMA_VERSION,
};
use super::revoke;
use crate::setting_error::ConfigError;

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

/// A validation between its CPU-bound half and its network half
/// ([`TrustStore::assess_now`], then [`TrustStore::finish_validation`]).
pub struct Assessment {
    p: Arc<Profile>,
    at: SystemTime,
    assessed: Assessed,
}

impl std::fmt::Debug for Assessment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assessment")
            .field("profile", &self.p.name)
            .finish_non_exhaustive()
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
    /// error; errors are for an unknown profile or an internal failure.
    pub async fn validate(
        &self,
        profile: &str,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        at: SystemTime,
    ) -> Result<Validation, PkiError> {
        let p = self.profile(profile)?;
        match DecodedCert::from_der(leaf_der) {
            Ok(leaf) => {
                self.validate_cert(profile, &leaf, intermediates_der, at)
                    .await
            }
            Err(why) => {
                let checks = vec![Check::fail("parse", why.to_string())];
                Ok(finish(&p, at, vec![], checks, None))
            }
        }
    }

    /// [`TrustStore::validate`] for a leaf the caller has decoded already (to check a signature
    /// with its key): it is not decoded again. The CPU-bound work (path validation, the
    /// profile's rules, the signatures of revocation answers) runs on the CPU pool; the
    /// network requests of the revocation step stay on the async runtime.
    pub async fn validate_cert(
        &self,
        profile: &str,
        leaf: &DecodedCert,
        intermediates_der: &[Vec<u8>],
        at: SystemTime,
    ) -> Result<Validation, PkiError> {
        let (p, supplied) = self.begin(profile, intermediates_der)?;
        let (job_profile, job_leaf, at_dt) = (p.clone(), leaf.clone(), to_offset(at));
        let assessed = crate::cpu::run(move || assess(&job_profile, &job_leaf, supplied, at_dt))
            .await
            .map_err(|_| PkiError::Internal)??;
        self.keep_cas(&assessed, intermediates_der);
        Ok(self.finish_validation(Assessment { p, at, assessed }).await)
    }

    /// The CPU-bound half of [`TrustStore::validate_cert`], for a caller already on the CPU
    /// pool (`crate::cpu`) with work of its own (a signature check): one job per
    /// authentication, and the decoded leaf does not wait in the pool's queue between two.
    /// Finish with [`TrustStore::finish_validation`].
    pub fn assess_now(
        &self,
        profile: &str,
        leaf: &DecodedCert,
        intermediates_der: &[Vec<u8>],
        at: SystemTime,
    ) -> Result<Assessment, PkiError> {
        let (p, supplied) = self.begin(profile, intermediates_der)?;
        let assessed = assess(&p, leaf, supplied, to_offset(at))?;
        self.keep_cas(&assessed, intermediates_der);
        Ok(Assessment { p, at, assessed })
    }

    /// The network half: revocation (when everything else passed), then the verdict.
    pub async fn finish_validation(&self, a: Assessment) -> Validation {
        let Assessment {
            p,
            at,
            assessed: mut a,
        } = a;
        let revocation = if a.revocable() {
            let src = revoke::Sources {
                http: &self.http,
                ocsp_cache: &self.ocsp_cache,
                crl_cache: &self.crl_cache,
            };
            revoke::check(&src, &p, &a.chain, to_offset(at)).await
        } else {
            // Nothing is fetched for a certificate that has not validated (T10).
            Check::skipped(
                "revocation",
                "not checked: the certificate failed an earlier check",
            )
        };
        // Revocation follows the profile's rules, which ran unless the input was unreadable.
        if a.identity.is_some() {
            a.checks.push(revocation);
        }
        finish(&p, at, a.summaries, a.checks, a.identity)
    }

    /// The profile, and the supplied intermediates the cache holds decoded.
    fn begin(
        &self,
        profile: &str,
        intermediates_der: &[Vec<u8>],
    ) -> Result<(Arc<Profile>, Vec<Supplied>), PkiError> {
        let p = self.profile(profile)?;
        let supplied = intermediates_der
            .iter()
            .map(|der| match self.certs.get(der) {
                Some(c) => Supplied::Decoded(c),
                None => Supplied::Der(der.clone()),
            })
            .collect();
        Ok((p, supplied))
    }

    /// Only CA certificates that chained to an anchor are kept decoded: single-use leaves and
    /// whatever else a client sends never fill the cache.
    fn keep_cas(&self, a: &Assessed, intermediates_der: &[Vec<u8>]) {
        if !a.trusted {
            return;
        }
        for c in a.chain.iter().skip(1) {
            if intermediates_der.iter().any(|d| d.as_slice() == c.der()) {
                self.certs.put(c);
            }
        }
    }

    fn profile(&self, name: &str) -> Result<Arc<Profile>, PkiError> {
        self.profiles
            .get(name)
            .cloned()
            .ok_or_else(|| PkiError::UnknownProfile(name.to_string()))
    }
}

/// The verdict from the checks: valid when none failed.
fn finish(
    p: &Profile,
    at: SystemTime,
    chain: Vec<CertSummary>,
    checks: Vec<Check>,
    identity: Option<CertIdentity>,
) -> Validation {
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
            validated_at: rfc3339(to_offset(at)),
            verdict,
            chain,
            checks,
        },
        identity,
    }
}

#[cfg(test)]
mod tests {
    /// Rocket handlers and spawned tasks need a `Send` future: fail the build if it is not.
    #[allow(dead_code)]
    fn validate_future_is_send(store: &super::TrustStore, leaf: &super::DecodedCert) {
        fn is_send<T: Send>(_: &T) {}
        let f = store.validate("p", &[], &[], std::time::SystemTime::now());
        is_send(&f);
        is_send(&store.validate_cert("p", leaf, &[], std::time::SystemTime::now()));
        if let Ok(a) = store.assess_now("p", leaf, &[], std::time::SystemTime::now()) {
            is_send(&store.finish_validation(a));
        }
    }
}
