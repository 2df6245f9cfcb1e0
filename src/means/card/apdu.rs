//! ISO 7816-4 command and response APDUs, the status words a BEID card answers, and the T=0
//! exchange rules (`61xx` GET RESPONSE, `6Cxx` re-send with the right Le).

use std::fmt;

use super::transport::{CardTransport, TransportError};

/// A status word (SW1 SW2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const OK: StatusWord = StatusWord(0x9000);
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    pub const SECURITY_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    pub const PIN_BLOCKED: StatusWord = StatusWord(0x6983);
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    pub const NO_CURRENT_EF: StatusWord = StatusWord(0x6986);
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    pub const REFERENCE_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    pub const OFFSET_BEYOND_EOF: StatusWord = StatusWord(0x6B00);
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);

    pub fn new(sw1: u8, sw2: u8) -> Self {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }
    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }
    pub fn sw2(self) -> u8 {
        self.0 as u8
    }
    pub fn is_ok(self) -> bool {
        self == Self::OK
    }
    /// `63Cx`: wrong PIN, `x` tries left.
    pub fn pin_tries_left(self) -> Option<u8> {
        (self.sw1() == 0x63 && self.sw2() & 0xF0 == 0xC0).then_some(self.sw2() & 0x0F)
    }
    pub fn bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// A short command APDU. `le: None` means no Le field (case 1/3), as T=0 needs for case 4.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// 1..=256 expected bytes; 256 is encoded as `00`.
    pub le: Option<u16>,
}

/// The data may be a PIN block: wiped on drop.
impl Drop for Command {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

/// The data may be a PIN block: Debug shows the header and the data length only.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Command {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }
    pub fn le(mut self, le: u16) -> Self {
        self.le = Some(le);
        self
    }

    /// Short APDU bytes; data over 255 bytes cannot be sent in one short APDU.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        if self.data.len() > 255 || self.le.is_some_and(|l| l == 0 || l > 256) {
            return Err(ApduError::TooLong);
        }
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            out.push(self.data.len() as u8);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            out.push(if le == 256 { 0 } else { le as u8 });
        }
        Ok(out)
    }

    /// Parses a short APDU (what a card receives). Extended APDUs are not spoken by the BEID.
    pub fn parse(raw: &[u8]) -> Result<Command, ApduError> {
        let (header, body) = raw.split_first_chunk::<4>().ok_or(ApduError::Truncated)?;
        let [cla, ins, p1, p2] = *header;
        let mut cmd = Command::new(cla, ins, p1, p2);
        match body {
            [] => {}
            [le] => cmd.le = Some(if *le == 0 { 256 } else { u16::from(*le) }),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                // Lc = 0 with no further byte is how a "VERIFY with no data" status query looks.
                if lc == 0 && rest.is_empty() {
                    return Ok(cmd);
                }
                if lc == 0 || rest.len() < lc || rest.len() > lc + 1 {
                    return Err(ApduError::BadLength);
                }
                cmd.data = rest[..lc].to_vec();
                if let Some(le) = rest.get(lc) {
                    cmd.le = Some(if *le == 0 { 256 } else { u16::from(*le) });
                }
            }
        }
        Ok(cmd)
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, {})", self.data.len(), self.sw)
    }
}

impl Response {
    pub fn parse(raw: &[u8]) -> Result<Response, ApduError> {
        let (data, sw) = raw.split_last_chunk::<2>().ok_or(ApduError::Truncated)?;
        Ok(Response {
            data: data.to_vec(),
            sw: StatusWord::new(sw[0], sw[1]),
        })
    }
    pub fn ok(data: impl Into<Vec<u8>>) -> Response {
        Response {
            data: data.into(),
            sw: StatusWord::OK,
        }
    }
    pub fn status(sw: StatusWord) -> Response {
        Response {
            data: Vec::new(),
            sw,
        }
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.bytes());
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApduError {
    #[error("APDU shorter than its header")]
    Truncated,
    #[error("APDU length bytes do not match its data")]
    BadLength,
    #[error("APDU too long for a short APDU")]
    TooLong,
    #[error("the card kept answering 61xx/6Cxx without end")]
    Chaining,
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// GET RESPONSE for `61xx` (`xx = 00` means 256 bytes).
fn get_response(sw2: u8) -> Command {
    Command::new(0x00, 0xC0, 0x00, 0x00).le(if sw2 == 0 { 256 } else { u16::from(sw2) })
}

/// Sends one command the way T=0 needs it: `6Cxx` re-sends the same command with Le = xx (only
/// if the command had an Le); `61xx` fetches the rest with GET RESPONSE, again while SW1 = 61.
/// Readers that do this themselves simply never show us these status words.
pub fn exchange(transport: &mut dyn CardTransport, cmd: &Command) -> Result<Response, ApduError> {
    let mut current = cmd.clone();
    let mut data = Vec::new();
    // A card that never ends a chain must not hang us: 256 rounds cover 64 KiB of output.
    for _ in 0..256 {
        let raw = zeroize::Zeroizing::new(current.to_bytes()?);
        let resp = Response::parse(&transport.transmit(&raw)?)?;
        data.extend_from_slice(&resp.data);
        match resp.sw.sw1() {
            0x6C if current.le.is_some() => {
                let le = resp.sw.sw2();
                current.le = Some(if le == 0 { 256 } else { u16::from(le) });
            }
            0x61 => current = get_response(resp.sw.sw2()),
            _ => return Ok(Response { data, sw: resp.sw }),
        }
    }
    Err(ApduError::Chaining)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_encoding_round_trips() {
        let c = Command::new(0, 0xB0, 1, 2).le(256);
        assert_eq!(c.to_bytes().unwrap(), [0, 0xB0, 1, 2, 0]);
        assert_eq!(Command::parse(&[0, 0xB0, 1, 2, 0]).unwrap(), c);
        let c = Command::new(0, 0x20, 0, 1).data([1, 2, 3]);
        assert_eq!(Command::parse(&c.to_bytes().unwrap()).unwrap(), c);
        assert!(Command::parse(&[0, 0x20, 0, 1, 4, 1, 2]).is_err());
        assert!(Command::parse(&[0, 0x20, 0]).is_err());
        assert!(Command::new(0, 0, 0, 0)
            .data(vec![0; 256])
            .to_bytes()
            .is_err());
    }

    #[test]
    fn response_parsing() {
        let r = Response::parse(&[1, 2, 0x63, 0xC2]).unwrap();
        assert_eq!(r.data, [1, 2]);
        assert_eq!(r.sw.pin_tries_left(), Some(2));
        assert!(Response::parse(&[0x90]).is_err());
        assert!(!format!("{:?}", Command::new(0, 0x20, 0, 1).data([0x24, 0x12])).contains("24"));
    }
}

#[cfg(test)]
mod prop {
    use proptest::prelude::*;

    use super::*;

    /// Answers from a fixed list, then reports the card gone.
    struct Canned(Vec<Vec<u8>>);

    impl CardTransport for Canned {
        fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            if self.0.is_empty() {
                return Err(TransportError::CardRemoved);
            }
            Ok(self.0.remove(0))
        }
    }

    proptest! {
        #[test]
        fn response_and_command_parsers_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Response::parse(&raw);
            if let Ok(c) = Command::parse(&raw) {
                let _ = c.to_bytes();
            }
        }

        #[test]
        fn exchange_never_panics_or_loops(
            answers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..20)
        ) {
            let mut t = Canned(answers);
            let _ = exchange(&mut t, &Command::new(0, 0xB0, 0, 0).le(252));
        }
    }
}
