//! BEID card operations over a [`CardTransport`]: select, read files (T=0 rules, 252-byte
//! chunks), GET CARD DATA and the algorithm it implies, VERIFY PIN, the authentication signature.

use std::fmt;

use openssl::hash::{hash, MessageDigest};
use zeroize::Zeroizing;

use super::apdu::{exchange, ApduError, Command, Response, StatusWord};
use super::transport::{CardTransport, TransportError};

/// The Belpic applet instance (default-selected after reset).
pub const BELPIC_APPLET_AID: [u8; 15] = [
    0xA0, 0x00, 0x00, 0x00, 0x30, 0x29, 0x05, 0x70, 0x00, 0xAD, 0x13, 0x10, 0x01, 0x01, 0xFF,
];

/// File paths below the MF (3F00), as SELECT by path (P1 = 08) takes them.
pub mod paths {
    pub const DF_BELPIC: [u8; 2] = [0xDF, 0x00];
    pub const DF_ID: [u8; 2] = [0xDF, 0x01];
    pub const AUTH_CERT: [u8; 4] = [0xDF, 0x00, 0x50, 0x38];
    pub const CA_CERT: [u8; 4] = [0xDF, 0x00, 0x50, 0x3A];
    pub const ROOT_CERT: [u8; 4] = [0xDF, 0x00, 0x50, 0x3B];
    pub const RRN_CERT: [u8; 4] = [0xDF, 0x00, 0x50, 0x3C];
    pub const IDENTITY: [u8; 4] = [0xDF, 0x01, 0x40, 0x31];
    pub const IDENTITY_SIG: [u8; 4] = [0xDF, 0x01, 0x40, 0x32];
    pub const ADDRESS: [u8; 4] = [0xDF, 0x01, 0x40, 0x33];
    pub const ADDRESS_SIG: [u8; 4] = [0xDF, 0x01, 0x40, 0x34];
    pub const PHOTO: [u8; 4] = [0xDF, 0x01, 0x40, 0x35];
}

/// READ BINARY chunk size the official middleware uses.
pub const CHUNK: u16 = 252;
/// Key reference of the authentication key.
const AUTH_KEY: u8 = 0x82;
/// Files are addressed with a 15-bit offset.
const MAX_FILE: usize = 0x7FFF;

/// The applet generation, from byte 21 of GET CARD DATA. It fixes the key type and the meaning
/// of the MSE algorithm byte (the values overlap between generations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applet {
    /// Applet 1.7: RSA-2048; the Web eID token algorithm is RS256.
    V17,
    /// Applet 1.8: EC P-384; ES384.
    V18,
}

impl Applet {
    pub fn from_version(v: u8) -> Option<Applet> {
        match v {
            0x17 => Some(Applet::V17),
            0x18..=0x1F => Some(Applet::V18),
            _ => None,
        }
    }
    /// The Web eID `algorithm` this card's authentication key produces.
    pub fn algorithm(self) -> &'static str {
        match self {
            Applet::V17 => "RS256",
            Applet::V18 => "ES384",
        }
    }
    pub fn digest(self) -> MessageDigest {
        match self {
            Applet::V17 => MessageDigest::sha256(),
            Applet::V18 => MessageDigest::sha384(),
        }
    }
    /// MSE:SET algorithm reference for a raw hash of [`Applet::digest`]: 1.7 `08` =
    /// RSASSA-PKCS1-v1.5 SHA-256 (the card adds the DigestInfo), 1.8 `02` = ECDSA SHA-384.
    pub fn mse_algorithm(self) -> u8 {
        match self {
            Applet::V17 => 0x08,
            Applet::V18 => 0x02,
        }
    }
    pub fn version_string(self) -> &'static str {
        match self {
            Applet::V17 => "1.7",
            Applet::V18 => "1.8",
        }
    }
}

/// GET CARD DATA, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardData {
    pub chip_serial: Vec<u8>,
    pub applet_version: u8,
    pub applet: Applet,
    /// Known on 1.8 only (GET CARD DATA P2 = 01, byte 28).
    pub pin_tries_left: Option<u8>,
}

/// The citizen's PIN: 4 to 12 digits. Debug never shows it; it is wiped on drop.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PIN is 4 to 12 digits")]
pub struct BadPin;

impl Pin {
    pub fn parse(raw: &str) -> Result<Pin, BadPin> {
        if (4..=12).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(Zeroizing::new(raw.to_string())))
        } else {
            Err(BadPin)
        }
    }

    /// Format-2 PIN block: `2N` then BCD digits, padded with `F` to 8 bytes.
    pub fn block(&self) -> Zeroizing<[u8; 8]> {
        let mut block = Zeroizing::new([0xFFu8; 8]);
        let digits = self.0.as_bytes();
        block[0] = 0x20 | digits.len() as u8;
        for (i, d) in digits.iter().enumerate() {
            let nibble = d - b'0';
            let byte = &mut block[1 + i / 2];
            *byte = if i % 2 == 0 {
                (nibble << 4) | 0x0F
            } else {
                (*byte & 0xF0) | nibble
            };
        }
        block
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeidError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the card sent a malformed response")]
    Malformed,
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin { tries_left: u8 },
    #[error("the PIN is blocked")]
    PinBlocked,
    #[error("this is not a supported Belgian eID card (applet version {0:#04x})")]
    UnsupportedApplet(u8),
    #[error("the card has no file {0}")]
    FileNotFound(String),
    #[error("the card has no authentication certificate")]
    NoAuthCertificate,
    #[error("the card refused {step} with status {sw}")]
    Card { step: &'static str, sw: StatusWord },
}

impl From<ApduError> for BeidError {
    fn from(e: ApduError) -> Self {
        match e {
            ApduError::Transport(t) => BeidError::Transport(t),
            _ => BeidError::Malformed,
        }
    }
}

fn expect_ok(step: &'static str, r: Response) -> Result<Vec<u8>, BeidError> {
    if r.sw.is_ok() {
        Ok(r.data)
    } else {
        Err(BeidError::Card { step, sw: r.sw })
    }
}

/// A BEID card behind a transport, inside one session.
pub struct Beid<'a> {
    t: &'a mut dyn CardTransport,
}

impl<'a> Beid<'a> {
    pub fn new(t: &'a mut dyn CardTransport) -> Self {
        Beid { t }
    }

    fn send(&mut self, cmd: &Command) -> Result<Response, BeidError> {
        Ok(exchange(self.t, cmd)?)
    }

    pub fn select_applet(&mut self) -> Result<(), BeidError> {
        let r = self.send(&Command::new(0x00, 0xA4, 0x04, 0x0C).data(BELPIC_APPLET_AID))?;
        expect_ok("SELECT applet", r).map(|_| ())
    }

    /// GET CARD DATA (and on 1.8 its P2 = 01 form, which adds the PIN try counter).
    pub fn card_data(&mut self) -> Result<CardData, BeidError> {
        let raw = expect_ok(
            "GET CARD DATA",
            self.send(&Command::new(0x80, 0xE4, 0x00, 0x00).le(0x1C))?,
        )?;
        if raw.len() < 28 {
            return Err(BeidError::Malformed);
        }
        let version = raw[21];
        let applet = Applet::from_version(version).ok_or(BeidError::UnsupportedApplet(version))?;
        let pin_tries_left = if applet == Applet::V18 {
            let r = self.send(&Command::new(0x80, 0xE4, 0x00, 0x01).le(0x1F))?;
            // 0xFF: the PIN was not found; treat a refused P2 = 01 as "unknown".
            (r.sw.is_ok() && r.data.len() >= 29 && r.data[28] != 0xFF).then(|| r.data[28])
        } else {
            None
        };
        Ok(CardData {
            chip_serial: raw[..16].to_vec(),
            applet_version: version,
            applet,
            pin_tries_left,
        })
    }

    /// Selects an EF or DF by its path below the MF. Path selection first; cards that refuse it
    /// get the FID walk from the MF; then once more after re-selecting the applet.
    pub fn select(&mut self, path: &[u8]) -> Result<(), BeidError> {
        for attempt in 0..2 {
            let r = self.send(&Command::new(0x00, 0xA4, 0x08, 0x0C).data(path))?;
            if r.sw.is_ok() {
                return Ok(());
            }
            if r.sw != StatusWord::FILE_NOT_FOUND && r.sw != StatusWord::WRONG_P1P2 {
                return Err(BeidError::Card {
                    step: "SELECT",
                    sw: r.sw,
                });
            }
            let mut walked = true;
            for fid in std::iter::once(&[0x3Fu8, 0x00][..]).chain(path.chunks(2)) {
                let r = self.send(&Command::new(0x00, 0xA4, 0x02, 0x0C).data(fid))?;
                if !r.sw.is_ok() {
                    walked = false;
                    break;
                }
            }
            if walked {
                return Ok(());
            }
            if attempt == 0 {
                self.select_applet()?;
            }
        }
        Err(BeidError::FileNotFound(super::transport::hex(path)))
    }

    /// Reads the current EF to its end: 252-byte chunks, `6Cxx` re-read with Le = xx (done by
    /// [`exchange`]), a short chunk or `6B00` after the first chunk is the end of the file.
    pub fn read_current(&mut self) -> Result<Vec<u8>, BeidError> {
        let mut out = Vec::new();
        loop {
            let offset = out.len();
            if offset > MAX_FILE {
                return Err(BeidError::Malformed);
            }
            let cmd = Command::new(0x00, 0xB0, (offset >> 8) as u8, offset as u8).le(CHUNK);
            let r = self.send(&cmd)?;
            match r.sw {
                StatusWord::OK => {
                    let short = r.data.len() < usize::from(CHUNK);
                    if r.data.len() > usize::from(CHUNK) {
                        return Err(BeidError::Malformed);
                    }
                    out.extend_from_slice(&r.data);
                    if short {
                        return Ok(out);
                    }
                }
                StatusWord::OFFSET_BEYOND_EOF if offset > 0 => return Ok(out),
                sw => {
                    return Err(BeidError::Card {
                        step: "READ BINARY",
                        sw,
                    })
                }
            }
        }
    }

    pub fn read_file(&mut self, path: &[u8]) -> Result<Vec<u8>, BeidError> {
        self.select(path)?;
        self.read_current()
    }

    /// A certificate file without its zero padding; `None` for a never-issued (all-zero) file.
    pub fn read_certificate(&mut self, path: &[u8]) -> Result<Option<Vec<u8>>, BeidError> {
        let file = self.read_file(path)?;
        if file.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let len = crate::der::element_len(&file).ok_or(BeidError::Malformed)?;
        Ok(Some(file[..len].to_vec()))
    }

    /// VERIFY with the format-2 PIN block.
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<(), BeidError> {
        let block = pin.block();
        let r = self.send(&Command::new(0x00, 0x20, 0x00, 0x01).data(&block[..]))?;
        pin_result(r.sw)
    }

    /// Authentication signature over `digest` (already hashed with [`Applet::digest`]):
    /// select DF(BELPIC), MSE:SET for key 82 with the applet's algorithm byte, PSO:CDS without
    /// Le (T=0 case 4), the result through GET RESPONSE. The PIN must be verified already.
    pub fn sign_auth(&mut self, applet: Applet, digest: &[u8]) -> Result<Vec<u8>, BeidError> {
        self.select(&paths::DF_BELPIC)?;
        let mse = [0x04, 0x80, applet.mse_algorithm(), 0x84, AUTH_KEY];
        expect_ok(
            "MSE:SET",
            self.send(&Command::new(0x00, 0x22, 0x41, 0xB6).data(mse))?,
        )?;
        let sig = expect_ok(
            "PSO:CDS",
            self.send(&Command::new(0x00, 0x2A, 0x9E, 0x9A).data(digest))?,
        )?;
        let expected = match applet {
            Applet::V17 => 256,
            Applet::V18 => 96,
        };
        if sig.len() != expected {
            return Err(BeidError::Malformed);
        }
        Ok(sig)
    }

    /// LOG OFF: drops the verified PIN (the session also ends with a reset).
    pub fn log_off(&mut self) -> Result<(), BeidError> {
        self.send(&Command::new(0x80, 0xE6, 0x00, 0x00))?;
        Ok(())
    }
}

fn pin_result(sw: StatusWord) -> Result<(), BeidError> {
    match sw {
        StatusWord::OK => Ok(()),
        StatusWord::PIN_BLOCKED => Err(BeidError::PinBlocked),
        sw => match sw.pin_tries_left() {
            Some(0) => Err(BeidError::PinBlocked),
            Some(n) => Err(BeidError::WrongPin { tries_left: n }),
            None => Err(BeidError::Card { step: "VERIFY", sw }),
        },
    }
}

/// The Web eID signed data, hashed once more as the card's signature scheme does:
/// `H(H(origin) ‖ H(nonce))`, with `nonce` the challenge string as the page passed it.
pub fn web_eid_digest(applet: Applet, origin: &str, nonce: &str) -> Vec<u8> {
    let md = applet.digest();
    let signed = web_eid_signed_data(md, origin, nonce);
    hash(md, &signed).map(|d| d.to_vec()).unwrap_or_default()
}

/// `H(origin) ‖ H(nonce)`: what a Web eID 1.0 token signature covers.
pub fn web_eid_signed_data(md: MessageDigest, origin: &str, nonce: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [origin, nonce] {
        if let Ok(d) = hash(md, part.as_bytes()) {
            out.extend_from_slice(&d);
        }
    }
    out
}

#[cfg(test)]
#[path = "beid_tests.rs"]
mod tests;
