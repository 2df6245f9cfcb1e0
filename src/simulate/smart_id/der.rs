//! A tiny DER writer for the certificate extensions OpenSSL's builders do not cover
//! (certificatePolicies with arbitrary OIDs, subjectDirectoryAttributes).

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// OBJECT IDENTIFIER from dotted text; panics only on a malformed constant of ours.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap_or(0)).collect();
    let mut body = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        body.extend(tmp.into_iter().rev());
    };
    push(arcs[0] * 40 + arcs.get(1).copied().unwrap_or(0));
    for a in arcs.iter().skip(2) {
        push(*a);
    }
    tlv(0x06, &body)
}

/// certificatePolicies: SEQUENCE OF PolicyInformation { policyIdentifier }.
pub fn certificate_policies(oids: &[&str]) -> Vec<u8> {
    seq(&oids.iter().map(|o| seq(&[oid(o)])).collect::<Vec<_>>())
}

/// subjectDirectoryAttributes with dateOfBirth as GeneralizedTime at 12:00:00Z (as SK does).
pub fn date_of_birth_attributes(year: u32, month: u32, day: u32) -> Vec<u8> {
    let time = format!("{year:04}{month:02}{day:02}120000Z");
    seq(&[seq(&[
        oid("1.3.6.1.5.5.7.9.1"),
        tlv(0x31, &tlv(0x18, time.as_bytes())),
    ])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(
            oid("1.3.6.1.5.5.7.9.1"),
            [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x09, 0x01]
        );
        assert_eq!(oid("1.3.6.1.4.1.62306.5.7.0")[7..10], [0x83, 0xe6, 0x62]);
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        // The same bytes SK's certificates carry for 1905-04-04.
        let sda = date_of_birth_attributes(1905, 4, 4);
        assert!(sda.ends_with(b"\x18\x0f19050404120000Z"));
    }
}
