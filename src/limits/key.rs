//! The keyed hash budgets are counted under: neither the store nor the logs ever see a raw
//! national number, phone number or IP address.

use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::pkey::{Id, PKey};
use openssl::pkey_ctx::PkeyCtx;
use openssl::sign::Signer;

use super::Budget;

/// HMAC-SHA256 key; `Debug` prints nothing of it.
pub struct HashKey([u8; 32]);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(..)")
    }
}

/// A budget's key for one identifier: 128 bits of HMAC in hex, safe to store and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedHash(String);

impl KeyedHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const INFO: &[u8] = b"auth-eid rate limit keys v1";

impl HashKey {
    /// HKDF-SHA256 of `server.cookie_secret` (the secret instances behind one load balancer
    /// already share, so they count under the same keys); with no secret, a random key for
    /// this process (memory mode needs nothing more).
    pub fn derive(secret: Option<&[u8]>) -> HashKey {
        let mut key = [0u8; 32];
        match secret {
            Some(secret) => hkdf(secret, &mut key).expect("HKDF-SHA256 is available in OpenSSL"),
            None => openssl::rand::rand_bytes(&mut key).expect("the OS random source works"),
        }
        HashKey(key)
    }

    pub fn hash(&self, budget: Budget, identifier: &str) -> KeyedHash {
        let mac = (|| {
            let key = PKey::hmac(&self.0)?;
            let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
            // The budget's name first, so one identifier is unrelated across budgets.
            signer.update(budget.name().as_bytes())?;
            signer.update(&[0])?;
            signer.update(identifier.as_bytes())?;
            signer.sign_to_vec()
        })()
        .expect("HMAC-SHA256 is available in OpenSSL");
        KeyedHash(mac[..16].iter().map(|b| format!("{b:02x}")).collect())
    }
}

fn hkdf(secret: &[u8], out: &mut [u8]) -> Result<(), openssl::error::ErrorStack> {
    let mut ctx = PkeyCtx::new_id(Id::HKDF)?;
    ctx.derive_init()?;
    ctx.set_hkdf_md(Md::sha256())?;
    ctx.set_hkdf_key(secret)?;
    ctx.add_hkdf_info(INFO)?;
    ctx.derive(Some(out))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_secret_gives_one_hash_and_the_identifier_is_not_in_it() {
        let a = HashKey::derive(Some(b"shared secret"));
        let b = HashKey::derive(Some(b"shared secret"));
        let h = a.hash(Budget::SmartIdStart, "PNOBE-30303039903");
        assert_eq!(h, b.hash(Budget::SmartIdStart, "PNOBE-30303039903"));
        assert_eq!(h.as_str().len(), 32);
        assert!(!h.as_str().contains("3030"));
        assert_ne!(h, a.hash(Budget::SmartIdStartIp, "PNOBE-30303039903"));
        assert_ne!(
            h,
            HashKey::derive(None).hash(Budget::SmartIdStart, "PNOBE-30303039903")
        );
        assert_eq!(format!("{a:?}"), "HashKey(..)");
    }
}
