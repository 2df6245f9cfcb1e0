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

/// `Created -> MeansChosen -> [Authenticating] -> Delivered`. Verification and delivery happen
/// in one compare-and-set, so "verified but not delivered" is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlowState {
    Created,
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
