//! RP API v3 request and response JSON, private to the client. Names are SK's, checked against
//! the v3 OpenAPI (`RP-API_V3.yml`) and SK's Java client 3.x `rest/dao` records. Responses keep
//! every field optional and ignore unknown ones, as in v2.

use serde::{Deserialize, Serialize};

/// `DeviceLinkAuthenticationRequestBody` and `NotificationAuthenticationRequestBody`: one
/// struct, as they differ only in `initialCallbackUrl` (device link) and `vcType`
/// (notification).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct AuthenticationRequest<'a> {
    #[serde(rename = "relyingPartyUUID")]
    pub relying_party_uuid: &'a str,
    pub relying_party_name: &'a str,
    pub certificate_level: &'a str,
    pub signature_protocol: &'static str,
    pub signature_protocol_parameters: SignatureProtocolParameters<'a>,
    pub interactions: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_callback_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vc_type: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct SignatureProtocolParameters<'a> {
    pub rp_challenge: &'a str,
    pub signature_algorithm: &'static str,
    pub signature_algorithm_parameters: HashAlgorithm<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct HashAlgorithm<'a> {
    pub hash_algorithm: &'a str,
}

// One element of the `interactions` array is v2's `allowedInteractionsOrder` element
// (`super::super::wire::Interaction`), Base64-encoded as a JSON array.

/// `DeviceLinkResponse`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct DeviceLinkStarted {
    #[serde(rename = "sessionID")]
    pub session_id: Option<String>,
    pub session_token: Option<String>,
    pub session_secret: Option<String>,
    pub device_link_base: Option<String>,
}

/// The v3 parts of `signature` in a session status (v2 has `value` and `algorithm` only).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct SignatureV3 {
    pub server_random: Option<String>,
    pub user_challenge: Option<String>,
    pub flow_type: Option<String>,
    pub signature_algorithm: Option<String>,
    pub signature_algorithm_parameters: Option<PssParameters>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct PssParameters {
    pub hash_algorithm: Option<String>,
    pub mask_gen_algorithm: Option<MaskGen>,
    pub salt_length: Option<u32>,
    pub trailer_field: Option<String>,
}

#[derive(Deserialize)]
pub(in crate::means::smart_id) struct MaskGen {
    pub algorithm: Option<String>,
    pub parameters: Option<MaskGenParameters>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::means::smart_id) struct MaskGenParameters {
    pub hash_algorithm: Option<String>,
}
