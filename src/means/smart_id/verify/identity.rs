//! Identity fields from the certificate subject (never from CN) and the date of birth.

use std::collections::BTreeMap;

use x509_parser::oid_registry::{OID_X509_GIVEN_NAME, OID_X509_SERIALNUMBER, OID_X509_SURNAME};
use x509_parser::prelude::X509Certificate;

use super::VerifyError;
use crate::means::smart_id::personal_code::{BirthDate, Checks, PersonalCode};

/// `dateOfBirth` in subjectDirectoryAttributes, DER of OID 1.3.6.1.5.5.7.9.1.
const OID_DATE_OF_BIRTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01];
const OID_SUBJECT_DIRECTORY_ATTRIBUTES: &str = "2.5.29.9";

pub(super) fn identity_fields(
    cert: &X509Certificate<'_>,
) -> Result<BTreeMap<String, String>, VerifyError> {
    let subject = cert.subject();
    let one = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
        it.next().and_then(|a| a.as_str().ok()).map(str::to_string)
    };
    let serial =
        one(&mut subject.iter_by_oid(&OID_X509_SERIALNUMBER)).ok_or(VerifyError::NoSerialNumber)?;
    let (prefix, rest) = serial.split_once('-').ok_or(VerifyError::NoSerialNumber)?;
    if prefix.len() != 5
        || !prefix.bytes().all(|b| b.is_ascii_uppercase())
        || !["PNO", "IDC", "PAS"].contains(&&prefix[..3])
        || rest.is_empty()
    {
        return Err(VerifyError::NoSerialNumber);
    }
    let mut f = BTreeMap::new();
    f.insert("national_identity_number".to_string(), serial.clone());
    f.insert("personal_code".into(), rest.to_string());
    f.insert("identifier_type".into(), prefix[..3].to_string());
    f.insert("country".into(), prefix[3..].to_string());
    let given = one(&mut subject.iter_by_oid(&OID_X509_GIVEN_NAME));
    let surname = one(&mut subject.iter_by_oid(&OID_X509_SURNAME));
    if let Some(g) = &given {
        f.insert("given_name".into(), g.clone());
    }
    if let Some(s) = &surname {
        f.insert("surname".into(), s.clone());
    }
    let full: Vec<&str> = [given.as_deref(), surname.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !full.is_empty() {
        f.insert("full_name".into(), full.join(" "));
    }
    // Date of birth: the certificate attribute first, else the code where the country allows.
    let dob = date_of_birth_attribute(cert).or_else(|| {
        PersonalCode::from_semantics_id(&serial, Checks::Strict)
            .ok()
            .and_then(|c| c.birth_date())
            .map(|d| d.to_string())
    });
    if let Some(d) = dob {
        f.insert("date_of_birth".into(), d);
    }
    Ok(f)
}

/// `dateOfBirth` from subjectDirectoryAttributes: SEQUENCE OF { OID, SET { GeneralizedTime } }.
fn date_of_birth_attribute(cert: &X509Certificate<'_>) -> Option<String> {
    let ext = cert
        .iter_extensions()
        .find(|e| e.oid.to_id_string() == OID_SUBJECT_DIRECTORY_ATTRIBUTES)?;
    let (tag, mut attrs, _) = der::tlv(ext.value)?;
    if tag != 0x30 {
        return None;
    }
    while let Some((0x30, attr, rest)) = der::tlv(attrs) {
        attrs = rest;
        let (0x06, oid, values) = der::tlv(attr)? else {
            continue;
        };
        if oid != OID_DATE_OF_BIRTH {
            continue;
        }
        let (0x31, set, _) = der::tlv(values)? else {
            return None;
        };
        let (0x18, time, _) = der::tlv(set)? else {
            return None;
        };
        let t = std::str::from_utf8(time).ok()?;
        let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<u32>().ok();
        let d = BirthDate::new(num(0..4)?, num(4..6)?, num(6..8)?)?;
        return Some(d.to_string());
    }
    None
}

/// The few DER reads x509-parser does not do for us.
pub(crate) mod der {
    /// One TLV with a one-byte tag: (tag, content, rest). `None` on any malformation.
    pub fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }
}
