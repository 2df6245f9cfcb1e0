//! The profile's rules on the leaf, read with x509-parser: end entity, key, key usage, EKU,
//! policies, and validity of every certificate of the chain. Each yields one report check.

use openssl::x509::X509;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use super::config::KeyUsageBit;
use super::profile::Profile;
use super::report::{curve_name, key_info, rfc3339, Check};

pub fn end_entity(leaf: &X509Certificate<'_>) -> Check {
    match leaf.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => Check::fail("end_entity", "the leaf is a CA certificate"),
        Ok(_) => Check::pass("end_entity", "the leaf is not a CA certificate"),
        Err(_) => Check::fail("end_entity", "the leaf has more than one basicConstraints"),
    }
}

pub fn key(leaf: &X509, p: &Profile) -> Check {
    let (kind, bits, nid) = key_info(leaf);
    let r = &p.keys;
    match kind.as_str() {
        "RSA" if r.rsa_max_bits > 0 && (r.rsa_min_bits..=r.rsa_max_bits).contains(&bits) => {
            Check::pass("key", format!("RSA {bits} bits"))
        }
        "RSA" => Check::fail(
            "key",
            format!(
                "RSA {bits} bits is outside the allowed {}..{} bits",
                r.rsa_min_bits, r.rsa_max_bits
            ),
        ),
        "EC" => match nid {
            Some(n) if r.ec_curves.contains(&n) => {
                Check::pass("key", format!("EC {}", curve_name(n)))
            }
            Some(n) => Check::fail("key", format!("EC curve {} is not allowed", curve_name(n))),
            None => Check::fail("key", "EC key without a named curve"),
        },
        other => Check::fail("key", format!("key type {other} is not allowed")),
    }
}

pub fn key_usage(leaf: &X509Certificate<'_>, p: &Profile) -> Check {
    if p.key_usage.is_empty() {
        return Check::skipped("key_usage", "the profile requires no key usage");
    }
    let ku = match leaf.key_usage() {
        Ok(Some(ku)) => *ku.value,
        Ok(None) => return Check::fail("key_usage", "the leaf has no keyUsage extension"),
        Err(_) => return Check::fail("key_usage", "the leaf's keyUsage is malformed or repeated"),
    };
    let has = |b: KeyUsageBit| match b {
        KeyUsageBit::DigitalSignature => ku.digital_signature(),
        KeyUsageBit::NonRepudiation => ku.non_repudiation(),
        KeyUsageBit::KeyEncipherment => ku.key_encipherment(),
        KeyUsageBit::DataEncipherment => ku.data_encipherment(),
        KeyUsageBit::KeyAgreement => ku.key_agreement(),
        KeyUsageBit::KeyCertSign => ku.key_cert_sign(),
        KeyUsageBit::CrlSign => ku.crl_sign(),
    };
    let missing: Vec<&str> = p
        .key_usage
        .iter()
        .filter(|b| !has(**b))
        .map(|b| b.name())
        .collect();
    if missing.is_empty() {
        Check::pass("key_usage", "all required key usages present")
    } else {
        Check::fail(
            "key_usage",
            format!("missing key usage: {}", missing.join(", ")),
        )
    }
}

fn eku_oids(leaf: &X509Certificate<'_>) -> Result<Option<Vec<String>>, ()> {
    let eku = match leaf.extended_key_usage() {
        Ok(Some(e)) => e.value.clone(),
        Ok(None) => return Ok(None),
        Err(_) => return Err(()),
    };
    let mut v: Vec<String> = eku.other.iter().map(|o| o.to_id_string()).collect();
    for (set, oid) in [
        (eku.any, "2.5.29.37.0"),
        (eku.server_auth, "1.3.6.1.5.5.7.3.1"),
        (eku.client_auth, "1.3.6.1.5.5.7.3.2"),
        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ] {
        if set {
            v.push(oid.to_string());
        }
    }
    Ok(Some(v))
}

/// True when some alternative has all its OIDs in `present`.
fn any_alternative(alternatives: &[Vec<String>], present: &[String]) -> bool {
    alternatives
        .iter()
        .any(|alt| alt.iter().all(|o| present.contains(o)))
}

fn describe(alternatives: &[Vec<String>]) -> String {
    alternatives
        .iter()
        .map(|a| a.join(" + "))
        .collect::<Vec<_>>()
        .join(" or ")
}

pub fn eku(leaf: &X509Certificate<'_>, p: &Profile) -> Check {
    if p.eku.is_empty() {
        return Check::skipped("eku", "the profile requires no extended key usage");
    }
    // anyExtendedKeyUsage is not taken as a wildcard: the profile names what it accepts.
    match eku_oids(leaf) {
        Err(()) => Check::fail(
            "eku",
            "the leaf's extendedKeyUsage is malformed or repeated",
        ),
        Ok(None) if p.eku_optional => {
            Check::pass("eku", "no extendedKeyUsage, which this profile allows")
        }
        Ok(None) => Check::fail("eku", "the leaf has no extendedKeyUsage extension"),
        Ok(Some(present)) if any_alternative(&p.eku, &present) => {
            Check::pass("eku", format!("has {}", present.join(", ")))
        }
        Ok(Some(present)) => Check::fail(
            "eku",
            format!("has {}; needs {}", present.join(", "), describe(&p.eku)),
        ),
    }
}

fn policy_oids(leaf: &X509Certificate<'_>) -> Result<Vec<String>, ()> {
    let mut out = Vec::new();
    for ext in leaf.extensions() {
        if let ParsedExtension::CertificatePolicies(pols) = ext.parsed_extension() {
            out.extend(pols.iter().map(|p| p.policy_id.to_id_string()));
        } else if ext.oid.to_id_string() == "2.5.29.32" {
            return Err(());
        }
    }
    Ok(out)
}

pub fn policy(leaf: &X509Certificate<'_>, p: &Profile) -> Check {
    if p.policies.is_empty() && p.forbid_policies.is_empty() {
        return Check::skipped("policy", "the profile requires no certificate policy");
    }
    let Ok(present) = policy_oids(leaf) else {
        return Check::fail("policy", "the leaf's certificatePolicies is malformed");
    };
    if let Some(bad) = present.iter().find(|o| p.forbid_policies.contains(o)) {
        return Check::fail(
            "policy",
            format!("policy {bad} is forbidden in this profile"),
        );
    }
    if p.policies.is_empty() || any_alternative(&p.policies, &present) {
        Check::pass("policy", format!("has {}", present.join(", ")))
    } else {
        Check::fail(
            "policy",
            format!(
                "has [{}]; needs {}",
                present.join(", "),
                describe(&p.policies)
            ),
        )
    }
}

/// Every certificate of the chain must be inside its validity at `at`. Judged here, apart
/// from OpenSSL, so the report names which certificate and when even after a path failure.
pub fn validity(chain: &[&X509Certificate<'_>], at: OffsetDateTime) -> Check {
    for (depth, c) in chain.iter().enumerate() {
        let nb = c.validity().not_before.to_datetime();
        let na = c.validity().not_after.to_datetime();
        if at < nb {
            return Check::fail(
                "validity",
                format!(
                    "certificate at depth {depth} is not valid before {}",
                    rfc3339(nb)
                ),
            );
        }
        if at > na {
            return Check::fail(
                "validity",
                format!("certificate at depth {depth} expired at {}", rfc3339(na)),
            );
        }
    }
    Check::pass(
        "validity",
        format!("all {} certificates valid at {}", chain.len(), rfc3339(at)),
    )
}
