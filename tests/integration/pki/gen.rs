//! The test PKI, generated once per test process with the openssl crate into a directory under
//! CARGO_TARGET_TMPDIR. All names are obviously fictional.

#![allow(deprecated)] // X509Extension::new: the config-string form is the shortest for tests

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Extension, X509NameBuilder, X509};

pub const DAY: i64 = 86_400;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(Clone, Copy)]
pub enum KeyKind {
    Rsa(u32),
    Ec(Nid),
}

pub fn new_key(kind: KeyKind) -> PKey<Private> {
    match kind {
        KeyKind::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap(),
        KeyKind::Ec(nid) => {
            let group = EcGroup::from_curve_name(nid).unwrap();
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
        }
    }
}

pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// What a certificate should look like.
pub struct Spec<'a> {
    pub cn: &'a str,
    /// Extra subject attributes (serialNumber, givenName, ...).
    pub subject: Vec<(Nid, &'a str)>,
    pub key: KeyKind,
    /// None: self-signed.
    pub issuer: Option<&'a Issued>,
    pub not_before: i64,
    pub not_after: i64,
    pub ca: bool,
    pub key_usage: Option<&'a str>,
    pub eku: Option<&'a str>,
    pub policies: Option<&'a str>,
    pub aia: Option<String>,
    pub crl_dp: Option<String>,
    /// Raw extensions: (OID, DER value); an OID written with a leading `!` is critical.
    pub raw_ext: Vec<(&'a str, Vec<u8>)>,
}

impl<'a> Spec<'a> {
    pub fn leaf(cn: &'a str, issuer: &'a Issued) -> Spec<'a> {
        Spec {
            cn,
            subject: vec![],
            key: KeyKind::Ec(Nid::X9_62_PRIME256V1),
            issuer: Some(issuer),
            not_before: now() - DAY,
            not_after: now() + 365 * DAY,
            ca: false,
            key_usage: Some("critical,digitalSignature"),
            eku: Some("clientAuth"),
            policies: None,
            aia: None,
            crl_dp: None,
            raw_ext: vec![],
        }
    }

    pub fn ca(cn: &'a str, key: KeyKind, issuer: Option<&'a Issued>) -> Spec<'a> {
        Spec {
            cn,
            subject: vec![
                (Nid::COUNTRYNAME, "ZZ"),
                (Nid::ORGANIZATIONNAME, "Test PKI"),
            ],
            key,
            issuer,
            not_before: now() - 30 * DAY,
            not_after: now() + 3650 * DAY,
            ca: true,
            key_usage: Some("critical,keyCertSign,cRLSign"),
            eku: None,
            policies: None,
            aia: None,
            crl_dp: None,
            raw_ext: vec![],
        }
    }
}

pub fn issue(spec: &Spec<'_>) -> Issued {
    let key = new_key(spec.key);
    let mut name = X509NameBuilder::new().unwrap();
    for (nid, v) in &spec.subject {
        name.append_entry_by_nid(*nid, v).unwrap();
    }
    name.append_entry_by_nid(Nid::COMMONNAME, spec.cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = {
        let mut bn = BigNum::new().unwrap();
        bn.rand(63, MsbOption::MAYBE_ZERO, false).unwrap();
        bn.to_asn1_integer().unwrap()
    };
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    match spec.issuer {
        Some(i) => b.set_issuer_name(i.cert.subject_name()).unwrap(),
        None => b.set_issuer_name(&name).unwrap(),
    }
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(spec.not_before as _).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(spec.not_after as _).unwrap())
        .unwrap();
    let mut exts: Vec<(&str, String)> = vec![(
        "basicConstraints",
        if spec.ca {
            "critical,CA:TRUE"
        } else {
            "critical,CA:FALSE"
        }
        .to_string(),
    )];
    exts.push(("subjectKeyIdentifier", "hash".into()));
    if spec.issuer.is_some() {
        exts.push(("authorityKeyIdentifier", "keyid:always".into()));
    }
    if let Some(ku) = spec.key_usage {
        exts.push(("keyUsage", ku.into()));
    }
    if let Some(e) = spec.eku {
        exts.push(("extendedKeyUsage", e.into()));
    }
    if let Some(a) = &spec.aia {
        exts.push(("authorityInfoAccess", a.clone()));
    }
    if let Some(c) = &spec.crl_dp {
        exts.push(("crlDistributionPoints", c.clone()));
    }
    let built: Vec<X509Extension> = {
        let ctx = b.x509v3_context(spec.issuer.map(|i| i.cert.as_ref()), None);
        exts.iter()
            .map(|(n, v)| X509Extension::new(None, Some(&ctx), n, v).unwrap())
            .collect()
    };
    for e in built {
        b.append_extension(e).unwrap();
    }
    let mut raw_ext = spec.raw_ext.clone();
    if let Some(p) = spec.policies {
        // The config-string form of certificatePolicies needs an OpenSSL config database.
        raw_ext.push(("2.5.29.32", policies_ext(p)));
    }
    for (oid, der) in &raw_ext {
        let (oid, critical) = match oid.strip_prefix('!') {
            Some(o) => (o, true),
            None => (*oid, false),
        };
        let e = X509Extension::new_from_der(
            &Asn1Object::from_str(oid).unwrap(),
            critical,
            &Asn1OctetString::new_from_bytes(der).unwrap(),
        )
        .unwrap();
        b.append_extension(e).unwrap();
    }
    let signer = spec.issuer.map(|i| &i.key).unwrap_or(&key);
    let md = match signer.id() {
        openssl::pkey::Id::EC if signer.bits() > 256 => MessageDigest::sha384(),
        _ => MessageDigest::sha256(),
    };
    b.sign(signer, md).unwrap();
    Issued {
        cert: b.build(),
        key,
    }
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        vec![0x81, n as u8]
    }
}

/// certificatePolicies: SEQUENCE OF SEQUENCE { OID } for comma-separated OIDs.
pub fn policies_ext(oids: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for oid in oids.split(',') {
        let o = Asn1Object::from_str(oid.trim()).unwrap();
        let mut info = vec![0x06];
        info.extend(der_len(o.as_slice().len()));
        info.extend_from_slice(o.as_slice());
        body.push(0x30);
        body.extend(der_len(info.len()));
        body.extend(info);
    }
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

/// subjectDirectoryAttributes with dateOfBirth as Smart-ID writes it.
pub fn date_of_birth_ext(yyyymmdd: &str) -> Vec<u8> {
    let mut attr = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01];
    attr.extend_from_slice(&[0x31, 0x11, 0x18, 0x0f]);
    attr.extend_from_slice(format!("{yyyymmdd}120000Z").as_bytes());
    let mut seq = vec![0x30, attr.len() as u8];
    seq.extend_from_slice(&attr);
    let mut outer = vec![0x30, seq.len() as u8];
    outer.extend_from_slice(&seq);
    outer
}

pub fn write_issued(dir: &Path, name: &str, i: &Issued) {
    std::fs::write(dir.join(format!("{name}.pem")), i.cert.to_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join(format!("{name}.key")),
        i.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
}

pub fn der(i: &Issued) -> Vec<u8> {
    i.cert.to_der().unwrap()
}
