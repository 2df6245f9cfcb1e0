//! Typed errors of the RP API client, and how each is presented to the user.

use super::outcome::{Failure, FailureKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientBuildError {
    #[error("smart_id base_url: {0}")]
    BaseUrl(&'static str),
    #[error("smart_id relying_party_uuid must be a UUID")]
    Uuid,
    #[error("smart_id relying_party_name must be 1 to 32 bytes")]
    Name,
    #[error("smart_id pins: {0}")]
    Pin(String),
    #[error("smart_id TLS: {0}")]
    Tls(String),
}

/// Every way a call to the RP API can fail (v2 §2.1.1, §2.3.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmartIdError {
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("RP API refused the request as invalid (400)")]
    BadRequest,
    #[error("relying party not authorised (401): relyingPartyUUID or source IP")]
    Unauthorized,
    #[error("relying party lacks a permission (403), e.g. for ADVANCED accounts")]
    Forbidden,
    #[error("no such Smart-ID account (404)")]
    AccountNotFound,
    #[error("session unknown or expired (404)")]
    SessionNotFound,
    #[error("no account of the requested level (471)")]
    NoSuitableAccount,
    #[error("the user must look at the Smart-ID app or portal (472)")]
    ViewApp,
    #[error("this API version is no longer supported (480)")]
    ClientTooOld,
    #[error("Smart-ID is under maintenance (580)")]
    Maintenance,
    #[error("RP API server error (HTTP {0})")]
    Server(u16),
    #[error("unexpected HTTP status {0}")]
    UnexpectedStatus(u16),
    #[error("RP API did not answer in time")]
    Timeout,
    #[error("cannot connect to the RP API: {0}")]
    Connect(String),
    #[error("RP API TLS key is not pinned; connection refused before sending anything")]
    PinMismatch,
    #[error("TLS with the RP API failed: {0}")]
    Tls(String),
    #[error("connection to the RP API broke: {0}")]
    Transport(String),
    #[error("unreadable RP API response: {0}")]
    BrokenResponse(String),
}

impl SmartIdError {
    /// How the flow presents this error. 404, 471 and 472 share one message on purpose (SK asks
    /// for it, against account enumeration; threat T33).
    pub fn failure(&self) -> Failure {
        use SmartIdError::*;
        let (kind, retry, key) = match self {
            AccountNotFound | NoSuitableAccount | ViewApp => {
                (FailureKind::NoAccount, true, "smart_id.no_account")
            }
            SessionNotFound => (FailureKind::Failed, true, "smart_id.failed"),
            Maintenance | Server(_) | Timeout | Connect(_) | Transport(_) | BrokenResponse(_)
            | UnexpectedStatus(_) => (FailureKind::Unavailable, true, "smart_id.unavailable"),
            InvalidRequest(_) | BadRequest | Unauthorized | Forbidden | ClientTooOld
            | PinMismatch | Tls(_) => (FailureKind::Configuration, false, "smart_id.unavailable"),
        };
        Failure {
            kind,
            retry,
            message_key: key,
            detail: self.to_string(),
        }
    }
}

/// Maps HTTP status codes; `not_found` tells what a 404 means for this request.
pub(super) fn check_status(status: u16, not_found: SmartIdError) -> Result<(), SmartIdError> {
    Err(match status {
        200 => return Ok(()),
        400 => SmartIdError::BadRequest,
        401 => SmartIdError::Unauthorized,
        403 => SmartIdError::Forbidden,
        404 => not_found,
        471 => SmartIdError::NoSuitableAccount,
        472 => SmartIdError::ViewApp,
        480 => SmartIdError::ClientTooOld,
        580 => SmartIdError::Maintenance,
        s @ 500..=599 => SmartIdError::Server(s),
        s => SmartIdError::UnexpectedStatus(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_typed_errors() {
        let nf = || SmartIdError::AccountNotFound;
        let code = |c| check_status(c, nf()).unwrap_err();
        assert!(check_status(200, nf()).is_ok());
        assert_eq!(code(400), SmartIdError::BadRequest);
        assert_eq!(code(401), SmartIdError::Unauthorized);
        assert_eq!(code(403), SmartIdError::Forbidden);
        assert_eq!(code(404), SmartIdError::AccountNotFound);
        assert_eq!(code(471), SmartIdError::NoSuitableAccount);
        assert_eq!(code(472), SmartIdError::ViewApp);
        assert_eq!(code(480), SmartIdError::ClientTooOld);
        assert_eq!(code(580), SmartIdError::Maintenance);
        assert_eq!(code(503), SmartIdError::Server(503));
        assert_eq!(code(302), SmartIdError::UnexpectedStatus(302));
        // One user message for 404/471/472 (account enumeration).
        let keys: Vec<_> = [404, 471, 472]
            .map(|c| code(c).failure().message_key)
            .to_vec();
        assert!(keys.iter().all(|k| *k == "smart_id.no_account"));
    }
}
