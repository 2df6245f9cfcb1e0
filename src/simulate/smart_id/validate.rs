//! Start-request validation, answered like the real RP API (reference §8): 401 for an unknown
//! relying party, 403 for a missing privilege, 400 for anything malformed.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;

use crate::means::smart_id::{CertificateLevel, HashType};

/// SK's public demo relying party: it may not use ADVANCED accounts.
pub const DEMO_RP_UUID: &str = "00000000-0000-4000-8000-000000000000";
pub const DEMO_RP_NAME: &str = "DEMO";
/// A simulator-only relying party that may use ADVANCED accounts.
pub const ADVANCED_RP_UUID: &str = "00000000-0000-4000-8000-000000000001";
pub const ADVANCED_RP_NAME: &str = "SIMULATED ADVANCED RP";

/// A start request that passed validation.
#[derive(Debug)]
pub struct StartRequest {
    pub level: CertificateLevel,
    pub hash: Vec<u8>,
    pub hash_type: HashType,
    /// Interaction types in the order given.
    pub interactions: Vec<String>,
}

/// Validates a start body; `Err(status)` is the HTTP answer.
pub fn start_request(body: &[u8]) -> Result<StartRequest, u16> {
    let v: Value = serde_json::from_slice(body).map_err(|_| 400u16)?;
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let caller = caller(&v, 401)?;
    let (level, may_advanced) = (caller.level, caller.may_advanced);
    let hash_type = s("hashType").and_then(HashType::parse).ok_or(400u16)?;
    let hash = s("hash")
        .and_then(|h| B64.decode(h).ok())
        .filter(|h| h.len() == hash_type.digest_len())
        .ok_or(400u16)?;
    let list = v
        .get("allowedInteractionsOrder")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or(400u16)?;
    let mut interactions = Vec::new();
    for i in list {
        let kind = i.get("type").and_then(Value::as_str).ok_or(400u16)?;
        let t60 = i.get("displayText60");
        let t200 = i.get("displayText200");
        let (text, max, other) = match kind {
            "displayTextAndPIN" | "verificationCodeChoice" => (t60, 60, t200),
            "confirmationMessage" | "confirmationMessageAndVerificationCodeChoice" => {
                (t200, 200, t60)
            }
            _ => return Err(400),
        };
        let text = text.and_then(Value::as_str).ok_or(400u16)?;
        if other.is_some() || text.is_empty() || text.chars().count() > max {
            return Err(400);
        }
        interactions.push(kind.to_string());
    }
    if let Some(n) = v.get("nonce") {
        let n = n.as_str().ok_or(400u16)?;
        if !(1..=30).contains(&n.chars().count()) {
            return Err(400);
        }
    }
    if v.get("capabilities")
        .is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty()))
    {
        return Err(403);
    }
    // After the 400 checks: a well-formed request for a level the RP may not use.
    if level == CertificateLevel::Advanced && !may_advanced {
        return Err(403);
    }
    Ok(StartRequest {
        level,
        hash,
        hash_type,
        interactions,
    })
}

/// Who calls and at which level, as v2 and v3 both check them first.
pub(super) struct Caller<'a> {
    /// `relyingPartyName` as sent (matched without regard to case).
    pub name: &'a str,
    pub may_advanced: bool,
    pub level: CertificateLevel,
}

/// The relying party and level of a start body; `unknown` is the status for an unknown
/// relying party (v2: 401, v3.2: 403).
pub(super) fn caller(v: &Value, unknown: u16) -> Result<Caller<'_>, u16> {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let uuid = s("relyingPartyUUID").ok_or(400u16)?;
    let name = s("relyingPartyName").ok_or(400u16)?;
    let (registered, may_advanced) = match uuid {
        DEMO_RP_UUID => (DEMO_RP_NAME, false),
        ADVANCED_RP_UUID => (ADVANCED_RP_NAME, true),
        _ => return Err(unknown),
    };
    if name.len() > 32 || !name.eq_ignore_ascii_case(registered) {
        return Err(400);
    }
    let level = match v.get("certificateLevel") {
        None | Some(Value::Null) => CertificateLevel::Qualified,
        Some(l) => l.as_str().and_then(CertificateLevel::parse).ok_or(400u16)?,
    };
    Ok(Caller {
        name,
        may_advanced,
        level,
    })
}

/// `PNO|IDC|PAS` + upper-case country + `-` + id; a lower-case country is a 400.
pub fn semantics_id(id: &str) -> Result<(), u16> {
    let b = id.as_bytes();
    let ok = b.len() > 6
        && [&b"PNO"[..], b"IDC", b"PAS"].contains(&&b[..3])
        && b[3].is_ascii_uppercase()
        && b[4].is_ascii_uppercase()
        && b[5] == b'-';
    if ok {
        Ok(())
    } else {
        Err(400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(patch: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v = json!({
            "relyingPartyUUID": DEMO_RP_UUID, "relyingPartyName": "demo",
            "hashType": "SHA256", "hash": B64.encode([1u8; 32]),
            "allowedInteractionsOrder": [{"type": "displayTextAndPIN", "displayText60": "Log in"}]
        });
        patch(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn answers_like_sk() {
        assert!(start_request(&body(|_| {})).is_ok());
        assert_eq!(start_request(b"{").unwrap_err(), 400);
        type Patch = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Patch, u16)> = vec![
            (
                Box::new(|v| v["relyingPartyUUID"] = json!("00000000-0000-4000-8000-00000000000f")),
                401,
            ),
            (Box::new(|v| v["relyingPartyName"] = json!("OTHER")), 400),
            (Box::new(|v| v["hashType"] = json!("MD5")), 400),
            (Box::new(|v| v["hash"] = json!(B64.encode([1u8; 64]))), 400),
            (Box::new(|v| v["allowedInteractionsOrder"] = json!([])), 400),
            (
                Box::new(|v| {
                    v["allowedInteractionsOrder"][0]["displayText60"] = json!("x".repeat(61))
                }),
                400,
            ),
            (
                Box::new(|v| v["allowedInteractionsOrder"][0]["displayText200"] = json!("x")),
                400,
            ),
            (Box::new(|v| v["nonce"] = json!("")), 400),
            (Box::new(|v| v["certificateLevel"] = json!("ADVANCED")), 403),
            (Box::new(|v| v["certificateLevel"] = json!("LOW")), 400),
        ];
        for (i, (patch, code)) in cases.into_iter().enumerate() {
            assert_eq!(start_request(&body(patch)).unwrap_err(), code, "case {i}");
        }
        assert_eq!(semantics_id("PNOee-1"), Err(400));
        assert!(semantics_id("PNOEE-1").is_ok());
    }
}
