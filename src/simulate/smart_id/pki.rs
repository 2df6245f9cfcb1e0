//! The simulator's own test PKI, written to the state directory on first start and reused:
//! an EC P-384 root and issuing CA (like SK's EID-Q 2024E chain), an untrusted look-alike
//! chain for faults, a TLS CA and server certificate for pinning, RSA leaf keys per identity.
//!
//! Files (all PEM) under `<state-dir>/pki/`:
//! `root.pem`, `issuing.pem` (+ `.key`): the Smart-ID trust anchor and issuing CA;
//! `untrusted-root.pem`, `untrusted-issuing.pem` (+ `.key`): a chain nobody should trust;
//! `tls-ca.pem`: the anchor for the RP API connection; `tls-server.pem`/`.key`: the server;
//! `tls-pin.txt`: `sha256/<base64>` of the server key; `leaf-6144.key`: the big RSA key.
//! Leaf keys for other identities go to `<state-dir>/leaves/<identity>.key` as they are needed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Extension, X509Name, X509NameBuilder, X509};

use super::der;
use crate::means::smart_id::verify::EKU_SMART_ID_AUTH;
use crate::means::smart_id::{BirthDate, CertificateLevel, Pin};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("simulator PKI files: {0}")]
    Io(#[from] io::Error),
    #[error("simulator PKI crypto: {0}")]
    Crypto(#[from] ErrorStack),
}

/// A CA certificate with its key.
pub struct Ca {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// The loaded test PKI.
pub struct TestPki {
    pub dir: PathBuf,
    pub root: Ca,
    pub issuing: Ca,
    pub untrusted_issuing: Ca,
    pub tls_ca_pem: Vec<u8>,
    pub tls_server_pem: Vec<u8>,
    pub tls_server_key_pem: Vec<u8>,
    pub tls_pin: Pin,
    pub big_key: PKey<Private>,
}

/// Authentication key usage flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// digitalSignature + Smart-ID authentication EKU (since April 2025).
    Current,
    /// digitalSignature, keyEncipherment, dataEncipherment + id-kp-clientAuth.
    Legacy,
    /// nonRepudiation only: a signing certificate, not for authentication (a fault).
    Signing,
}

/// What goes into a leaf certificate.
pub struct LeafSpec<'a> {
    pub semantics_id: &'a str,
    pub given_name: &'a str,
    pub surname: &'a str,
    pub country: &'a str,
    pub document_number: &'a str,
    /// The level whose policy OIDs the certificate carries.
    pub policy_level: CertificateLevel,
    pub purpose: Purpose,
    pub date_of_birth: Option<BirthDate>,
    pub expired: bool,
    pub untrusted: bool,
}

impl TestPki {
    /// Loads `<dir>/pki`, creating it first if missing. Creation happens in a scratch
    /// directory renamed into place, so concurrent first starts cannot mix two PKIs.
    pub fn load_or_create(dir: &Path) -> Result<Self, PkiError> {
        let pki = dir.join("pki");
        if !pki.join("tls-pin.txt").exists() {
            fs::create_dir_all(dir)?;
            let scratch = dir.join(format!(".pki-new-{}-{}", std::process::id(), rand_u32()?));
            create(&scratch)?;
            if fs::rename(&scratch, &pki).is_err() {
                // Someone else won the race; theirs is complete (renamed as a whole).
                let _ = fs::remove_dir_all(&scratch);
            }
        }
        load(dir, &pki)
    }

    /// The path of a file in the PKI directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join("pki").join(name)
    }

    /// The cached RSA key of an identity (2048 bits), created on first use.
    pub fn leaf_key(&self, identity: &str) -> Result<PKey<Private>, PkiError> {
        let leaves = self.dir.join("leaves");
        let path = leaves.join(format!("{identity}.key"));
        if let Ok(pem) = fs::read(&path) {
            if let Ok(k) = PKey::private_key_from_pem(&pem) {
                return Ok(k);
            }
        }
        fs::create_dir_all(&leaves)?;
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        write_atomic(&path, &key.private_key_to_pem_pkcs8()?)?;
        Ok(key)
    }

    /// Issues a leaf for `key` as the spec says.
    pub fn issue_leaf(&self, spec: &LeafSpec<'_>, key: &PKey<Private>) -> Result<X509, PkiError> {
        let ca = if spec.untrusted {
            &self.untrusted_issuing
        } else {
            &self.issuing
        };
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COUNTRYNAME, spec.country)?;
        name.append_entry_by_nid(
            Nid::COMMONNAME,
            &format!("{},{}", spec.surname, spec.given_name),
        )?;
        name.append_entry_by_nid(Nid::SURNAME, spec.surname)?;
        name.append_entry_by_nid(Nid::GIVENNAME, spec.given_name)?;
        name.append_entry_by_nid(Nid::SERIALNUMBER, spec.semantics_id)?;
        let name = name.build();
        let mut b = builder(&name, ca.cert.subject_name(), key)?;
        let now = unix_now();
        let (from, to) = if spec.expired {
            (now - 800 * 86400, now - 35 * 86400)
        } else {
            (now - 86400, now + 3 * 365 * 86400)
        };
        b.set_not_before(&*Asn1Time::from_unix(from)?)?;
        b.set_not_after(&*Asn1Time::from_unix(to)?)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        let (ku, eku) = match spec.purpose {
            Purpose::Current => (
                KeyUsage::new().critical().digital_signature().build()?,
                Some(ExtendedKeyUsage::new().other(EKU_SMART_ID_AUTH).build()?),
            ),
            Purpose::Legacy => (
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .data_encipherment()
                    .build()?,
                Some(ExtendedKeyUsage::new().client_auth().build()?),
            ),
            Purpose::Signing => (KeyUsage::new().critical().non_repudiation().build()?, None),
        };
        b.append_extension(ku)?;
        if let Some(eku) = eku {
            b.append_extension(eku)?;
        }
        let policies = der::certificate_policies(&spec.policy_level.policy_oids());
        b.append_extension(raw_extension("2.5.29.32", &policies)?)?;
        if let Some(d) = spec.date_of_birth {
            let sda = der::date_of_birth_attributes(d.year, d.month, d.day);
            b.append_extension(raw_extension("2.5.29.9", &sda)?)?;
        }
        let mut san_name = X509NameBuilder::new()?;
        san_name.append_entry_by_nid(Nid::COMMONNAME, spec.document_number)?;
        let ctx = b.x509v3_context(Some(&ca.cert), None);
        let san = SubjectAlternativeName::new()
            .dir_name2(san_name.build())
            .build(&ctx)?;
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&ctx)?;
        b.append_extension(san)?;
        b.append_extension(aki)?;
        b.sign(&ca.key, MessageDigest::sha384())?;
        Ok(b.build())
    }
}

fn raw_extension(oid: &str, value: &[u8]) -> Result<X509Extension, ErrorStack> {
    let oid = Asn1Object::from_str(oid)?;
    let value = Asn1OctetString::new_from_bytes(value)?;
    X509Extension::new_from_der(&oid, false, &value)
}

fn builder(
    subject: &X509Name,
    issuer: &openssl::x509::X509NameRef,
    key: &PKey<Private>,
) -> Result<X509Builder, ErrorStack> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    b.set_serial_number(&*serial.to_asn1_integer()?)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer)?;
    b.set_pubkey(key)?;
    Ok(b)
}

fn ec_key(curve: Nid) -> Result<PKey<Private>, ErrorStack> {
    PKey::from_ec_key(EcKey::generate(&*EcGroup::from_curve_name(curve)?)?)
}

/// The organisation of every certificate the simulator makes (production refuses it as an anchor).
pub use crate::pki::SIMULATOR_ORG;

fn cn(name: &str) -> Result<X509Name, ErrorStack> {
    let mut n = X509NameBuilder::new()?;
    n.append_entry_by_nid(Nid::COUNTRYNAME, "EE")?;
    n.append_entry_by_nid(Nid::ORGANIZATIONNAME, SIMULATOR_ORG)?;
    n.append_entry_by_nid(Nid::COMMONNAME, name)?;
    Ok(n.build())
}

/// A CA certificate, self-signed if `parent` is `None`.
fn make_ca(name: &str, curve: Nid, parent: Option<&Ca>) -> Result<Ca, ErrorStack> {
    let key = ec_key(curve)?;
    let subject = cn(name)?;
    let issuer = parent.map(|p| p.cert.subject_name()).unwrap_or(&subject);
    let mut b = builder(&subject, issuer, &key)?;
    let now = unix_now();
    b.set_not_before(&*Asn1Time::from_unix(now - 86400)?)?;
    b.set_not_after(&*Asn1Time::from_unix(now + 20 * 365 * 86400)?)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    let signer = parent.map(|p| &p.key).unwrap_or(&key);
    b.sign(signer, MessageDigest::sha384())?;
    Ok(Ca {
        cert: b.build(),
        key,
    })
}

fn create(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir)?;
    let p384 = Nid::SECP384R1;
    let root = make_ca("TEST of Simulated ROOT G1E", p384, None)?;
    let issuing = make_ca("TEST of Simulated EID-Q 2024E", p384, Some(&root))?;
    let bad_root = make_ca("TEST of Untrusted ROOT G1E", p384, None)?;
    let bad_issuing = make_ca("TEST of Simulated EID-Q 2024E", p384, Some(&bad_root))?;
    let tls_ca = make_ca("Simulated RP API TLS CA", Nid::X9_62_PRIME256V1, None)?;
    for (name, ca) in [
        ("root", &root),
        ("issuing", &issuing),
        ("untrusted-root", &bad_root),
        ("untrusted-issuing", &bad_issuing),
        ("tls-ca", &tls_ca),
    ] {
        fs::write(dir.join(format!("{name}.pem")), ca.cert.to_pem()?)?;
        fs::write(
            dir.join(format!("{name}.key")),
            ca.key.private_key_to_pem_pkcs8()?,
        )?;
    }
    // The RP API's TLS certificate, valid for localhost and 127.0.0.1.
    let key = ec_key(Nid::X9_62_PRIME256V1)?;
    let mut b = builder(&cn("localhost")?, tls_ca.cert.subject_name(), &key)?;
    let now = unix_now();
    b.set_not_before(&*Asn1Time::from_unix(now - 86400)?)?;
    b.set_not_after(&*Asn1Time::from_unix(now + 10 * 365 * 86400)?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let ctx = b.x509v3_context(Some(&tls_ca.cert), None);
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&ctx)?;
    b.append_extension(san)?;
    b.sign(&tls_ca.key, MessageDigest::sha256())?;
    let server = b.build();
    fs::write(dir.join("tls-server.pem"), server.to_pem()?)?;
    fs::write(dir.join("tls-server.key"), key.private_key_to_pem_pkcs8()?)?;
    fs::write(
        dir.join("tls-pin.txt"),
        format!("{}\n", Pin::of_certificate(&server)?),
    )?;
    // Smart-ID keys are RSA 6144 in real life; one leaf exercises that size.
    let big = PKey::from_rsa(Rsa::generate(6144)?)?;
    fs::write(dir.join("leaf-6144.key"), big.private_key_to_pem_pkcs8()?)?;
    Ok(())
}

fn load(dir: &Path, pki: &Path) -> Result<TestPki, PkiError> {
    let read = |n: &str| fs::read(pki.join(n));
    let ca = |n: &str| -> Result<Ca, PkiError> {
        Ok(Ca {
            cert: X509::from_pem(&read(&format!("{n}.pem"))?)?,
            key: PKey::private_key_from_pem(&read(&format!("{n}.key"))?)?,
        })
    };
    let server_pem = read("tls-server.pem")?;
    let server = X509::from_pem(&server_pem)?;
    Ok(TestPki {
        dir: dir.to_path_buf(),
        root: ca("root")?,
        issuing: ca("issuing")?,
        untrusted_issuing: ca("untrusted-issuing")?,
        tls_ca_pem: read("tls-ca.pem")?,
        tls_server_pem: server_pem,
        tls_server_key_pem: read("tls-server.key")?,
        tls_pin: Pin::of_certificate(&server)?,
        big_key: PKey::private_key_from_pem(&read("leaf-6144.key")?)?,
    })
}

/// Writes through a temporary name unique to this call: threads of one simulator (200 starts at
/// once on a fresh directory) may write the same key, and each must rename its own file.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(tmp, path)
}

fn rand_u32() -> Result<u32, ErrorStack> {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

    /// The race CI met: many threads of one process writing the same new file at once.
    #[test]
    fn concurrent_writers_of_one_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PNOEE-1.key");
        let writers: Vec<_> = (0..16u8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || write_atomic(&path, &[i; 4096]))
            })
            .collect();
        for w in writers {
            w.join().unwrap().expect("each writer renames its own file");
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            bytes.iter().all(|b| *b == bytes[0]),
            "one writer's whole file"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporaries left"
        );
    }
}
