use proptest::prelude::*;

use super::*;

fn identity_fields() -> Vec<(u8, Vec<u8>)> {
    vec![
        (0x00, vec![0x00, 0x03]),
        (0x01, b"592000155079".to_vec()),
        (0x02, vec![0xAB; 16]),
        (0x03, b"01.02.2024".to_vec()),
        (0x04, b"01.02.2034".to_vec()),
        (0x05, b"Testdorp".to_vec()),
        (0x06, b"85073000165".to_vec()),
        (0x07, b"Specimen".to_vec()),
        (0x08, "Demo Zoë".as_bytes().to_vec()),
        (0x09, b"X".to_vec()),
        (0x0A, b"Belg".to_vec()),
        (0x0B, b"Testdorp".to_vec()),
        (0x0C, b"30 JUL 1985".to_vec()),
        (0x0D, b"V".to_vec()),
        (0x0F, b"1".to_vec()),
        (0x10, b"3".to_vec()),
        (0x11, vec![7; 32]),
    ]
}

fn encode(fields: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let refs: Vec<(u8, &[u8])> = fields.iter().map(|(t, v)| (*t, v.as_slice())).collect();
    encode_tlv(&refs)
}

#[test]
fn identity_file_parses_into_typed_fields() {
    let mut data = encode(&identity_fields());
    data.extend_from_slice(&[0; 40]); // padding as on the card
    let id = IdentityFile::parse(&data).unwrap();
    assert_eq!(id.national_number, "85073000165");
    assert_eq!(id.given_names, "Demo Zoë");
    assert_eq!(id.third_name_initial.as_deref(), Some("X"));
    assert_eq!(id.date_of_birth.to_iso(), "1985-07-30");
    assert_eq!(id.valid_until.to_iso(), "2034-02-01");
    assert_eq!(id.gender, Gender::Female);
    assert_eq!(id.document_type.name(), "eid");
    assert_eq!(
        id.special_status,
        SpecialStatus::WhiteCaneAndExtendedMinority
    );
    assert_eq!(id.photo_hash.len(), 32);
    assert!(!format!("{id:?}").contains("Specimen"));
}

#[test]
fn long_lengths_use_the_ff_continuation() {
    let long = vec![b'a'; 300];
    let data = encode_tlv(&[(0x01, &long), (0x02, b"1000"), (0x03, b"x")]);
    assert_eq!(&data[1..3], &[0xFF, 45]);
    assert_eq!(AddressFile::parse(&data).unwrap().street.len(), 300);
}

#[test]
fn malformed_files_are_errors() {
    let good = encode(&identity_fields());
    // Truncated anywhere: an error, never a panic.
    for cut in 1..good.len() {
        assert!(IdentityFile::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
    // A length running past the end.
    assert!(matches!(
        parse_tlv(&[0x00, 0x02, 0, 3, 0x01, 0x20, b'a'], 0x1F),
        Err(TlvError::Overlong { tag: 1, .. })
    ));
    assert_eq!(parse_tlv(&[0x01, 0xFF], 0x1F), Err(TlvError::Truncated));
    // Unknown, repeated or unordered tags.
    assert_eq!(
        parse_tlv(&[0x00, 0, 0x40, 1, b'a'], 0x1F),
        Err(TlvError::UnknownTag(0x40))
    );
    assert_eq!(
        parse_tlv(&[0x01, 1, b'a', 0x01, 1, b'b'], 0x1F),
        Err(TlvError::OutOfOrder(1))
    );
    // Bad values.
    let mut fields = identity_fields();
    fields[6].1 = b"8507300016".to_vec();
    assert_eq!(
        IdentityFile::parse(&encode(&fields)),
        Err(TlvError::BadValue(6))
    );
    let mut fields = identity_fields();
    fields[12].1 = b"30 XYZ 1985".to_vec();
    assert!(matches!(
        IdentityFile::parse(&encode(&fields)),
        Err(TlvError::Date { tag: 0x0C, .. })
    ));
    let mut fields = identity_fields();
    fields[7].1 = vec![0xC3, 0x28];
    assert_eq!(
        IdentityFile::parse(&encode(&fields)),
        Err(TlvError::BadValue(7))
    );
    let mut fields = identity_fields();
    fields.retain(|(t, _)| *t != 0x11);
    assert_eq!(
        IdentityFile::parse(&encode(&fields)),
        Err(TlvError::Missing(0x11))
    );
    assert_eq!(
        AddressFile::parse(&[0x00, 0, 0x04, 0]),
        Err(TlvError::UnknownTag(4))
    );
}

#[test]
fn partial_birth_dates_are_kept_partial() {
    let mut fields = identity_fields();
    fields[12].1 = b"   MEI 1950".to_vec();
    assert_eq!(
        IdentityFile::parse(&encode(&fields))
            .unwrap()
            .date_of_birth
            .to_iso(),
        "1950-05"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn tlv_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_tlv(&data, 0x1F);
        let _ = IdentityFile::parse(&data);
        let _ = AddressFile::parse(&data);
    }

    #[test]
    fn mutated_identity_files_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let mut data = encode(&identity_fields());
        for (i, b) in flips {
            let i = i.index(data.len());
            data[i] = b;
        }
        let _ = IdentityFile::parse(&data);
    }

    #[test]
    fn birth_date_parser_never_panics(raw in "\\PC{0,16}") {
        let _ = CardDate::parse_birth(&raw);
        let _ = CardDate::parse_numeric(&raw);
    }
}
