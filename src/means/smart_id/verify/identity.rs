//! Identity fields from the certificate subject (never from CN) and the date of birth.

use std::collections::BTreeMap;

use x509_parser::oid_registry::{OID_X509_GIVEN_NAME, OID_X509_SERIALNUMBER, OID_X509_SURNAME};
use x509_parser::prelude::X509Certificate;

use super::VerifyError;
use crate::der;
use crate::means::smart_id::personal_code::{Checks, PersonalCode};

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

/// `dateOfBirth` from subjectDirectoryAttributes, as `YYYY-MM-DD`.
fn date_of_birth_attribute(cert: &X509Certificate<'_>) -> Option<String> {
    let ext = cert
        .iter_extensions()
        .find(|e| e.oid.to_id_string() == der::OID_SUBJECT_DIRECTORY_ATTRIBUTES)?;
    let d = der::date_of_birth(ext.value)?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}
