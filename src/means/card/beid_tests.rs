use std::collections::VecDeque;

use super::*;
use crate::means::card::session::{self, AuthRequest};
use crate::simulate::card::{test_card, EmulatorTransport, Profile};

/// Counts and records what goes to the card; can pull the card after `fail_after` APDUs.
struct Spy<'a> {
    inner: EmulatorTransport<'a>,
    sent: Vec<Vec<u8>>,
    fail_after: Option<usize>,
}

impl CardTransport for Spy<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.fail_after.is_some_and(|n| self.sent.len() >= n) {
            return Err(TransportError::CardRemoved);
        }
        self.sent.push(apdu.to_vec());
        self.inner.transmit(apdu)
    }
}

fn spy(card: &mut crate::simulate::card::BeidCard) -> Spy<'_> {
    Spy {
        inner: EmulatorTransport(card),
        sent: Vec::new(),
        fail_after: None,
    }
}

/// Answers from a script, whatever is sent.
struct Script(VecDeque<Vec<u8>>, Vec<Vec<u8>>);

impl CardTransport for Script {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.1.push(apdu.to_vec());
        self.0.pop_front().ok_or(TransportError::CardRemoved)
    }
}

fn script(responses: &[&[u8]]) -> Script {
    Script(responses.iter().map(|r| r.to_vec()).collect(), Vec::new())
}

#[test]
fn pin_block_format_2() {
    let pin = Pin::parse("1234").unwrap();
    assert_eq!(
        *pin.block(),
        [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    let pin = Pin::parse("12345").unwrap();
    assert_eq!(
        *pin.block(),
        [0x25, 0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    assert_eq!(Pin::parse("123456789012").unwrap().block()[6], 0x12);
    for bad in ["123", "1234567890123", "12a4", ""] {
        assert!(Pin::parse(bad).is_err());
    }
    assert_eq!(format!("{:?}", Pin::parse("9876").unwrap()), "Pin(***)");
}

#[test]
fn card_data_picks_the_algorithm_from_the_applet() {
    let mut rsa = test_card(Profile::Rsa);
    let data = Beid::new(&mut EmulatorTransport(&mut rsa))
        .card_data()
        .unwrap();
    assert_eq!(
        (data.applet, data.applet.algorithm()),
        (Applet::V17, "RS256")
    );
    assert_eq!(data.applet.mse_algorithm(), 0x08);
    assert_eq!(data.pin_tries_left, None);
    let mut ec = test_card(Profile::Ec);
    let data = Beid::new(&mut EmulatorTransport(&mut ec))
        .card_data()
        .unwrap();
    assert_eq!(
        (data.applet, data.applet.algorithm()),
        (Applet::V18, "ES384")
    );
    assert_eq!(data.applet.mse_algorithm(), 0x02);
    assert_eq!(data.pin_tries_left, Some(3));
}

#[test]
fn old_applets_are_refused() {
    let mut data = vec![0u8; 28];
    data[21] = 0x11;
    data.extend_from_slice(&[0x90, 0x00]);
    let mut t = script(&[&data]);
    assert_eq!(
        Beid::new(&mut t).card_data(),
        Err(BeidError::UnsupportedApplet(0x11))
    );
}

#[test]
fn reads_end_on_6b00_and_6cxx_in_252_byte_chunks() {
    for (profile, size) in [(Profile::Rsa, 504), (Profile::Ec, 600)] {
        let mut card = test_card(profile);
        let mut t = spy(&mut card);
        let file = Beid::new(&mut t).read_file(&paths::IDENTITY).unwrap();
        assert_eq!(file.len(), size);
        let reads: Vec<&Vec<u8>> = t.sent.iter().filter(|a| a[1] == 0xB0).collect();
        assert!(reads
            .iter()
            .all(|a| a[4] == 252 || a[4] as usize == size % 252));
        match profile {
            // 504 = 2 × 252: the third read gets 6B00 and ends the file.
            Profile::Rsa => assert_eq!(reads.len(), 3),
            // 600 = 2 × 252 + 96: the third read gets 6C60, the fourth re-reads 96 bytes.
            Profile::Ec => assert_eq!(reads.last().unwrap()[4], 96),
        }
    }
}

#[test]
fn select_falls_back_to_the_fid_walk_on_applet_1_7() {
    let mut card = test_card(Profile::Rsa);
    let mut t = spy(&mut card);
    Beid::new(&mut t).select(&paths::ADDRESS).unwrap();
    let selects: Vec<(u8, usize)> = t.sent.iter().map(|a| (a[2], a.len())).collect();
    // P1=08 path (6A86), then 3F00, DF01, 4033 one by one.
    assert_eq!(selects, [(0x08, 9), (0x02, 7), (0x02, 7), (0x02, 7)]);
    let mut t = script(&[
        &[0x6A, 0x82],
        &[0x6A, 0x82],
        &[0x90, 0],
        &[0x6A, 0x82],
        &[0x6A, 0x82],
    ]);
    assert_eq!(
        Beid::new(&mut t).select(&paths::ADDRESS),
        Err(BeidError::FileNotFound("DF014033".into()))
    );
}

#[test]
fn certificates_lose_their_padding_and_empty_files_are_none() {
    let mut card = test_card(Profile::Ec);
    let mut t = EmulatorTransport(&mut card);
    let mut beid = Beid::new(&mut t);
    let cert = beid.read_certificate(&paths::AUTH_CERT).unwrap().unwrap();
    assert!(openssl::x509::X509::from_der(&cert).is_ok());
    assert_eq!(
        beid.read_certificate(&[0xDF, 0x00, 0x50, 0x39]).unwrap(),
        None
    );
}

#[test]
fn first_chunk_6b00_and_other_status_words_are_errors() {
    let mut t = script(&[&[0x6B, 0x00]]);
    assert!(matches!(
        Beid::new(&mut t).read_current(),
        Err(BeidError::Card {
            sw: StatusWord(0x6B00),
            ..
        })
    ));
    let mut t = script(&[&[0x69, 0x86]]);
    assert!(Beid::new(&mut t).read_current().is_err());
}

#[test]
fn wrong_pin_counts_down_then_blocks() {
    let mut card = test_card(Profile::Rsa);
    let mut t = EmulatorTransport(&mut card);
    let mut beid = Beid::new(&mut t);
    let wrong = Pin::parse("0000").unwrap();
    let right = Pin::parse("1234").unwrap();
    assert_eq!(
        beid.verify_pin(&wrong),
        Err(BeidError::WrongPin { tries_left: 2 })
    );
    assert_eq!(
        beid.verify_pin(&wrong),
        Err(BeidError::WrongPin { tries_left: 1 })
    );
    assert_eq!(beid.verify_pin(&right), Ok(()));
    // A right PIN restores the counter.
    assert_eq!(
        beid.verify_pin(&wrong),
        Err(BeidError::WrongPin { tries_left: 2 })
    );
    assert_eq!(
        beid.verify_pin(&wrong),
        Err(BeidError::WrongPin { tries_left: 1 })
    );
    // 63C0 on the last try, 6983 after it, even for the right PIN.
    assert_eq!(beid.verify_pin(&wrong), Err(BeidError::PinBlocked));
    assert_eq!(beid.verify_pin(&right), Err(BeidError::PinBlocked));
    assert_eq!(card.tries_left(), 0);
}

#[test]
fn the_ec_card_reports_tries_left_without_spending_one() {
    let mut card = test_card(Profile::Ec);
    let mut t = EmulatorTransport(&mut card);
    let mut beid = Beid::new(&mut t);
    let _ = beid.verify_pin(&Pin::parse("9999").unwrap());
    assert_eq!(beid.card_data().unwrap().pin_tries_left, Some(2));
    assert_eq!(
        session::card_status(&mut EmulatorTransport(&mut card))
            .unwrap()
            .pin_tries_left,
        Some(2)
    );
}

#[test]
fn signing_needs_the_pin_and_uses_the_applet_algorithm() {
    for profile in [Profile::Rsa, Profile::Ec] {
        let mut card = test_card(profile);
        let mut t = spy(&mut card);
        let mut beid = Beid::new(&mut t);
        let applet = beid.card_data().unwrap().applet;
        let digest = web_eid_digest(applet, "https://rp.example", "bm9uY2U=");
        assert!(matches!(
            beid.sign_auth(applet, &digest),
            Err(BeidError::Card {
                sw: StatusWord(0x6982),
                ..
            })
        ));
        beid.verify_pin(&Pin::parse("1234").unwrap()).unwrap();
        let sig = beid.sign_auth(applet, &digest).unwrap();
        assert_eq!(sig.len(), if profile == Profile::Rsa { 256 } else { 96 });
        // MSE carried the applet's algorithm byte; PSO went without Le; 61xx → GET RESPONSE.
        let mse = t.sent.iter().rfind(|a| a[1] == 0x22).unwrap();
        assert_eq!(mse[7], applet.mse_algorithm());
        let pso = t.sent.iter().rfind(|a| a[1] == 0x2A).unwrap();
        assert_eq!(pso.len(), 5 + digest.len());
        assert_eq!(t.sent.last().unwrap()[1], 0xC0);
    }
}

#[test]
fn a_card_pulled_out_mid_read_is_card_removed() {
    let mut card = test_card(Profile::Ec);
    let mut t = spy(&mut card);
    t.fail_after = Some(12);
    let pin = Pin::parse("1234").unwrap();
    let req = AuthRequest {
        origin: "https://rp.example",
        nonce: "bm9uY2U=",
        pin: &pin,
        with_photo: false,
    };
    assert_eq!(
        session::authenticate(&mut t, &req).unwrap_err(),
        BeidError::Transport(TransportError::CardRemoved)
    );
}

#[test]
fn get_response_and_6cxx_are_followed() {
    // 61 02 → GET RESPONSE Le 2 → 2 bytes and 61 01 → GET RESPONSE Le 1 → 6C 01? no: 1 byte 9000.
    let mut t = script(&[&[0x61, 0x02], &[1, 2, 0x61, 0x01], &[3, 0x90, 0x00]]);
    let r = exchange(&mut t, &Command::new(0, 0x2A, 0x9E, 0x9A).data([1])).unwrap();
    assert_eq!((r.data, r.sw), (vec![1, 2, 3], StatusWord::OK));
    assert_eq!(t.1[1], [0x00, 0xC0, 0x00, 0x00, 0x02]);
    // 6Cxx re-sends the same command with the right Le.
    let mut t = script(&[&[0x6C, 0x1C], &[0x90, 0x00]]);
    exchange(&mut t, &Command::new(0x80, 0xE4, 0, 0).le(0x20)).unwrap();
    assert_eq!(t.1[1], [0x80, 0xE4, 0x00, 0x00, 0x1C]);
    // A card that chains forever is cut off.
    let endless: Vec<&[u8]> = vec![&[0x61, 0x01]; 300];
    let mut t = script(&endless);
    assert!(exchange(&mut t, &Command::new(0, 0xC0, 0, 0).le(1)).is_err());
}

#[test]
fn a_session_ends_with_a_reset_so_the_pin_does_not_stay_verified() {
    use crate::means::card::transport::{with_card, CardAccess};
    use crate::simulate::card::EmulatedAccess;
    let access = EmulatedAccess::new(test_card(Profile::Ec));
    let digest = [0u8; 48];
    let signed = with_card(&access, None, |t| {
        let mut beid = Beid::new(t);
        beid.verify_pin(&Pin::parse("1234").unwrap())?;
        beid.sign_auth(Applet::V18, &digest)
    })
    .unwrap();
    assert!(signed.is_ok());
    let again = with_card(&access, None, |t| {
        Beid::new(t).sign_auth(Applet::V18, &digest)
    })
    .unwrap();
    assert!(matches!(
        again,
        Err(BeidError::Card {
            sw: StatusWord(0x6982),
            ..
        })
    ));
    let name = access.readers().unwrap()[0].name.clone();
    assert!(with_card(&access, Some(&name), |_| ()).is_ok());
    assert_eq!(
        with_card(&access, Some("Other Reader 00 00"), |_| ()),
        Err(TransportError::UnknownReader)
    );
}
