//! Random identifiers and secrets: 128 bits (or more) from a CSPRNG, base64url.
//!
//! The generator is rand's `ThreadRng`: ChaCha12, one per thread, seeded from the operating
//! system's generator (getrandom) and reseeded from it after every 64 KiB it gives out. Why not
//! OpenSSL's `RAND_bytes`, which it replaced: docs/security.md, "Random identifiers".

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The longest token made; ours take 6 to 16 bytes.
const MAX_TOKEN_BYTES: usize = 64;

/// `n` random bytes as unpadded base64url.
pub fn random_token(n: usize) -> String {
    let mut buf = [0u8; MAX_TOKEN_BYTES];
    let buf = buf.get_mut(..n).expect("tokens are at most 64 bytes");
    // ThreadRng panics only when the operating system's generator fails to (re)seed it; then
    // no secret can be made and stopping is the only safe answer.
    rand::rng().fill_bytes(buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn is_token_of(raw: &str, bytes: usize) -> bool {
    let len = (bytes * 4).div_ceil(3);
    raw.len() == len
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! random_id {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                $name(random_token(16))
            }

            /// Accepts only the exact shape we hand out (22 base64url characters).
            pub fn parse(raw: &str) -> Option<Self> {
                is_token_of(raw, 16).then(|| $name(raw.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl TryFrom<String> for $name {
            type Error = &'static str;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s).ok_or("not a valid identifier")
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Identifiers are capabilities: logs and debug output show a prefix only.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}..)", stringify!($name), &self.0[..4])
            }
        }
    };
}

random_id!(
    FlowId,
    "A flow: 128 random bits, the only thing in `client_url`."
);
random_id!(
    SessionId,
    "An authenticated session: 128 random bits in `session_url`, not the flow id."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_128_bit_and_parse_back() {
        let a = FlowId::new();
        assert_eq!(a.as_str().len(), 22);
        assert_eq!(FlowId::parse(a.as_str()), Some(a.clone()));
        assert_ne!(a, FlowId::new());
        for bad in [
            "",
            "x",
            "..%2f..%2fetc%2fpasswd",
            &"A".repeat(23),
            "AAAAAAAAAAAAAAAAAAAAA!",
        ] {
            assert!(FlowId::parse(bad).is_none(), "{bad}");
        }
        assert!(!format!("{a:?}").contains(a.as_str()));
    }
}
