//! The Belgian eID card: APDUs and transports (`apdu`, `transport`), card operations (`beid`,
//! `session`), the card's TLV files (`files`, `date`), the Web eID token with the `beid`
//! extension (`token`) and its verification (`verify`). See `docs/card.md`.

pub mod apdu;
pub mod beid;
pub mod date;
pub mod files;
pub mod session;
pub mod token;
pub mod transport;
pub mod verify;

pub use beid::{Applet, BeidError, Pin};
pub use token::{BeidData, WebEidToken};
pub use transport::{CardAccess, CardTransport, PcscAccess, ReaderInfo, TransportError};
pub use verify::{verify_token, CardVerifyError, VerifiedCard};
