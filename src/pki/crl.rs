//! CRLs as the fallback after OCSP: configured URLs or files only, signed by the certificate's
//! issuer, fresh at the validation time, full-scope (no issuingDistributionPoint, no delta),
//! cached per source until nextUpdate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openssl::pkey::{PKeyRef, Public};
use openssl::x509::{CrlStatus, X509Crl, X509Ref, X509};
use time::OffsetDateTime;

use super::http;
use super::ocsp::{fresh, openssl_time_rfc3339, RevStatus};
use super::profile::CrlSource;
use super::report::RevocationSource;

/// Largest CRL we download or read. National CRLs run to several MiB.
const MAX_CRL: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    #[error("not a CRL (DER or PEM)")]
    Malformed,
}

/// Parses a DER or PEM CRL.
pub fn parse_crl(bytes: &[u8]) -> Result<X509Crl, CrlError> {
    X509Crl::from_der(bytes)
        .or_else(|_| X509Crl::from_pem(bytes))
        .map_err(|_| CrlError::Malformed)
}

/// A parsed CRL with the facts we need about it.
struct Loaded {
    crl: X509Crl,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    /// Carries issuingDistributionPoint or deltaCRLIndicator: partial scope, not usable.
    partial: bool,
    /// The issuer key (SPKI DER) whose signature on this CRL verified, once it has: a cached
    /// CRL (megabytes for a national CA) is not hashed and verified again at every check.
    verified_by: OnceLock<Vec<u8>>,
}

impl Loaded {
    fn signed_by(&self, issuer_key: &PKeyRef<Public>) -> bool {
        let Ok(spki) = issuer_key.public_key_to_der() else {
            return false;
        };
        if self.verified_by.get() == Some(&spki) {
            return true;
        }
        let ok = self.crl.verify(issuer_key).unwrap_or(false);
        if ok {
            let _ = self.verified_by.set(spki);
        }
        ok
    }
}

fn load(bytes: &[u8]) -> Result<Loaded, CrlError> {
    let crl = parse_crl(bytes)?;
    let der = crl.to_der().map_err(|_| CrlError::Malformed)?;
    let (_, parsed) = x509_parser::parse_x509_crl(&der).map_err(|_| CrlError::Malformed)?;
    let partial = parsed.extensions().iter().any(|e| {
        let oid = e.oid.to_id_string();
        oid == "2.5.29.28" || oid == "2.5.29.27"
    });
    Ok(Loaded {
        this_update: parsed.last_update().to_datetime(),
        next_update: parsed.next_update().map(|t| t.to_datetime()),
        partial,
        crl,
        verified_by: OnceLock::new(),
    })
}

/// CRLs by source, kept while fresh.
#[derive(Default)]
pub struct CrlCache {
    map: Mutex<HashMap<CrlSource, Arc<Loaded>>>,
}

impl std::fmt::Debug for CrlCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("CrlCache").field("entries", &n).finish()
    }
}

impl CrlCache {
    fn get(&self, src: &CrlSource, at: OffsetDateTime, skew: Duration) -> Option<Arc<Loaded>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(src)
            .filter(|l| fresh(l.this_update, l.next_update, at, skew).is_ok())
            .cloned()
    }

    fn put(&self, src: CrlSource, l: Arc<Loaded>) {
        // Only sources from the configuration are keys, so the map is bounded by it.
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(src, l);
    }
}

async fn fetch(
    client: &reqwest::Client,
    src: &CrlSource,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    match src {
        CrlSource::File(p) => {
            let p = p.clone();
            tokio::task::spawn_blocking(move || std::fs::read(p))
                .await
                .map_err(|_| "CRL file read was interrupted".to_string())?
                .map_err(|e| format!("CRL file cannot be read ({})", e.kind()))
        }
        CrlSource::Url(u) => {
            let req = client.get(u.clone()).timeout(timeout);
            http::fetch_limited(req, MAX_CRL, "CRL server").await
        }
    }
}

/// Time and bounds of one check.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub at: OffsetDateTime,
    pub timeout: Duration,
    pub skew: Duration,
}

/// What one source said, judged on the blocking pool.
enum Judged {
    /// The CRL is another issuer's: not a problem, just not this certificate's.
    OtherIssuer,
    Problem(String),
    Answer(RevStatus),
}

/// Parsing a fetched CRL, its signature (hashing megabytes once) and the serial lookup are CPU
/// work: done together off the async workers.
fn judge(loaded: &Loaded, leaf: &X509Ref, issuer: &X509Ref, limits: &Limits, what: &str) -> Judged {
    let same_issuer = loaded
        .crl
        .issuer_name()
        .try_cmp(issuer.subject_name())
        .is_ok_and(|o| o.is_eq());
    if !same_issuer {
        return Judged::OtherIssuer;
    }
    let Ok(issuer_key) = issuer.public_key() else {
        return Judged::Answer(RevStatus::Invalid(
            "the issuer's public key is unreadable".into(),
        ));
    };
    if !loaded.signed_by(&issuer_key) {
        return Judged::Problem(format!("{what}: signature is not the issuer's"));
    }
    if loaded.partial {
        return Judged::Problem(format!("{what}: partial-scope or delta CRL"));
    }
    if let Err(why) = fresh(
        loaded.this_update,
        loaded.next_update,
        limits.at,
        limits.skew,
    ) {
        return Judged::Problem(format!("{what}: {why}"));
    }
    Judged::Answer(match loaded.crl.get_by_serial(leaf.serial_number()) {
        CrlStatus::NotRevoked => RevStatus::Good {
            source: RevocationSource::Crl,
            this_update: loaded.this_update,
            next_update: loaded.next_update,
        },
        CrlStatus::Revoked(r) => RevStatus::Revoked {
            source: RevocationSource::Crl,
            detail: format!(
                "revoked at {} (CRL)",
                openssl_time_rfc3339(&r.revocation_date().to_string())
            ),
        },
        // removeFromCRL only appears in delta CRLs, which are refused above.
        CrlStatus::RemoveFromCrl(_) => RevStatus::Invalid("unexpected removeFromCRL entry".into()),
    })
}

/// A cached CRL, or the bytes of a fetched one still to be parsed.
enum Got {
    Cached(Arc<Loaded>),
    Fetched(Vec<u8>),
}

/// Consults every configured CRL issued by `issuer` (name and signature); the first usable one
/// answers. Only a CRL that passed every check is cached: one that fails (another issuer's
/// included) is fetched again next time, so a bad answer cannot stick until its nextUpdate.
pub async fn check(
    client: &reqwest::Client,
    cache: &CrlCache,
    sources: &[CrlSource],
    leaf: &X509,
    issuer: &X509,
    limits: &Limits,
) -> RevStatus {
    let mut problems = Vec::new();
    for src in sources {
        let got = match cache.get(src, limits.at, limits.skew) {
            Some(l) => Got::Cached(l),
            None => match fetch(client, src, limits.timeout).await {
                Ok(bytes) => Got::Fetched(bytes),
                Err(why) => {
                    problems.push(why);
                    continue;
                }
            },
        };
        let (leaf, issuer, limits, what) = (leaf.clone(), issuer.clone(), *limits, src.describe());
        let judged = crate::cpu::run(move || {
            let loaded = match got {
                Got::Cached(l) => l,
                Got::Fetched(bytes) => match load(&bytes) {
                    Ok(l) => Arc::new(l),
                    Err(e) => return (None, Judged::Problem(format!("{what}: {e}"))),
                },
            };
            let j = judge(&loaded, &leaf, &issuer, &limits, &what);
            (Some(loaded), j)
        })
        .await;
        match judged {
            Err(_) => problems.push(format!("{}: the check did not complete", src.describe())),
            Ok((_, Judged::OtherIssuer)) => {}
            Ok((_, Judged::Problem(p))) => problems.push(p),
            Ok((loaded, Judged::Answer(st))) => {
                if let Some(l) = loaded.filter(|l| l.next_update.is_some()) {
                    if !matches!(st, RevStatus::Invalid(_)) {
                        cache.put(src.clone(), l);
                    }
                }
                return st;
            }
        }
    }
    if problems.is_empty() {
        RevStatus::Unavailable("no configured CRL is issued by this certificate's issuer".into())
    } else {
        RevStatus::Unavailable(format!("no usable CRL: {}", problems.join("; ")))
    }
}
