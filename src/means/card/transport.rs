//! How APDUs reach a card: the [`CardTransport`] trait, the [`CardAccess`] trait that finds a
//! reader and opens one exclusive session (a PC/SC transaction, released with a card reset), and
//! the PC/SC implementation. PC/SC calls block: async callers go through [`with_card_async`].

use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use serde::Serialize;

/// Sends one command APDU and returns the response APDU (data ‖ SW1 SW2).
pub trait CardTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the smart card service (pcscd) is not running")]
    NoService,
    #[error("no card reader is connected")]
    NoReader,
    #[error("the requested card reader does not exist")]
    UnknownReader,
    #[error("no card is in the reader")]
    NoCard,
    #[error("the card was removed or reset during the operation")]
    CardRemoved,
    #[error("another program is using the card")]
    Busy,
    #[error("card reader error: {0}")]
    Reader(String),
}

impl From<pcsc::Error> for TransportError {
    fn from(e: pcsc::Error) -> Self {
        use pcsc::Error as E;
        match e {
            E::NoService | E::ServiceStopped => TransportError::NoService,
            E::NoReadersAvailable => TransportError::NoReader,
            E::UnknownReader | E::ReaderUnavailable => TransportError::UnknownReader,
            E::NoSmartcard => TransportError::NoCard,
            // vpcd and CCID report a card pulled out mid-APDU in several ways.
            E::RemovedCard
            | E::ResetCard
            | E::UnpoweredCard
            | E::UnresponsiveCard
            | E::CommError
            | E::NotTransacted => TransportError::CardRemoved,
            E::SharingViolation => TransportError::Busy,
            other => TransportError::Reader(other.to_string()),
        }
    }
}

/// One reader as the status endpoint shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderInfo {
    pub name: String,
    pub card_present: bool,
    /// ATR of the card in the reader, hex, if any.
    pub atr: Option<String>,
}

/// Something that lists readers and runs an operation inside one exclusive card session.
/// Implementations begin a transaction (or lock) before `op` and end it with a card reset, so a
/// verified PIN never outlives the operation.
pub trait CardAccess: Send + Sync {
    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError>;
    /// `reader`: a reader name, or `None` for the first reader with a card.
    fn session(
        &self,
        reader: Option<&str>,
        op: &mut dyn FnMut(&mut dyn CardTransport),
    ) -> Result<(), TransportError>;
}

/// Runs `f` inside one card session (blocking).
pub fn with_card<R>(
    access: &dyn CardAccess,
    reader: Option<&str>,
    f: impl FnOnce(&mut dyn CardTransport) -> R,
) -> Result<R, TransportError> {
    let mut f = Some(f);
    let mut out = None;
    access.session(reader, &mut |t| {
        if let Some(f) = f.take() {
            out = Some(f(t));
        }
    })?;
    out.ok_or_else(|| TransportError::Reader("the session did not run".into()))
}

/// [`with_card`] on the blocking thread pool, for async callers.
pub async fn with_card_async<R: Send + 'static>(
    access: Arc<dyn CardAccess>,
    reader: Option<String>,
    f: impl FnOnce(&mut dyn CardTransport) -> R + Send + 'static,
) -> Result<R, TransportError> {
    tokio::task::spawn_blocking(move || with_card(access.as_ref(), reader.as_deref(), f))
        .await
        .map_err(|_| TransportError::Reader("the card task stopped".into()))?
}

/// [`CardAccess::readers`] on the blocking thread pool.
pub async fn readers_async(access: Arc<dyn CardAccess>) -> Result<Vec<ReaderInfo>, TransportError> {
    tokio::task::spawn_blocking(move || access.readers())
        .await
        .map_err(|_| TransportError::Reader("the card task stopped".into()))?
}

/// PC/SC through pcsc-lite / WinSCard. A context per call: cheap, and it survives a restart of
/// the smart card service.
#[derive(Debug, Default, Clone)]
pub struct PcscAccess;

impl PcscAccess {
    fn reader_states(ctx: &Context) -> Result<Vec<ReaderState>, TransportError> {
        let names = match ctx.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut states: Vec<ReaderState> = names
            .into_iter()
            .map(|n| ReaderState::new(n, State::UNAWARE))
            .collect();
        if !states.is_empty() {
            ctx.get_status_change(Duration::ZERO, &mut states)?;
        }
        Ok(states)
    }
}

impl CardAccess for PcscAccess {
    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        let ctx = Context::establish(Scope::User)?;
        Ok(Self::reader_states(&ctx)?
            .iter()
            .map(|s| {
                let present = s.event_state().contains(State::PRESENT);
                ReaderInfo {
                    name: s.name().to_string_lossy().into_owned(),
                    card_present: present,
                    atr: present.then(|| hex(s.atr())),
                }
            })
            .collect())
    }

    fn session(
        &self,
        reader: Option<&str>,
        op: &mut dyn FnMut(&mut dyn CardTransport),
    ) -> Result<(), TransportError> {
        let ctx = Context::establish(Scope::User)?;
        let states = Self::reader_states(&ctx)?;
        if states.is_empty() {
            return Err(TransportError::NoReader);
        }
        let name: CString = match reader {
            Some(wanted) => states
                .iter()
                .find(|s| s.name().to_bytes() == wanted.as_bytes())
                .map(|s| s.name().to_owned())
                .ok_or(TransportError::UnknownReader)?,
            None => states
                .iter()
                .find(|s| s.event_state().contains(State::PRESENT))
                .map(|s| s.name().to_owned())
                .ok_or(TransportError::NoCard)?,
        };
        let mut card = ctx.connect(&name, ShareMode::Shared, Protocols::ANY)?;
        {
            let tx = card.transaction()?;
            let mut transport = PcscTransport { card: &tx };
            op(&mut transport);
            // Reset, not leave: the PIN verified in this session must not serve anyone else.
            let _ = tx.end(Disposition::ResetCard);
        }
        let _ = card.disconnect(Disposition::ResetCard);
        Ok(())
    }
}

struct PcscTransport<'a> {
    card: &'a pcsc::Card,
}

impl CardTransport for PcscTransport<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let resp = self.card.transmit(apdu, &mut buf)?;
        // pcscd answers "success, 0 bytes" when a vpcd card vanished mid-APDU: no status word
        // means the card stopped answering.
        if resp.len() < 2 {
            return Err(TransportError::CardRemoved);
        }
        Ok(resp.to_vec())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
