//! What a flow created through the session API keeps beyond an ID Contact flow, and how its
//! status reads on the wire (`GET /api/v1/sessions/{id}`, the webhook event).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::relying_party::api_name;
use crate::means::MeansId;
use crate::store::Millis;

use super::rp_request::Callbacks;
use super::{FlowRecord, FlowState};

/// Stored in the flow record (`api`); absent for ID Contact flows, whose records are unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiSession {
    /// The relying party's id.
    pub rp: String,
    pub providers: Vec<MeansId>,
    pub callbacks: Callbacks,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub lifetime_secs: u64,
    pub created_at: Millis,
    pub tracker: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ended>,
}

/// One step of the tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = SessionStatus)]
pub enum Status {
    Created,
    Waiting,
    Success,
    Abort,
    Error,
    Expired,
}

impl Status {
    pub fn event_type(self) -> &'static str {
        match self {
            Status::Success => "session.success",
            Status::Abort => "session.abort",
            Status::Error => "session.error",
            Status::Expired => "session.expired",
            Status::Created | Status::Waiting => "session.update",
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ended {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<MeansId>,
    /// Machine-readable reason of an `ERROR` or `ABORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub at: Millis,
}

impl ApiSession {
    pub fn track(&mut self, step: &str, at: Millis, code: Option<&str>) {
        self.tracker.push(Step {
            step: step.to_string(),
            at,
            code: code.map(str::to_string),
        });
    }

    /// Where the browser goes when the session ended: the callback for its status, with the
    /// session id and the relying party's reference, never personal data.
    pub fn callback_for(&self, id: &str, status: Status) -> String {
        let base = match status {
            Status::Success => &self.callbacks.success,
            Status::Abort => &self.callbacks.abort,
            _ => &self.callbacks.error,
        };
        match url::Url::parse(base) {
            Ok(mut url) => {
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("sessionId", id);
                    if let Some(r) = &self.external_reference {
                        q.append_pair("externalReference", r);
                    }
                }
                url.into()
            }
            // Parsed and allow-listed at creation.
            Err(_) => base.clone(),
        }
    }
}

/// The status of a session as it stands at `now`.
pub fn status_of(record: &FlowRecord, api: &ApiSession, now: Millis) -> Status {
    if let Some(ended) = &api.ended {
        return ended.status;
    }
    if now >= record.expires_at {
        return Status::Expired;
    }
    match record.state {
        FlowState::Created if record.phone.as_ref().is_none_or(|g| g.step.is_none()) => {
            Status::Created
        }
        _ => Status::Waiting,
    }
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(at: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format).unwrap_or_default()
}

pub fn tracker_json(api: &ApiSession) -> Value {
    let steps: Vec<Value> = api
        .tracker
        .iter()
        .map(|s| {
            let mut v = json!({"step": s.step, "at": rfc3339(s.at)});
            if let Some(code) = &s.code {
                v["code"] = json!(code);
            }
            v
        })
        .collect();
    Value::Array(steps)
}

/// What every view of a session shows: id, status, provider, reference, times, tracker, error.
pub fn summary(id: &str, record: &FlowRecord, api: &ApiSession, now: Millis) -> Value {
    let status = status_of(record, api, now);
    let provider = api
        .ended
        .as_ref()
        .and_then(|e| e.provider)
        .or_else(|| record.state.means());
    let mut v = json!({
        "id": id,
        "status": status,
        "provider": provider.map(api_name),
        "externalReference": api.external_reference,
        "createdAt": rfc3339(api.created_at),
        "expiresAt": rfc3339(record.expires_at),
        "tracker": tracker_json(api),
    });
    let code = match (status, api.ended.as_ref()) {
        (Status::Expired, _) => Some("expired".to_string()),
        (Status::Error | Status::Abort, Some(e)) => e.code.clone(),
        _ => None,
    };
    if let Some(code) = code {
        v["error"] = json!({"code": code, "message": error_text(&code)});
    }
    v
}

fn error_text(code: &str) -> &'static str {
    match code {
        "expired" => "the session ended before the citizen finished",
        "evidence_refused" => {
            "the provider's evidence was refused or the citizen refused at the provider"
        }
        "identity_incomplete" => "the verified identity lacks a requested attribute",
        "cancelled_by_user" => "the citizen cancelled",
        "cancelled_by_relying_party" => "the relying party cancelled the session",
        "phone_not_verified" => "the one-time code of the phone step was entered wrongly too often",
        _ => "the session did not succeed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(reference: Option<&str>) -> ApiSession {
        ApiSession {
            rp: "portal".into(),
            providers: vec![MeansId::Test],
            callbacks: Callbacks {
                success: "https://rp.example/ok?x=1".into(),
                abort: "https://rp.example/abort".into(),
                error: "https://rp.example/error".into(),
            },
            external_reference: reference.map(str::to_string),
            language: None,
            lifetime_secs: 60,
            created_at: 0,
            tracker: vec![],
            ended: None,
        }
    }

    #[test]
    fn callbacks_carry_the_id_and_reference_encoded() {
        let s = session(Some("order 7&x=<1>"));
        assert_eq!(
            s.callback_for("abc", Status::Success),
            "https://rp.example/ok?x=1&sessionId=abc&externalReference=order+7%26x%3D%3C1%3E"
        );
        assert_eq!(
            session(None).callback_for("abc", Status::Expired),
            "https://rp.example/error?sessionId=abc"
        );
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
