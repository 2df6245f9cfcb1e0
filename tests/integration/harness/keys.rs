//! Key pairs generated once per test run with the openssl crate (never committed), and the
//! receiver's side of a result token. Also used by the benchmark suite (`benches/suite`).

use std::sync::OnceLock;

use josekit::jwe::{JweDecrypter, JweHeader, ECDH_ES, RSA_OAEP};
use josekit::jws::{JwsHeader, JwsVerifier, ES256, RS256};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{Map, Value};

pub struct KeySet {
    /// "RSA" or "EC", as in the configuration.
    pub kind: &'static str,
    pub signing_private: String,
    pub signing_public: String,
    pub receiver_private: String,
    pub receiver_public: String,
}

fn pair(kind: &str) -> (String, String) {
    let key = if kind == "RSA" {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    } else {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    };
    let private = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let public = String::from_utf8(key.public_key_to_pem().unwrap()).unwrap();
    (private, public)
}

fn make(kind: &'static str) -> KeySet {
    let (signing_private, signing_public) = pair(kind);
    let (receiver_private, receiver_public) = pair(kind);
    KeySet {
        kind,
        signing_private,
        signing_public,
        receiver_private,
        receiver_public,
    }
}

pub fn rsa() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| make("RSA"))
}

pub fn ec() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| make("EC"))
}

/// A result token opened as its receiver opens it.
pub struct Opened {
    /// The decrypted plaintext: `{"njwt": "<signed JWT>"}`.
    pub outer: Map<String, Value>,
    pub jwe_header: JweHeader,
    pub jws_header: JwsHeader,
    pub claims: Map<String, Value>,
}

impl KeySet {
    /// Decrypts with the receiver key and verifies the inner JWT with the plugin's public key.
    pub fn open(&self, token: &str) -> Result<Opened, String> {
        let e = |e: josekit::JoseError| e.to_string();
        let decrypter: Box<dyn JweDecrypter> = if self.kind == "RSA" {
            Box::new(
                RSA_OAEP
                    .decrypter_from_pem(&self.receiver_private)
                    .map_err(e)?,
            )
        } else {
            Box::new(
                ECDH_ES
                    .decrypter_from_pem(&self.receiver_private)
                    .map_err(e)?,
            )
        };
        let verifier: Box<dyn JwsVerifier> = if self.kind == "RSA" {
            Box::new(RS256.verifier_from_pem(&self.signing_public).map_err(e)?)
        } else {
            Box::new(ES256.verifier_from_pem(&self.signing_public).map_err(e)?)
        };
        let (plain, jwe_header) =
            josekit::jwe::deserialize_compact(token, &*decrypter).map_err(e)?;
        let outer: Map<String, Value> =
            serde_json::from_slice(&plain).map_err(|x| format!("plaintext: {x}"))?;
        let inner = outer["njwt"].as_str().ok_or("no njwt in the plaintext")?;
        let (payload, jws_header) =
            josekit::jwt::decode_with_verifier(inner, &*verifier).map_err(e)?;
        Ok(Opened {
            claims: payload.claims_set().clone(),
            outer,
            jwe_header,
            jws_header,
        })
    }
}
