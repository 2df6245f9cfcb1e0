//! What a session start consists of: whom, which hash, which interactions; and the state the
//! flow keeps between start and verification.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::errors::SmartIdError;
use super::hash::AuthHash;
use super::outcome::CompletedSession;
use super::personal_code::PersonalCode;
use super::v3::V3Pending;
use super::verify::CertificateLevel;
use super::wire;

/// Whom to authenticate.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthTarget {
    /// `etsi/PNO{CC}-{code}`: the usual first login.
    Etsi(PersonalCode),
    /// `document/{documentNumber}`: re-authentication on a known account.
    Document(String),
    /// Nobody named: an RP API v3 device-link session (`device-link/anonymous`); the person is
    /// whoever scans the code.
    Anonymous,
}

impl fmt::Debug for AuthTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthTarget::Etsi(c) => write!(f, "Etsi({c:?})"),
            AuthTarget::Document(_) => f.write_str("Document(<hidden>)"),
            AuthTarget::Anonymous => f.write_str("Anonymous"),
        }
    }
}

impl AuthTarget {
    pub(super) fn path(&self) -> Result<String, SmartIdError> {
        match self {
            AuthTarget::Etsi(code) => Ok(format!("etsi/{}", code.semantics_id())),
            AuthTarget::Document(doc) => {
                let ok = (1..=64).contains(&doc.len())
                    && doc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !ok {
                    return Err(SmartIdError::InvalidRequest("document number"));
                }
                Ok(format!("document/{doc}"))
            }
            AuthTarget::Anonymous => Err(SmartIdError::InvalidRequest(
                "anonymous sessions are RP API v3 device links",
            )),
        }
    }
}

/// One entry of `allowedInteractionsOrder`; the app uses the first it supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interaction {
    /// Text (≤ 60 characters) and PIN on one screen.
    DisplayTextAndPin(String),
    /// Pick the verification code among three, then text (≤ 60) and PIN.
    VerificationCodeChoice(String),
    /// A confirmation screen (≤ 200 characters), then PIN.
    ConfirmationMessage(String),
    /// Confirmation text (≤ 200) with the code choice, then PIN.
    ConfirmationMessageAndVerificationCodeChoice(String),
}

impl Interaction {
    /// The JSON element, its display text's length checked (v2 and v3 send the same shape).
    pub(super) fn to_wire(&self) -> Result<wire::Interaction<'_>, SmartIdError> {
        let (kind, text, long) = match self {
            Interaction::DisplayTextAndPin(t) => ("displayTextAndPIN", t, false),
            Interaction::VerificationCodeChoice(t) => ("verificationCodeChoice", t, false),
            Interaction::ConfirmationMessage(t) => ("confirmationMessage", t, true),
            Interaction::ConfirmationMessageAndVerificationCodeChoice(t) => {
                ("confirmationMessageAndVerificationCodeChoice", t, true)
            }
        };
        let max = if long { 200 } else { 60 };
        let n = text.chars().count();
        if n == 0 || n > max {
            return Err(SmartIdError::InvalidRequest("display text length"));
        }
        Ok(wire::Interaction {
            kind,
            display_text_60: (!long).then_some(text.as_str()),
            display_text_200: long.then_some(text.as_str()),
        })
    }
}

/// What the relying party asks: the hash to sign and how the app should ask the user.
#[derive(Debug, Clone)]
pub struct AuthenticationRequest {
    pub hash: AuthHash,
    /// Localized texts, in order of preference; at least one.
    pub interactions: Vec<Interaction>,
    /// 1–30 characters; forces a new session instead of the idempotent one.
    pub nonce: Option<String>,
}

/// What the flow keeps between start and verification (serializable for the flow store).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingAuthentication {
    pub session_id: String,
    pub target: AuthTarget,
    /// v2: the hash signed. v3: the rpChallenge (its 64 bytes, Base64 as sent).
    pub hash: AuthHash,
    pub certificate_level: CertificateLevel,
    /// The rest of what an RP API v3 session signs; `None` for v2 (and for flows stored
    /// before v3 existed).
    #[serde(default)]
    pub v3: Option<Box<V3Pending>>,
}

/// The relying party as sent in every start request.
pub struct RelyingParty<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub certificate_level: CertificateLevel,
}

/// A kind of session start: its path below the base URL and its JSON body. v2 authentication
/// implements it now; v3 device-link starts will be further implementations.
pub trait SessionStart {
    fn path(&self) -> Result<String, SmartIdError>;
    fn body(&self, rp: &RelyingParty<'_>) -> Result<Vec<u8>, SmartIdError>;
}

pub(super) struct V2Authentication<'a> {
    pub target: &'a AuthTarget,
    pub request: &'a AuthenticationRequest,
}

impl SessionStart for V2Authentication<'_> {
    fn path(&self) -> Result<String, SmartIdError> {
        Ok(format!("authentication/{}", self.target.path()?))
    }

    fn body(&self, rp: &RelyingParty<'_>) -> Result<Vec<u8>, SmartIdError> {
        let r = self.request;
        if r.interactions.is_empty() {
            return Err(SmartIdError::InvalidRequest("no interaction"));
        }
        if let Some(n) = &r.nonce {
            if !(1..=30).contains(&n.chars().count()) {
                return Err(SmartIdError::InvalidRequest("nonce length"));
            }
        }
        let body = wire::AuthenticationRequest {
            relying_party_uuid: rp.uuid,
            relying_party_name: rp.name,
            certificate_level: rp.certificate_level.as_str(),
            hash: r.hash.to_base64(),
            hash_type: r.hash.hash_type().as_str(),
            allowed_interactions_order: r
                .interactions
                .iter()
                .map(Interaction::to_wire)
                .collect::<Result<_, _>>()?,
            nonce: r.nonce.as_deref(),
        };
        serde_json::to_vec(&body).map_err(|_| SmartIdError::InvalidRequest("encoding"))
    }
}

/// A session's state as read by a status request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStatus {
    Running,
    Complete(CompletedSession),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_uuids_are_checked() {
        assert!(Interaction::DisplayTextAndPin("x".repeat(60))
            .to_wire()
            .is_ok());
        assert!(Interaction::DisplayTextAndPin("é".repeat(61))
            .to_wire()
            .is_err());
        assert!(Interaction::ConfirmationMessage("x".repeat(200))
            .to_wire()
            .is_ok());
        assert!(AuthTarget::Document("../x".into()).path().is_err());
    }
}
