//! Pure verification of a card token: the Web eID signature with the certificate's key, and the
//! National Register signatures of the `beid` files. No chain or revocation check here: the
//! caller validates [`VerifiedCard::auth_certificate`] (profile `beid_auth`) and
//! [`VerifiedCard::rrn_certificate`] (profile `beid_rrn`) with the `pki` module.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::x509::X509;

use super::beid::web_eid_signed_data;
use super::files::{AddressFile, IdentityFile, TlvError};
use super::token::{unb64, FieldError, WebEidToken};
use crate::attributes::Identity;
use crate::der::element_len;
use crate::pki::DecodedCert;

const MAX_CERT: usize = 8 * 1024;
const MAX_SIG: usize = 1024;
const MAX_FILE: usize = 4 * 1024;
const MAX_PHOTO: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardVerifyError {
    #[error("token format is not web-eid:1")]
    Format,
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("the {0} certificate is not a valid X.509 certificate")]
    Certificate(&'static str),
    #[error("algorithm {0:?} is not allowed")]
    AlgorithmNotAllowed(String),
    #[error("algorithm {0} does not match the certificate's key")]
    AlgorithmKeyMismatch(String),
    #[error("the {0} signature is malformed")]
    SignatureEncoding(&'static str),
    #[error("the {0} signature is not valid")]
    BadSignature(&'static str),
    #[error("the photo does not match the identity file's photo hash")]
    PhotoHash,
    #[error("identity file: {0}")]
    Identity(TlvError),
    #[error("address file: {0}")]
    Address(TlvError),
    #[error("the authentication certificate has no serialNumber (national number)")]
    NoNationalNumber,
    #[error("the identity file belongs to another person than the certificate")]
    NationalNumberMismatch,
}

use CardVerifyError as E;

/// The subject of the authentication certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CertSubject {
    pub national_number: String,
    pub surname: String,
    pub given_names: String,
}

/// A token whose signatures are valid; its certificates still need chain validation.
#[derive(Clone)]
pub struct VerifiedCard {
    pub algorithm: String,
    /// The authentication certificate, decoded (validate with the `beid_auth` profile).
    pub auth_certificate: DecodedCert,
    /// DER of the issuing CA from the token, an intermediate for path building.
    pub ca_certificate: Option<Vec<u8>>,
    /// The RRN certificate, decoded (validate with the `beid_rrn` profile).
    pub rrn_certificate: Option<DecodedCert>,
    pub subject: CertSubject,
    pub identity: Option<IdentityFile>,
    pub address: Option<AddressFile>,
}

impl fmt::Debug for VerifiedCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCard")
            .field("algorithm", &self.algorithm)
            .field("identity", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

impl VerifiedCard {
    /// Identity fields by their documented names (see `docs/card.md`).
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut f = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            f.insert(k.to_string(), v.to_string());
        };
        match &self.identity {
            Some(id) => {
                put("national_number", &id.national_number);
                put("surname", &id.surname);
                put("given_names", &id.given_names);
                put("full_name", &format!("{} {}", id.given_names, id.surname));
                put("date_of_birth", &id.date_of_birth.to_iso());
                put("place_of_birth", &id.place_of_birth);
                put("gender", id.gender.code());
                put("nationality", &id.nationality);
                put("card_number", &id.card_number);
                put("card_valid_from", &id.valid_from.to_iso());
                put("card_valid_until", &id.valid_until.to_iso());
            }
            None => {
                let s = &self.subject;
                put("national_number", &s.national_number);
                put("surname", &s.surname);
                put("given_names", &s.given_names);
                put("full_name", &format!("{} {}", s.given_names, s.surname));
            }
        }
        if let Some(a) = &self.address {
            put("street", &a.street);
            put("postal_code", &a.postal_code);
            put("municipality", &a.municipality);
        }
        f
    }

    pub fn identity_fields(&self) -> Identity {
        Identity {
            fields: self.fields(),
        }
    }
}

#[derive(Clone, Copy)]
enum Scheme {
    Ecdsa(Nid),
    Pkcs1,
    Pss,
}

/// The allow-list: JWA names Web eID permits, each tied to a key type (and curve).
fn algorithm(name: &str) -> Option<(Scheme, MessageDigest)> {
    Some(match name {
        "ES256" => (
            Scheme::Ecdsa(Nid::X9_62_PRIME256V1),
            MessageDigest::sha256(),
        ),
        "ES384" => (Scheme::Ecdsa(Nid::SECP384R1), MessageDigest::sha384()),
        "ES512" => (Scheme::Ecdsa(Nid::SECP521R1), MessageDigest::sha512()),
        "RS256" => (Scheme::Pkcs1, MessageDigest::sha256()),
        "RS384" => (Scheme::Pkcs1, MessageDigest::sha384()),
        "RS512" => (Scheme::Pkcs1, MessageDigest::sha512()),
        "PS256" => (Scheme::Pss, MessageDigest::sha256()),
        "PS384" => (Scheme::Pss, MessageDigest::sha384()),
        "PS512" => (Scheme::Pss, MessageDigest::sha512()),
        _ => return None,
    })
}

/// Verifies a token for `expected_origin` (the configured public origin, never a value from the
/// client) and `challenge` (the raw nonce bytes this flow issued; the signed nonce string is
/// their standard base64, as the page hands it to the connector or the Web eID extension).
pub fn verify_token(
    token: &WebEidToken,
    expected_origin: &str,
    challenge: &[u8],
) -> Result<VerifiedCard, CardVerifyError> {
    if !token.format.starts_with("web-eid:1") {
        return Err(E::Format);
    }
    let (scheme, md) = algorithm(&token.algorithm)
        .ok_or_else(|| E::AlgorithmNotAllowed(token.algorithm.chars().take(40).collect()))?;
    let cert_der = unb64(
        "unverifiedCertificate",
        &token.unverified_certificate,
        MAX_CERT,
    )?;
    // Decoded once here; path validation takes this object as it is.
    let cert = DecodedCert::from_der(&cert_der).map_err(|_| E::Certificate("authentication"))?;
    let key = cert
        .x509()
        .public_key()
        .map_err(|_| E::Certificate("authentication"))?;
    let signature = unb64("signature", &token.signature, MAX_SIG)?;
    let signed = web_eid_signed_data(md, expected_origin, &STANDARD.encode(challenge));
    verify_web_eid(&key, scheme, md, &signed, &signature)
        .map_err(|e| retag(e, &token.algorithm))?;
    let subject = cert_subject(cert.x509())?;

    let mut verified = VerifiedCard {
        algorithm: token.algorithm.clone(),
        auth_certificate: cert,
        ca_certificate: None,
        rrn_certificate: None,
        subject,
        identity: None,
        address: None,
    };
    let Some(beid) = &token.beid else {
        return Ok(verified);
    };
    if let Some(ca) = &beid.ca_certificate {
        let der = unb64("caCertificate", ca, MAX_CERT)?;
        // Only its shape here: path validation decodes it (or finds it decoded in its cache).
        x509_parser::parse_x509_certificate(&der).map_err(|_| E::Certificate("CA"))?;
        verified.ca_certificate = Some(der);
    }
    let rrn_der = unb64("rrnCertificate", &beid.rrn_certificate, MAX_CERT)?;
    let rrn_cert = DecodedCert::from_der(&rrn_der).map_err(|_| E::Certificate("RRN"))?;
    let rrn_key = rrn_cert
        .x509()
        .public_key()
        .map_err(|_| E::Certificate("RRN"))?;
    let identity_raw = unb64("identity", &beid.identity, MAX_FILE)?;
    let identity_sig = unb64("identitySignature", &beid.identity_signature, MAX_SIG)?;
    let address_raw = unb64("address", &beid.address, MAX_FILE)?;
    let address_sig = unb64("addressSignature", &beid.address_signature, MAX_SIG)?;

    let identity = IdentityFile::parse(&identity_raw).map_err(E::Identity)?;
    let digests = rrn_digests(identity.photo_hash.len());
    verify_rrn(&rrn_key, &digests, &identity_raw, &identity_sig, "identity")?;
    // The address signature covers the address without its padding, then the whole identity
    // signature file: an address cannot be moved to another identity.
    let unpadded = address_raw.len() - address_raw.iter().rev().take_while(|b| **b == 0).count();
    let mut address_signed = address_raw[..unpadded].to_vec();
    address_signed.extend_from_slice(&identity_sig);
    verify_rrn(&rrn_key, &digests, &address_signed, &address_sig, "address")?;
    let address = AddressFile::parse(&address_raw).map_err(E::Address)?;

    if let Some(photo) = &beid.photo {
        let photo = unb64("photo", photo, MAX_PHOTO)?;
        let md = digests.first().copied().ok_or(E::PhotoHash)?;
        let got = hash(md, &photo).map_err(|_| E::PhotoHash)?;
        if *got != identity.photo_hash[..] {
            return Err(E::PhotoHash);
        }
    }
    if identity.national_number != verified.subject.national_number {
        return Err(E::NationalNumberMismatch);
    }
    verified.rrn_certificate = Some(rrn_cert);
    verified.identity = Some(identity);
    verified.address = Some(address);
    Ok(verified)
}

fn retag(e: CardVerifyError, alg: &str) -> CardVerifyError {
    match e {
        E::AlgorithmKeyMismatch(_) => E::AlgorithmKeyMismatch(alg.to_string()),
        other => other,
    }
}

fn verify_web_eid(
    key: &PKey<Public>,
    scheme: Scheme,
    md: MessageDigest,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), CardVerifyError> {
    const WHAT: &str = "Web eID";
    let mismatch = || E::AlgorithmKeyMismatch(String::new());
    let der;
    let sig: &[u8] = match scheme {
        Scheme::Ecdsa(curve) => {
            let ec = key.ec_key().map_err(|_| mismatch())?;
            if ec.group().curve_name() != Some(curve) {
                return Err(mismatch());
            }
            der = raw_ecdsa_to_der(ec.group(), signature)?;
            &der
        }
        Scheme::Pkcs1 | Scheme::Pss => {
            if key.id() != Id::RSA || key.bits() < 2048 || signature.len() != key.size() {
                return Err(if key.id() == Id::RSA {
                    E::SignatureEncoding(WHAT)
                } else {
                    mismatch()
                });
            }
            signature
        }
    };
    let ok = (|| -> Result<bool, openssl::error::ErrorStack> {
        let mut v = Verifier::new(md, key)?;
        if let Scheme::Pss = scheme {
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
            v.set_rsa_mgf1_md(md)?;
        }
        v.verify_oneshot(sig, signed)
    })()
    .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(E::BadSignature(WHAT))
    }
}

/// `r ‖ s` (each exactly the curve's size) to DER, refusing zero or out-of-range values
/// (CVE-2022-21449 shape) before OpenSSL ever sees them.
fn raw_ecdsa_to_der(
    group: &openssl::ec::EcGroupRef,
    raw: &[u8],
) -> Result<Vec<u8>, CardVerifyError> {
    let bad = || E::SignatureEncoding("Web eID");
    let size = (group.degree() as usize).div_ceil(8);
    if raw.len() != 2 * size {
        return Err(bad());
    }
    let mut order = BigNum::new().map_err(|_| bad())?;
    let mut ctx = BigNumContext::new().map_err(|_| bad())?;
    group.order(&mut order, &mut ctx).map_err(|_| bad())?;
    let r = BigNum::from_slice(&raw[..size]).map_err(|_| bad())?;
    let s = BigNum::from_slice(&raw[size..]).map_err(|_| bad())?;
    for v in [&r, &s] {
        if v.num_bits() == 0 || v >= &order {
            return Err(bad());
        }
    }
    EcdsaSig::from_private_components(r, s)
        .and_then(|sig| sig.to_der())
        .map_err(|_| bad())
}

/// Which hashes an RRN signature may use, from the photo hash length (the official viewer's
/// rule; re-signed old cards keep a SHA-1 photo hash but sign with SHA-256).
fn rrn_digests(photo_hash_len: usize) -> Vec<MessageDigest> {
    match photo_hash_len {
        20 => vec![MessageDigest::sha1(), MessageDigest::sha256()],
        32 => vec![MessageDigest::sha256()],
        _ => vec![MessageDigest::sha384()],
    }
}

fn verify_rrn(
    key: &PKey<Public>,
    digests: &[MessageDigest],
    data: &[u8],
    sig_file: &[u8],
    what: &'static str,
) -> Result<(), CardVerifyError> {
    let (sig, digests): (&[u8], Vec<MessageDigest>) = match key.id() {
        Id::RSA => (
            sig_file
                .get(..key.size())
                .ok_or(E::SignatureEncoding(what))?,
            digests.to_vec(),
        ),
        // EC RRN signatures are DER in a zero-padded file, always ECDSA with SHA-384.
        Id::EC => (
            &sig_file[..element_len(sig_file).ok_or(E::SignatureEncoding(what))?],
            vec![MessageDigest::sha384()],
        ),
        _ => return Err(E::Certificate("RRN")),
    };
    let ok = digests.into_iter().any(|md| {
        Verifier::new(md, key)
            .and_then(|mut v| v.verify_oneshot(sig, data))
            .unwrap_or(false)
    });
    if ok {
        Ok(())
    } else {
        Err(E::BadSignature(what))
    }
}

fn cert_subject(cert: &X509) -> Result<CertSubject, CardVerifyError> {
    let name = cert.subject_name();
    let get = |nid: Nid| {
        name.entries_by_nid(nid)
            .next()
            .and_then(|e| e.data().to_string().ok())
    };
    Ok(CertSubject {
        national_number: get(Nid::SERIALNUMBER).ok_or(E::NoNationalNumber)?,
        surname: get(Nid::SURNAME).unwrap_or_default(),
        given_names: get(Nid::GIVENNAME).unwrap_or_default(),
    })
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
