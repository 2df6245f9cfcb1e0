//! A real OCSP responder (`openssl ocsp`) on a free loopback port, killed on drop; a CRL
//! maker; helpers to build trust stores from TOML.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_eid::pki::{TrustProfileConfig, TrustStore};
use figment::providers::{Format, Toml};
use figment::Figment;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Crl, X509CrlBuilder, X509Revoked, X509};

use super::gen::{now, Issued, DAY};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl ca` index line; `revoked` marks it R.
pub fn index_line(cert: &X509, revoked: bool) -> String {
    let serial = cert
        .serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_string();
    let exp = "301231235959Z";
    if revoked {
        let when = "240101000000Z";
        format!("R\t{exp}\t{when}\t{serial}\tunknown\t/CN=revoked-{serial}\n")
    } else {
        format!("V\t{exp}\t\t{serial}\tunknown\t/CN=valid-{serial}\n")
    }
}

pub struct Responder {
    child: Option<Child>,
    pub port: u16,
    log: PathBuf,
}

impl Responder {
    /// Starts `openssl ocsp` for `ca` signing with `signer`, answering from `index` lines;
    /// `-ndays` sets nextUpdate (None: no nextUpdate).
    pub fn start(
        dir: &Path,
        index: &str,
        ca: &Issued,
        signer: &Issued,
        ndays: Option<u32>,
    ) -> Responder {
        Responder::start_on(dir, index, ca, signer, ndays, &mut free_port)
    }

    /// [`Responder::start`] on `port` (a URL written into a certificate before it runs).
    pub fn start_at(dir: &Path, index: &str, ca: &Issued, signer: &Issued, port: u16) -> Responder {
        Responder::start_on(dir, index, ca, signer, Some(1), &mut || port)
    }

    fn start_on(
        dir: &Path,
        index: &str,
        ca: &Issued,
        signer: &Issued,
        ndays: Option<u32>,
        next_port: &mut dyn FnMut() -> u16,
    ) -> Responder {
        let tag = format!("{}", rand_tag());
        let idx = dir.join(format!("index-{tag}.txt"));
        std::fs::write(&idx, index).unwrap();
        let ca_pem = dir.join(format!("ca-{tag}.pem"));
        std::fs::write(&ca_pem, ca.cert.to_pem().unwrap()).unwrap();
        let rs = dir.join(format!("rsigner-{tag}.pem"));
        std::fs::write(&rs, signer.cert.to_pem().unwrap()).unwrap();
        let rk = dir.join(format!("rkey-{tag}.key"));
        std::fs::write(&rk, signer.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        for _ in 0..5 {
            let port = next_port();
            let mut cmd = Command::new("openssl");
            cmd.arg("ocsp")
                .arg("-index")
                .arg(&idx)
                .arg("-CA")
                .arg(&ca_pem)
                .arg("-rsigner")
                .arg(&rs)
                .arg("-rkey")
                .arg(&rk)
                .arg("-port")
                .arg(port.to_string())
                .arg("-ignore_err");
            if let Some(n) = ndays {
                cmd.arg("-ndays").arg(n.to_string());
            }
            let log = std::fs::File::create(dir.join(format!("ocsp-{tag}.log"))).unwrap();
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("openssl must be installed");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken or bad arguments: try another port
                }
                // Readiness from its log, not by connecting: `openssl ocsp` serves one
                // connection at a time and stalls on a probe that sends nothing.
                let log = std::fs::read_to_string(dir.join(format!("ocsp-{tag}.log")))
                    .unwrap_or_default();
                if log.contains("waiting for OCSP client connections") {
                    return Responder {
                        child: Some(child),
                        port,
                        log: dir.join(format!("ocsp-{tag}.log")),
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join(format!("ocsp-{tag}.log"))).unwrap_or_default();
        panic!("openssl ocsp did not start: {log}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// How many requests the responder has received, from its log.
    pub fn requests(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("Received request")
            .count()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rand_tag() -> u64 {
    let mut b = [0u8; 8];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u64::from_le_bytes(b)
}

/// DER of a revokedCertificates entry: SEQUENCE { INTEGER serial, UTCTime date }.
fn revoked_entry(cert: &X509) -> X509Revoked {
    let mut serial = cert.serial_number().to_bn().unwrap().to_vec();
    if serial.is_empty() || serial[0] & 0x80 != 0 {
        serial.insert(0, 0);
    }
    let mut body = vec![0x02, serial.len() as u8];
    body.extend_from_slice(&serial);
    body.extend_from_slice(&[0x17, 0x0d]);
    body.extend_from_slice(b"240101000000Z");
    let mut der = vec![0x30, body.len() as u8];
    der.extend_from_slice(&body);
    X509Revoked::from_der(&der).unwrap()
}

/// authorityKeyIdentifier { [0] keyIdentifier } of `issuer`: rust-openssl requires one.
fn crl_aki(issuer: &Issued) -> openssl::x509::X509Extension {
    let kid = issuer.cert.subject_key_id().unwrap().as_slice().to_vec();
    let mut der = vec![0x30, (kid.len() + 2) as u8, 0x80, kid.len() as u8];
    der.extend_from_slice(&kid);
    openssl::x509::X509Extension::new_from_der(
        &openssl::asn1::Asn1Object::from_str("2.5.29.35").unwrap(),
        false,
        &openssl::asn1::Asn1OctetString::new_from_bytes(&der).unwrap(),
    )
    .unwrap()
}

/// A CRL by `issuer` listing `revoked`, valid from yesterday for `days`.
pub fn make_crl(issuer: &Issued, revoked: &[&X509], days: i64) -> X509Crl {
    let mut b = X509CrlBuilder::new().unwrap();
    b.set_issuer_name(issuer.cert.subject_name()).unwrap();
    b.set_last_update(&Asn1Time::from_unix((now() - DAY) as _).unwrap())
        .unwrap();
    b.set_next_update(&Asn1Time::from_unix((now() - DAY + days * DAY) as _).unwrap())
        .unwrap();
    b.append_extension(crl_aki(issuer)).unwrap();
    // crlNumber 1 (also required by rust-openssl's builder).
    b.append_extension(
        openssl::x509::X509Extension::new_from_der(
            &openssl::asn1::Asn1Object::from_str("2.5.29.20").unwrap(),
            false,
            &openssl::asn1::Asn1OctetString::new_from_bytes(&[0x02, 0x01, 0x01]).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    for r in revoked {
        b.add_revoked(revoked_entry(r)).unwrap();
    }
    b.sign(&issuer.key, MessageDigest::sha256()).unwrap();
    b.build().unwrap()
}

pub fn write_crl(dir: &Path, name: &str, crl: &X509Crl) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, crl.to_der().unwrap()).unwrap();
    p
}

/// The `trust` table of a TOML text.
pub fn raw_trust(toml: &str) -> BTreeMap<String, TrustProfileConfig> {
    Figment::from(Toml::string(toml))
        .extract_inner("trust")
        .expect("test TOML parses")
}

pub fn store(toml: &str) -> TrustStore {
    TrustStore::load(&raw_trust(toml), Path::new("/"), false).expect("trust config loads")
}
