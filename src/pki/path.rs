//! Path validation with OpenSSL's verifier: leaf + untrusted intermediates to a configured
//! anchor, at a given time. No chain building of our own.

use openssl::error::ErrorStack;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509StoreContext, X509VerifyResult, X509};

use super::cert::DecodedCert;

/// Longest path we let OpenSSL build (leaf, up to 4 CAs, anchor): a bound on work (T24).
const MAX_DEPTH: i32 = 5;
/// OpenSSL security level 2 (112 bits): refuses RSA < 2048 and SHA-1/MD5 signatures anywhere
/// below the anchor.
const AUTH_LEVEL: i32 = 2;

/// Outcome of OpenSSL's verification.
pub struct PathOutcome {
    /// The chain OpenSSL built (leaf first), complete when `error` is None.
    pub chain: Vec<X509>,
    /// OpenSSL's error and the depth it was found at.
    pub error: Option<(X509VerifyResult, u32)>,
}

impl PathOutcome {
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// OpenSSL error codes that are about time only (checked again with the clock ignored to tell
/// "expired" from "untrusted").
pub fn is_time_error(code: i32) -> bool {
    // X509_V_ERR_CERT_NOT_YET_VALID 9, CERT_HAS_EXPIRED 10,
    // ERROR_IN_CERT_NOT_BEFORE_FIELD 13, ERROR_IN_CERT_NOT_AFTER_FIELD 14.
    matches!(code, 9 | 10 | 13 | 14)
}

/// X509_V_ERR_CERT_SIGNATURE_FAILURE.
pub const SIGNATURE_FAILURE: i32 = 7;

/// Builds the store for one verification: the verification time lives in the store's
/// parameters (the safe API has no per-context time), and building it is cheap next to the
/// signature checks (anchors are reference-counted, not copied).
fn store_at(
    anchors: &[DecodedCert],
    at_unix: i64,
    ignore_time: bool,
) -> Result<X509Store, ErrorStack> {
    let mut builder = X509StoreBuilder::new()?;
    let mut partial = false;
    for a in anchors.iter().map(DecodedCert::x509) {
        // A non-self-signed anchor (a pinned issuing CA) is only a trust anchor for OpenSSL
        // with PARTIAL_CHAIN; every certificate in this store is one we chose to trust.
        if a.issued(a) != X509VerifyResult::OK {
            partial = true;
        }
        builder.add_cert(a.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    let mut flags = X509VerifyFlags::empty();
    if partial {
        flags |= X509VerifyFlags::PARTIAL_CHAIN;
    }
    if ignore_time {
        flags |= X509VerifyFlags::NO_CHECK_TIME;
    } else {
        param.set_time(at_unix as _);
    }
    param.set_flags(flags)?;
    param.set_depth(MAX_DEPTH);
    param.set_auth_level(AUTH_LEVEL);
    builder.set_param(&param)?;
    Ok(builder.build())
}

/// Verifies `leaf` with `untrusted` as path-building material, at `at_unix` (or with time
/// checks off when `ignore_time`).
pub fn verify(
    anchors: &[DecodedCert],
    leaf: &X509,
    untrusted: &[DecodedCert],
    at_unix: i64,
    ignore_time: bool,
) -> Result<PathOutcome, ErrorStack> {
    let store = store_at(anchors, at_unix, ignore_time)?;
    let mut stack = Stack::new()?;
    for c in untrusted {
        stack.push(c.x509().clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    ctx.init(&store, leaf, &stack, |ctx| {
        let ok = ctx.verify_cert()?;
        let chain: Vec<X509> = ctx
            .chain()
            .map(|c| c.iter().map(|x| x.to_owned()).collect())
            .unwrap_or_default();
        let error = if ok {
            None
        } else {
            Some((ctx.error(), ctx.error_depth()))
        };
        Ok(PathOutcome { chain, error })
    })
}
