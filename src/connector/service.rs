//! The connector's domain logic: card status and authentication over a [`CardAccess`], one card
//! operation at a time, and the errors the page can act on. No HTTP types here.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::means::card::beid::{BeidError, Pin};
use crate::means::card::session::{self, AuthRequest, CardStatus};
use crate::means::card::token::WebEidToken;
use crate::means::card::transport::{
    readers_async, with_card_async, CardAccess, ReaderInfo, TransportError,
};

/// Errors with a stable `code` for the page (see `docs/card.md`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error("the smart card service is not running")]
    NoService,
    #[error("no card reader is connected")]
    NoReader,
    #[error("that card reader does not exist")]
    UnknownReader,
    #[error("there is no card in the reader")]
    NoCard,
    #[error("the card was removed during the operation")]
    CardRemoved,
    #[error("another card operation is in progress")]
    Busy,
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin { tries_left: u8 },
    #[error("the PIN is blocked")]
    PinBlocked,
    #[error("{0}")]
    BadInput(&'static str),
    #[error("this web site may not use the card connector")]
    OriginNotAllowed,
    #[error("this card is not a supported Belgian eID card")]
    UnsupportedCard,
    #[error("the card did not complete the operation")]
    CardError,
}

impl ConnectorError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoService => "pcsc_unavailable",
            Self::NoReader => "no_reader",
            Self::UnknownReader => "unknown_reader",
            Self::NoCard => "no_card",
            Self::CardRemoved => "card_removed",
            Self::Busy => "busy",
            Self::WrongPin { .. } => "wrong_pin",
            Self::PinBlocked => "pin_blocked",
            Self::BadInput(_) => "bad_request",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::UnsupportedCard => "unsupported_card",
            Self::CardError => "card_error",
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Self::NoService | Self::NoReader => 503,
            Self::UnknownReader => 404,
            Self::NoCard | Self::CardRemoved | Self::Busy => 409,
            Self::WrongPin { .. } => 401,
            Self::PinBlocked => 423,
            Self::BadInput(_) => 400,
            Self::OriginNotAllowed => 403,
            Self::UnsupportedCard => 422,
            Self::CardError => 502,
        }
    }
}

impl From<TransportError> for ConnectorError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::NoService => Self::NoService,
            TransportError::NoReader => Self::NoReader,
            TransportError::UnknownReader => Self::UnknownReader,
            TransportError::NoCard => Self::NoCard,
            TransportError::CardRemoved => Self::CardRemoved,
            TransportError::Busy => Self::Busy,
            TransportError::Reader(_) => Self::CardError,
        }
    }
}

impl From<BeidError> for ConnectorError {
    fn from(e: BeidError) -> Self {
        match e {
            BeidError::Transport(t) => t.into(),
            BeidError::WrongPin { tries_left } => Self::WrongPin { tries_left },
            BeidError::PinBlocked => Self::PinBlocked,
            BeidError::UnsupportedApplet(_) => Self::UnsupportedCard,
            _ => Self::CardError,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub readers: Vec<ReaderInfo>,
    /// The reader the card details are from (the requested one, else the first with a card).
    pub reader: Option<String>,
    pub card_present: bool,
    /// `1.7` / `1.8`, when a card was read.
    pub applet: Option<&'static str>,
    pub pin_tries_left: Option<u8>,
    /// Another operation holds the card; card details were not read.
    pub busy: bool,
}

/// Challenges are 32 to 256 random bytes in standard base64 (Web eID asks for ≥ 256 bits).
pub fn parse_challenge(raw: &str) -> Result<String, ConnectorError> {
    let bad = ConnectorError::BadInput("challenge must be 32 to 256 bytes in standard base64");
    let bytes = STANDARD.decode(raw).map_err(|_| bad.clone())?;
    // Only the canonical form: the server hashes exactly this string when it verifies.
    if !(32..=256).contains(&bytes.len()) || STANDARD.encode(&bytes) != raw {
        return Err(bad);
    }
    Ok(raw.to_string())
}

/// How long a wrong PIN's answer waits, with the card kept busy. The card blocks its PIN after
/// three wrong tries; this slows a hostile page or script that guesses across cards or origins,
/// and no second attempt can start meanwhile.
pub const WRONG_PIN_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Connector {
    access: Arc<dyn CardAccess>,
    /// One card operation at a time; a second one gets `busy` at once. The guard goes into the
    /// blocking card task: a request given up on (client gone) still holds it until the card
    /// is done, so no second PIN attempt overlaps the first.
    lock: Arc<Mutex<()>>,
}

impl Connector {
    pub fn new(access: Arc<dyn CardAccess>) -> Self {
        Connector {
            access,
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub async fn status(&self, wanted: Option<String>) -> Result<Status, ConnectorError> {
        let readers = readers_async(self.access.clone()).await?;
        if wanted
            .as_ref()
            .is_some_and(|w| !readers.iter().any(|r| &r.name == w))
        {
            return Err(ConnectorError::UnknownReader);
        }
        let reader = readers
            .iter()
            .find(|r| r.card_present && wanted.as_ref().is_none_or(|w| &r.name == w))
            .map(|r| r.name.clone());
        let mut status = Status {
            card_present: reader.is_some(),
            reader: reader.clone(),
            readers,
            applet: None,
            pin_tries_left: None,
            busy: false,
        };
        let Some(name) = reader else {
            return Ok(status);
        };
        let Ok(guard) = self.lock.clone().try_lock_owned() else {
            status.busy = true;
            return Ok(status);
        };
        let card: Result<CardStatus, ConnectorError> =
            with_card_async(self.access.clone(), Some(name), move |t| {
                let _held = guard;
                session::card_status(t)
            })
            .await
            .map_err(ConnectorError::from)
            .and_then(|r| r.map_err(ConnectorError::from));
        match card {
            Ok(c) => {
                status.applet = Some(c.applet);
                status.pin_tries_left = c.pin_tries_left;
            }
            // The card went away between listing and reading: report it absent.
            Err(ConnectorError::NoCard | ConnectorError::CardRemoved) => {
                status.card_present = false;
            }
            Err(e) => return Err(e),
        }
        Ok(status)
    }

    /// Web eID authentication for `origin` (already checked against the allow-list).
    pub async fn authenticate(
        &self,
        origin: String,
        challenge: String,
        pin: Pin,
        reader: Option<String>,
        with_photo: bool,
    ) -> Result<WebEidToken, ConnectorError> {
        let Ok(guard) = self.lock.clone().try_lock_owned() else {
            return Err(ConnectorError::Busy);
        };
        let result = with_card_async(self.access.clone(), reader, move |t| {
            let _held = guard;
            let outcome = session::authenticate(
                t,
                &AuthRequest {
                    origin: &origin,
                    nonce: &challenge,
                    pin: &pin,
                    with_photo,
                },
            );
            if matches!(outcome, Err(BeidError::WrongPin { .. })) {
                // In the blocking card task, holding the card: never on the async runtime.
                std::thread::sleep(WRONG_PIN_DELAY);
            }
            outcome
        })
        .await?;
        result.map_err(|e| {
            // The card-level cause (status words, transport), never data or the PIN.
            tracing::debug!(cause = %e, "card operation failed");
            ConnectorError::from(e)
        })
    }
}
