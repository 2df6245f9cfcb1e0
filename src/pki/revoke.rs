//! Revocation of the path: every certificate below the anchor (or the leaf only, with
//! `revocation_scope = "leaf"`), top down. Each level asks OCSP when the profile has a
//! responder for it (a configured responder for its issuer or, with `ca_ocsp_from_aia`, the
//! OCSP URL of a CA certificate's own AIA), then the configured CRLs. The network stays on the
//! async runtime; the signature checks of the answers run on the CPU pool (`crate::cpu`).

use openssl::x509::X509Ref;
use time::OffsetDateTime;
use url::Url;

use super::cert::DecodedCert;
use super::config::{RevocationPolicy, RevocationScope};
use super::crl::{self, CrlCache};
use super::ocsp::{self, OcspQuery, RevStatus};
use super::ocsp_cache::OcspCache;
use super::profile::{OcspResponder, Profile};
use super::report::{rfc3339, Check, RevocationSource};

/// Where answers come from: the HTTP client and the caches of the trust store.
pub(super) struct Sources<'a> {
    pub http: &'a reqwest::Client,
    pub ocsp_cache: &'a OcspCache,
    pub crl_cache: &'a CrlCache,
}

/// The `revocation` check of a validated path (`chain` leaf first, anchor last, at least two).
pub(super) async fn check(
    src: &Sources<'_>,
    p: &Profile,
    chain: &[DecodedCert],
    at: OffsetDateTime,
) -> Check {
    if p.revocation == RevocationPolicy::Off {
        let mut c = Check::skipped("revocation", "revocation checking is off in this profile");
        c.source = Some(RevocationSource::None);
        return c;
    }
    let levels = match p.revocation_scope {
        RevocationScope::Leaf => 1,
        RevocationScope::Chain => chain.len().saturating_sub(1),
    };
    let mut leaf_answer = None;
    let mut unavailable = Vec::new();
    // From the top: a revoked CA ends the check before its certificates are asked about.
    for depth in (0..levels.min(chain.len().saturating_sub(1))).rev() {
        let st = level(src, p, &chain[depth], &chain[depth + 1], depth > 0, at).await;
        match st {
            RevStatus::Good { .. } if depth == 0 => leaf_answer = Some(st),
            RevStatus::Good { .. } => {}
            RevStatus::Unavailable(why) => unavailable.push(at_depth(depth, why)),
            other => {
                let mut c = status_check(other);
                c.reason = at_depth(depth, c.reason);
                return c;
            }
        }
    }
    if !unavailable.is_empty() {
        return no_answer(p, unavailable.join("; "));
    }
    match leaf_answer {
        Some(st) => {
            let mut c = status_check(st);
            c.reason = match levels {
                0 | 1 => c.reason,
                2 => "not revoked (the leaf and its issuing CA)".into(),
                n => format!("not revoked (the leaf and {} CA certificates)", n - 1),
            };
            c
        }
        None => no_answer(p, "the path has no certificate below its anchor".into()),
    }
}

fn at_depth(depth: usize, why: String) -> String {
    if depth == 0 {
        why
    } else {
        format!("CA certificate at depth {depth}: {why}")
    }
}

/// No answer could be had: the profile's policy decides.
fn no_answer(p: &Profile, reason: String) -> Check {
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
}

/// One certificate of the path: OCSP where there is a responder for it, then CRLs.
async fn level(
    src: &Sources<'_>,
    p: &Profile,
    cert: &DecodedCert,
    issuer: &DecodedCert,
    is_ca: bool,
    at: OffsetDateTime,
) -> RevStatus {
    let mut unavailable = Vec::new();
    let configured = p.ocsp.iter().find(|r| same_ca(&r.issuer, issuer.x509()));
    let responder = match configured {
        Some(r) => Some(r.clone()),
        None if is_ca && p.ca_ocsp_from_aia => aia_responder(cert, issuer),
        None => None,
    };
    match responder {
        Some(responder) => {
            let q = OcspQuery {
                responder,
                leaf: cert.x509().clone(),
                issuer: issuer.x509().clone(),
                at,
                timeout: p.timeout,
                skew: p.skew,
            };
            match ocsp::check(src.http, src.ocsp_cache, q).await {
                RevStatus::Unavailable(why) => unavailable.push(why),
                other => return other,
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
        let (c, i) = (cert.x509(), issuer.x509());
        match crl::check(src.http, src.crl_cache, &p.crl, c, i, &limits).await {
            RevStatus::Unavailable(why) => unavailable.push(why),
            other => return other,
        }
    }
    RevStatus::Unavailable(unavailable.join("; "))
}

/// The first http(s) OCSP URL of a CA certificate's authorityInfoAccess. Only called once the
/// path holding it has validated to a configured anchor (T10); its answers must still be
/// signed by `issuer` or a delegate `issuer` made.
fn aia_responder(cert: &DecodedCert, issuer: &DecodedCert) -> Option<OcspResponder> {
    let urls = cert.x509().ocsp_responders().ok()?;
    let url = urls.iter().find_map(|u| {
        Url::parse(u)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
    })?;
    Some(OcspResponder {
        issuer: issuer.x509().clone(),
        url,
        responder: None,
        require_nonce: true,
    })
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
