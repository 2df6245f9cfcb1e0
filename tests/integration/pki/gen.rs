//! The test PKI, generated once per test process with the openssl crate into a directory under
//! CARGO_TARGET_TMPDIR. All names are obviously fictional.

#![allow(deprecated)] // X509Extension::new: the config-string form is the shortest for tests

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
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
    /// Raw extensions: (OID, DER value).
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
        let e = X509Extension::new_from_der(
            &Asn1Object::from_str(oid).unwrap(),
            false,
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

/// The shared test PKI.
pub struct World {
    pub dir: PathBuf,
    pub rsa_root: Issued,
    pub rsa_int: Issued,
    pub ec_root: Issued,
    pub ec_int: Issued,
    /// A rogue root and an intermediate under it with the same DN as `rsa_int`.
    pub rogue_root: Issued,
    pub rogue_int: Issued,
    pub good: Issued,
    pub good2: Issued,
    pub revoked: Issued,
    pub unknown: Issued,
    pub expired: Issued,
    pub not_yet: Issued,
    pub wrong_ku: Issued,
    pub no_eku: Issued,
    pub ca_leaf: Issued,
    pub rogue_leaf: Issued,
    pub self_signed: Issued,
    pub rsa6144: Issued,
    pub ec_leaf: Issued,
    pub smart: Issued,
    /// Delegated OCSP signer of `rsa_int` (id-kp-OCSPSigning).
    pub responder: Issued,
    /// Issued by `rsa_int` but without id-kp-OCSPSigning.
    pub not_responder: Issued,
    /// OCSPSigning, but issued by the rogue intermediate.
    pub rogue_responder: Issued,
    /// Delegated OCSP signer of `ec_int`.
    pub ec_responder: Issued,
}

pub const SMART_POLICY_Q: &str = "1.3.6.1.4.1.10015.17.2";
pub const ETSI_NCP_PLUS: &str = "0.4.0.2042.1.2";

fn generate() -> World {
    let dir = tempfile::Builder::new()
        .prefix("pki-world-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    let rsa_root = issue(&Spec::ca("Test RSA Root", KeyKind::Rsa(2048), None));
    let rsa_int = issue(&Spec::ca(
        "Test Citizen CA",
        KeyKind::Rsa(2048),
        Some(&rsa_root),
    ));
    let ec_root = issue(&Spec::ca("Test EC Root", KeyKind::Ec(Nid::SECP384R1), None));
    let ec_int = issue(&Spec::ca(
        "Test EC Issuing CA",
        KeyKind::Ec(Nid::SECP384R1),
        Some(&ec_root),
    ));
    let rogue_root = issue(&Spec::ca("Rogue Root", KeyKind::Rsa(2048), None));
    let rogue_int = issue(&Spec::ca(
        "Test Citizen CA",
        KeyKind::Rsa(2048),
        Some(&rogue_root),
    ));

    let leaf = |cn| issue(&Spec::leaf(cn, &rsa_int));
    let good = leaf("Alice Example (Authentication)");
    let good2 = leaf("Bob Example (Authentication)");
    let revoked = leaf("Revoked Example (Authentication)");
    let unknown = leaf("Unknown Example (Authentication)");
    let expired = issue(&Spec {
        not_before: now() - 400 * DAY,
        not_after: now() - 10 * DAY,
        ..Spec::leaf("Expired Example", &rsa_int)
    });
    let not_yet = issue(&Spec {
        not_before: now() + 10 * DAY,
        not_after: now() + 400 * DAY,
        ..Spec::leaf("Future Example", &rsa_int)
    });
    let wrong_ku = issue(&Spec {
        key_usage: Some("critical,keyEncipherment"),
        ..Spec::leaf("Wrong KU Example", &rsa_int)
    });
    let no_eku = issue(&Spec {
        eku: None,
        ..Spec::leaf("No EKU Example", &rsa_int)
    });
    let ca_leaf = issue(&Spec {
        ca: true,
        key_usage: Some("critical,digitalSignature,keyCertSign"),
        ..Spec::leaf("CA As Leaf Example", &rsa_int)
    });
    let rogue_leaf = issue(&Spec::leaf("Alice Example (Authentication)", &rogue_int));
    let self_signed = issue(&Spec {
        issuer: None,
        subject: vec![(Nid::SERIALNUMBER, "00000000097")],
        ..Spec::leaf("Self Signed Example", &rsa_int)
    });
    let rsa6144 = issue(&Spec {
        key: KeyKind::Rsa(6144),
        ..Spec::leaf("Big Key Example", &rsa_int)
    });
    let ec_leaf = issue(&Spec {
        key: KeyKind::Ec(Nid::SECP384R1),
        ..Spec::leaf("EC Example (Authentication)", &ec_int)
    });
    let smart = issue(&Spec {
        subject: vec![
            (Nid::COUNTRYNAME, "EE"),
            (Nid::SERIALNUMBER, "PNOEE-30001010000"),
            (Nid::GIVENNAME, "Testy"),
            (Nid::SURNAME, "Example"),
        ],
        eku: Some("1.3.6.1.4.1.62306.5.7.0"),
        policies: Some(&format!("{SMART_POLICY_Q},{ETSI_NCP_PLUS}")),
        raw_ext: vec![("2.5.29.9", date_of_birth_ext("19000101"))],
        ..Spec::leaf("EXAMPLE,TESTY", &ec_int)
    });
    let responder = issue(&Spec {
        key_usage: Some("critical,digitalSignature"),
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Test Citizen CA OCSP Responder", &rsa_int)
    });
    let not_responder = issue(&Spec {
        eku: Some("clientAuth"),
        ..Spec::leaf("Not A Responder", &rsa_int)
    });
    let rogue_responder = issue(&Spec {
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Test Citizen CA OCSP Responder", &rogue_int)
    });
    let ec_responder = issue(&Spec {
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Test EC OCSP Responder", &ec_int)
    });
    let w = World {
        dir,
        rsa_root,
        rsa_int,
        ec_root,
        ec_int,
        rogue_root,
        rogue_int,
        good,
        good2,
        revoked,
        unknown,
        expired,
        not_yet,
        wrong_ku,
        no_eku,
        ca_leaf,
        rogue_leaf,
        self_signed,
        rsa6144,
        ec_leaf,
        smart,
        responder,
        not_responder,
        rogue_responder,
        ec_responder,
    };
    for (name, i) in w.all() {
        write_issued(&w.dir, name, i);
    }
    w
}

pub fn write_issued(dir: &Path, name: &str, i: &Issued) {
    std::fs::write(dir.join(format!("{name}.pem")), i.cert.to_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join(format!("{name}.key")),
        i.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
}

impl World {
    fn all(&self) -> Vec<(&'static str, &Issued)> {
        vec![
            ("rsa_root", &self.rsa_root),
            ("rsa_int", &self.rsa_int),
            ("ec_root", &self.ec_root),
            ("ec_int", &self.ec_int),
            ("rogue_root", &self.rogue_root),
            ("rogue_int", &self.rogue_int),
            ("good", &self.good),
            ("good2", &self.good2),
            ("revoked", &self.revoked),
            ("unknown", &self.unknown),
            ("expired", &self.expired),
            ("not_yet", &self.not_yet),
            ("wrong_ku", &self.wrong_ku),
            ("no_eku", &self.no_eku),
            ("ca_leaf", &self.ca_leaf),
            ("rogue_leaf", &self.rogue_leaf),
            ("self_signed", &self.self_signed),
            ("rsa6144", &self.rsa6144),
            ("ec_leaf", &self.ec_leaf),
            ("smart", &self.smart),
            ("responder", &self.responder),
            ("not_responder", &self.not_responder),
            ("rogue_responder", &self.rogue_responder),
            ("ec_responder", &self.ec_responder),
        ]
    }

    /// Path of `<name>.pem` (or `.key`) in the world directory, as a TOML-safe string.
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(generate)
}

pub fn der(i: &Issued) -> Vec<u8> {
    i.cert.to_der().unwrap()
}
