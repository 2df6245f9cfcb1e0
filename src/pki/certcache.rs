//! Decoded CA certificates by SHA-256 of their DER. OpenSSL 3.0 spends far longer decoding a
//! certificate (its public key goes through the provider decoder machinery, ~0.1-0.3 ms) than
//! verifying an RSA signature, and the same few issuing-CA certificates arrive with every
//! Belgian card authentication. Only the decoding is reused: every validation still runs the
//! full verification on the cached object.
//!
//! What goes in: a CA certificate a client supplied as an intermediate, once it has chained to
//! a configured anchor. Leaves (single-use for Smart-ID, one per citizen for the card) are
//! decoded once by the means that read them and never enter; neither does anything that did
//! not validate, so a client cannot fill the cache with junk. The bound is a backstop.

use std::collections::HashMap;
use std::sync::Mutex;

use super::cert::DecodedCert;

/// Default bound: far more issuing CAs than any profile has, a few MB at most.
pub const DEFAULT_ENTRIES: usize = 256;

pub struct CertCache {
    map: Mutex<HashMap<[u8; 32], DecodedCert>>,
    capacity: usize,
}

impl std::fmt::Debug for CertCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertCache")
            .field("entries", &self.len())
            .finish()
    }
}

impl CertCache {
    pub fn new(capacity: usize) -> CertCache {
        CertCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, der: &[u8]) -> Option<DecodedCert> {
        let key = openssl::sha::sha256(der);
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key).cloned()
    }

    /// Keeps `cert` decoded. Call only for a CA certificate of a validated path.
    pub fn put(&self, cert: &DecodedCert) {
        let key = openssl::sha::sha256(cert.der());
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.contains_key(&key) {
            return;
        }
        if map.len() >= self.capacity {
            // Any entry will do: this only saves decoding time.
            if let Some(k) = map.keys().next().copied() {
                map.remove(&k);
            }
        }
        map.insert(key, cert.clone());
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate named `cn` (the cache does not look inside).
    fn ca(cn: &str) -> DecodedCert {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::pkey::PKey;
        let group = EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = openssl::x509::X509Name::builder().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        DecodedCert::from_x509(b.build()).unwrap()
    }

    #[test]
    fn bounded_and_keyed_by_the_der() {
        let cache = CertCache::new(1);
        let a = ca("a");
        assert!(cache.get(a.der()).is_none());
        cache.put(&a);
        cache.put(&a);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(a.der()).is_some());
        let b = ca("b");
        cache.put(&b);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(b.der()).is_some());
        assert!(cache.get(b"junk").is_none());
    }
}
