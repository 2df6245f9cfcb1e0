//! RP API v3 start-request validation, answered as SK documents it (OpenAPI
//! `DeviceLinkAuthenticationRequestBody` / `NotificationAuthenticationRequestBody`, the
//! "Interactions" page): 401 unknown relying party, 403 a missing privilege, 400 anything
//! malformed, including a `nonce` (replaced by `rpChallenge` in v3).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;

use crate::means::smart_id::{CertificateLevel, HashType};

/// A v3 authentication start that passed validation; strings exactly as received.
#[derive(Debug, Clone)]
pub struct V3Start {
    pub level: CertificateLevel,
    pub relying_party_name: String,
    pub rp_challenge: String,
    pub hash: HashType,
    pub interactions: String,
    /// Interaction types in the order given.
    pub interaction_types: Vec<String>,
    pub initial_callback_url: Option<String>,
}

/// Validates a v3 authentication body for a notification (`device_link` false) or a device
/// link; `Err(status)` is the HTTP answer.
pub fn start_request(body: &[u8], device_link: bool) -> Result<V3Start, u16> {
    let v: Value = serde_json::from_slice(body).map_err(|_| 400u16)?;
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    // v3.2: an unknown relying party is 403 (v2 said 401).
    let caller = super::validate::caller(&v, 403)?;
    let (name, level, may_advanced) = (caller.name, caller.level, caller.may_advanced);
    if s("signatureProtocol") != Some("ACSP_V2") || v.get("nonce").is_some() {
        return Err(400);
    }
    let params = v.get("signatureProtocolParameters").ok_or(400u16)?;
    let rp_challenge = params
        .get("rpChallenge")
        .and_then(Value::as_str)
        .filter(|c| (44..=88).contains(&c.len()))
        .filter(|c| B64.decode(c).is_ok_and(|b| (32..=64).contains(&b.len())))
        .ok_or(400u16)?;
    if params.get("signatureAlgorithm").and_then(Value::as_str) != Some("rsassa-pss") {
        // The sha*WithRSAEncryption values are deprecated; the simulator signs PSS only.
        return Err(400);
    }
    let hash = params
        .pointer("/signatureAlgorithmParameters/hashAlgorithm")
        .and_then(Value::as_str)
        .and_then(HashType::parse_v3)
        .ok_or(400u16)?;
    let interactions = s("interactions").ok_or(400u16)?;
    let interaction_types = interaction_types(interactions, !device_link)?;
    let initial_callback_url = match (device_link, v.get("initialCallbackUrl")) {
        (_, None) => None,
        (false, Some(_)) => return Err(400),
        (true, Some(u)) => {
            let u = u.as_str().ok_or(400u16)?;
            let ok = u.len() <= 1800
                && u.len() > "https://".len()
                && u.starts_with("https://")
                && !u.contains(['|', '#']);
            if !ok {
                return Err(400);
            }
            Some(u.to_string())
        }
    };
    if !device_link && s("vcType") != Some("numeric4") {
        return Err(400);
    }
    if level == CertificateLevel::Advanced && !may_advanced {
        return Err(403);
    }
    Ok(V3Start {
        level,
        relying_party_name: name.to_string(),
        rp_challenge: rp_challenge.to_string(),
        hash,
        interactions: interactions.to_string(),
        interaction_types,
        initial_callback_url,
    })
}

/// The interaction rules: Base64 of a JSON array, each `{type, displayText60|displayText200}`,
/// no type twice, never both texts, the code choice in notifications only.
fn interaction_types(b64: &str, notification: bool) -> Result<Vec<String>, u16> {
    let json = B64.decode(b64).map_err(|_| 400u16)?;
    let list: Vec<Value> = serde_json::from_slice(&json).map_err(|_| 400u16)?;
    if list.is_empty() {
        return Err(400);
    }
    let mut types: Vec<String> = Vec::new();
    for i in &list {
        let kind = i.get("type").and_then(Value::as_str).ok_or(400u16)?;
        let (t60, t200) = (i.get("displayText60"), i.get("displayText200"));
        let (text, max, other) = match kind {
            "displayTextAndPIN" => (t60, 60, t200),
            "confirmationMessage" => (t200, 200, t60),
            "confirmationMessageAndVerificationCodeChoice" if notification => (t200, 200, t60),
            _ => return Err(400),
        };
        let text = text.and_then(Value::as_str).ok_or(400u16)?;
        if other.is_some() || text.is_empty() || text.chars().count() > max {
            return Err(400);
        }
        if types.iter().any(|t| t == kind) {
            return Err(400);
        }
        types.push(kind.to_string());
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::smart_id::validate::DEMO_RP_UUID;
    use serde_json::json;

    fn body(device_link: bool, patch: impl FnOnce(&mut Value)) -> Vec<u8> {
        let interactions = B64.encode(r#"[{"type":"displayTextAndPIN","displayText60":"Log in"}]"#);
        let mut v = json!({
            "relyingPartyUUID": DEMO_RP_UUID, "relyingPartyName": "DEMO",
            "signatureProtocol": "ACSP_V2",
            "signatureProtocolParameters": {"rpChallenge": B64.encode([7u8; 64]),
                "signatureAlgorithm": "rsassa-pss",
                "signatureAlgorithmParameters": {"hashAlgorithm": "SHA-512"}},
            "interactions": interactions,
        });
        if !device_link {
            v["vcType"] = json!("numeric4");
        }
        patch(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn answers_like_sk() {
        assert!(start_request(&body(false, |_| {}), false).is_ok());
        assert!(start_request(&body(true, |_| {}), true).is_ok());
        let cb = |v: &mut Value| v["initialCallbackUrl"] = json!("https://rp.example/cb?x=1");
        assert!(start_request(&body(true, cb), true).is_ok());
        assert_eq!(start_request(&body(false, cb), false).unwrap_err(), 400);
        type Patch = Box<dyn FnOnce(&mut Value)>;
        let choice = B64.encode(
            r#"[{"type":"confirmationMessageAndVerificationCodeChoice","displayText200":"x"}]"#,
        );
        let twice = B64.encode(
            r#"[{"type":"displayTextAndPIN","displayText60":"a"},{"type":"displayTextAndPIN","displayText60":"b"}]"#,
        );
        let cases: Vec<(bool, Patch, u16)> = vec![
            (
                false,
                Box::new(|v| v["relyingPartyUUID"] = json!("00000000-0000-4000-8000-00000000000f")),
                403,
            ),
            (
                false,
                Box::new(|v| v["relyingPartyName"] = json!("OTHER")),
                400,
            ),
            (false, Box::new(|v| v["nonce"] = json!("abc")), 400),
            (
                false,
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("vcType");
                }),
                400,
            ),
            (
                false,
                Box::new(|v| v["signatureProtocol"] = json!("ACSP_V1")),
                400,
            ),
            (
                false,
                Box::new(|v| {
                    v["signatureProtocolParameters"]["rpChallenge"] = json!(B64.encode([1u8; 16]))
                }),
                400,
            ),
            (
                false,
                Box::new(|v| {
                    v["signatureProtocolParameters"]["signatureAlgorithmParameters"]
                        ["hashAlgorithm"] = json!("MD5")
                }),
                400,
            ),
            (
                false,
                Box::new(|v| v["interactions"] = json!("not base64!")),
                400,
            ),
            (
                false,
                Box::new(move |v| v["interactions"] = json!(twice)),
                400,
            ),
            (
                true,
                Box::new(move |v| v["interactions"] = json!(choice)),
                400,
            ),
            (
                true,
                Box::new(|v| v["initialCallbackUrl"] = json!("https://rp.example/cb#frag")),
                400,
            ),
            (
                false,
                Box::new(|v| v["certificateLevel"] = json!("ADVANCED")),
                403,
            ),
        ];
        for (i, (device_link, patch, code)) in cases.into_iter().enumerate() {
            let b = body(device_link, patch);
            assert_eq!(
                start_request(&b, device_link).unwrap_err(),
                code,
                "case {i}"
            );
        }
    }
}
