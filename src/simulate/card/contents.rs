//! The files on each virtual card, built from the test PKI: certificates zero-padded as the
//! applet pads them, identity/address/photo files signed by the RRN key the way the National
//! Register signs them (RSA: PKCS#1 v1.5; EC: ECDSA SHA-384 DER in a zero-padded file).

use std::collections::BTreeMap;

use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;

use super::emulator::{CardContents, Profile};
use super::pki::{person, PkiError, TestPki};
use crate::means::card::files::encode_tlv;

const DF_BELPIC: u16 = 0xDF00;
const DF_ID: u16 = 0xDF01;

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `DD.MM.YYYY` of a Unix time (proleptic Gregorian, days-from-civil inverse).
fn card_date(unix: i64) -> String {
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{d:02}.{m:02}.{y:04}")
}

fn padded(mut data: Vec<u8>, extra: usize) -> Vec<u8> {
    data.resize(data.len() + extra, 0);
    data
}

/// Placeholder photo: JPEG markers around a label, not a decodable image (no real face ever).
fn photo(profile: Profile) -> Vec<u8> {
    let mut p = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x20];
    p.extend_from_slice(b"auth-eid test card photo ");
    p.extend_from_slice(profile.name().as_bytes());
    p.resize(p.len() + 1500, 0x55);
    p.extend_from_slice(&[0xFF, 0xD9]);
    p
}

fn rrn_sign(key: &PKey<Private>, md: MessageDigest, data: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut s = Signer::new(md, key)?;
    Ok(s.sign_oneshot_to_vec(data)?)
}

/// The identity and address files and their RRN signatures for `profile`.
pub struct SignedFiles {
    pub identity: Vec<u8>,
    pub identity_sig: Vec<u8>,
    pub address: Vec<u8>,
    pub address_sig: Vec<u8>,
    pub photo: Vec<u8>,
}

pub fn signed_files(
    pki: &TestPki,
    profile: Profile,
    chip: &[u8; 16],
) -> Result<SignedFiles, PkiError> {
    let p = person(profile);
    let photo = photo(profile);
    let (rrn, md, birth, sex) = match profile {
        Profile::Rsa => (
            &pki.rrn_rsa.key,
            MessageDigest::sha256(),
            "30 JUL 1985",
            "M",
        ),
        Profile::Ec => (&pki.rrn_ec.key, MessageDigest::sha384(), "03.FEB.2001", "W"),
    };
    let photo_hash = hash(md, &photo)?;
    let now = unix_now();
    let from = card_date(now - 86_400);
    let until = card_date(now + 10 * 365 * 86_400);
    let card_number = match profile {
        Profile::Rsa => "590000000118",
        Profile::Ec => "590000000217",
    };
    let mut identity = encode_tlv(&[
        (0x00, &[0x00, 0x05]),
        (0x01, card_number.as_bytes()),
        (0x02, chip),
        (0x03, from.as_bytes()),
        (0x04, until.as_bytes()),
        (0x05, b"Demostad"),
        (0x06, p.national_number.as_bytes()),
        (0x07, p.surname.as_bytes()),
        (0x08, p.given_names.as_bytes()),
        (0x09, b"T"),
        (0x0A, b"Belg"),
        (0x0B, b"Demostad"),
        (0x0C, birth.as_bytes()),
        (0x0D, sex.as_bytes()),
        (0x0F, b"1"),
        (0x10, b"0"),
        (0x11, &photo_hash),
    ]);
    // rsa: exactly two READ BINARY chunks (ends with 6B00); ec: ends with 6Cxx.
    let size = match profile {
        Profile::Rsa => 504,
        Profile::Ec => 600,
    };
    identity.resize(size.max(identity.len()), 0);
    let address = padded(
        encode_tlv(&[
            (0x00, &[0x00, 0x01]),
            (0x01, b"Voorbeeldstraat 1"),
            (0x02, b"9999"),
            (0x03, b"Demostad"),
        ]),
        40,
    );
    let mut identity_sig = rrn_sign(rrn, md, &identity)?;
    if profile == Profile::Ec {
        identity_sig.resize(104, 0);
    }
    let mut signed = address[..address.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)].to_vec();
    signed.extend_from_slice(&identity_sig);
    let mut address_sig = rrn_sign(rrn, md, &signed)?;
    if profile == Profile::Ec {
        address_sig.resize(104, 0);
    }
    Ok(SignedFiles {
        identity,
        identity_sig,
        address,
        address_sig,
        photo,
    })
}

/// Everything on the card of `profile`.
pub fn card_contents(pki: &TestPki, profile: Profile) -> Result<CardContents, PkiError> {
    let chip: [u8; 16] = match profile {
        Profile::Rsa => *b"auth-eid-rsa-001",
        Profile::Ec => *b"auth-eid-ec--001",
    };
    let (auth, rrn, cert_pad, empty_cert) = match profile {
        Profile::Rsa => (&pki.card_rsa, &pki.rrn_rsa, 50, 1300),
        Profile::Ec => (&pki.card_ec, &pki.rrn_ec, 1100, 2500),
    };
    let cert = |c: &openssl::x509::X509| -> Result<Vec<u8>, PkiError> {
        Ok(padded(c.to_der()?, cert_pad))
    };
    let signed = signed_files(pki, profile, &chip)?;
    let mut files = BTreeMap::new();
    files.insert((DF_BELPIC, 0x5038), cert(&auth.cert)?);
    // No non-repudiation certificate on this card: a never-issued, all-zero file.
    files.insert((DF_BELPIC, 0x5039), vec![0; empty_cert]);
    files.insert((DF_BELPIC, 0x503A), cert(&pki.citizen_ca.cert)?);
    files.insert((DF_BELPIC, 0x503B), cert(&pki.root.cert)?);
    files.insert((DF_BELPIC, 0x503C), cert(&rrn.cert)?);
    files.insert((DF_ID, 0x4031), signed.identity);
    files.insert((DF_ID, 0x4032), signed.identity_sig);
    files.insert((DF_ID, 0x4033), signed.address);
    files.insert((DF_ID, 0x4034), signed.address_sig);
    files.insert((DF_ID, 0x4035), signed.photo);
    Ok(CardContents {
        profile,
        files,
        auth_key: auth.key.clone(),
        chip_serial: chip,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn card_dates() {
        assert_eq!(super::card_date(0), "01.01.1970");
        assert_eq!(super::card_date(951_782_400), "29.02.2000");
    }
}
