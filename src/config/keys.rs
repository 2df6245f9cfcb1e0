//! Result-token keys from configuration: read once, checked once, never printed.

use std::path::Path;

use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};

use super::raw::{KeyKind, RawKey};
use super::ConfigError;
use crate::token::{EncryptionAlg, EncryptionKey, SecretPem, SigningAlg, SigningKey};

/// SHA-256 of the SPKI DER of the demo keys shipped in `demo-keys/`.
fn demo_fingerprints() -> Vec<Vec<u8>> {
    [
        crate::demo_keys::SIGNING_PUBLIC,
        crate::demo_keys::RECEIVER_PUBLIC,
    ]
    .iter()
    .filter_map(|pem| PKey::public_key_from_pem(pem.as_bytes()).ok())
    .filter_map(|k| fingerprint(&k))
    .collect()
}

fn fingerprint(key: &PKey<Public>) -> Option<Vec<u8>> {
    let der = key.public_key_to_der().ok()?;
    openssl::hash::hash(MessageDigest::sha256(), &der)
        .ok()
        .map(|d| d.to_vec())
}

/// Whether two public-key PEMs hold the same key, whatever the PEM's line layout.
pub fn same_public_key(a: &str, b: &str) -> bool {
    let fp = |pem: &str| {
        PKey::public_key_from_pem(pem.as_bytes())
            .ok()
            .and_then(|k| fingerprint(&k))
    };
    matches!((fp(a), fp(b)), (Some(x), Some(y)) if x == y)
}

pub fn is_demo_key(public: &PKey<Public>) -> bool {
    fingerprint(public).is_some_and(|f| demo_fingerprints().contains(&f))
}

fn read_pem(raw: &RawKey, key_path: &str, base_dir: &Path) -> Result<String, ConfigError> {
    match (&raw.key, &raw.key_file) {
        (Some(pem), None) => Ok(pem.clone()),
        (None, Some(file)) => {
            let path = base_dir.join(file);
            std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::key(
                    format!("{key_path}.key_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })
        }
        (Some(_), Some(_)) => Err(ConfigError::key(
            key_path,
            "set either `key` or `key_file`, not both",
        )),
        (None, None) => Err(ConfigError::key(key_path, "set `key` or `key_file`")),
    }
}

fn source_name(raw: &RawKey, key_path: &str) -> String {
    if raw.key_file.is_some() {
        format!("{key_path}.key_file")
    } else {
        format!("{key_path}.key")
    }
}

fn check_kind(id: Id, kind: KeyKind, at: &str) -> Result<(), ConfigError> {
    let ok = matches!((id, kind), (Id::RSA, KeyKind::Rsa) | (Id::EC, KeyKind::Ec));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::key(
            at,
            format!("the key is not of the declared type {kind:?}"),
        ))
    }
}

fn check_rsa_size(bits: u32, at: &str) -> Result<(), ConfigError> {
    if (2048..=8192).contains(&bits) {
        Ok(())
    } else {
        Err(ConfigError::key(
            at,
            format!("RSA key of {bits} bits; use 2048 to 8192"),
        ))
    }
}

/// The signing key given under `name` (one of [`SIGNING_NAMES`]); errors name it.
pub fn signing_key(
    raw: &RawKey,
    name: &str,
    base_dir: &Path,
    production: bool,
) -> Result<SigningKey, ConfigError> {
    let at = source_name(raw, name);
    let pem = read_pem(raw, name, base_dir)?;
    let key: PKey<Private> = PKey::private_key_from_pem(pem.as_bytes())
        .map_err(|_| ConfigError::key(&at, "not a PEM private key"))?;
    check_kind(key.id(), raw.kind, &at)?;
    let alg = match raw.kind {
        KeyKind::Rsa => {
            check_rsa_size(key.bits(), &at)?;
            SigningAlg::Rs256
        }
        KeyKind::Ec => {
            let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
            if curve != Some(Nid::X9_62_PRIME256V1) {
                return Err(ConfigError::key(
                    &at,
                    "EC signing keys must be P-256 (ES256)",
                ));
            }
            SigningAlg::Es256
        }
    };
    let public_der = key
        .public_key_to_der()
        .map_err(|_| ConfigError::key(&at, "cannot derive the public key"))?;
    let public = PKey::public_key_from_der(&public_der)
        .map_err(|_| ConfigError::key(&at, "cannot derive the public key"))?;
    if production && is_demo_key(&public) {
        return Err(ConfigError::key(
            &at,
            "a published demo key is refused in production mode",
        ));
    }
    let public_pem =
        String::from_utf8(public.public_key_to_pem().unwrap_or_default()).unwrap_or_default();
    Ok(SigningKey {
        alg,
        private_pem: SecretPem::new(pem),
        public_pem,
    })
}

/// The receiver key given under `name` (one of [`ENCRYPTION_NAMES`]); errors name it.
pub fn encryption_key(
    raw: &RawKey,
    name: &str,
    base_dir: &Path,
    production: bool,
) -> Result<EncryptionKey, ConfigError> {
    let at = source_name(raw, name);
    let pem = read_pem(raw, name, base_dir)?;
    let key = PKey::public_key_from_pem(pem.as_bytes())
        .map_err(|_| ConfigError::key(&at, "not a PEM public key (SPKI, BEGIN PUBLIC KEY)"))?;
    check_kind(key.id(), raw.kind, &at)?;
    let alg = match raw.kind {
        KeyKind::Rsa => {
            check_rsa_size(key.bits(), &at)?;
            EncryptionAlg::RsaOaep
        }
        KeyKind::Ec => {
            let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
            let known = [Nid::X9_62_PRIME256V1, Nid::SECP384R1, Nid::SECP521R1];
            if !curve.is_some_and(|c| known.contains(&c)) {
                return Err(ConfigError::key(
                    &at,
                    "EC receiver keys must be P-256, P-384 or P-521",
                ));
            }
            EncryptionAlg::EcdhEs
        }
    };
    if production && is_demo_key(&key) {
        return Err(ConfigError::key(
            &at,
            "a published demo key is refused in production mode",
        ));
    }
    Ok(EncryptionKey {
        alg,
        public_pem: pem,
    })
}

/// The names a key may be written under: ours first, then the reference components' names
/// (`[signing_privkey]` in auth-test's and the core's configuration files), so a block pasted
/// from there works unchanged.
pub const SIGNING_NAMES: [&str; 3] = ["keys.signing", "keys.signing_privkey", "signing_privkey"];
pub const ENCRYPTION_NAMES: [&str; 3] = [
    "keys.encryption",
    "keys.encryption_pubkey",
    "encryption_pubkey",
];

/// The one key given among `candidates` (paired with `names`) and the name it was given
/// under. None or two is an error naming them.
pub fn pick<'a>(
    names: [&'static str; 3],
    candidates: [Option<&'a RawKey>; 3],
) -> Result<(&'static str, &'a RawKey), ConfigError> {
    let given: Vec<_> = names
        .into_iter()
        .zip(candidates)
        .filter_map(|(n, k)| k.map(|k| (n, k)))
        .collect();
    match given.as_slice() {
        [one] => Ok(*one),
        [] => Err(ConfigError::key(
            names[0],
            format!(
                "is missing: give this key as [{}] (or under the reference name [{}])",
                names[0], names[2]
            ),
        )),
        [(first, _), (second, _), ..] => Err(ConfigError::key(
            *second,
            format!("gives the same key as {first}; keep one of the two"),
        )),
    }
}

/// SHA-256 of the public key's SPKI DER in lower-case hex, as
/// `openssl pkey -pubin -in KEY.pem -outform DER | sha256sum` prints it: operators compare it
/// with the key a communication plugin holds.
pub fn public_fingerprint(public_pem: &str) -> Option<String> {
    let key = PKey::public_key_from_pem(public_pem.as_bytes()).ok()?;
    let digest = fingerprint(&key)?;
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}
