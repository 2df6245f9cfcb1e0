//! Result tokens per the ID Contact contract: claims -> JWS (RS256/ES256) -> JWE (RSA-OAEP or
//! ECDH-ES, A128CBC-HS256) with plaintext `{"njwt": "<JWS>"}`. Keys are parsed once, here.

use std::collections::BTreeMap;
use std::fmt;

use josekit::jwe::{JweEncrypter, JweHeader, ECDH_ES, RSA_OAEP};
use josekit::jws::{JwsHeader, JwsSigner, ES256, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{json, Map, Value};

mod keys;

pub use crate::contract::TOKEN_LIFETIME_SECS;
use crate::ids::random_token;
pub use keys::{EncryptionAlg, EncryptionKey, SecretPem, SigningAlg, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot load the {0} key: {1}")]
    Key(&'static str, josekit::JoseError),
    #[error("cannot sign or encrypt the result: {0}")]
    Jose(#[from] josekit::JoseError),
}

/// How the flow ended, on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `status: "succes"` with exactly the requested attributes.
    Success {
        attributes: BTreeMap<String, String>,
        session_url: Option<String>,
    },
    /// `status: "failed"`, no attributes.
    Failed,
}

/// A compact JWE. It carries personal data: `Debug` prints its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct ResultToken(String);

impl ResultToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for ResultToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResultToken({} bytes)", self.0.len())
    }
}

/// Signs and encrypts result tokens with the configured keys.
pub struct TokenIssuer {
    signer: Box<dyn JwsSigner>,
    encrypter: Box<dyn JweEncrypter>,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("alg", &self.signer.algorithm().name())
            .field("enc_alg", &self.encrypter.algorithm().name())
            .finish()
    }
}

impl TokenIssuer {
    pub fn new(signing: &SigningKey, encryption: &EncryptionKey) -> Result<Self, TokenError> {
        let pem = signing.private_pem.expose().as_bytes();
        let signer: Box<dyn JwsSigner> = match signing.alg {
            SigningAlg::Rs256 => Box::new(
                RS256
                    .signer_from_pem(pem)
                    .map_err(|e| TokenError::Key("signing", e))?,
            ),
            SigningAlg::Es256 => Box::new(
                ES256
                    .signer_from_pem(pem)
                    .map_err(|e| TokenError::Key("signing", e))?,
            ),
        };
        let pem = encryption.public_pem.as_bytes();
        let encrypter: Box<dyn JweEncrypter> = match encryption.alg {
            EncryptionAlg::RsaOaep => Box::new(
                RSA_OAEP
                    .encrypter_from_pem(pem)
                    .map_err(|e| TokenError::Key("encryption", e))?,
            ),
            EncryptionAlg::EcdhEs => Box::new(
                ECDH_ES
                    .encrypter_from_pem(pem)
                    .map_err(|e| TokenError::Key("encryption", e))?,
            ),
        };
        Ok(TokenIssuer { signer, encrypter })
    }

    /// Makes the nested token for `outcome`, issued at `iat` (Unix seconds).
    pub fn issue(&self, outcome: &Outcome, iat: u64) -> Result<ResultToken, TokenError> {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("id-contact-attributes"));
        match outcome {
            Outcome::Success {
                attributes,
                session_url,
            } => {
                claims.insert("status".into(), json!("succes"));
                claims.insert("attributes".into(), json!(attributes));
                if let Some(url) = session_url {
                    claims.insert("session_url".into(), json!(url));
                }
            }
            Outcome::Failed => {
                claims.insert("status".into(), json!("failed"));
            }
        }
        // Integers, as in the contract's examples (josekit's own setters write floats).
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(iat + TOKEN_LIFETIME_SECS));
        claims.insert("jti".into(), json!(random_token(16)));
        let payload = JwtPayload::from_map(claims)?;

        let mut jws_header = JwsHeader::new();
        jws_header.set_token_type("JWT");
        let jws = josekit::jwt::encode_with_signer(&payload, &jws_header, &*self.signer)?;

        let mut jwe_header = JweHeader::new();
        jwe_header.set_token_type("JWT");
        jwe_header.set_content_type("JWT");
        jwe_header.set_content_encryption("A128CBC-HS256");
        let plaintext =
            Value::Object(Map::from_iter([("njwt".to_string(), json!(jws))])).to_string();
        let jwe =
            josekit::jwe::serialize_compact(plaintext.as_bytes(), &jwe_header, &*self.encrypter)?;
        Ok(ResultToken(jwe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_keys;
    use josekit::jwe::JweDecrypter;
    use josekit::jws::JwsVerifier;

    fn issuer() -> TokenIssuer {
        let signing = crate::config::test_support::rsa_signing_key(demo_keys::SIGNING_PRIVATE);
        let encryption =
            crate::config::test_support::rsa_encryption_key(demo_keys::RECEIVER_PUBLIC);
        TokenIssuer::new(&signing, &encryption).unwrap()
    }

    #[test]
    fn success_token_opens_with_the_receiver_key_and_verifies() {
        let attributes = BTreeMap::from([("email".to_string(), "an@example.org".to_string())]);
        let outcome = Outcome::Success {
            attributes,
            session_url: Some("https://x/session/a/update".into()),
        };
        let token = issuer().issue(&outcome, 1_700_000_000).unwrap();
        let decrypter = RSA_OAEP
            .decrypter_from_pem(demo_keys::RECEIVER_PRIVATE)
            .unwrap();
        let (plain, header) =
            josekit::jwe::deserialize_compact(token.as_str(), &decrypter).unwrap();
        assert_eq!(header.content_encryption(), Some("A128CBC-HS256"));
        assert_eq!(header.content_type(), Some("JWT"));
        assert_eq!(decrypter.algorithm().name(), "RSA-OAEP");
        let njwt: Value = serde_json::from_slice(&plain).unwrap();
        let verifier = RS256.verifier_from_pem(demo_keys::SIGNING_PUBLIC).unwrap();
        let (claims, header) =
            josekit::jwt::decode_with_verifier(njwt["njwt"].as_str().unwrap(), &verifier).unwrap();
        assert_eq!(header.token_type(), Some("JWT"));
        assert_eq!(verifier.algorithm().name(), "RS256");
        assert_eq!(claims.claim("status"), Some(&json!("succes")));
        assert_eq!(
            claims.claim("attributes"),
            Some(&json!({"email": "an@example.org"}))
        );
        assert_eq!(claims.claim("exp"), Some(&json!(1_700_000_300u64)));
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn failed_token_has_no_attributes() {
        let token = issuer().issue(&Outcome::Failed, 1).unwrap();
        let decrypter = RSA_OAEP
            .decrypter_from_pem(demo_keys::RECEIVER_PRIVATE)
            .unwrap();
        let (plain, _) = josekit::jwe::deserialize_compact(token.as_str(), &decrypter).unwrap();
        let njwt: Value = serde_json::from_slice(&plain).unwrap();
        let verifier = RS256.verifier_from_pem(demo_keys::SIGNING_PUBLIC).unwrap();
        let (claims, _) =
            josekit::jwt::decode_with_verifier(njwt["njwt"].as_str().unwrap(), &verifier).unwrap();
        assert_eq!(claims.claim("status"), Some(&json!("failed")));
        assert_eq!(claims.claim("attributes"), None);
        assert_eq!(claims.claim("session_url"), None);
    }
}
