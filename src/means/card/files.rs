//! The identity (EF 4031) and address (EF 4033) files: BEID TLV into typed structs. The input
//! comes from an untrusted client until its RRN signature is checked, so every malformation is
//! an error, never a panic.

use std::fmt;

use super::date::{CardDate, DateError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    #[error("the file ends inside a field header")]
    Truncated,
    #[error("field {tag:#04x} claims {len} bytes but only {left} remain")]
    Overlong { tag: u8, len: usize, left: usize },
    #[error("field {0:#04x} is out of order or repeated")]
    OutOfOrder(u8),
    #[error("field {0:#04x} is not a known field of this file")]
    UnknownTag(u8),
    #[error("the file has no field {0:#04x}")]
    Missing(u8),
    #[error("field {0:#04x} has a value this file never holds")]
    BadValue(u8),
    #[error("field {tag:#04x}: {source}")]
    Date { tag: u8, source: DateError },
}

/// One TLV field of a BEID file.
pub type Field<'a> = (u8, &'a [u8]);

/// Splits a BEID TLV file into fields. Lengths use the `FF` continuation (`FF 05` = 260), tags
/// must ascend, and zero padding after the last field ends the file. `max_tag` is the highest
/// tag the file may have.
pub fn parse_tlv(data: &[u8], max_tag: u8) -> Result<Vec<Field<'_>>, TlvError> {
    let mut fields = Vec::new();
    let mut pos = 0usize;
    let mut last: Option<u8> = None;
    while let Some(&tag) = data.get(pos) {
        if tag == 0 && pos > 0 {
            break; // padding
        }
        if last.is_some_and(|l| tag <= l) {
            return Err(TlvError::OutOfOrder(tag));
        }
        if tag > max_tag {
            return Err(TlvError::UnknownTag(tag));
        }
        pos += 1;
        let mut len = 0usize;
        loop {
            let b = *data.get(pos).ok_or(TlvError::Truncated)?;
            pos += 1;
            len += usize::from(b);
            if b != 0xFF {
                break;
            }
        }
        let left = data.len() - pos;
        if len > left {
            return Err(TlvError::Overlong { tag, len, left });
        }
        fields.push((tag, &data[pos..pos + len]));
        pos += len;
        last = Some(tag);
    }
    Ok(fields)
}

fn text(tag: u8, value: &[u8]) -> Result<String, TlvError> {
    String::from_utf8(value.to_vec()).map_err(|_| TlvError::BadValue(tag))
}

/// Document type (ID tag 0F).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentType(pub u8);

impl DocumentType {
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "eid",
            6 => "kids_id",
            7 => "bootstrap",
            8 => "habilitation",
            11..=21 => "foreigner_card",
            22 | 23 => "brexit_card",
            27 | 28 => "foreigner_card",
            31 | 32 => "eu_card",
            33..=36 => "foreigner_card",
            61..=69 => "kids_foreigner_card",
            _ => "other",
        }
    }
}

/// Special status (ID tag 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialStatus {
    None,
    WhiteCane,
    ExtendedMinority,
    WhiteCaneAndExtendedMinority,
    YellowCane,
    YellowCaneAndExtendedMinority,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
    /// Any other letter, kept as written.
    Other(String),
}

impl Gender {
    pub fn code(&self) -> &str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
            Gender::Other(s) => s,
        }
    }
}

/// The identity file (EF 4031), parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityFile {
    pub card_number: String,
    pub chip_number: Vec<u8>,
    pub valid_from: CardDate,
    pub valid_until: CardDate,
    pub delivery_municipality: String,
    pub national_number: String,
    pub surname: String,
    /// First two given names.
    pub given_names: String,
    pub third_name_initial: Option<String>,
    pub nationality: String,
    pub place_of_birth: String,
    pub date_of_birth: CardDate,
    pub gender: Gender,
    pub noble_condition: Option<String>,
    pub document_type: DocumentType,
    pub special_status: SpecialStatus,
    /// Hash of the photo file; its length says which hash (20 SHA-1, 32 SHA-256, 48 SHA-384).
    pub photo_hash: Vec<u8>,
    /// SHA-384 of the basic public key file (applet 1.8).
    pub basic_key_hash: Option<Vec<u8>>,
}

/// Personal data: Debug names the card number only.
impl fmt::Debug for IdentityFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityFile")
            .field("card_number", &self.card_number)
            .finish_non_exhaustive()
    }
}

impl IdentityFile {
    pub fn parse(data: &[u8]) -> Result<IdentityFile, TlvError> {
        let fields = parse_tlv(data, 0x1F)?;
        let get = |tag: u8| fields.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
        let need = |tag: u8| get(tag).ok_or(TlvError::Missing(tag));
        let need_text = |tag: u8| need(tag).and_then(|v| text(tag, v));
        let opt_text = |tag: u8| get(tag).map(|v| text(tag, v)).transpose();
        let date = |tag: u8, f: fn(&str) -> Result<CardDate, DateError>| {
            f(&need_text(tag)?).map_err(|source| TlvError::Date { tag, source })
        };
        let small_number = |tag: u8| -> Result<u8, TlvError> {
            let s = need_text(tag)?;
            let s = s.trim();
            if s.is_empty() || s.len() > 2 {
                return Err(TlvError::BadValue(tag));
            }
            s.parse().map_err(|_| TlvError::BadValue(tag))
        };

        let national_number = need_text(0x06)?;
        if national_number.len() != 11 || !national_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TlvError::BadValue(0x06));
        }
        let gender = match need_text(0x0D)?.trim() {
            "M" => Gender::Male,
            "F" | "V" | "W" => Gender::Female,
            "" => return Err(TlvError::BadValue(0x0D)),
            other => Gender::Other(other.to_string()),
        };
        let special_status = match get(0x10) {
            None => SpecialStatus::None,
            Some(_) => match small_number(0x10)? {
                0 => SpecialStatus::None,
                1 => SpecialStatus::WhiteCane,
                2 => SpecialStatus::ExtendedMinority,
                3 => SpecialStatus::WhiteCaneAndExtendedMinority,
                4 => SpecialStatus::YellowCane,
                5 => SpecialStatus::YellowCaneAndExtendedMinority,
                _ => return Err(TlvError::BadValue(0x10)),
            },
        };
        let photo_hash = need(0x11)?.to_vec();
        if ![20, 32, 48].contains(&photo_hash.len()) {
            return Err(TlvError::BadValue(0x11));
        }
        Ok(IdentityFile {
            card_number: need_text(0x01)?,
            chip_number: get(0x02).unwrap_or_default().to_vec(),
            valid_from: date(0x03, CardDate::parse_numeric)?,
            valid_until: date(0x04, CardDate::parse_numeric)?,
            delivery_municipality: opt_text(0x05)?.unwrap_or_default(),
            national_number,
            surname: need_text(0x07)?,
            given_names: need_text(0x08)?,
            third_name_initial: opt_text(0x09)?.filter(|s| !s.is_empty()),
            nationality: need_text(0x0A)?,
            place_of_birth: need_text(0x0B)?,
            date_of_birth: date(0x0C, CardDate::parse_birth)?,
            gender,
            noble_condition: opt_text(0x0E)?.filter(|s| !s.is_empty()),
            document_type: DocumentType(small_number(0x0F)?),
            special_status,
            photo_hash,
            basic_key_hash: get(0x1A).map(<[u8]>::to_vec),
        })
    }
}

/// The address file (EF 4033), parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct AddressFile {
    pub street: String,
    pub postal_code: String,
    pub municipality: String,
}

impl fmt::Debug for AddressFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressFile").finish_non_exhaustive()
    }
}

impl AddressFile {
    pub fn parse(data: &[u8]) -> Result<AddressFile, TlvError> {
        let fields = parse_tlv(data, 0x03)?;
        let need_text = |tag: u8| {
            let v = fields
                .iter()
                .find(|(t, _)| *t == tag)
                .map(|(_, v)| *v)
                .ok_or(TlvError::Missing(tag))?;
            text(tag, v)
        };
        Ok(AddressFile {
            street: need_text(0x01)?,
            postal_code: need_text(0x02)?,
            municipality: need_text(0x03)?,
        })
    }
}

/// Builds a TLV file (used by the virtual card and tests). Fields must be in ascending order.
pub fn encode_tlv(fields: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in fields {
        out.push(*tag);
        let mut len = value.len();
        while len >= 0xFF {
            out.push(0xFF);
            len -= 0xFF;
        }
        out.push(len as u8);
        out.extend_from_slice(value);
    }
    out
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
