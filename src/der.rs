//! The few DER reads that x509-parser and OpenSSL do not do for us, in one place: one TLV with
//! a one-byte tag and a definite length, an element's total length, and the dateOfBirth of a
//! certificate's subjectDirectoryAttributes (RFC 3739). The certificate report, the Smart-ID
//! identity and the card's files all read through these.

use time::Date;

/// One TLV: (tag, contents, rest). Definite lengths of at most 4 length bytes; anything else
/// (indefinite length, longer length fields, truncation) is `None`, never a panic.
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
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Length of the DER element at the start of `data`, header included, if all of it is there
/// (a card file holds one element followed by padding).
pub fn element_len(data: &[u8]) -> Option<usize> {
    let (_, _, rest) = tlv(data)?;
    Some(data.len() - rest.len())
}

/// DER of OID 1.3.6.1.5.5.7.9.1 (id-pda-dateOfBirth), contents only.
pub const OID_DATE_OF_BIRTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01];

/// OID of the subjectDirectoryAttributes extension, as x509-parser spells it.
pub const OID_SUBJECT_DIRECTORY_ATTRIBUTES: &str = "2.5.29.9";

/// The dateOfBirth in a subjectDirectoryAttributes extension value:
/// `SEQUENCE OF Attribute { type OID, values SET OF GeneralizedTime "YYYYMMDD120000Z" }`.
/// `None` if absent, malformed or not a calendar date.
pub fn date_of_birth(ext_value: &[u8]) -> Option<Date> {
    let (0x30, mut attrs, _) = tlv(ext_value)? else {
        return None;
    };
    while !attrs.is_empty() {
        let (0x30, attr, rest) = tlv(attrs)? else {
            return None;
        };
        attrs = rest;
        let (0x06, oid, values) = tlv(attr)? else {
            return None;
        };
        if oid != OID_DATE_OF_BIRTH {
            continue;
        }
        let (0x31, set, _) = tlv(values)? else {
            return None;
        };
        let (0x18, time, _) = tlv(set)? else {
            return None;
        };
        let digits = time.get(..8)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            std::str::from_utf8(&digits[r]).ok()?.parse().ok()
        };
        let month = time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
        let day = u8::try_from(num(6..8)?).ok()?;
        return Date::from_calendar_date(i32::try_from(num(0..4)?).ok()?, month, day).ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SEQUENCE { SEQUENCE { OID dateOfBirth, SET { GeneralizedTime `time` } } }
    fn sda(time: &[u8]) -> Vec<u8> {
        let mut attr = vec![0x06, 0x08];
        attr.extend_from_slice(OID_DATE_OF_BIRTH);
        attr.extend_from_slice(&[0x31, time.len() as u8 + 2, 0x18, time.len() as u8]);
        attr.extend_from_slice(time);
        let mut seq = vec![0x30, attr.len() as u8];
        seq.extend_from_slice(&attr);
        let mut outer = vec![0x30, seq.len() as u8];
        outer.extend_from_slice(&seq);
        outer
    }

    #[test]
    fn tlv_reads_definite_lengths_and_refuses_the_rest() {
        assert_eq!(tlv(&[0x30, 0x01, 0xff]), Some((0x30, &[0xff][..], &[][..])));
        assert_eq!(tlv(&[0x30, 0x02, 0xff]), None);
        assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(tlv(&[0x30, 0x80]), None);
        assert_eq!(tlv(&[0x30]), None);
        assert_eq!(tlv(&[]), None);
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        assert_eq!(tlv(&long).map(|t| t.1.len()), Some(256));
    }

    #[test]
    fn element_len_counts_the_header_and_ignores_padding() {
        assert_eq!(element_len(&[0x30, 0x03, 1, 2, 3, 0, 0]), Some(5));
        assert_eq!(element_len(&[0x30, 0x82, 0x01, 0x00]), None);
        assert_eq!(element_len(&[0x30, 0x81]), None);
        assert_eq!(element_len(&[0x30, 0x80, 0]), None);
    }

    #[test]
    fn date_of_birth_reads_the_attribute_and_refuses_non_dates() {
        let d = date_of_birth(&sda(b"19050404120000Z")).expect("parsed");
        assert_eq!(
            d,
            Date::from_calendar_date(1905, time::Month::April, 4).unwrap()
        );
        for bad in [
            &b"19050230120000Z"[..],
            b"+9050404120000Z",
            b"1905",
            b"19051304120000Z",
        ] {
            assert_eq!(date_of_birth(&sda(bad)), None, "{bad:?}");
        }
        for garbage in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 0x30],
        ] {
            assert_eq!(date_of_birth(garbage), None);
        }
    }
}
