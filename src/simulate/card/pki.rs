//! The virtual card's test PKI: a root, a citizen CA, National Register (RRN) signers and one
//! authentication key and certificate per profile. Generated into the state directory on first
//! start and reused after. Every name says "auth-eid test": this PKI must never be trusted in
//! production. File names are listed in [`FILES`] and in `docs/card.md`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Extension, X509Name, X509};

use super::emulator::Profile;

/// Organisation name on every CA and RRN certificate of this PKI.
pub use crate::pki::TEST_PKI_ORG as TEST_ORG;

/// What the state directory holds (PEM certificates, PKCS#8 PEM keys with mode 0600).
pub const FILES: &[(&str, &str)] = &[
    (
        "root.pem",
        "test root CA (trust anchor of beid_auth and beid_rrn)",
    ),
    ("root.key", "its key"),
    (
        "citizen-ca.pem",
        "test citizen CA, issues both cards' authentication certificates",
    ),
    (
        "citizen-ca.key",
        "its key (sign OCSP responses or revoke with it)",
    ),
    (
        "rrn-rsa.pem",
        "RSA-2048 National Register signer of the rsa card (issued by the root)",
    ),
    ("rrn-rsa.key", "its key"),
    (
        "rrn-ec.pem",
        "EC P-384 National Register signer of the ec card (issued by the root)",
    ),
    ("rrn-ec.key", "its key"),
    (
        "card-rsa-auth.pem",
        "authentication certificate of the rsa card (RSA-2048)",
    ),
    ("card-rsa-auth.key", "its key"),
    (
        "card-ec-auth.pem",
        "authentication certificate of the ec card (EC P-384)",
    ),
    ("card-ec-auth.key", "its key"),
];

/// A certificate with its key.
#[derive(Clone)]
pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// The fictitious person on each card.
pub struct Person {
    pub national_number: &'static str,
    pub surname: &'static str,
    pub given_names: &'static str,
}

pub fn person(profile: Profile) -> Person {
    match profile {
        // Valid-format national numbers (check digits right) of nobody: 1985-07-30 / 2001-02-03.
        Profile::Rsa => Person {
            national_number: "85073000160",
            surname: "Specimen",
            given_names: "Alex Demo",
        },
        Profile::Ec => Person {
            national_number: "01020300269",
            surname: "Specimen",
            given_names: "Zoë Demo",
        },
    }
}

#[derive(Clone)]
pub struct TestPki {
    pub root: Issued,
    pub citizen_ca: Issued,
    pub rrn_rsa: Issued,
    pub rrn_ec: Issued,
    pub card_rsa: Issued,
    pub card_ec: Issued,
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("state directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("test PKI: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("state directory {0} is half written by another process that did not finish")]
    Stuck(PathBuf),
}

enum Kind {
    Root,
    Ca,
    Rrn,
    Auth,
}

fn ec_key() -> Result<PKey<Private>, PkiError> {
    let group = EcGroup::from_curve_name(Nid::SECP384R1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn rsa_key() -> Result<PKey<Private>, PkiError> {
    Ok(PKey::from_rsa(Rsa::generate(2048)?)?)
}

fn name(entries: &[(Nid, &str)]) -> Result<X509Name, PkiError> {
    let mut b = X509Name::builder()?;
    for (nid, v) in entries {
        b.append_entry_by_nid(*nid, v)?;
    }
    Ok(b.build())
}

/// certificatePolicies with one policy OID and no qualifiers, DER by hand (the safe API has no
/// builder for it).
fn policy(oid: &str) -> Result<X509Extension, PkiError> {
    let obj = Asn1Object::from_str(oid)?;
    let body = obj.as_slice();
    let mut info = vec![0x06, body.len() as u8];
    info.extend_from_slice(body);
    let mut seq = vec![0x30, info.len() as u8];
    seq.extend(info);
    let mut der = vec![0x30, seq.len() as u8];
    der.extend(seq);
    let ext_oid = Asn1Object::from_str("2.5.29.32")?;
    let value = Asn1OctetString::new_from_bytes(&der)?;
    Ok(X509Extension::new_from_der(&ext_oid, false, &value)?)
}

fn issue(
    subject: &X509Name,
    key: &PKey<Private>,
    issuer: Option<&Issued>,
    serial: u32,
    days: u32,
    kind: Kind,
) -> Result<X509, PkiError> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = BigNum::from_u32(serial)?;
    let serial = Asn1Integer::from_bn(&serial)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer.map_or(subject, |i| i.cert.subject_name()))?;
    b.set_pubkey(key)?;
    let (from, until) = (yesterday()?, Asn1Time::days_from_now(days)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    let ski =
        SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))?;
    b.append_extension(ski)?;
    if issuer.is_some() {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))?;
        b.append_extension(aki)?;
    }
    match kind {
        Kind::Root => {
            b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
        }
        Kind::Ca => {
            b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
            b.append_extension(policy("2.16.56.12.1.1.2")?)?;
        }
        Kind::Rrn => {
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build()?,
            )?;
            b.append_extension(policy("2.16.56.12.1.1.4")?)?;
        }
        Kind::Auth => {
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
            b.append_extension(policy("2.16.56.12.1.1.2.2")?)?;
        }
    }
    let signer = issuer.map_or(key, |i| &i.key);
    b.sign(signer, MessageDigest::sha384())?;
    Ok(b.build())
}

/// Back-dated a day so clocks a little behind still accept fresh certificates.
fn yesterday() -> Result<Asn1Time, openssl::error::ErrorStack> {
    Asn1Time::from_unix(super::contents::unix_now() - 86_400)
}

impl TestPki {
    pub fn generate() -> Result<TestPki, PkiError> {
        let root_key = ec_key()?;
        let root_name = name(&[
            (Nid::COUNTRYNAME, "BE"),
            (Nid::ORGANIZATIONNAME, TEST_ORG),
            (
                Nid::COMMONNAME,
                "auth-eid test Root CA (not for production)",
            ),
        ])?;
        let root = Issued {
            cert: issue(&root_name, &root_key, None, 1, 7300, Kind::Root)?,
            key: root_key,
        };
        let ca_key = ec_key()?;
        let ca_name = name(&[
            (Nid::COUNTRYNAME, "BE"),
            (Nid::ORGANIZATIONNAME, TEST_ORG),
            (Nid::COMMONNAME, "auth-eid test Citizen CA"),
            (Nid::SERIALNUMBER, "202601"),
        ])?;
        let citizen_ca = Issued {
            cert: issue(&ca_name, &ca_key, Some(&root), 2, 5475, Kind::Ca)?,
            key: ca_key,
        };
        let rrn = |key: PKey<Private>, cn: &str, serial| -> Result<Issued, PkiError> {
            let n = name(&[
                (Nid::COUNTRYNAME, "BE"),
                (Nid::ORGANIZATIONNAME, TEST_ORG),
                (Nid::COMMONNAME, cn),
            ])?;
            Ok(Issued {
                cert: issue(&n, &key, Some(&root), serial, 3650, Kind::Rrn)?,
                key,
            })
        };
        let rrn_rsa = rrn(rsa_key()?, "RRN RSA (auth-eid test)", 3)?;
        let rrn_ec = rrn(ec_key()?, "RRN EC (auth-eid test)", 4)?;
        let auth = |key: PKey<Private>, p: Person, serial| -> Result<Issued, PkiError> {
            let cn = format!("{} {} (Authentication)", p.given_names, p.surname);
            let n = name(&[
                (Nid::COUNTRYNAME, "BE"),
                (Nid::COMMONNAME, &cn),
                (Nid::SURNAME, p.surname),
                (Nid::GIVENNAME, p.given_names),
                (Nid::SERIALNUMBER, p.national_number),
            ])?;
            Ok(Issued {
                cert: issue(&n, &key, Some(&citizen_ca), serial, 3650, Kind::Auth)?,
                key,
            })
        };
        let card_rsa = auth(rsa_key()?, person(Profile::Rsa), 10)?;
        let card_ec = auth(ec_key()?, person(Profile::Ec), 11)?;
        Ok(TestPki {
            root,
            citizen_ca,
            rrn_rsa,
            rrn_ec,
            card_rsa,
            card_ec,
        })
    }

    fn parts(&self) -> [(&'static str, &Issued); 6] {
        [
            ("root", &self.root),
            ("citizen-ca", &self.citizen_ca),
            ("rrn-rsa", &self.rrn_rsa),
            ("rrn-ec", &self.rrn_ec),
            ("card-rsa-auth", &self.card_rsa),
            ("card-ec-auth", &self.card_ec),
        ]
    }

    /// Loads the PKI from `dir`, or generates and writes it on first use. Two simulators
    /// starting at once on an empty directory: one writes, the other waits for it.
    pub fn load_or_create(dir: &Path) -> Result<TestPki, PkiError> {
        let io = |e| PkiError::Io(dir.to_path_buf(), e);
        fs::create_dir_all(dir).map_err(io)?;
        let done = dir.join(".complete");
        let lock = dir.join(".writing");
        if !done.exists() {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => {
                    // Removed on every way out, failures included: a lock left behind would
                    // make every later start wait and fail with `Stuck`.
                    let _unlock = RemoveOnDrop(&lock);
                    let pki = TestPki::generate()?;
                    pki.write(dir)?;
                    fs::write(&done, b"").map_err(io)?;
                    return Ok(pki);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while !done.exists() {
                        if Instant::now() > deadline {
                            return Err(PkiError::Stuck(dir.to_path_buf()));
                        }
                        sleep(Duration::from_millis(100));
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Self::read(dir)
    }

    fn write(&self, dir: &Path) -> Result<(), PkiError> {
        for (stem, issued) in self.parts() {
            write_file(dir, &format!("{stem}.pem"), &issued.cert.to_pem()?, 0o644)?;
            let key = issued.key.private_key_to_pem_pkcs8()?;
            write_file(dir, &format!("{stem}.key"), &key, 0o600)?;
        }
        let mut readme =
            String::from("auth-eid simulate card: TEST PKI, never trust it in production.\n\n");
        for (file, what) in FILES {
            readme.push_str(&format!("{file:20} {what}\n"));
        }
        write_file(dir, "README.txt", readme.as_bytes(), 0o644)
    }

    fn read(dir: &Path) -> Result<TestPki, PkiError> {
        let load = |stem: &str| -> Result<Issued, PkiError> {
            let read = |f: String| fs::read(dir.join(&f)).map_err(|e| PkiError::Io(dir.join(f), e));
            Ok(Issued {
                cert: X509::from_pem(&read(format!("{stem}.pem"))?)?,
                key: PKey::private_key_from_pem(&read(format!("{stem}.key"))?)?,
            })
        };
        Ok(TestPki {
            root: load("root")?,
            citizen_ca: load("citizen-ca")?,
            rrn_rsa: load("rrn-rsa")?,
            rrn_ec: load("rrn-ec")?,
            card_rsa: load("card-rsa-auth")?,
            card_ec: load("card-ec-auth")?,
        })
    }
}

fn write_file(dir: &Path, name: &str, data: &[u8], mode: u32) -> Result<(), PkiError> {
    let path = dir.join(name);
    let io = |e| PkiError::Io(path.clone(), e);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&path)
        .map_err(io)?;
    f.write_all(data).map_err(io)
}

/// Deletes a file when dropped.
struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}
