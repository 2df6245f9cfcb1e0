//! The card side of the vpcd protocol: TCP to pcscd's vpcd driver, frames of a big-endian u16
//! length and that many bytes. One-byte frames are control (0 off, 1 on, 2 reset: no answer;
//! 4 GET ATR: answer with the ATR); longer frames are command APDUs.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::Duration;

use super::emulator::BeidCard;

pub struct Options {
    pub address: String,
    pub drop_after_apdus: Option<u64>,
    pub apdu_log: Option<PathBuf>,
}

fn read_frame(s: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

fn write_frame(s: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let len = u16::try_from(data.len()).map_err(|_| io::Error::other("frame too long"))?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(data);
    s.write_all(&out)
}

/// Plugs the card in and serves pcscd until killed. When pcscd goes away the card waits for
/// it to come back (like a card left in a reader); `drop_after_apdus` ends the process instead.
pub fn serve(mut card: BeidCard, opts: &Options) -> io::Result<()> {
    let mut apdus = 0u64;
    loop {
        let mut stream = match TcpStream::connect(&opts.address) {
            Ok(s) => s,
            Err(_) => {
                sleep(Duration::from_millis(200));
                continue;
            }
        };
        stream.set_nodelay(true)?;
        card.reset();
        // An error reading means pcscd closed the slot.
        while let Ok(frame) = read_frame(&mut stream) {
            match frame.as_slice() {
                [4] => {
                    if write_frame(&mut stream, card.atr()).is_err() {
                        break;
                    }
                }
                [_] => card.reset(),
                [] => {}
                apdu => {
                    apdus += 1;
                    if let Some(path) = &opts.apdu_log {
                        let mut f = OpenOptions::new().create(true).append(true).open(path)?;
                        let header: Vec<String> =
                            apdu.iter().take(4).map(|b| format!("{b:02X}")).collect();
                        writeln!(f, "{}", header.join(" "))?;
                    }
                    if opts.drop_after_apdus.is_some_and(|n| apdus > n) {
                        eprintln!(
                            "auth-eid simulate card: pulled out after {} APDUs",
                            apdus - 1
                        );
                        drop(stream);
                        return Ok(());
                    }
                    let resp = card.process(apdu);
                    if write_frame(&mut stream, &resp).is_err() {
                        break;
                    }
                }
            }
        }
        sleep(Duration::from_millis(200));
    }
}
