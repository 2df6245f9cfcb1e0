//! The virtual BEID card: a state machine from command APDU to response APDU, T=0 style (case-4
//! commands answer `61xx`, a wrong Le gets `6Cxx`). It backs both the vpcd simulator and the
//! in-process [`super::EmulatedAccess`].

use std::collections::BTreeMap;

use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Padding;
use zeroize::Zeroizing;

use crate::means::card::apdu::{Command, Response, StatusWord as Sw};
use crate::means::card::beid::BELPIC_APPLET_AID;

/// AIDs of the two DFs (PKCS#15 BELPIC and the ID files).
const DF_BELPIC_AID: [u8; 12] = [
    0xA0, 0x00, 0x00, 0x01, 0x77, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35,
];
const DF_ID_AID: [u8; 12] = [
    0xA0, 0x00, 0x00, 0x01, 0x77, 0x49, 0x64, 0x46, 0x69, 0x6C, 0x65, 0x73,
];
const MF: u16 = 0x3F00;
const DF_BELPIC: u16 = 0xDF00;
const DF_ID: u16 = 0xDF01;
const PIN_TRIES: u8 = 3;

/// Which card generation to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Applet 1.7, RSA-2048 keys.
    Rsa,
    /// Applet 1.8, EC P-384 keys.
    Ec,
}

impl Profile {
    pub fn atr(self) -> &'static [u8] {
        match self {
            Profile::Rsa => &[
                0x3B, 0x98, 0x13, 0x40, 0x0A, 0xA5, 0x03, 0x01, 0x01, 0x01, 0xAD, 0x13, 0x11,
            ],
            Profile::Ec => &[
                0x3B, 0x7F, 0x96, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x04, 0x01, 0x20,
                0x12, 0x0F, 0xFF, 0x82, 0x90, 0x00,
            ],
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Profile::Rsa => "rsa",
            Profile::Ec => "ec",
        }
    }
}

/// What a card holds: files by (DF, EF) and the authentication key.
#[derive(Clone)]
pub struct CardContents {
    pub profile: Profile,
    pub files: BTreeMap<(u16, u16), Vec<u8>>,
    pub auth_key: PKey<Private>,
    pub chip_serial: [u8; 16],
}

/// The card. Persistent state: files, PIN and its try counter. Volatile state (selection, PIN
/// verified, security environment, pending response) is cleared by [`BeidCard::reset`].
pub struct BeidCard {
    contents: CardContents,
    pin: Zeroizing<Vec<u8>>,
    tries_left: u8,
    df: u16,
    ef: Option<u16>,
    verified: bool,
    mse: Option<u8>,
    pending: Vec<u8>,
}

impl BeidCard {
    pub fn new(contents: CardContents) -> Self {
        BeidCard {
            contents,
            pin: Zeroizing::new(b"1234".to_vec()),
            tries_left: PIN_TRIES,
            df: MF,
            ef: None,
            verified: false,
            mse: None,
            pending: Vec::new(),
        }
    }

    pub fn profile(&self) -> Profile {
        self.contents.profile
    }

    pub fn atr(&self) -> &'static [u8] {
        self.contents.profile.atr()
    }

    pub fn tries_left(&self) -> u8 {
        self.tries_left
    }

    /// What a town hall does with the PUK: the PIN's tries are back to the full count.
    pub fn unblock(&mut self) {
        self.tries_left = PIN_TRIES;
        self.verified = false;
    }

    /// Power on, power off or reset: the applet is selected again and the PIN is no longer
    /// verified.
    pub fn reset(&mut self) {
        self.df = MF;
        self.ef = None;
        self.verified = false;
        self.mse = None;
        self.pending.clear();
    }

    pub fn process(&mut self, raw: &[u8]) -> Vec<u8> {
        let resp = match Command::parse(raw) {
            Ok(cmd) => self.dispatch(&cmd),
            Err(_) => Response::status(Sw::WRONG_LENGTH),
        };
        resp.to_bytes()
    }

    fn dispatch(&mut self, c: &Command) -> Response {
        if c.ins != 0xC0 {
            self.pending.clear();
        }
        match (c.cla, c.ins) {
            (0x00, 0xA4) => self.select(c),
            (0x00, 0xB0) => self.read_binary(c),
            (0x80, 0xE4) => self.card_data(c),
            (0x00, 0x20) => self.verify(c),
            (0x00, 0x22) => self.mse(c),
            (0x00, 0x2A) => self.pso(c),
            (0x00, 0xC0) => self.get_response(c),
            (0x80, 0xE6) => {
                self.verified = false;
                Response::ok([])
            }
            (0x00 | 0x80, _) => Response::status(Sw::INS_NOT_SUPPORTED),
            _ => Response::status(Sw::CLA_NOT_SUPPORTED),
        }
    }

    fn has_ef(&self, df: u16, ef: u16) -> bool {
        self.contents.files.contains_key(&(df, ef))
    }

    fn select(&mut self, c: &Command) -> Response {
        if c.p2 != 0x0C {
            return Response::status(Sw::WRONG_P1P2);
        }
        let fids: Vec<u16> = c
            .data
            .chunks(2)
            .map(|p| u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]))
            .collect();
        match c.p1 {
            0x04 => {
                let df = if c.data == BELPIC_APPLET_AID {
                    MF
                } else if c.data == DF_BELPIC_AID {
                    DF_BELPIC
                } else if c.data == DF_ID_AID {
                    DF_ID
                } else {
                    return Response::status(Sw::FILE_NOT_FOUND);
                };
                (self.df, self.ef) = (df, None);
            }
            // Applet 1.7 (like the official middleware assumes) does not select by path.
            0x08 if self.contents.profile == Profile::Rsa => {
                return Response::status(Sw::WRONG_P1P2)
            }
            0x08 => match fids.as_slice() {
                [df] if matches!(*df, DF_BELPIC | DF_ID) => (self.df, self.ef) = (*df, None),
                [df, ef] if self.has_ef(*df, *ef) && c.data.len() == 4 => {
                    (self.df, self.ef) = (*df, Some(*ef))
                }
                _ => return Response::status(Sw::FILE_NOT_FOUND),
            },
            0x02 => match fids.as_slice() {
                [MF] => (self.df, self.ef) = (MF, None),
                [df] if self.df == MF && matches!(*df, DF_BELPIC | DF_ID) => {
                    (self.df, self.ef) = (*df, None)
                }
                [ef] if c.data.len() == 2 && self.has_ef(self.df, *ef) => self.ef = Some(*ef),
                _ => return Response::status(Sw::FILE_NOT_FOUND),
            },
            _ => return Response::status(Sw::WRONG_P1P2),
        }
        Response::ok([])
    }

    fn read_binary(&mut self, c: &Command) -> Response {
        let Some(ef) = self.ef else {
            return Response::status(Sw::NO_CURRENT_EF);
        };
        if c.p1 & 0x80 != 0 {
            return Response::status(Sw::WRONG_P1P2);
        }
        let file = &self.contents.files[&(self.df, ef)];
        let offset = usize::from(u16::from_be_bytes([c.p1, c.p2]));
        if offset >= file.len() {
            return Response::status(Sw::OFFSET_BEYOND_EOF);
        }
        let left = file.len() - offset;
        let le = usize::from(c.le.unwrap_or(256));
        if le > left {
            return Response::status(Sw::new(0x6C, left.min(255) as u8));
        }
        Response::ok(&file[offset..offset + le])
    }

    fn card_data(&mut self, c: &Command) -> Response {
        let v18 = self.contents.profile == Profile::Ec;
        let mut data = self.contents.chip_serial.to_vec();
        let (applet, os, pkcs1) = if v18 {
            (0x18, [0x00, 0x01], 0x00)
        } else {
            (0x17, [0x00, 0x03], 0x21)
        };
        data.extend_from_slice(&[0x01, 0x02, 0x03, 0x04, 0x05, applet]);
        data.extend_from_slice(&os);
        data.extend_from_slice(&[0x01, pkcs1, 0x01, 0x0F]);
        match (c.p1, c.p2) {
            (0, 0) => {}
            (0, 1) if v18 => data.extend_from_slice(&[self.tries_left, 0x00, 0x00]),
            _ => return Response::status(Sw::WRONG_P1P2),
        }
        if c.le != Some(data.len() as u16) {
            return Response::status(Sw::new(0x6C, data.len() as u8));
        }
        Response::ok(data)
    }

    fn pin_status(&self) -> Response {
        match self.tries_left {
            0 => Response::status(Sw::PIN_BLOCKED),
            _ if self.verified => Response::ok([]),
            n => Response::status(Sw::new(0x63, 0xC0 | n)),
        }
    }

    fn verify(&mut self, c: &Command) -> Response {
        if c.p1 != 0 {
            return Response::status(Sw::WRONG_P1P2);
        }
        if c.p2 != 0x01 {
            return Response::status(Sw::REFERENCE_NOT_FOUND);
        }
        if c.data.is_empty() {
            // Applet 1.8 answers the PIN status without spending a try; 1.7 has no such form.
            return match self.contents.profile {
                Profile::Ec => self.pin_status(),
                Profile::Rsa => Response::status(Sw::WRONG_LENGTH),
            };
        }
        let Some(digits) = pin_from_block(&c.data) else {
            return Response::status(Sw::WRONG_DATA);
        };
        if self.tries_left == 0 {
            return Response::status(Sw::PIN_BLOCKED);
        }
        // memcmp::eq needs equal lengths; the length itself is no secret worth hiding here.
        if digits.len() == self.pin.len() && openssl::memcmp::eq(&digits, &self.pin) {
            self.tries_left = PIN_TRIES;
            self.verified = true;
            return Response::ok([]);
        }
        // A wrong PIN also clears rights already granted.
        self.verified = false;
        self.tries_left -= 1;
        Response::status(Sw::new(0x63, 0xC0 | self.tries_left))
    }

    fn mse(&mut self, c: &Command) -> Response {
        if (c.p1, c.p2) != (0x41, 0xB6) {
            return Response::status(Sw::WRONG_P1P2);
        }
        let [0x04, 0x80, algo, 0x84, key] = c.data[..] else {
            return Response::status(Sw::WRONG_DATA);
        };
        if self.df != DF_BELPIC {
            return Response::status(Sw::CONDITIONS_NOT_SATISFIED);
        }
        if key != 0x82 {
            return Response::status(Sw::REFERENCE_NOT_FOUND);
        }
        let allowed: &[u8] = match self.contents.profile {
            Profile::Rsa => &[0x01, 0x02, 0x08],
            Profile::Ec => &[0x01, 0x02, 0x04, 0x40],
        };
        if !allowed.contains(&algo) {
            return Response::status(Sw::WRONG_DATA);
        }
        self.mse = Some(algo);
        Response::ok([])
    }

    fn pso(&mut self, c: &Command) -> Response {
        if (c.p1, c.p2) != (0x9E, 0x9A) {
            return Response::status(Sw::WRONG_P1P2);
        }
        let Some(algo) = self.mse else {
            return Response::status(Sw::CONDITIONS_NOT_SATISFIED);
        };
        if !self.verified {
            return Response::status(Sw::SECURITY_NOT_SATISFIED);
        }
        let Some(sig) = sign(
            &self.contents.auth_key,
            self.contents.profile,
            algo,
            &c.data,
        ) else {
            return Response::status(Sw::WRONG_DATA);
        };
        let sw2 = if sig.len() >= 256 { 0 } else { sig.len() as u8 };
        self.pending = sig;
        Response::status(Sw::new(0x61, sw2))
    }

    fn get_response(&mut self, c: &Command) -> Response {
        if self.pending.is_empty() {
            return Response::status(Sw::CONDITIONS_NOT_SATISFIED);
        }
        let le = usize::from(c.le.unwrap_or(256));
        if le > self.pending.len() {
            return Response::status(Sw::new(0x6C, self.pending.len().min(255) as u8));
        }
        let data: Vec<u8> = self.pending.drain(..le).collect();
        match self.pending.len() {
            0 => Response::ok(data),
            n => Response {
                data,
                sw: Sw::new(0x61, n.min(255) as u8),
            },
        }
    }
}

/// Digits of a format-2 PIN block, or `None` if the block is malformed.
fn pin_from_block(block: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let [head, rest @ ..] = block else {
        return None;
    };
    if block.len() != 8 || head >> 4 != 2 {
        return None;
    }
    let n = usize::from(head & 0x0F);
    if !(4..=12).contains(&n) {
        return None;
    }
    let nibbles: Vec<u8> = rest.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let (digits, pad) = nibbles.split_at(n);
    if digits.iter().any(|d| *d > 9) || pad.iter().any(|p| *p != 0x0F) {
        return None;
    }
    Some(Zeroizing::new(digits.iter().map(|d| b'0' + d).collect()))
}

/// DigestInfo prefixes for the raw-hash RSA algorithms of applet 1.7.
const SHA1_INFO: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
const SHA256_INFO: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn sign(key: &PKey<Private>, profile: Profile, algo: u8, data: &[u8]) -> Option<Vec<u8>> {
    match (profile, key.id()) {
        (Profile::Rsa, Id::RSA) => {
            let info = match (algo, data.len()) {
                (0x01, 1..=245) => data.to_vec(),
                (0x02, 20) => [SHA1_INFO, data].concat(),
                (0x08, 32) => [SHA256_INFO, data].concat(),
                _ => return None,
            };
            let rsa = key.rsa().ok()?;
            let mut out = vec![0; rsa.size() as usize];
            let n = rsa.private_encrypt(&info, &mut out, Padding::PKCS1).ok()?;
            out.truncate(n);
            Some(out)
        }
        (Profile::Ec, Id::EC) => {
            let ok = match algo {
                0x01 => data.len() == 32,
                0x02 => data.len() == 48,
                0x04 => data.len() == 64,
                0x40 => [20, 28, 32, 48, 64].contains(&data.len()),
                _ => false,
            };
            if !ok {
                return None;
            }
            let ec = key.ec_key().ok()?;
            let sig = EcdsaSig::sign(data, &ec).ok()?;
            let size = (ec.group().degree() as usize).div_ceil(8) as i32;
            let mut out = sig.r().to_vec_padded(size).ok()?;
            out.extend(sig.s().to_vec_padded(size).ok()?);
            Some(out)
        }
        _ => None,
    }
}
