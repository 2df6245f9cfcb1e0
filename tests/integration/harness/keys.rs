//! Key pairs generated once per test run with the openssl crate (never committed).

use std::sync::OnceLock;

use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;

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
