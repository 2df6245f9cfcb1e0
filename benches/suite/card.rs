//! Scenario 3: a citizen submits a card token. The plugin's own `CardFlow::verify` (Web eID
//! signature, the National Register signatures over the identity and address files, the
//! `beid_auth` and `beid_rrn` chains, the authentication certificate's revocation from a warm
//! OCSP cache) against the raw cost of the signature verifications that path cannot avoid,
//! measured in the same run on the same keys and data.
//!
//! Everything runs on one thread (a current-thread runtime, `block_on`): the rates are per
//! core. Setup (test PKI, `openssl ocsp` responder, the card's signature) is never timed.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use auth_eid::flow::card::CardFlow;
use auth_eid::means::card::session::{authenticate, AuthRequest};
use auth_eid::means::card::{Pin, WebEidToken};
use auth_eid::pki::{RevocationSource, ValidationReport};
use auth_eid::simulate::card::contents::card_contents;
use auth_eid::simulate::card::{BeidCard, EmulatorTransport, Profile, TestPki};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;
use openssl::x509::X509;
use tokio::runtime::Runtime;

use crate::report::{self, Opts, Row, Target};

#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../tests/integration/pki/gen.rs"]
mod gen;
#[allow(dead_code)]
#[path = "../../tests/integration/pki/responder.rs"]
mod responder;

const SECTION: &str = "3. card token verification";

/// One card's token, verified over and over with the same challenge (`verify` keeps no
/// replay state: the single-use challenge is spent by `submit`, outside what is measured).
struct Card {
    name: &'static str,
    token: WebEidToken,
    challenge: String,
    floor: Floor,
}

pub fn rows(opts: &Opts) -> Vec<Row> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (flow, cards) = setup(&rt);
    let budget = Duration::from_secs_f64(opts.pick(2.0, 0.2));
    let warm_up = Duration::from_secs_f64(opts.pick(0.2, 0.02));
    let mut rows = Vec::new();
    for card in &cards {
        let mut verify = || {
            let checked = rt.block_on(flow.verify(&card.token, Some(card.challenge.clone())));
            black_box(checked.expect("the card token verifies"));
        };
        let mut raw = || assert!(card.floor.verify_all());
        alternate(warm_up, &mut verify, &mut raw);
        let (mut verified, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..opts.runs {
            let (v, r) = alternate(budget, &mut verify, &mut raw);
            verified.push(v);
            floor.push(r);
        }
        let name = card.name;
        let ratio = report::ratio(&floor, &verified);
        rows.push(Row::new(
            SECTION,
            format!("{name} card: verifications/s"),
            "/s",
            verified,
        ));
        rows.push(Row::new(
            SECTION,
            format!("{name} card: raw signature verifications, as tokens/s"),
            "/s",
            floor,
        ));
        rows.push(
            Row::new(SECTION, format!("{name} card: cost / raw cost"), "x", ratio)
                .target(Target::AtMost(3.0)),
        );
    }
    rows
}

/// One run: a token verification, then the raw verifications of a token, in turn until the
/// budget is spent, so both rates come from the same stretch of time. Gives (verify, raw) as
/// tokens per second.
fn alternate(budget: Duration, verify: &mut impl FnMut(), raw: &mut impl FnMut()) -> (f64, f64) {
    let (mut in_verify, mut in_raw, mut n) = (Duration::ZERO, Duration::ZERO, 0u32);
    let start = Instant::now();
    while start.elapsed() < budget {
        let t0 = Instant::now();
        verify();
        let t1 = Instant::now();
        raw();
        in_raw += t1.elapsed();
        in_verify += t1 - t0;
        n += 1;
    }
    let n = f64::from(n);
    (n / in_verify.as_secs_f64(), n / in_raw.as_secs_f64())
}

/// The card PKI, the plugin's `CardFlow` built from configuration as the app builds it, and a
/// token per card whose revocation answer is in the cache: warmed against a real responder
/// that is stopped before anything is measured.
fn setup(rt: &Runtime) -> (CardFlow, Vec<Card>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pki = TestPki::load_or_create(dir.path()).expect("card PKI");
    let ca = gen::Issued {
        cert: pki.citizen_ca.cert.clone(),
        key: pki.citizen_ca.key.clone(),
    };
    let index = responder::index_line(&pki.card_rsa.cert, false)
        + &responder::index_line(&pki.card_ec.cert, false);
    let mut ocsp = responder::Responder::start(dir.path(), &index, &ca, &ca, Some(1));
    let config = common::config(8000, &card_toml(dir.path(), &ocsp.url()));
    let origin = config.public_url.origin_string();
    let flow = CardFlow::new(config.card.clone(), config.trust.clone(), origin.clone());

    let mut cards = Vec::new();
    for (profile, name) in [(Profile::Rsa, "RSA"), (Profile::Ec, "EC")] {
        let mut emulated = BeidCard::new(card_contents(&pki, profile).expect("card files"));
        let mut nonce = [0u8; 32];
        openssl::rand::rand_bytes(&mut nonce).expect("random challenge");
        let challenge = STANDARD.encode(nonce);
        let token = sign(&mut emulated, &origin, &challenge);
        let first = rt.block_on(flow.verify(&token, Some(challenge.clone())));
        let (identity, report) = first.expect("the card token verifies");
        let nrn = auth_eid::simulate::card::pki::person(profile).national_number;
        assert_eq!(identity.fields["national_number"], nrn);
        assert_eq!(revocation_source(&report), RevocationSource::Ocsp);
        let floor = Floor::new(&token, &origin, &challenge, &pki.root.cert);
        cards.push(Card {
            name,
            token,
            challenge,
            floor,
        });
    }
    assert!(ocsp.requests() >= 2, "the responder answered both cards");
    ocsp.stop();
    for card in &cards {
        let again = rt.block_on(flow.verify(&card.token, Some(card.challenge.clone())));
        let (_, report) = again.expect("the card token verifies from the cache");
        assert_eq!(revocation_source(&report), RevocationSource::Cache);
        assert!(card.floor.verify_all(), "the raw floor verifies");
    }
    (flow, cards)
}

/// `[means.card]` with its two trust profiles over the card PKI: the citizen CA's designated
/// OCSP responder for `beid_auth`, fail-closed as in production; no revocation source for the
/// National Register signer.
fn card_toml(dir: &Path, ocsp_url: &str) -> String {
    let d = dir.display();
    format!(
        r#"
[means.card]
enabled = true
connector_url = "http://127.0.0.1:24801"
[means.card.attributes]
nrn = "national_number"
city = "municipality"
[trust.beid_auth]
demo = true
anchors = ["{d}/root.pem"]
intermediates = ["{d}/citizen-ca.pem"]
require_key_usage = ["digitalSignature"]
revocation = "fail_closed"
revocation_scope = "leaf"
ocsp = [{{ issuer = "{d}/citizen-ca.pem", url = "{ocsp_url}" }}]
[trust.beid_rrn]
demo = true
anchors = ["{d}/root.pem"]
revocation = "off"
"#
    )
}

/// The emulated card signs `challenge` for `origin`, as the connector has it do.
fn sign(card: &mut BeidCard, origin: &str, challenge: &str) -> WebEidToken {
    let pin = Pin::parse("1234").expect("PIN");
    let req = AuthRequest {
        origin,
        nonce: challenge,
        pin: &pin,
        with_photo: false,
    };
    authenticate(&mut EmulatorTransport(card), &req).expect("the card signs")
}

/// Where the authentication certificate's revocation answer came from, from `verify`'s report.
fn revocation_source(report: &serde_json::Value) -> RevocationSource {
    let auth: ValidationReport =
        serde_json::from_value(report["authentication"].clone()).expect("a validation report");
    let check = auth.checks.iter().find(|c| c.name == "revocation");
    check.and_then(|c| c.source).expect("a revocation source")
}

/// The signature verifications a card token's checks cannot avoid, with keys and signed data
/// prepared beforehand, as a floor for what verifying the token costs:
///
/// 1. the Web eID signature, with the authentication certificate's key;
/// 2. the identity file's RRN signature, with the RRN certificate's key;
/// 3. the address file's RRN signature (over the address and the identity signature), same key;
/// 4. the authentication certificate's signature, with the citizen CA's key;
/// 5. the citizen CA certificate's signature, with the root's key (the path checks it; the
///    anchor's own self-signature OpenSSL does not check);
/// 6. the RRN certificate's signature, with the root's key (its issuer, the anchor).
///
/// The OCSP answer comes from the cache: no OCSP signature to verify.
struct Floor {
    auth_key: PKey<Public>,
    /// The Web eID hash: SHA-256 for RS256 (RSA card), SHA-384 for ES384 (EC card).
    web_eid_md: MessageDigest,
    web_eid_signed: Vec<u8>,
    /// DER (the token carries ECDSA as raw `r ‖ s`; the conversion is not a verification).
    web_eid_sig: Vec<u8>,
    rrn_key: PKey<Public>,
    /// The National Register's hash on these cards (src/simulate/card/contents.rs).
    rrn_md: MessageDigest,
    identity: Vec<u8>,
    identity_sig: Vec<u8>,
    address_signed: Vec<u8>,
    address_sig: Vec<u8>,
    auth_cert: X509,
    ca_cert: X509,
    ca_key: PKey<Public>,
    rrn_cert: X509,
    root_key: PKey<Public>,
}

impl Floor {
    /// Everything from the token itself (and the configured root), so the floor verifies the
    /// same keys and bytes as the plugin.
    fn new(token: &WebEidToken, origin: &str, challenge: &str, root: &X509) -> Floor {
        let b64 = |s: &str| STANDARD.decode(s).expect("base64 in the token");
        let beid = token.beid.as_ref().expect("the beid files");
        let auth_cert = X509::from_der(&b64(&token.unverified_certificate)).expect("auth cert");
        let ca_cert =
            X509::from_der(&b64(beid.ca_certificate.as_ref().expect("CA cert"))).expect("CA cert");
        let rrn_cert = X509::from_der(&b64(&beid.rrn_certificate)).expect("RRN cert");
        let auth_key = auth_cert.public_key().expect("auth key");
        let rrn_key = rrn_cert.public_key().expect("RRN key");
        let ec = token.algorithm == "ES384";
        let (web_eid_md, rrn_md) = if ec {
            (MessageDigest::sha384(), MessageDigest::sha384())
        } else {
            (MessageDigest::sha256(), MessageDigest::sha256())
        };
        let mut web_eid_signed = Vec::new();
        for part in [origin, challenge] {
            web_eid_signed.extend_from_slice(&hash(web_eid_md, part.as_bytes()).expect("hash"));
        }
        let signature = b64(&token.signature);
        let web_eid_sig = if ec {
            let (r, s) = signature.split_at(signature.len() / 2);
            let r = BigNum::from_slice(r).expect("r");
            let s = BigNum::from_slice(s).expect("s");
            let sig = EcdsaSig::from_private_components(r, s).expect("ECDSA signature");
            sig.to_der().expect("DER")
        } else {
            signature
        };
        // RSA: the signature is the key's size, the rest of the file padding; EC: DER, then
        // zero padding (short-form length: a P-384 signature is under 128 bytes).
        let sig_in = |file: Vec<u8>| -> Vec<u8> {
            let len = if ec {
                assert!(file[1] < 0x80, "short-form DER length");
                2 + usize::from(file[1])
            } else {
                rrn_key.size()
            };
            file[..len].to_vec()
        };
        let identity_file_sig = b64(&beid.identity_signature);
        let address = b64(&beid.address);
        let unpadded = address.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        let mut address_signed = address[..unpadded].to_vec();
        address_signed.extend_from_slice(&identity_file_sig);
        Floor {
            auth_key,
            web_eid_md,
            web_eid_signed,
            web_eid_sig,
            rrn_md,
            identity: b64(&beid.identity),
            identity_sig: sig_in(identity_file_sig),
            address_signed,
            address_sig: sig_in(b64(&beid.address_signature)),
            rrn_key,
            ca_key: ca_cert.public_key().expect("CA key"),
            root_key: root.public_key().expect("root key"),
            auth_cert,
            ca_cert,
            rrn_cert,
        }
    }

    /// The six verifications; true when every one holds.
    fn verify_all(&self) -> bool {
        let sig = |key: &PKey<Public>, md, data: &[u8], sig: &[u8]| {
            Verifier::new(md, key)
                .and_then(|mut v| v.verify_oneshot(sig, data))
                .unwrap_or(false)
        };
        let cert = |c: &X509, key: &PKey<Public>| c.verify(key).unwrap_or(false);
        sig(
            &self.auth_key,
            self.web_eid_md,
            &self.web_eid_signed,
            &self.web_eid_sig,
        ) && sig(
            &self.rrn_key,
            self.rrn_md,
            &self.identity,
            &self.identity_sig,
        ) && sig(
            &self.rrn_key,
            self.rrn_md,
            &self.address_signed,
            &self.address_sig,
        ) && cert(&self.auth_cert, &self.ca_key)
            && cert(&self.ca_cert, &self.root_key)
            && cert(&self.rrn_cert, &self.root_key)
    }
}
