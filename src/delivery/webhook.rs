//! Webhook signatures (docs/rp-api.md, "Verifying a webhook"): HMAC-SHA256 with the relying
//! party's secret over `<unix seconds>.<body>`, sent as `Auth-Eid-Signature: t=<unix>,v1=<hex>`.
//! The timestamp is the time of each attempt, so a receiver can refuse old (replayed) ones;
//! the body is the same bytes on every attempt.

use openssl::memcmp;

use crate::mac::hmac_sha256;

pub const SIGNATURE_HEADER: &str = "Auth-Eid-Signature";

/// `v1` of the header: lowercase hex HMAC-SHA256 of `timestamp.body`.
pub fn sign(secret: &[u8], timestamp: u64, body: &str) -> String {
    let stamp = timestamp.to_string();
    let mac = hmac_sha256(secret, &[stamp.as_bytes(), b".", body.as_bytes()]);
    mac.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn header_value(secret: &[u8], timestamp: u64, body: &str) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance window")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// The receiver's check, as docs/rp-api.md describes it: a `t` within `tolerance_secs` of
/// `now`, and a `v1` equal (in constant time) to the HMAC of `t.body`.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &str,
    now: u64,
    tolerance_secs: u64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if t.abs_diff(now) > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let expected = sign(secret, t, body);
    let matches = signatures
        .iter()
        .any(|v| v.len() == expected.len() && memcmp::eq(v.as_bytes(), expected.as_bytes()));
    if matches {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-0123456789abcdef0123456789abcdef";

    #[test]
    fn the_documented_example_holds() {
        // docs/rp-api.md computes this with `openssl dgst -sha256 -hmac`.
        let body = r#"{"type":"session.success","sessionId":"abc"}"#;
        // printf '%s' '1767225600.<body>' | openssl dgst -sha256 -hmac '<secret>'
        assert_eq!(
            sign(SECRET, 1767225600, body),
            "9c99d0cd8f678d967690907fbbf5b29a9d263ae62f139150b7b1c65059c5ae67"
        );
    }

    #[test]
    fn tampered_stale_and_foreign_signatures_fail() {
        let body = r#"{"a":1}"#;
        let header = header_value(SECRET, 1000, body);
        assert_eq!(verify(SECRET, &header, body, 1100, 300), Ok(()));
        assert_eq!(
            verify(SECRET, &header, r#"{"a":2}"#, 1100, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, body, 1400, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(
                b"another-secret-another-secret-xx",
                &header,
                body,
                1100,
                300
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, "v1=00", body, 1000, 300),
            Err(VerifyError::Malformed)
        );
        // A replay with a fresh `t` but the old signature fails too.
        let forged = header.replace("t=1000", "t=1390");
        assert_eq!(
            verify(SECRET, &forged, body, 1400, 300),
            Err(VerifyError::Mismatch)
        );
    }
}
