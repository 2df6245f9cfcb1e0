//! The result-token keys as the token code uses them: checked by the configuration
//! (`config/keys.rs`), which builds these values; defined here so the token code needs nothing
//! from the layer above it.

use std::fmt;

/// PEM text of a key. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct SecretPem(String);

impl SecretPem {
    pub fn new(pem: String) -> Self {
        SecretPem(pem)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretPem(..)")
    }
}

/// The JWS algorithm follows from the signing key's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    Rs256,
    Es256,
}

/// The JWE key management algorithm follows from the receiver key's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionAlg {
    RsaOaep,
    EcdhEs,
}

#[derive(Debug, Clone)]
pub struct SigningKey {
    pub alg: SigningAlg,
    /// PKCS#8 or traditional private key PEM.
    pub private_pem: SecretPem,
    /// SPKI PEM of the public half (published so receivers can verify).
    pub public_pem: String,
}

#[derive(Debug, Clone)]
pub struct EncryptionKey {
    pub alg: EncryptionAlg,
    /// SPKI PEM of the receiver's public key.
    pub public_pem: String,
}
