//! RP API v3: what differs from v2. Sessions sign a structured payload (`ACSP_V2`, see
//! `verify/acsp.rs`) over an RP challenge, the interactions and the RP name instead of a bare
//! hash; besides the notification flow by national identity there are device-link flows (a QR
//! code, or a Web2App link on the phone itself) whose link carries an `authCode` keyed with the
//! session secret (`device_link.rs`). The long poll and its answers keep v2's shape, with more
//! fields (`client.rs` reads both). Facts and sources: `docs/smart-id.md`, "RP API v3".

pub mod device_link;
pub(super) mod start;
pub(super) mod wire;

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::errors::SmartIdError;
use super::session::Interaction;

pub use device_link::{DeviceLinkSession, SessionSecret};

/// Which RP API the client speaks; chosen per environment in `[means.smart_id]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    V2,
    #[default]
    V3,
}

impl ApiVersion {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "v2" => Some(ApiVersion::V2),
            "v3" => Some(ApiVersion::V3),
            _ => None,
        }
    }
}

/// `schemeName` in device links and the ACSP_V2 payload: `smart-id` on LIVE,
/// `smart-id-demo` on SK's DEMO (SK's environments page; the Java client 3.x the same).
pub const SCHEME_LIVE: &str = "smart-id";
pub const SCHEME_DEMO: &str = "smart-id-demo";
pub const ACSP_V2: &str = "ACSP_V2";
/// The only signature algorithm SK recommends for authentication (the others are deprecated).
pub const RSASSA_PSS: &str = "rsassa-pss";

/// `flowType` of a v3 signature: how the user reached the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowType {
    Qr,
    Web2App,
    App2App,
    Notification,
}

impl FlowType {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "QR" => Some(FlowType::Qr),
            "Web2App" => Some(FlowType::Web2App),
            "App2App" => Some(FlowType::App2App),
            "Notification" => Some(FlowType::Notification),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Qr => "QR",
            FlowType::Web2App => "Web2App",
            FlowType::App2App => "App2App",
            FlowType::Notification => "Notification",
        }
    }
}

/// The kind of v3 session we started: what its result may say about how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum V3Flow {
    /// Pushed to the person's devices; the VC is shown on our page.
    Notification,
    /// A device link: QR always, Web2App too when a callback URL was given.
    DeviceLink {
        initial_callback_url: Option<String>,
    },
}

impl V3Flow {
    /// The `flowType`s this session may come back with.
    pub fn allows(&self, flow: FlowType) -> bool {
        match (self, flow) {
            (V3Flow::Notification, FlowType::Notification) => true,
            (V3Flow::DeviceLink { .. }, FlowType::Qr) => true,
            (
                V3Flow::DeviceLink {
                    initial_callback_url,
                },
                FlowType::Web2App,
            ) => initial_callback_url.is_some(),
            _ => false,
        }
    }
}

/// The `interactions` field exactly as sent: the Base64 of the minified JSON array. The same
/// string goes into the authCode and, hashed, into the ACSP_V2 payload, so it is kept, never
/// rebuilt.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interactions {
    encoded: String,
    types: Vec<String>,
}

impl fmt::Debug for Interactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interactions")
            .field("types", &self.types)
            .finish()
    }
}

impl Interactions {
    /// Encodes `list` for a v3 session. Device links allow `displayTextAndPIN` and
    /// `confirmationMessage` only; notifications also the code choice; `verificationCodeChoice`
    /// is gone in v3. No type twice, at least one (SK answers 400 otherwise).
    pub fn encode(list: &[Interaction], notification: bool) -> Result<Self, SmartIdError> {
        if list.is_empty() {
            return Err(SmartIdError::InvalidRequest("no interaction"));
        }
        let mut items = Vec::with_capacity(list.len());
        let mut types: Vec<String> = Vec::with_capacity(list.len());
        for i in list {
            let in_this_flow = match i {
                Interaction::DisplayTextAndPin(_) | Interaction::ConfirmationMessage(_) => true,
                Interaction::ConfirmationMessageAndVerificationCodeChoice(_) => notification,
                Interaction::VerificationCodeChoice(_) => false,
            };
            if !in_this_flow {
                return Err(SmartIdError::InvalidRequest(
                    "interaction not in this v3 flow",
                ));
            }
            let item = i.to_wire()?;
            if types.iter().any(|t| t == item.kind) {
                return Err(SmartIdError::InvalidRequest("interaction type twice"));
            }
            types.push(item.kind.to_string());
            items.push(item);
        }
        let json =
            serde_json::to_vec(&items).map_err(|_| SmartIdError::InvalidRequest("encoding"))?;
        Ok(Interactions {
            encoded: B64.encode(json),
            types,
        })
    }

    /// The Base64 string as sent.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// Whether the app may report `used` as the interaction it showed.
    pub fn offered(&self, used: &str) -> bool {
        self.types.iter().any(|t| t == used)
    }
}

/// What a v3 session needs kept beside v2's [`super::PendingAuthentication`] fields for its
/// verification: every value of the signed payload that is ours, as we sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Pending {
    pub scheme_name: String,
    /// Byte for byte as sent (SK: capitalisation is a common mistake).
    pub relying_party_name: String,
    pub interactions: Interactions,
    pub flow: V3Flow,
    /// From the Web2App callback, once the browser came back through it; required to verify
    /// a Web2App result (its SHA-256 must be the signature's `userChallenge`).
    #[serde(default)]
    pub user_challenge_verifier: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactions_are_minified_json_in_standard_base64() {
        let i = Interactions::encode(&[Interaction::DisplayTextAndPin("Log in?".into())], false)
            .unwrap();
        let json = B64.decode(i.encoded()).unwrap();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"[{"type":"displayTextAndPIN","displayText60":"Log in?"}]"#
        );
        assert!(i.offered("displayTextAndPIN") && !i.offered("confirmationMessage"));
    }

    #[test]
    fn interactions_follow_the_v3_rules() {
        let pin = || Interaction::DisplayTextAndPin("x".into());
        let choice = || Interaction::ConfirmationMessageAndVerificationCodeChoice("x".into());
        assert!(Interactions::encode(&[], true).is_err());
        assert!(Interactions::encode(&[pin(), pin()], true).is_err());
        assert!(
            Interactions::encode(&[choice()], false).is_err(),
            "device link"
        );
        assert!(
            Interactions::encode(&[choice()], true).is_ok(),
            "notification"
        );
        let v2_only = Interaction::VerificationCodeChoice("x".into());
        assert!(Interactions::encode(&[v2_only], true).is_err());
        let long = Interaction::DisplayTextAndPin("é".repeat(61));
        assert!(Interactions::encode(&[long], true).is_err());
    }

    #[test]
    fn flows_allow_their_own_flow_types() {
        let qr_only = V3Flow::DeviceLink {
            initial_callback_url: None,
        };
        let both = V3Flow::DeviceLink {
            initial_callback_url: Some("https://rp.example/cb?x=1".into()),
        };
        assert!(qr_only.allows(FlowType::Qr) && !qr_only.allows(FlowType::Web2App));
        assert!(both.allows(FlowType::Web2App) && !both.allows(FlowType::App2App));
        assert!(!both.allows(FlowType::Notification));
        assert!(V3Flow::Notification.allows(FlowType::Notification));
        assert!(!V3Flow::Notification.allows(FlowType::Qr));
    }
}
