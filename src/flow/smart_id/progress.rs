//! The Smart-ID progress kept in the flow, and how each phase is shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{RunState, WaitView};
use crate::flow::{FlowError, FlowState};
use crate::means::smart_id::{AuthHash, AuthTarget, DeviceLinkSession, PendingAuthentication};
use crate::means::MeansId;

/// What the flow keeps between steps (personal data: the store only, never logs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    Ready {
        target: AuthTarget,
        hash: AuthHash,
        vc: String,
        /// A device-link attempt (RP API v3: QR code, Web2App); `None` for a notification.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<LinkState>,
    },
    Started {
        target: AuthTarget,
        hash: AuthHash,
        vc: String,
        /// Set once SK accepted the session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<PendingAuthentication>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<LinkState>,
    },
    Verified {
        vc: String,
        fields: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report: Option<serde_json::Value>,
    },
    Failed {
        vc: String,
        retry: bool,
        message_key: String,
    },
}

/// A device-link attempt: the callback's random parameter (bound to this flow, whose cookie is
/// SameSite=Lax), SK's session with its secret once started, and the Web2App callback's
/// verifier once the browser came back through it. Store only: the secret never reaches a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    pub callback_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<DeviceLinkSession>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
}

impl Progress {
    pub(super) fn parse(v: Option<&serde_json::Value>) -> Option<Progress> {
        v.and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        // Strings, maps and derived types: serialising cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }

    fn vc(&self) -> &str {
        match self {
            Progress::Ready { vc, .. }
            | Progress::Started { vc, .. }
            | Progress::Verified { vc, .. }
            | Progress::Failed { vc, .. } => vc,
        }
    }
}

pub(super) fn is_ready(v: &serde_json::Value) -> bool {
    v.get("phase").and_then(|p| p.as_str()) == Some("ready")
}

pub(super) fn is_ready_with(vc: &str) -> impl Fn(&serde_json::Value) -> bool + '_ {
    move |v| is_ready(v) && v.get("vc").and_then(|c| c.as_str()) == Some(vc)
}

/// `None`: the flow is not at Smart-ID. `Some(None)`: Smart-ID chosen, no code yet.
pub(super) fn stage_of(state: &FlowState) -> Result<Option<Option<Progress>>, FlowError> {
    match state {
        FlowState::Delivered { .. } => Err(FlowError::Finished),
        FlowState::MeansChosen {
            means: MeansId::SmartId,
        } => Ok(Some(None)),
        FlowState::Authenticating {
            means: MeansId::SmartId,
            progress,
        } => Progress::parse(Some(progress))
            .map(|p| Some(Some(p)))
            .ok_or(FlowError::Corrupt),
        _ => Ok(None),
    }
}

pub(super) fn wait_view(csrf: String, p: &Progress) -> WaitView {
    let device_link = matches!(
        p,
        Progress::Ready { link: Some(_), .. } | Progress::Started { link: Some(_), .. }
    );
    let (state, key, retry) = match p {
        Progress::Ready { .. } | Progress::Started { .. } => {
            (RunState::Running, "sid_running", false)
        }
        Progress::Verified { .. } => (RunState::Done, "sid_done", false),
        Progress::Failed {
            retry, message_key, ..
        } => (RunState::Failed, message_key.as_str(), *retry),
    };
    WaitView {
        csrf,
        vc: p.vc().to_string(),
        state,
        message_key: key.to_string(),
        retry,
        device_link,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::means::smart_id::{Checks, Country, HashType, PersonalCode};

    #[test]
    fn phases_are_tagged_and_round_trip() {
        let code = PersonalCode::parse(Country::EE, "40504040001", Checks::Strict).unwrap();
        let hash = AuthHash::generate(HashType::Sha512).unwrap();
        let ready = Progress::Ready {
            target: AuthTarget::Etsi(code),
            vc: hash.verification_code(),
            hash,
            link: None,
        };
        let json = ready.to_json();
        assert!(
            json.get("link").is_none(),
            "notification attempts are stored as before"
        );
        assert_eq!(json["phase"], "ready");
        assert!(is_ready(&json) && is_ready_with(ready.vc())(&json));
        assert!(!is_ready_with("0000x")(&json));
        let state = FlowState::Authenticating {
            means: MeansId::SmartId,
            progress: json,
        };
        let Ok(Some(Some(Progress::Ready { vc, .. }))) = stage_of(&state) else {
            panic!("ready expected");
        };
        assert_eq!(vc, ready.vc());
        let other = FlowState::MeansChosen {
            means: MeansId::Test,
        };
        assert!(matches!(stage_of(&other), Ok(None)));
    }

    #[test]
    fn only_failures_offer_a_retry_and_carry_their_text() {
        let failed = Progress::Failed {
            vc: "1234".into(),
            retry: true,
            message_key: "smart_id.timeout".into(),
        };
        let w = wait_view("c".into(), &failed);
        assert_eq!((w.state, w.retry), (RunState::Failed, true));
        assert_eq!(w.message_key, "smart_id.timeout");
        let done = Progress::Verified {
            vc: "1234".into(),
            fields: BTreeMap::new(),
            report: None,
        };
        let w = wait_view("c".into(), &done);
        assert_eq!((w.state, w.retry), (RunState::Done, false));
    }
}
