//! Tests of `auth_eid::pki` against a test PKI generated at test time and a real
//! `openssl ocsp` responder.

mod chain;
mod cli;
mod config;
mod crl;
pub mod gen;
mod ocsp;
mod path;
pub mod responder;
mod world;

use std::time::SystemTime;

use auth_eid::pki::{Check, CheckResult, RevocationSource, TrustStore, Validation, Verdict};

/// The named check of a report; panics (test failure) when it is missing.
pub fn check<'a>(v: &'a Validation, name: &str) -> &'a Check {
    v.report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no `{name}` check in {:#?}", v.report))
}

/// `v` is invalid because `source` said revoked; the revocation reason contains `part`.
pub fn refused_by(v: &Validation, source: RevocationSource, part: &str) {
    assert_eq!(v.verdict, Verdict::Invalid, "{:#?}", v.report);
    let c = check(v, "revocation");
    assert_eq!((c.result, c.source), (CheckResult::Fail, Some(source)));
    assert!(c.reason.contains(part), "{}", c.reason);
}

pub fn result(v: &Validation, name: &str) -> CheckResult {
    check(v, name).result
}

pub async fn validate(store: &TrustStore, profile: &str, leaf: &gen::Issued) -> Validation {
    store
        .validate(profile, &gen::der(leaf), &[], SystemTime::now())
        .await
        .expect("known profile")
}
