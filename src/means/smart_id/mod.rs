//! Smart-ID: RP API v2 and v3 client, verification code, personal codes and result verification.
//!
//! The lead's flow uses it in four steps:
//! 1. [`PersonalCode::parse`] the citizen's input (national check digit);
//! 2. [`SmartIdClient::start_authentication`] with a fresh [`AuthHash`]; show
//!    [`AuthHash::verification_code`] on the page; keep the [`PendingAuthentication`];
//! 3. [`SmartIdClient::session_status`] in a background task until [`SessionStatus::Complete`];
//! 4. [`verify::conclude`] gives a [`VerifiedSmartId`] (then chain validation through `pki`
//!    with the `smart_id` profile) or a [`Failure`] with a message key and a retry flag.
//!
//! The facts behind every rule are in `docs/smart-id.md`.

pub mod client;
pub mod errors;
pub mod hash;
pub mod http1;
pub mod outcome;
pub mod personal_code;
pub mod session;
pub mod tls;
mod tls_ffi;
pub mod v3;
pub mod vc;
pub mod verify;
mod wire;

pub use client::{
    AuthTarget, AuthenticationRequest, ClientBuildError, Interaction, PendingAuthentication,
    SessionStart, SessionStatus, SmartIdClient, SmartIdError, SmartIdSettings,
};
pub use hash::{AuthHash, HashType};
pub use outcome::{CompletedSession, EndResult, Failure, FailureKind, V3Signature};
pub use personal_code::{BirthDate, Checks, Country, PersonalCode};
pub use tls::{Pin, PinnedCertificate, TlsSettings};
pub use v3::{ApiVersion, DeviceLinkSession, FlowType, SessionSecret, V3Flow, V3Pending};
pub use verify::{conclude, CertificateLevel, Rejected, VerifiedSmartId, VerifyError};
