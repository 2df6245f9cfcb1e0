//! The `session.expired` webhook. Every write of an API session that has not ended puts in
//! the outbox, in the same atomic step, the event its expiry would send, due at the expiry:
//! the outbox entry's id is the session's, so a later write replaces it (with the tracker as
//! it is then) and the end of the session replaces it with the `session.success|abort|error`
//! event. What is still there at the expiry is claimed by one instance's worker (the store's
//! atomic lease) and sent at least once, with the same bytes each attempt.

use serde_json::json;

use crate::ids::FlowId;
use crate::store::OutboxEntry;

use super::api_session::{self, Status};
use super::{FlowRecord, FlowService};

impl FlowService {
    /// The `session.expired` event of `record`, due at its expiry; `None` when it is not an
    /// API session, has ended, or its relying party has no webhook.
    pub(super) fn expiry_event(&self, id: &FlowId, record: &FlowRecord) -> Option<OutboxEntry> {
        let mut api = record.api.clone()?;
        if api.ended.is_some() {
            return None;
        }
        let rp = self.relying_parties.get(&api.rp)?;
        let hook = rp.webhook.as_ref()?;
        let at = record.expires_at;
        api.track("expired", at, Some("expired"));
        let summary = api_session::summary(id.as_str(), record, &api, at);
        let mut event = json!({"type": Status::Expired.event_type(), "sessionId": id.as_str()});
        for (k, v) in summary.as_object().into_iter().flatten() {
            if k != "id" {
                event[k] = v.clone();
            }
        }
        event["occurredAt"] = json!(api_session::rfc3339(at));
        let url = hook.url.as_str().to_string();
        let entry = self.courier.scheduled_webhook_entry(
            id.to_string(),
            rp.id.as_str(),
            url,
            event.to_string(),
            at,
        );
        Some(entry)
    }
}
