//! The CPU-bound half of a validation, run off the async workers (`crate::cpu`): OpenSSL's
//! path validation and the profile's rules on the leaf. Every certificate is decoded by OpenSSL
//! once (before this step, or here for a supplied intermediate the cache lacks) and parsed by
//! x509-parser once; nothing is re-encoded. The network half (revocation) follows in
//! `store.rs` with the chain found here.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use super::cert::DecodedCert;
use super::checks;
use super::identity::{identity_of, CertIdentity};
use super::path;
use super::profile::Profile;
use super::report::{CertSummary, Check, CheckResult};
use super::PkiError;

/// A supplied intermediate: decoded already (from the cache) or still DER.
pub(super) enum Supplied {
    Decoded(DecodedCert),
    Der(Vec<u8>),
}

/// What the blocking half found.
pub(super) struct Assessed {
    /// The path OpenSSL built, leaf first, anchor last (just the leaf when there is none).
    pub chain: Vec<DecodedCert>,
    /// Whether the path reached an anchor (time errors aside).
    pub trusted: bool,
    pub checks: Vec<Check>,
    pub summaries: Vec<CertSummary>,
    pub identity: Option<CertIdentity>,
}

impl Assessed {
    /// Everything so far passed: revocation may be asked (T10: never for anything less).
    pub fn revocable(&self) -> bool {
        self.trusted && !self.checks.iter().any(|c| c.result == CheckResult::Fail)
    }

    fn refused(leaf: &DecodedCert, summaries: Vec<CertSummary>, c: Check) -> Self {
        Assessed {
            summaries,
            chain: vec![leaf.clone()],
            trusted: false,
            checks: vec![c],
            identity: None,
        }
    }
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], c)) => Some(c),
        _ => None,
    }
}

pub(super) fn assess(
    p: &Profile,
    leaf: &DecodedCert,
    supplied: Vec<Supplied>,
    at: OffsetDateTime,
) -> Result<Assessed, PkiError> {
    let Some(leaf_parsed) = parse(leaf.der()) else {
        let c = Check::fail("parse", "not a DER X.509 certificate");
        return Ok(Assessed::refused(leaf, vec![], c));
    };
    let mut untrusted = Vec::with_capacity(supplied.len() + p.intermediates.len());
    for (i, s) in supplied.into_iter().enumerate() {
        match s {
            Supplied::Decoded(c) => untrusted.push(c),
            Supplied::Der(der) => match DecodedCert::from_der(&der) {
                Ok(c) => untrusted.push(c),
                Err(why) => {
                    let c = Check::fail("parse", format!("intermediate {i}: {why}"));
                    let summary =
                        CertSummary::from_parsed(leaf.x509(), leaf.der(), Some(&leaf_parsed));
                    return Ok(Assessed::refused(leaf, vec![summary], c));
                }
            },
        }
    }
    untrusted.extend(p.intermediates.iter().cloned());

    let mut list = Vec::new();
    let at_unix = at.unix_timestamp();
    let outcome = path::verify(&p.anchors, leaf.x509(), &untrusted, at_unix, false)
        .map_err(|_| PkiError::Internal)?;
    let mut found = outcome.chain.clone();
    let mut trusted = outcome.is_ok();
    match outcome.error {
        None if found.len() < 2 => {
            trusted = false;
            list.push(Check::fail("anchor", "the leaf is itself a trust anchor"));
            list.push(Check::skipped("signature", "no path below an anchor"));
        }
        None => push_path_pass(&mut list),
        Some((err, _)) if path::is_time_error(err.as_raw()) => {
            // Expired somewhere: ask OpenSSL again with the clock ignored, so the report
            // still says whether the path itself is trusted.
            let again = path::verify(&p.anchors, leaf.x509(), &untrusted, at_unix, true)
                .map_err(|_| PkiError::Internal)?;
            if again.is_ok() && again.chain.len() >= 2 {
                found = again.chain;
                push_path_pass(&mut list);
            } else {
                push_path_failure(&mut list, &again);
            }
        }
        Some(_) => push_path_failure(&mut list, &outcome),
    }
    // OpenSSL's chain holds the very certificates it was given: map them back to their DER.
    let known = |x: &openssl::x509::X509| {
        std::iter::once(leaf)
            .chain(&untrusted)
            .chain(&p.anchors)
            .find(|c| c.x509() == x)
            .cloned()
            .or_else(|| DecodedCert::from_x509(x.clone()).ok())
    };
    let chain: Vec<DecodedCert> = match found.split_first() {
        Some((_, rest)) => std::iter::once(Some(leaf.clone()))
            .chain(rest.iter().map(known))
            .collect::<Option<_>>()
            .unwrap_or_default(),
        None => vec![leaf.clone()],
    };
    let rest: Vec<X509Certificate<'_>> = chain
        .iter()
        .skip(1)
        .filter_map(|c| parse(c.der()))
        .collect();
    if chain.is_empty() || rest.len() + 1 != chain.len() {
        list.push(Check::fail("parse", "a certificate could not be read"));
        let summaries = chain.iter().map(|c| CertSummary::of(c.x509())).collect();
        return Ok(Assessed {
            chain,
            trusted: false,
            checks: list,
            summaries,
            identity: None,
        });
    }
    let parsed: Vec<&X509Certificate<'_>> = std::iter::once(&leaf_parsed).chain(&rest).collect();
    list.push(checks::validity(&parsed, at));
    list.push(checks::end_entity(&leaf_parsed));
    list.push(checks::key(leaf.x509(), p));
    list.push(checks::key_usage(&leaf_parsed, p));
    list.push(checks::eku(&leaf_parsed, p));
    list.push(checks::policy(&leaf_parsed, p));
    let summaries: Vec<CertSummary> = chain
        .iter()
        .zip(&parsed)
        .map(|(c, parsed)| CertSummary::from_parsed(c.x509(), c.der(), Some(parsed)))
        .collect();
    if let (Some(anchor), Some(c)) = (
        summaries.last(),
        list.iter_mut()
            .find(|c| c.name == "anchor" && c.result == CheckResult::Pass),
    ) {
        c.reason = format!("chains to the configured anchor {}", anchor.subject);
    }
    Ok(Assessed {
        identity: Some(identity_of(&leaf_parsed)),
        chain,
        trusted,
        checks: list,
        summaries,
    })
}

fn push_path_pass(list: &mut Vec<Check>) {
    list.push(Check::pass("anchor", "chains to a configured anchor"));
    list.push(Check::pass(
        "signature",
        "every signature on the path verified",
    ));
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
