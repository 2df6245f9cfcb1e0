//! HMAC-SHA256 over OpenSSL, for the MACs we make: Smart-ID device-link authCodes, webhook
//! signatures, one-time-code hashes.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// HMAC-SHA256 of the concatenation of `parts`. OpenSSL fails here only when it cannot
/// allocate; the answer is then empty, which matches no MAC that is checked against it.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    (|| {
        let key = PKey::hmac(key)?;
        let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
        for part in parts {
            signer.update(part)?;
        }
        signer.sign_to_vec()
    })()
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_4231_test_case_2() {
        let mac = super::hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            openssl::bn::BigNum::from_slice(&mac)
                .unwrap()
                .to_hex_str()
                .unwrap()
                .to_lowercase(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
