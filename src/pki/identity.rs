//! Who a certificate names: the subject attributes both means map to identity fields, and
//! Smart-ID's dateOfBirth from subjectDirectoryAttributes.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use x509_parser::certificate::X509Certificate;

use crate::der;

/// The identity fields of a certificate's subject. `serial_number` is a Belgian national
/// number or an ETSI semantics identifier (`PNOEE-…`): `Debug` masks it so it cannot reach a log
/// by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CertIdentity {
    /// subject serialNumber (2.5.4.5)
    pub serial_number: Option<String>,
    /// subject givenName (2.5.4.42)
    pub given_name: Option<String>,
    /// subject surname (2.5.4.4)
    pub surname: Option<String>,
    /// subject countryName (2.5.4.6)
    pub country: Option<String>,
    /// subject commonName (2.5.4.3)
    pub common_name: Option<String>,
    /// subjectDirectoryAttributes dateOfBirth (1.3.6.1.5.5.7.9.1), when present; JSON
    /// `"YYYY-MM-DD"`.
    #[serde(with = "iso_date")]
    pub date_of_birth: Option<Date>,
}

/// `Option<Date>` as `"YYYY-MM-DD"` (or null) without turning on time's serde feature, which
/// would rebuild half the dependency tree for one field.
mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::macros::format_description;
    use time::Date;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d.and_then(|d| d.format(FORMAT).ok()) {
            Some(text) => s.serialize_some(&text),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| Date::parse(&t, FORMAT).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl fmt::Debug for CertIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = self.serial_number.as_ref().map(|s| {
            let tail: String = s
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        });
        f.debug_struct("CertIdentity")
            .field("serial_number", &masked)
            .field("given_name", &self.given_name.as_ref().map(|_| "…"))
            .field("surname", &self.surname.as_ref().map(|_| "…"))
            .field("country", &self.country)
            .field("common_name", &self.common_name.as_ref().map(|_| "…"))
            .field("date_of_birth", &self.date_of_birth.map(|_| "…"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("the certificate is not valid DER")]
    Malformed,
}

/// Reads the identity of a DER certificate.
pub fn identity_from_der(der: &[u8]) -> Result<CertIdentity, IdentityError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| IdentityError::Malformed)?;
    Ok(identity_of(&cert))
}

fn attr(cert: &X509Certificate<'_>, oid: &str) -> Option<String> {
    cert.subject()
        .iter_attributes()
        .find(|a| a.attr_type().to_id_string() == oid)
        .and_then(|a| a.as_str().ok().map(str::to_string))
}

pub(crate) fn identity_of(cert: &X509Certificate<'_>) -> CertIdentity {
    let date_of_birth = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == der::OID_SUBJECT_DIRECTORY_ATTRIBUTES)
        .and_then(|e| der::date_of_birth(e.value));
    CertIdentity {
        serial_number: attr(cert, "2.5.4.5"),
        given_name: attr(cert, "2.5.4.42"),
        surname: attr(cert, "2.5.4.4"),
        country: attr(cert, "2.5.4.6"),
        common_name: attr(cert, "2.5.4.3"),
        date_of_birth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert_eq!(
            identity_from_der(b"not a cert"),
            Err(IdentityError::Malformed)
        );
    }

    #[test]
    fn debug_masks_serial_number() {
        let id = CertIdentity {
            serial_number: Some("85073003328".into()),
            ..Default::default()
        };
        let s = format!("{id:?}");
        assert!(!s.contains("850730"), "{s}");
        assert!(s.contains("…28"));
    }
}
