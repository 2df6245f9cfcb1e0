//! The hash the relying party asks the user to sign, and the hash algorithms of RP API v2.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use openssl::hash::{hash, MessageDigest};
use serde::{Deserialize, Serialize};

/// `hashType` of RP API v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum HashType {
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA384")]
    Sha384,
    #[default]
    #[serde(rename = "SHA512")]
    Sha512,
}

impl HashType {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "SHA256" => Some(HashType::Sha256),
            "SHA384" => Some(HashType::Sha384),
            "SHA512" => Some(HashType::Sha512),
            _ => None,
        }
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HashType::Sha256 => "SHA256",
            HashType::Sha384 => "SHA384",
            HashType::Sha512 => "SHA512",
        }
    }

    /// The name in RP API v3 (`hashAlgorithm`).
    pub fn v3_name(self) -> &'static str {
        match self {
            HashType::Sha256 => "SHA-256",
            HashType::Sha384 => "SHA-384",
            HashType::Sha512 => "SHA-512",
        }
    }

    pub fn parse_v3(raw: &str) -> Option<Self> {
        [HashType::Sha256, HashType::Sha384, HashType::Sha512]
            .into_iter()
            .find(|h| h.v3_name() == raw)
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashType::Sha256 => 32,
            HashType::Sha384 => 48,
            HashType::Sha512 => 64,
        }
    }

    /// `signature.algorithm` that must come back with this hash type.
    pub fn signature_algorithm(self) -> &'static str {
        match self {
            HashType::Sha256 => "sha256WithRSAEncryption",
            HashType::Sha384 => "sha384WithRSAEncryption",
            HashType::Sha512 => "sha512WithRSAEncryption",
        }
    }

    pub fn message_digest(self) -> MessageDigest {
        match self {
            HashType::Sha256 => MessageDigest::sha256(),
            HashType::Sha384 => MessageDigest::sha384(),
            HashType::Sha512 => MessageDigest::sha512(),
        }
    }

    /// The same digest for `PkeyCtx` signing and verifying.
    pub fn md(self) -> &'static openssl::md::MdRef {
        match self {
            HashType::Sha256 => openssl::md::Md::sha256(),
            HashType::Sha384 => openssl::md::Md::sha384(),
            HashType::Sha512 => openssl::md::Md::sha512(),
        }
    }

    /// The DER `DigestInfo` prefix (RFC 8017 §9.2 note 1) that precedes the raw digest inside
    /// an RSASSA-PKCS1-v1_5 signature.
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            HashType::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            HashType::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            HashType::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// `DigestInfo(hashType) || digest`, the block an RSASSA-PKCS1-v1_5 signature carries.
    pub fn digest_info(self, digest: &[u8]) -> Vec<u8> {
        let mut out = self.digest_info_prefix().to_vec();
        out.extend_from_slice(digest);
        out
    }
}

/// A fresh hash to be signed: the digest of 64 random bytes (RP API v2 §2.3.13.1). It is what
/// the flow keeps server-side and what verification compares the signature against.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthHash {
    hash_type: HashType,
    /// Raw digest bytes, Base64 in serialized form.
    #[serde(with = "b64")]
    digest: Vec<u8>,
}

impl AuthHash {
    /// A new random hash from OpenSSL's CSPRNG.
    pub fn generate(hash_type: HashType) -> Result<Self, openssl::error::ErrorStack> {
        let mut preimage = [0u8; 64];
        openssl::rand::rand_bytes(&mut preimage)?;
        let digest = hash(hash_type.message_digest(), &preimage)?.to_vec();
        Ok(AuthHash { hash_type, digest })
    }

    /// A hash whose digest is given (tests, or a hash computed elsewhere). `None` if the length
    /// does not fit the type.
    pub fn from_digest(hash_type: HashType, digest: Vec<u8>) -> Option<Self> {
        (digest.len() == hash_type.digest_len()).then_some(AuthHash { hash_type, digest })
    }

    pub fn hash_type(&self) -> HashType {
        self.hash_type
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The `hash` field of the request: standard, padded Base64.
    pub fn to_base64(&self) -> String {
        B64.encode(&self.digest)
    }

    /// The code to show the user before the phone prompts them.
    pub fn verification_code(&self) -> String {
        super::vc::verification_code(&self.digest)
    }
}

/// The hash is not secret, but it is the login's anchor: Debug shows its type and VC only.
impl fmt::Debug for AuthHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthHash")
            .field("hash_type", &self.hash_type)
            .field("vc", &self.verification_code())
            .finish()
    }
}

mod b64 {
    use super::{Engine, B64};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKey;
    use openssl::rsa::{Padding, Rsa};
    use openssl::sign::Signer;

    /// Our DigestInfo must be exactly what OpenSSL puts inside a PKCS#1 v1.5 signature.
    #[test]
    fn digest_info_matches_openssl_for_every_hash_type() {
        let rsa = Rsa::generate(2048).unwrap();
        let key = PKey::from_rsa(rsa.clone()).unwrap();
        for ht in [HashType::Sha256, HashType::Sha384, HashType::Sha512] {
            let msg = b"preimage";
            let mut signer = Signer::new(ht.message_digest(), &key).unwrap();
            signer.update(msg).unwrap();
            let sig = signer.sign_to_vec().unwrap();
            let mut block = vec![0u8; rsa.size() as usize];
            let n = rsa
                .public_decrypt(&sig, &mut block, Padding::PKCS1)
                .unwrap();
            let digest = hash(ht.message_digest(), msg).unwrap();
            assert_eq!(&block[..n], ht.digest_info(&digest).as_slice(), "{ht:?}");
            assert_eq!(ht.digest_info_prefix().len() + ht.digest_len(), n);
        }
    }

    #[test]
    fn generated_hashes_are_fresh_and_sized() {
        for ht in [HashType::Sha256, HashType::Sha384, HashType::Sha512] {
            let a = AuthHash::generate(ht).unwrap();
            let b = AuthHash::generate(ht).unwrap();
            assert_eq!(a.digest().len(), ht.digest_len());
            assert_ne!(a, b);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<AuthHash>(&json).unwrap(), a);
        }
        assert!(AuthHash::from_digest(HashType::Sha512, vec![0; 32]).is_none());
    }

    #[test]
    fn wire_names() {
        assert_eq!(
            serde_json::to_string(&HashType::Sha384).unwrap(),
            "\"SHA384\""
        );
        assert_eq!(HashType::parse("SHA512"), Some(HashType::Sha512));
        assert_eq!(HashType::parse("sha512"), None);
    }
}
