//! RP API v2 JSON (and the v3 additions to the session status), private to the client. Responses ignore unknown fields (v2 §2.2.9): never
//! `deny_unknown_fields` here, and every response field is optional so that a strange answer
//! becomes a typed error, not a panic.

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AuthenticationRequest<'a> {
    #[serde(rename = "relyingPartyUUID")]
    pub relying_party_uuid: &'a str,
    pub relying_party_name: &'a str,
    pub certificate_level: &'a str,
    pub hash: String,
    pub hash_type: &'a str,
    pub allowed_interactions_order: Vec<Interaction<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct Interaction<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(rename = "displayText60", skip_serializing_if = "Option::is_none")]
    pub display_text_60: Option<&'a str>,
    #[serde(rename = "displayText200", skip_serializing_if = "Option::is_none")]
    pub display_text_200: Option<&'a str>,
}

#[derive(Deserialize)]
pub(super) struct SessionStarted {
    #[serde(rename = "sessionID")]
    pub session_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionStatus {
    pub state: Option<String>,
    pub result: Option<SessionResult>,
    pub signature: Option<Signature>,
    pub cert: Option<Cert>,
    pub interaction_flow_used: Option<String>,
    /// v3: `ACSP_V2` for authentication.
    pub signature_protocol: Option<String>,
    /// v3's name for `interactionFlowUsed`.
    pub interaction_type_used: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionResult {
    pub end_result: Option<String>,
    pub document_number: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Signature {
    pub value: Option<String>,
    pub algorithm: Option<String>,
    #[serde(flatten)]
    pub v3: super::v3::wire::SignatureV3,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Cert {
    pub value: Option<String>,
    pub certificate_level: Option<String>,
}
