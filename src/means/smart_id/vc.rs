//! The verification code shown next to the Smart-ID prompt (RP API v2 §2.3.13.2): SHA-256 over
//! the raw hash bytes that were sent, the last two bytes as a big-endian integer, modulo 10000,
//! four digits. Computed from the raw bytes, never from their Base64 form (threat T32).

use openssl::sha::sha256;

/// The 4-digit code for the raw `hash` bytes sent in the authentication request.
pub fn verification_code(hash: &[u8]) -> String {
    let digest = sha256(hash);
    let n = u16::from_be_bytes([digest[30], digest[31]]);
    format!("{:04}", n % 10000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::sha::sha512;

    #[test]
    fn published_worked_example() {
        let preimage: Vec<u8> = (0u8..0x40).collect();
        assert_eq!(verification_code(&sha512(&preimage)), "1574");
    }

    #[test]
    fn java_client_vectors() {
        assert_eq!(verification_code(&[0x1b, 0xbb]), "4555");
        assert_eq!(verification_code(&sha256(b"Hello World!")), "7712");
    }

    #[test]
    fn zero_padding() {
        // SHA-256(SHA-512(0x49)) ends in ea84 = 60036: the leading digit is dropped, zeros kept.
        assert_eq!(verification_code(&sha512(&[0x49])), "0036");
    }

    #[test]
    fn sha384_and_sha256_hashes() {
        // Computed independently with Python hashlib.
        assert_eq!(verification_code(&openssl::sha::sha384(b"abc")), "1265");
        assert_eq!(verification_code(&sha256(b"")), "7974");
    }
}
