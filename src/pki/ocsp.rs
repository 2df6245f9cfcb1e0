//! OCSP (RFC 6960) against the issuer's designated responder only: request with a nonce, POST,
//! signature and CertID checks, freshness with bounded skew, and a bounded cache of `good`
//! answers kept until their nextUpdate. Failures are never cached.

use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::ocsp::{
    OcspBasicResponseRef, OcspCertId, OcspCertStatus, OcspFlag, OcspRequest, OcspResponse,
    OcspResponseStatus,
};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::X509;
use time::OffsetDateTime;

use super::http;
use super::ocsp_cache::{cache_key, CachedGood, OcspCache};
use super::ocsp_ffi::{self, NonceCheck};
use super::profile::OcspResponder;
use super::report::{rfc3339, RevocationSource};

/// Largest OCSP response we read: a response is a few KiB even with a certificate chain.
const MAX_RESPONSE: usize = 256 * 1024;

/// What one revocation source said about one certificate.
#[derive(Debug, Clone)]
pub enum RevStatus {
    Good {
        source: RevocationSource,
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
    },
    Revoked {
        source: RevocationSource,
        detail: String,
    },
    /// OCSP `unknown`: the responder does not know this certificate.
    Unknown,
    /// An answer we must not accept (bad signature, wrong nonce, stale, garbage): refusal,
    /// whatever the fail-open policy says.
    Invalid(String),
    /// No answer could be had (down, timeout, HTTP error, tryLater): the policy decides.
    Unavailable(String),
}

/// Is an answer with these times usable at `at`? thisUpdate may lie at most `skew` in the
/// future; nextUpdate (when present) at most `skew` in the past. Without nextUpdate the answer
/// must be recent: thisUpdate no older than `skew`.
pub fn fresh(
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    at: OffsetDateTime,
    skew: Duration,
) -> Result<(), String> {
    let skew = time::Duration::try_from(skew).unwrap_or(time::Duration::MINUTE * 15);
    if this_update > at + skew {
        return Err(
            "the answer's thisUpdate lies in the future beyond the clock-skew tolerance".into(),
        );
    }
    match next_update {
        Some(n) if n < at - skew => Err("the answer is stale (nextUpdate has passed)".into()),
        None if this_update < at - skew => {
            Err("the answer has no nextUpdate and its thisUpdate is too old".into())
        }
        _ => Ok(()),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// OpenSSL's printed time as RFC 3339 for the report (the text itself if unreadable).
pub(crate) fn openssl_time_rfc3339(s: &str) -> String {
    parse_openssl_time(s)
        .map(rfc3339)
        .unwrap_or_else(|| s.to_string())
}

/// Parses OpenSSL's printed time (`Nov  3 17:00:00 2026 GMT`, seconds possibly fractional):
/// the safe API offers GeneralizedTime only as text.
pub(crate) fn parse_openssl_time(s: &str) -> Option<OffsetDateTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [mon, day, hms, year, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == mon)? as u8 + 1;
    let month = time::Month::try_from(month).ok()?;
    let mut hms = hms.split(':');
    let h: u8 = hms.next()?.parse().ok()?;
    let m: u8 = hms.next()?.parse().ok()?;
    let sec: u8 = hms.next()?.split('.').next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()?;
    let t = time::Time::from_hms(h, m, sec).ok()?;
    Some(date.with_time(t).assume_utc())
}
/// Everything one OCSP check needs (owned: the response is judged on the CPU pool).
/// `leaf` is the certificate asked about, a CA certificate for the upper levels of a path.
pub struct OcspQuery {
    pub responder: OcspResponder,
    pub leaf: X509,
    pub issuer: X509,
    pub at: OffsetDateTime,
    pub timeout: Duration,
    pub skew: Duration,
}

/// Asks the designated responder (or the cache) about `q.leaf`.
pub async fn check(client: &reqwest::Client, cache: &OcspCache, q: OcspQuery) -> RevStatus {
    let key = cache_key(&q.leaf, &q.issuer);
    if let Some(c) = key.as_ref().and_then(|k| cache.get(k, q.at, q.skew)) {
        return RevStatus::Good {
            source: RevocationSource::Cache,
            this_update: c.this_update,
            next_update: Some(c.next_update),
        };
    }
    // SHA-1 CertIDs: what every responder supports (RFC 5019); the hash only names the
    // certificate, the signature over the response is what we trust.
    let ids = (
        OcspCertId::from_cert(MessageDigest::sha1(), &q.leaf, &q.issuer),
        OcspCertId::from_cert(MessageDigest::sha1(), &q.leaf, &q.issuer),
    );
    let (Ok(id_for_request), Ok(id)) = ids else {
        return RevStatus::Invalid("could not build the OCSP request".into());
    };
    let request = (|| {
        let mut req = OcspRequest::new()?;
        req.add_id(id_for_request)?;
        Ok::<_, openssl::error::ErrorStack>(req)
    })();
    let Ok(mut request) = request else {
        return RevStatus::Invalid("could not build the OCSP request".into());
    };
    if !ocsp_ffi::add_nonce(&mut request) {
        return RevStatus::Invalid("could not add a nonce to the OCSP request".into());
    }
    let Ok(der) = request.to_der() else {
        return RevStatus::Invalid("could not encode the OCSP request".into());
    };

    let body = match post(client, &q, der).await {
        Ok(b) => b,
        Err(why) => return RevStatus::Unavailable(why),
    };
    // Signature checks are CPU work: off the async workers.
    let judged = crate::cpu::run(move || judge(&body, &request, &id, &q)).await;
    let status =
        judged.unwrap_or_else(|_| RevStatus::Invalid("the OCSP check did not complete".into()));
    if let (
        RevStatus::Good {
            this_update,
            next_update: Some(next_update),
            ..
        },
        Some(key),
    ) = (&status, key)
    {
        cache.put(
            key,
            CachedGood {
                this_update: *this_update,
                next_update: *next_update,
            },
        );
    }
    status
}

async fn post(client: &reqwest::Client, q: &OcspQuery, der: Vec<u8>) -> Result<Vec<u8>, String> {
    let req = client
        .post(q.responder.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
        .timeout(q.timeout)
        .body(der);
    http::fetch_limited(req, MAX_RESPONSE, "OCSP responder").await
}

/// Checks a response body against the request it answers.
fn judge(body: &[u8], request: &OcspRequest, id: &OcspCertId, q: &OcspQuery) -> RevStatus {
    let Ok(resp) = OcspResponse::from_der(body) else {
        return RevStatus::Invalid("the OCSP response is not valid DER".into());
    };
    if resp.status() != OcspResponseStatus::SUCCESSFUL {
        // tryLater, internalError, unauthorized...: the responder gave no answer.
        return RevStatus::Unavailable(format!(
            "the OCSP responder answered status {}",
            resp.status().as_raw()
        ));
    }
    let Ok(basic) = resp.basic() else {
        return RevStatus::Invalid("the OCSP response is not a basic response".into());
    };
    if let Err(why) = verify_signer(&basic, q) {
        return RevStatus::Invalid(why);
    }
    match ocsp_ffi::check_nonce(request, &basic) {
        NonceCheck::Match => {}
        NonceCheck::Absent if !q.responder.require_nonce => {}
        NonceCheck::Absent => {
            return RevStatus::Invalid("the OCSP response does not echo our nonce".into())
        }
        NonceCheck::Mismatch => {
            return RevStatus::Invalid("the OCSP response carries another nonce (replay?)".into())
        }
    }
    let Some(st) = basic.find_status(id) else {
        return RevStatus::Invalid("the OCSP response does not cover this certificate".into());
    };
    let Some(this_update) = parse_openssl_time(&st.this_update.to_string()) else {
        return RevStatus::Invalid("the OCSP response has an unreadable thisUpdate".into());
    };
    let next_update = match st.next_update() {
        None => None,
        Some(t) => match parse_openssl_time(&t.to_string()) {
            Some(t) => Some(t),
            None => {
                return RevStatus::Invalid("the OCSP response has an unreadable nextUpdate".into())
            }
        },
    };
    if let Err(why) = fresh(this_update, next_update, q.at, q.skew) {
        return RevStatus::Invalid(format!("OCSP: {why}"));
    }
    match st.status {
        OcspCertStatus::GOOD => RevStatus::Good {
            source: RevocationSource::Ocsp,
            this_update,
            next_update,
        },
        OcspCertStatus::REVOKED => RevStatus::Revoked {
            source: RevocationSource::Ocsp,
            detail: match st.revocation_time {
                Some(t) => format!(
                    "revoked at {} (reason code {})",
                    openssl_time_rfc3339(&t.to_string()),
                    st.reason.as_raw()
                ),
                None => "revoked".into(),
            },
        },
        _ => RevStatus::Unknown,
    }
}

/// The response must be signed by the configured responder certificate when there is one;
/// otherwise by the issuing CA itself or by a delegate the CA issued with id-kp-OCSPSigning
/// (OpenSSL's OCSP_basic_verify checks both against a store holding only that CA).
fn verify_signer(basic: &OcspBasicResponseRef, q: &OcspQuery) -> Result<(), String> {
    let at_unix = q.at.unix_timestamp();
    let bad = |_| "the OCSP response signature could not be verified".to_string();
    match &q.responder.responder {
        Some(r) => {
            let valid_now = openssl::asn1::Asn1Time::from_unix(at_unix as _)
                .map(|now| r.not_before() <= now && now <= r.not_after())
                .unwrap_or(false);
            if !valid_now {
                return Err(
                    "the configured OCSP responder certificate is not valid at this time".into(),
                );
            }
            let mut certs = Stack::new().map_err(bad)?;
            certs.push(r.clone()).map_err(bad)?;
            let empty = X509StoreBuilder::new().map_err(bad)?.build();
            // NO_INTERN: only the configured certificate may be the signer. TRUST_OTHER: it is
            // trusted as configured, without a path of its own.
            basic
                .verify(&certs, &empty, OcspFlag::NO_INTERN | OcspFlag::TRUST_OTHER)
                .map_err(|_| "the OCSP response is not signed by the configured responder".into())
        }
        None => {
            let store = issuer_store(&q.issuer, at_unix).map_err(bad)?;
            let certs = Stack::<X509>::new().map_err(bad)?;
            // NO_EXPLICIT: no shortcut through "trusted for OCSP signing" settings; only the
            // CA or its delegate passes.
            basic
                .verify(&certs, &store, OcspFlag::NO_EXPLICIT)
                .map_err(|_| {
                    "the OCSP response is not signed by the issuing CA or its delegated responder"
                        .into()
                })
        }
    }
}

fn issuer_store(
    issuer: &X509,
    at_unix: i64,
) -> Result<openssl::x509::store::X509Store, openssl::error::ErrorStack> {
    let mut b = X509StoreBuilder::new()?;
    b.add_cert(issuer.clone())?;
    let mut p = X509VerifyParam::new()?;
    // The issuing CA is usually not self-signed: make it the one anchor of this store.
    p.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
    p.set_time(at_unix as _);
    p.set_auth_level(2);
    b.set_param(&p)?;
    Ok(b.build())
}
#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SKEW: Duration = Duration::from_secs(900);

    #[test]
    fn openssl_time_text() {
        assert_eq!(
            parse_openssl_time("Nov  3 17:00:09 2026 GMT"),
            Some(datetime!(2026-11-03 17:00:09 UTC))
        );
        assert_eq!(
            parse_openssl_time("Jan 31 00:00:00.125 2027 GMT"),
            Some(datetime!(2027-01-31 00:00:00 UTC))
        );
        for bad in [
            "",
            "error",
            "Foo 1 00:00:00 2026 GMT",
            "Nov 31 00:00:00 2026 GMT",
        ] {
            assert_eq!(parse_openssl_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn freshness_window() {
        let t = datetime!(2026-06-01 12:00 UTC);
        let h = time::Duration::HOUR;
        assert!(fresh(t, Some(t + h), t, SKEW).is_ok());
        // thisUpdate 10 min ahead of us: tolerated; 20 min: not.
        assert!(fresh(t + time::Duration::minutes(10), Some(t + h), t, SKEW).is_ok());
        assert!(fresh(t + time::Duration::minutes(20), Some(t + h), t, SKEW).is_err());
        // nextUpdate passed 10 min ago: tolerated; 20 min: stale.
        assert!(fresh(t - h, Some(t - time::Duration::minutes(10)), t, SKEW).is_ok());
        assert!(fresh(t - h, Some(t - time::Duration::minutes(20)), t, SKEW).is_err());
        // Without nextUpdate only a recent answer counts.
        assert!(fresh(t - time::Duration::minutes(5), None, t, SKEW).is_ok());
        assert!(fresh(t - h, None, t, SKEW).is_err());
    }
}
