//! What the store keeps about one flow.

use serde::{Deserialize, Serialize};

use crate::attributes::AttributeTag;
use crate::means::MeansId;
use crate::store::Millis;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRecord {
    pub attributes: Vec<AttributeTag>,
    /// Canonical, allow-listed when the flow was started.
    pub continuation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attr_url: Option<String>,
    pub expires_at: Millis,
    /// Set by the first visit: the browser that holds the matching cookie owns the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
    pub state: FlowState,
    /// The certificate validation report of the means, kept for audit with the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
    /// Only for sessions of the relying-party API (absent, the record is an ID Contact flow's,
    /// byte for byte as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<super::api_session::ApiSession>,
    /// Present when the flow has the phone step (docs/phone.md); absent, the record is as
    /// before the step existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneGate>,
}

/// The phone step of one flow: the number the relying party gave (if any) and the code step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhoneGate {
    /// E.164 number given by an API session's `phoneNumber`; the citizen cannot change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<crate::phone::PhoneStep>,
}

impl PhoneGate {
    pub fn verified(&self) -> bool {
        self.step.as_ref().is_some_and(|s| s.verified)
    }
}

impl FlowRecord {
    /// The step is required and not passed yet: no means may be chosen.
    pub fn phone_pending(&self) -> bool {
        self.phone.as_ref().is_some_and(|g| !g.verified())
    }

    /// Where "choose another way" returns to: after a passed phone step, `PhoneVerified`.
    pub fn choice_state(&self) -> FlowState {
        match &self.phone {
            Some(g) if g.verified() => FlowState::PhoneVerified,
            _ => FlowState::Created,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Binding {
    /// Secret carried in the private flow cookie.
    pub browser: String,
    /// Anti-CSRF token embedded in this flow's forms.
    pub csrf: String,
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Binding(..)")
    }
}

/// `Created -> [PhoneVerified] -> MeansChosen -> [Authenticating] -> Delivered`. Verification and delivery happen
/// in one compare-and-set, so "verified but not delivered" is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlowState {
    Created,
    /// The phone step passed; the means choice is open.
    PhoneVerified,
    MeansChosen {
        means: MeansId,
    },
    Authenticating {
        means: MeansId,
        /// Means-specific progress (a Smart-ID session, say).
        #[serde(default)]
        progress: serde_json::Value,
    },
    Delivered {
        success: bool,
    },
}

impl FlowState {
    pub fn is_finished(&self) -> bool {
        matches!(self, FlowState::Delivered { .. })
    }

    pub fn means(&self) -> Option<MeansId> {
        match self {
            FlowState::MeansChosen { means } | FlowState::Authenticating { means, .. } => {
                Some(*means)
            }
            _ => None,
        }
    }
}
