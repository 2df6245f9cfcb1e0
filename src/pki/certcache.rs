//! Decoded certificates by SHA-256 of their DER. OpenSSL 3.0 spends far longer decoding a
//! certificate (its public key goes through the provider decoder machinery, ~0.3 ms) than
//! verifying an RSA signature, and the same few issuing-CA certificates arrive with every
//! Belgian card authentication. Only the decoding is reused: every validation still runs the
//! full verification on the cached object.

use std::collections::HashMap;
use std::sync::Mutex;

use openssl::x509::X509;

/// Default bound: a few MB at most.
pub const DEFAULT_ENTRIES: usize = 1024;

pub struct CertCache {
    map: Mutex<HashMap<[u8; 32], X509>>,
    capacity: usize,
}

impl std::fmt::Debug for CertCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("CertCache").field("entries", &n).finish()
    }
}

impl CertCache {
    pub fn new(capacity: usize) -> CertCache {
        CertCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// One DER certificate, strictly: OpenSSL and x509-parser must both accept it and nothing
    /// may follow it. Failures are not cached.
    pub fn parse(&self, der: &[u8]) -> Result<X509, &'static str> {
        let key = openssl::sha::sha256(der);
        if let Some(c) = self.map.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let cert = parse_strict(der)?;
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.capacity {
                // Any entry will do: this only saves decoding time.
                if let Some(k) = map.keys().next().copied() {
                    map.remove(&k);
                }
            }
            map.insert(key, cert.clone());
        }
        Ok(cert)
    }
}

fn parse_strict(der: &[u8]) -> Result<X509, &'static str> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], _)) => {}
        Ok(_) => return Err("trailing bytes after the certificate"),
        Err(_) => return Err("not a DER X.509 certificate"),
    }
    X509::from_der(der).map_err(|_| "not a DER X.509 certificate")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_an_error_and_not_cached() {
        let c = CertCache::new(2);
        assert!(c.parse(b"").is_err());
        assert!(c.parse(b"\x30\x03\x02\x01\x01").is_err());
        assert_eq!(c.map.lock().unwrap().len(), 0);
    }
}
