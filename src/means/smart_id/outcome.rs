//! What a completed session says, and how every way of not succeeding is presented: a typed
//! failure with a stable message key (for localized pages) and whether a retry makes sense.

use std::fmt;

/// `result.endResult` of RP API v2 (§2.3.12.5). Unknown values are kept, and fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndResult {
    Ok,
    UserRefused,
    UserRefusedCertChoice,
    UserRefusedDisplayTextAndPin,
    UserRefusedVcChoice,
    UserRefusedConfirmationMessage,
    UserRefusedConfirmationMessageWithVcChoice,
    Timeout,
    DocumentUnusable,
    WrongVc,
    RequiredInteractionNotSupportedByApp,
    /// v3: refused on an interaction screen (replaces the v2 USER_REFUSED_* variants).
    UserRefusedInteraction,
    /// v3: the app found the session's data inconsistent (e.g. a wrong authCode).
    ProtocolFailure,
    /// v3: a linked signature was expected.
    ExpectedLinkedSession,
    /// v3: SK's own failure.
    ServerError,
    /// v3: described in SK's text but not in its enum; the Java client handles it.
    AccountUnusable,
    Unknown(String),
}

const NAMES: [(&str, EndResult); 16] = [
    ("OK", EndResult::Ok),
    ("USER_REFUSED", EndResult::UserRefused),
    ("USER_REFUSED_CERT_CHOICE", EndResult::UserRefusedCertChoice),
    (
        "USER_REFUSED_DISPLAYTEXTANDPIN",
        EndResult::UserRefusedDisplayTextAndPin,
    ),
    ("USER_REFUSED_VC_CHOICE", EndResult::UserRefusedVcChoice),
    (
        "USER_REFUSED_CONFIRMATIONMESSAGE",
        EndResult::UserRefusedConfirmationMessage,
    ),
    (
        "USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE",
        EndResult::UserRefusedConfirmationMessageWithVcChoice,
    ),
    ("TIMEOUT", EndResult::Timeout),
    ("DOCUMENT_UNUSABLE", EndResult::DocumentUnusable),
    ("WRONG_VC", EndResult::WrongVc),
    (
        "REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP",
        EndResult::RequiredInteractionNotSupportedByApp,
    ),
    (
        "USER_REFUSED_INTERACTION",
        EndResult::UserRefusedInteraction,
    ),
    ("PROTOCOL_FAILURE", EndResult::ProtocolFailure),
    ("EXPECTED_LINKED_SESSION", EndResult::ExpectedLinkedSession),
    ("SERVER_ERROR", EndResult::ServerError),
    ("ACCOUNT_UNUSABLE", EndResult::AccountUnusable),
];

impl EndResult {
    pub fn parse(raw: &str) -> Self {
        NAMES
            .iter()
            .find(|(n, _)| *n == raw)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| EndResult::Unknown(raw.chars().take(64).collect()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            EndResult::Unknown(s) => s,
            known => NAMES
                .iter()
                .find(|(_, r)| r == known)
                .map(|(n, _)| *n)
                .unwrap_or("UNKNOWN"),
        }
    }

    /// `None` for `OK` (which still has to be verified); otherwise how the flow ends.
    pub fn failure(&self) -> Option<Failure> {
        use FailureKind::*;
        let (kind, retry, key) = match self {
            EndResult::Ok => return None,
            EndResult::UserRefused
            | EndResult::UserRefusedCertChoice
            | EndResult::UserRefusedDisplayTextAndPin
            | EndResult::UserRefusedVcChoice
            | EndResult::UserRefusedConfirmationMessage
            | EndResult::UserRefusedConfirmationMessageWithVcChoice
            | EndResult::UserRefusedInteraction => (Cancelled, true, "smart_id.refused"),
            EndResult::Timeout => (TimedOut, true, "smart_id.timeout"),
            // A wrong code can mean the user was phished; a fresh session gets a fresh code.
            EndResult::WrongVc => (WrongVc, true, "smart_id.wrong_vc"),
            EndResult::DocumentUnusable | EndResult::AccountUnusable => {
                (AccountProblem, false, "smart_id.document_unusable")
            }
            // A stale or foreign link, as the app saw it: a fresh session may well work.
            EndResult::ProtocolFailure => (Failed, true, "smart_id.failed"),
            EndResult::ServerError => (Unavailable, true, "smart_id.unavailable"),
            EndResult::ExpectedLinkedSession => (Failed, false, "smart_id.failed"),
            EndResult::RequiredInteractionNotSupportedByApp => {
                (AppTooOld, false, "smart_id.app_too_old")
            }
            EndResult::Unknown(_) => (Failed, false, "smart_id.failed"),
        };
        Some(Failure {
            kind,
            retry,
            message_key: key,
            detail: format!("endResult {}", self.as_str()),
        })
    }
}

/// Coarse class of a failure, for the flow's result and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The user said no (any USER_REFUSED variant).
    Cancelled,
    TimedOut,
    WrongVc,
    AccountProblem,
    AppTooOld,
    /// No such account, or not of the requested level (404/471/472 are deliberately one kind).
    NoAccount,
    /// The Smart-ID service is down, slow or in maintenance.
    Unavailable,
    /// Our configuration is refused by SK (400/401/403/480) or the pin failed.
    Configuration,
    /// Unknown end result, or a result that did not verify.
    Failed,
}

/// How a Smart-ID attempt ended, other than verified.
#[derive(Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// Whether offering "try again" to the user makes sense.
    pub retry: bool,
    /// Stable key for the localized user message, e.g. `smart_id.refused`.
    pub message_key: &'static str,
    /// For logs: never contains personal data.
    pub detail: String,
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Failure({:?}, retry={}, {}: {})",
            self.kind, self.retry, self.message_key, self.detail
        )
    }
}

/// A session in state COMPLETE, as the client read it. Values are as received (Base64 text),
/// so that odd encodings surface as verification failures, not transport errors.
#[derive(Clone, PartialEq, Eq)]
pub struct CompletedSession {
    pub end_result: EndResult,
    pub document_number: Option<String>,
    pub signature_value: Option<String>,
    pub signature_algorithm: Option<String>,
    pub cert_value: Option<String>,
    pub cert_level: Option<String>,
    /// v2 `interactionFlowUsed`, v3 `interactionTypeUsed`.
    pub interaction_flow_used: Option<String>,
    /// The fields only RP API v3 answers carry; `None` for a v2 answer.
    pub v3: Option<Box<V3Signature>>,
}

/// The v3 parts of a completed session, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V3Signature {
    pub signature_protocol: Option<String>,
    pub server_random: Option<String>,
    pub user_challenge: Option<String>,
    pub flow_type: Option<String>,
    pub hash_algorithm: Option<String>,
    pub mask_gen_algorithm: Option<String>,
    pub mask_gen_hash_algorithm: Option<String>,
    pub salt_length: Option<u32>,
    pub trailer_field: Option<String>,
}

/// The certificate and document number are personal data: Debug leaves them out.
impl fmt::Debug for CompletedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletedSession")
            .field("end_result", &self.end_result)
            .field("has_signature", &self.signature_value.is_some())
            .field("signature_algorithm", &self.signature_algorithm)
            .field("has_cert", &self.cert_value.is_some())
            .field("cert_level", &self.cert_level)
            .field("interaction_flow_used", &self.interaction_flow_used)
            .field("v3", &self.v3)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_result_round_trips_and_only_ok_is_not_a_failure() {
        for (name, r) in NAMES.iter() {
            assert_eq!(&EndResult::parse(name), r);
            assert_eq!(r.as_str(), *name);
            assert_eq!(r.failure().is_none(), *r == EndResult::Ok, "{name}");
        }
        let odd = EndResult::parse("SOMETHING_NEW");
        assert_eq!(odd, EndResult::Unknown("SOMETHING_NEW".into()));
        let f = odd.failure().unwrap();
        assert_eq!((f.kind, f.retry), (FailureKind::Failed, false));
        assert!(EndResult::UserRefusedVcChoice.failure().unwrap().retry);
        assert!(!EndResult::DocumentUnusable.failure().unwrap().retry);
    }
}
