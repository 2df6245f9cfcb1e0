//! Session updates from the communication platform: `POST <session_url>?type=...`.
//! The endpoint never fails towards the caller; what happened is logged without personal data.

use crate::contract::SessionActivity;
use crate::ids::SessionId;
use crate::store::now_millis;

use super::FlowService;

impl FlowService {
    /// Applies one update. Unknown sessions, bad types and store trouble are logged only.
    pub async fn session_update(&self, sid: &str, kind: Option<&str>) {
        let Some(sid) = SessionId::parse(sid) else {
            tracing::info!(outcome = "unknown_session", "session update");
            return;
        };
        let Some(activity) = kind.and_then(SessionActivity::parse) else {
            tracing::info!(session = ?sid, outcome = "bad_type", "session update");
            return;
        };
        let result = match activity {
            SessionActivity::UserActive => {
                self.store
                    .touch_session(&sid, now_millis(), self.settings.session_idle)
                    .await
            }
            SessionActivity::Logout => self.store.end_session(&sid).await,
        };
        match result {
            Ok(live) => tracing::info!(
                session = ?sid,
                kind = ?activity,
                outcome = if live { "applied" } else { "no_live_session" },
                "session update"
            ),
            Err(e) => {
                tracing::warn!(session = ?sid, kind = ?activity, error = %e, "session update not stored")
            }
        }
    }
}
