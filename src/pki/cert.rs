//! A certificate decoded once: its DER and OpenSSL's object, passed by reference from the
//! means that read it (to check a signature with its key) to path validation, so no step
//! decodes it again. OpenSSL 3.0 decodes slowly (the public key goes through its provider
//! decoders, ~0.1-0.3 ms); cloning a `DecodedCert` only bumps reference counts.

use std::fmt;
use std::sync::Arc;

use openssl::x509::X509;

/// Why bytes are not one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a DER X.509 certificate")]
    Malformed,
    #[error("trailing bytes after the certificate")]
    Trailing,
}

#[derive(Clone)]
pub struct DecodedCert {
    der: Arc<[u8]>,
    x509: X509,
}

impl fmt::Debug for DecodedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodedCert")
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

impl DecodedCert {
    /// Exactly one DER certificate, nothing after it. (x509-parser must accept it too: path
    /// validation parses it once more for the profile's rules and refuses it otherwise.)
    pub fn from_der(der: &[u8]) -> Result<DecodedCert, DecodeError> {
        match outer_len(der) {
            Some(n) if n == der.len() => {}
            Some(n) if n < der.len() => return Err(DecodeError::Trailing),
            _ => return Err(DecodeError::Malformed),
        }
        let x509 = X509::from_der(der).map_err(|_| DecodeError::Malformed)?;
        Ok(DecodedCert {
            der: der.into(),
            x509,
        })
    }

    /// An object OpenSSL already holds (a configured anchor), encoded once.
    pub(crate) fn from_x509(x509: X509) -> Result<DecodedCert, DecodeError> {
        let der = x509.to_der().map_err(|_| DecodeError::Malformed)?;
        Ok(DecodedCert {
            der: der.into(),
            x509,
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn x509(&self) -> &X509 {
        &self.x509
    }
}

/// Length of the outer DER SEQUENCE, header included (definite lengths up to 4 bytes only).
fn outer_len(der: &[u8]) -> Option<usize> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    if first < 0x80 {
        return Some(2 + first as usize);
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 || rest.len() < n {
        return None;
    }
    let len = rest[..n]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    usize::try_from(len).ok()?.checked_add(2 + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_truncation_and_trailing_bytes_are_refused() {
        let cases: [(&[u8], DecodeError); 4] = [
            (b"", DecodeError::Malformed),
            (b"\x30\x03\x02\x01\x01", DecodeError::Malformed),
            (b"\x30\x84\xff\xff\xff\xff", DecodeError::Malformed),
            (b"\x30\x01\x00\x00", DecodeError::Trailing),
        ];
        for (der, want) in cases {
            assert_eq!(DecodedCert::from_der(der).unwrap_err(), want, "{der:?}");
        }
    }
}
