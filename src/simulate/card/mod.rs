//! `auth-eid simulate card`: a virtual Belgian eID card for a real pcscd (vpcd driver), and the
//! same card in-process ([`EmulatedAccess`]) for unit tests, the demo and `connector --emulated`.

pub mod contents;
pub mod emulator;
pub mod pki;
pub mod vpcd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard};

pub use emulator::{BeidCard, CardContents, Profile};
pub use pki::{PkiError, TestPki};

use crate::means::card::transport::{hex, CardAccess, CardTransport, ReaderInfo, TransportError};

#[derive(clap::Args, Debug)]
pub struct SimulateCardArgs {
    /// vpcd slot to plug the card into: pcscd's vpcd listens on 35963 (slot 0) and 35964 (slot 1).
    #[arg(long, default_value = "127.0.0.1:35963")]
    pub vpcd: String,
    /// Card generation: rsa (applet 1.7, RSA-2048) or ec (applet 1.8, EC P-384).
    #[arg(long, value_enum, default_value = "rsa")]
    pub profile: Profile,
    /// Where the test PKI is written on first start and read after.
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Test aid: pull the card out (close the connection and exit) after N command APDUs.
    #[arg(long)]
    pub drop_after_apdus: Option<u64>,
    /// Test aid: append the header (CLA INS P1 P2) of each command APDU to FILE, never its data.
    #[arg(long)]
    pub apdu_log: Option<PathBuf>,
}

pub fn run(args: SimulateCardArgs) -> ExitCode {
    let card = match load_card(args.profile, &args.state_dir) {
        Ok(card) => card,
        Err(e) => {
            eprintln!("auth-eid simulate card: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "auth-eid simulate card: {} card (TEST PKI in {}, PIN 1234) plugging into vpcd at {}",
        args.profile.name(),
        args.state_dir.display(),
        args.vpcd
    );
    let opts = vpcd::Options {
        address: args.vpcd,
        drop_after_apdus: args.drop_after_apdus,
        apdu_log: args.apdu_log,
    };
    match vpcd::serve(card, &opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auth-eid simulate card: {e}");
            ExitCode::from(1)
        }
    }
}

/// The card of `profile` with the PKI of `state_dir` (created on first use).
pub fn load_card(profile: Profile, state_dir: &Path) -> Result<BeidCard, PkiError> {
    let pki = TestPki::load_or_create(state_dir)?;
    Ok(BeidCard::new(contents::card_contents(&pki, profile)?))
}

/// APDUs straight into an in-process card.
pub struct EmulatorTransport<'a>(pub &'a mut BeidCard);

impl CardTransport for EmulatorTransport<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.0.process(apdu))
    }
}

/// One always-present reader holding an in-process virtual card.
pub struct EmulatedAccess {
    reader: String,
    card: Mutex<BeidCard>,
}

impl EmulatedAccess {
    pub fn new(card: BeidCard) -> Self {
        EmulatedAccess {
            reader: format!("auth-eid emulated card ({})", card.profile().name()),
            card: Mutex::new(card),
        }
    }

    pub fn from_state_dir(profile: Profile, state_dir: &Path) -> Result<Self, PkiError> {
        Ok(Self::new(load_card(profile, state_dir)?))
    }

    /// The card itself, for tests that look at its state.
    pub fn card(&self) -> MutexGuard<'_, BeidCard> {
        self.card.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CardAccess for EmulatedAccess {
    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        Ok(vec![ReaderInfo {
            name: self.reader.clone(),
            card_present: true,
            atr: Some(hex(self.card().atr())),
        }])
    }

    fn session(
        &self,
        reader: Option<&str>,
        op: &mut dyn FnMut(&mut dyn CardTransport),
    ) -> Result<(), TransportError> {
        if reader.is_some_and(|r| r != self.reader) {
            return Err(TransportError::UnknownReader);
        }
        let mut card = self.card();
        card.reset();
        op(&mut EmulatorTransport(&mut card));
        card.reset();
        Ok(())
    }
}

/// One test PKI per test binary: key generation is the slow part.
#[cfg(test)]
pub(crate) fn test_pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| TestPki::generate().expect("test PKI"))
}

#[cfg(test)]
pub(crate) fn test_card(profile: Profile) -> BeidCard {
    BeidCard::new(contents::card_contents(test_pki(), profile).expect("card contents"))
}
