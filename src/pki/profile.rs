//! A trust profile validated: every file read and parsed once at start-up. Errors name the key
//! (`trust.beid_auth.anchors[0]`) and never quote file contents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use openssl::nid::Nid;
use openssl::x509::X509;
use url::Url;

use super::cert::DecodedCert;
use super::config::{
    eku_oid, is_dotted_oid, KeyUsageBit, OneOrAll, RevocationPolicy, RevocationScope,
    TrustProfileConfig,
};
use crate::setting_error::ConfigError;

/// Where a CRL comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CrlSource {
    Url(Url),
    File(PathBuf),
}

impl CrlSource {
    pub fn describe(&self) -> String {
        match self {
            CrlSource::Url(u) => u.to_string(),
            CrlSource::File(p) => p.display().to_string(),
        }
    }
}

/// A designated responder, validated.
#[derive(Debug, Clone)]
pub struct OcspResponder {
    pub issuer: X509,
    pub url: Url,
    pub responder: Option<X509>,
    pub require_nonce: bool,
}

/// Allowed public keys of the leaf.
#[derive(Debug, Clone)]
pub struct KeyRules {
    pub rsa_min_bits: u32,
    pub rsa_max_bits: u32,
    pub ec_curves: Vec<Nid>,
}

/// A trust profile with every file loaded: what validation runs against.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub demo: bool,
    pub anchors: Vec<DecodedCert>,
    pub intermediates: Vec<DecodedCert>,
    pub ocsp: Vec<OcspResponder>,
    pub crl: Vec<CrlSource>,
    pub revocation: RevocationPolicy,
    pub revocation_scope: RevocationScope,
    pub ca_ocsp_from_aia: bool,
    pub key_usage: Vec<KeyUsageBit>,
    /// Alternatives of all-of OID sets.
    pub eku: Vec<Vec<String>>,
    pub eku_optional: bool,
    pub policies: Vec<Vec<String>>,
    pub forbid_policies: Vec<String>,
    pub keys: KeyRules,
    pub timeout: Duration,
    pub skew: Duration,
}

fn resolve(base_dir: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// Reads a PEM file holding one or more certificates.
pub(crate) fn read_certs(path: &Path) -> Result<Vec<X509>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read ({})", e.kind()))?;
    let certs =
        X509::stack_from_pem(&bytes).map_err(|_| "is not a PEM certificate file".to_string())?;
    if certs.is_empty() {
        return Err("contains no certificate".into());
    }
    Ok(certs)
}

fn is_ca(cert: &X509) -> bool {
    cert.to_der()
        .ok()
        .is_some_and(|der| x509_parser::parse_x509_certificate(&der).is_ok_and(|(_, c)| c.is_ca()))
}

/// The organisation name of the card test PKI's certificates (`simulate card`). Ours, so a
/// production configuration can refuse it as an anchor; the simulator takes it from here.
pub const TEST_PKI_ORG: &str = "auth-eid test PKI";
/// The organisation name of the Smart-ID simulator's certificates (`simulate smart-id`).
pub const SIMULATOR_ORG: &str = "auth-eid simulator";

/// Subjects of well-known test hierarchies, and of this project's own simulators (their
/// organisation names, and the "(not for production)" mark in their CNs): refused in production
/// even when the profile forgot `demo = true` (threat T29). The simulators make new keys at
/// every run, so names are what stays the same, not fingerprints.
fn looks_like_test_anchor(cert: &X509) -> bool {
    let texts = |nid| {
        cert.subject_name()
            .entries_by_nid(nid)
            .filter_map(|e| e.data().to_string().ok())
            .collect::<Vec<_>>()
    };
    let test_cn = texts(Nid::COMMONNAME).iter().any(|cn| {
        cn.starts_with("TEST of ")
            || cn.contains("eID TEST")
            || cn.contains("DEMO")
            || cn.contains("(not for production)")
    });
    let our_org = texts(Nid::ORGANIZATIONNAME)
        .iter()
        .any(|o| o == TEST_PKI_ORG || o == SIMULATOR_ORG);
    test_cn || our_org
}

impl Profile {
    /// Validates one raw profile. `key` is `trust.<name>`.
    pub fn load(
        name: &str,
        raw: &TrustProfileConfig,
        base_dir: &Path,
        production: bool,
    ) -> Result<Profile, Vec<ConfigError>> {
        let key = format!("trust.{name}");
        let mut errors = Vec::new();
        let mut err = |k: String, p: &str| errors.push(ConfigError::key(k, p));

        if production && raw.demo {
            err(
                format!("{key}.demo"),
                "demo trust anchors are refused in production mode",
            );
        }
        if raw.anchors.is_empty() {
            err(format!("{key}.anchors"), "needs at least one trust anchor");
        }
        let load_cas = |list: &[String], field: &str, err: &mut dyn FnMut(String, &str)| {
            let mut out = Vec::new();
            for (i, p) in list.iter().enumerate() {
                let k = format!("{key}.{field}[{i}]");
                match read_certs(&resolve(base_dir, p)) {
                    Ok(certs) => {
                        for c in certs {
                            if !is_ca(&c) {
                                err(k.clone(), "holds a certificate that is not a CA");
                            } else if production && field == "anchors" && looks_like_test_anchor(&c)
                            {
                                err(k.clone(), "is a test anchor, refused in production mode");
                            }
                            match DecodedCert::from_x509(c) {
                                Ok(c) => out.push(c),
                                Err(_) => {
                                    err(k.clone(), "holds a certificate that cannot be encoded")
                                }
                            }
                        }
                    }
                    Err(problem) => err(k, &problem),
                }
            }
            out
        };
        let anchors = load_cas(&raw.anchors, "anchors", &mut err);
        let intermediates = load_cas(&raw.intermediates, "intermediates", &mut err);

        let mut ocsp = Vec::new();
        for (i, o) in raw.ocsp.iter().enumerate() {
            let k = format!("{key}.ocsp[{i}]");
            let issuer = match read_certs(&resolve(base_dir, &o.issuer)) {
                Ok(mut c) if c.len() == 1 => c.pop(),
                Ok(_) => {
                    err(format!("{k}.issuer"), "must hold exactly one certificate");
                    None
                }
                Err(p) => {
                    err(format!("{k}.issuer"), &p);
                    None
                }
            };
            let url = match Url::parse(&o.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                _ => {
                    err(format!("{k}.url"), "must be an http(s) URL");
                    None
                }
            };
            let responder = match &o.responder {
                None => Some(None),
                Some(p) => match read_certs(&resolve(base_dir, p)) {
                    Ok(mut c) if c.len() == 1 => Some(c.pop()),
                    Ok(_) => {
                        err(
                            format!("{k}.responder"),
                            "must hold exactly one certificate",
                        );
                        None
                    }
                    Err(p) => {
                        err(format!("{k}.responder"), &p);
                        None
                    }
                },
            };
            if let (Some(issuer), Some(url), Some(responder)) = (issuer, url, responder) {
                ocsp.push(OcspResponder {
                    issuer,
                    url,
                    responder,
                    require_nonce: o.require_nonce,
                });
            }
        }

        let mut crl = Vec::new();
        for (i, c) in raw.crl.iter().enumerate() {
            let k = format!("{key}.crl[{i}]");
            if c.starts_with("http://") || c.starts_with("https://") {
                match Url::parse(c) {
                    Ok(u) if u.host().is_some() => crl.push(CrlSource::Url(u)),
                    _ => err(k, "is not a valid URL"),
                }
            } else {
                let path = resolve(base_dir, c);
                // Read once now so a typo is a start-up error; it is re-read when stale.
                match std::fs::read(&path) {
                    Ok(bytes) if super::crl::parse_crl(&bytes).is_ok() => {
                        crl.push(CrlSource::File(path))
                    }
                    Ok(_) => err(k, "is not a CRL (DER or PEM)"),
                    Err(e) => err(k, &format!("cannot be read ({})", e.kind())),
                }
            }
        }

        let mut key_usage = Vec::new();
        for (i, s) in raw.require_key_usage.iter().enumerate() {
            match KeyUsageBit::parse(s) {
                Some(b) => key_usage.push(b),
                None => err(
                    format!("{key}.require_key_usage[{i}]"),
                    "is not a key usage name (digitalSignature, nonRepudiation, keyEncipherment, \
                     dataEncipherment, keyAgreement, keyCertSign, cRLSign)",
                ),
            }
        }
        let mut alternatives = |list: &[OneOrAll], field: &str, names: bool| {
            let mut out = Vec::new();
            for (i, alt) in list.iter().enumerate() {
                let mut set = Vec::new();
                for item in alt.items() {
                    let oid = if names {
                        eku_oid(item)
                    } else {
                        is_dotted_oid(item).then(|| item.to_string())
                    };
                    match oid {
                        Some(o) => set.push(o),
                        None => err(
                            format!("{key}.{field}[{i}]"),
                            "is not a dotted OID or known name",
                        ),
                    }
                }
                if set.is_empty() {
                    err(format!("{key}.{field}[{i}]"), "must not be empty");
                }
                out.push(set);
            }
            out
        };
        let eku = alternatives(&raw.require_eku, "require_eku", true);
        let policies = alternatives(&raw.require_policies, "require_policies", false);
        for (i, p) in raw.forbid_policies.iter().enumerate() {
            if !is_dotted_oid(p) {
                err(format!("{key}.forbid_policies[{i}]"), "is not a dotted OID");
            }
        }

        let mut ec_curves = Vec::new();
        for (i, c) in raw.ec_curves.iter().enumerate() {
            match c.as_str() {
                "P-256" => ec_curves.push(Nid::X9_62_PRIME256V1),
                "P-384" => ec_curves.push(Nid::SECP384R1),
                "P-521" => ec_curves.push(Nid::SECP521R1),
                _ => err(
                    format!("{key}.ec_curves[{i}]"),
                    "must be P-256, P-384 or P-521",
                ),
            }
        }
        if raw.rsa_min_bits < 2048 && raw.rsa_max_bits > 0 {
            err(
                format!("{key}.rsa_min_bits"),
                "must be at least 2048 (set rsa_max_bits = 0 to refuse RSA)",
            );
        }
        if raw.rsa_max_bits > 16384 || (raw.rsa_max_bits > 0 && raw.rsa_max_bits < raw.rsa_min_bits)
        {
            err(
                format!("{key}.rsa_max_bits"),
                "must be 0 (no RSA) or between rsa_min_bits and 16384",
            );
        }
        if raw.timeout_seconds == 0 || raw.timeout_seconds > 60 {
            err(format!("{key}.timeout_seconds"), "must be between 1 and 60");
        }
        if raw.clock_skew_seconds > 3600 {
            err(format!("{key}.clock_skew_seconds"), "must be at most 3600");
        }
        if raw.revocation != RevocationPolicy::Off && raw.ocsp.is_empty() && raw.crl.is_empty() {
            err(
                format!("{key}.revocation"),
                "needs at least one `ocsp` responder or `crl` source (or revocation = \"off\")",
            );
        }
        if raw.ca_ocsp_from_aia && raw.revocation_scope == RevocationScope::Leaf {
            err(
                format!("{key}.ca_ocsp_from_aia"),
                "only applies to CA certificates: needs revocation_scope = \"chain\"",
            );
        }
        if production && raw.revocation == RevocationPolicy::Off {
            err(
                format!("{key}.revocation"),
                "\"off\" is refused in production mode",
            );
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Profile {
            name: name.to_string(),
            demo: raw.demo,
            anchors,
            intermediates,
            ocsp,
            crl,
            revocation: raw.revocation,
            revocation_scope: raw.revocation_scope,
            ca_ocsp_from_aia: raw.ca_ocsp_from_aia,
            key_usage,
            eku,
            eku_optional: raw.eku_optional,
            policies,
            forbid_policies: raw.forbid_policies.clone(),
            keys: KeyRules {
                rsa_min_bits: raw.rsa_min_bits,
                rsa_max_bits: raw.rsa_max_bits,
                ec_curves,
            },
            timeout: Duration::from_secs(raw.timeout_seconds),
            skew: Duration::from_secs(raw.clock_skew_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};

    use super::*;

    /// The card simulator's root as the only `beid_auth` anchor, without `demo = true`.
    fn load_with_test_root(production: bool) -> Result<Profile, Vec<ConfigError>> {
        let dir = tempfile::tempdir().unwrap();
        crate::simulate::card::TestPki::load_or_create(dir.path()).unwrap();
        let text = format!(
            "anchors = [\"{}\"]\nrevocation = \"off\"",
            dir.path().join("root.pem").display()
        );
        let raw: TrustProfileConfig = figment::Figment::from(Toml::string(&text))
            .extract()
            .unwrap();
        Profile::load("beid_auth", &raw, dir.path(), production)
    }

    #[test]
    fn production_refuses_the_projects_test_root_even_without_the_demo_flag() {
        let Err(errors) = load_with_test_root(true) else {
            panic!("the test root was accepted in production")
        };
        let anchor = errors
            .iter()
            .find(|e| e.key == "trust.beid_auth.anchors[0]")
            .unwrap_or_else(|| panic!("{errors:?}"));
        assert!(anchor.problem.contains("test anchor"), "{anchor}");
        let demo = load_with_test_root(false);
        assert!(demo.is_ok(), "{:?}", demo.err());
    }
}
