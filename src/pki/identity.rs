//! Who a certificate names: the subject attributes both means map to identity fields, and
//! Smart-ID's dateOfBirth from subjectDirectoryAttributes.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use x509_parser::certificate::X509Certificate;

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
        .find(|e| e.oid.to_id_string() == "2.5.29.9")
        .and_then(|e| date_of_birth(e.value));
    CertIdentity {
        serial_number: attr(cert, "2.5.4.5"),
        given_name: attr(cert, "2.5.4.42"),
        surname: attr(cert, "2.5.4.4"),
        country: attr(cert, "2.5.4.6"),
        common_name: attr(cert, "2.5.4.3"),
        date_of_birth,
    }
}

/// One DER TLV: (tag, contents, rest). Definite lengths up to 4 bytes only; anything else is
/// not something a certificate extension legitimately holds.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// DER of OID 1.3.6.1.5.5.7.9.1 (id-pda-dateOfBirth), contents only.
const DATE_OF_BIRTH_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01];

/// SubjectDirectoryAttributes ::= SEQUENCE OF Attribute { type OID, values SET OF ANY }; the
/// dateOfBirth value is a GeneralizedTime `YYYYMMDD120000Z` (RFC 3739).
fn date_of_birth(ext_value: &[u8]) -> Option<Date> {
    let (0x30, mut attrs, _) = tlv(ext_value)? else {
        return None;
    };
    while !attrs.is_empty() {
        let (tag, attr, rest) = tlv(attrs)?;
        attrs = rest;
        if tag != 0x30 {
            return None;
        }
        let (0x06, oid, values) = tlv(attr)? else {
            return None;
        };
        if oid != DATE_OF_BIRTH_OID {
            continue;
        }
        let (0x31, set, _) = tlv(values)? else {
            return None;
        };
        let (0x18, gt, _) = tlv(set)? else {
            return None;
        };
        let s = std::str::from_utf8(gt).ok()?;
        if s.len() < 8 || !s.as_bytes()[..8].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let year: i32 = s[0..4].parse().ok()?;
        let month: u8 = s[4..6].parse().ok()?;
        let day: u8 = s[6..8].parse().ok()?;
        return Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_of_birth_from_smart_id_der() {
        // SEQUENCE { SEQUENCE { OID dateOfBirth, SET { GeneralizedTime "19050404120000Z" } } }
        let mut attr = vec![0x06, 0x08];
        attr.extend_from_slice(DATE_OF_BIRTH_OID);
        attr.extend_from_slice(&[0x31, 0x11, 0x18, 0x0f]);
        attr.extend_from_slice(b"19050404120000Z");
        let mut seq = vec![0x30, attr.len() as u8];
        seq.extend_from_slice(&attr);
        let mut outer = vec![0x30, seq.len() as u8];
        outer.extend_from_slice(&seq);
        let d = date_of_birth(&outer).expect("parsed");
        assert_eq!(
            d,
            Date::from_calendar_date(1905, time::Month::April, 4).unwrap()
        );
    }

    #[test]
    fn garbage_is_none_not_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 0x30],
        ] {
            assert_eq!(date_of_birth(bad), None);
        }
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
