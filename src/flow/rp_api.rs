//! Sessions of the relying-party API: a flow whose result goes to the relying party's
//! callback and webhook instead of an ID Contact continuation. Same pages, same means, same
//! verification; no result token is made.

use serde_json::{json, Value};

use crate::config::relying_party::api_name;
use crate::config::RelyingParty;
use crate::delivery::webhook_delivered_key as delivered_key;
use crate::ids::FlowId;
use crate::store::now_millis;

use super::api_session::{self, ApiSession, Ended, Status};
use super::rp_request::{self, BadRequest};
use super::{encode, FlowError, FlowRecord, FlowService, FlowState, MeansOutcome};

#[derive(Debug, thiserror::Error)]
pub enum RpApiError {
    /// The relying party's mistake (400), naming the field.
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    /// No such session, or another relying party's (404).
    #[error("unknown session")]
    NotFound,
    /// The `Idempotency-Key` was used before with another body (422).
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyConflict,
    /// Another request with this `Idempotency-Key` is still creating its session (409).
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyInProgress,
    /// DELETE of a session that has ended (409).
    #[error("the session has ended")]
    Ended,
    /// Ours: the store, say (503/500).
    #[error(transparent)]
    Flow(#[from] FlowError),
}

/// The outcome of claiming an `Idempotency-Key`.
enum Claim {
    /// Claimed for the new session under this store key.
    Mine(String),
    /// An earlier request with the same key and body: its 201 body.
    Earlier(Value),
}

/// Who ended a session without evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Canceller {
    Citizen,
    RelyingParty,
}

fn result_key(id: &FlowId) -> String {
    format!("rp-result:{id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FlowService {
    /// `POST /api/v1/sessions`: a new session (201 body), or the one an earlier request with
    /// the same `Idempotency-Key` created.
    pub async fn create_api_session(
        &self,
        rp: &RelyingParty,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Value, RpApiError> {
        let req = rp_request::parse_create(body, rp, &self.catalog, &self.api, &self.phone)?;
        let id = FlowId::new();
        let now = now_millis();
        let expires_at = now + req.lifetime.as_millis() as u64;
        let keep_until = expires_at + self.api.status_retention.as_millis() as u64;
        let claim = match idempotency_key {
            Some(key) => match self
                .claim_idempotency(rp, key, body, &id, keep_until)
                .await?
            {
                Claim::Mine(store_key) => Some(store_key),
                Claim::Earlier(earlier) => return Ok(earlier),
            },
            None => None,
        };
        let mut api = ApiSession {
            rp: rp.id.as_str().to_string(),
            providers: req.providers,
            callbacks: req.callbacks,
            external_reference: req.external_reference,
            language: req.language,
            lifetime_secs: req.lifetime.as_secs(),
            created_at: now,
            tracker: Vec::new(),
            ended: None,
        };
        api.track("created", now, None);
        let record = FlowRecord {
            attributes: req.attributes,
            // Never used: the callbacks say where the browser goes.
            continuation: api.callbacks.success.clone(),
            attr_url: None,
            expires_at,
            binding: None,
            state: FlowState::Created,
            report: None,
            api: Some(api),
            phone: req.phone,
        };
        // The store keeps it past its lifetime, so its status stays readable.
        if let Err(e) = self.store_new_session(&id, &record, keep_until).await {
            if let Some(store_key) = &claim {
                // Released, so a retry with this key creates the session instead of being
                // pointed at one that never existed.
                if let Err(release) = self.store.remove_value(store_key).await {
                    tracing::warn!(error = %release, "idempotency key not released");
                }
            }
            return Err(e.into());
        }
        tracing::info!(flow = ?id, rp = rp.id.as_str(), tags = record.attributes.len(), "api session created");
        let api = record.api.as_ref().ok_or(RpApiError::NotFound)?;
        Ok(self.created_body(&id, &record, api))
    }

    /// Stores a new session and, if its relying party has a webhook, the event its expiry
    /// would send (rp_expiry.rs).
    async fn store_new_session(
        &self,
        id: &FlowId,
        record: &FlowRecord,
        keep_until: u64,
    ) -> Result<(), FlowError> {
        let data = encode(record);
        self.store.create_flow(id, &data, keep_until).await?;
        if let Some(expiry) = self.expiry_event(id, record) {
            // Version 1 is ours: nobody else knows the id yet.
            self.store.update_flow(id, 1, &data, Some(&expiry)).await?;
        }
        Ok(())
    }

    /// Claims `key` for the session `id` about to be created, or gives the 201 body of the
    /// session an earlier request with the same key and body created.
    async fn claim_idempotency(
        &self,
        rp: &RelyingParty,
        key: &str,
        body: &[u8],
        id: &FlowId,
        until: u64,
    ) -> Result<Claim, RpApiError> {
        let ok = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(BadRequest {
                code: "invalid_request",
                field: "Idempotency-Key",
                message: "the Idempotency-Key header must be 1 to 255 visible ASCII characters"
                    .into(),
            }
            .into());
        }
        let fingerprint = hex(&openssl::sha::sha256(body));
        let store_key = format!("rp-idem:{}:{key}", rp.id.as_str());
        let mine = format!("{id} {fingerprint}");
        let earlier = self
            .store
            .put_value_if_absent(&store_key, &mine, until)
            .await
            .map_err(FlowError::from)?;
        let Some(earlier) = earlier else {
            return Ok(Claim::Mine(store_key));
        };
        let (earlier_id, earlier_print) = earlier.split_once(' ').unwrap_or(("", ""));
        if earlier_print != fingerprint {
            return Err(RpApiError::IdempotencyConflict);
        }
        let earlier_id = FlowId::parse(earlier_id).ok_or(FlowError::Corrupt)?;
        match self.load_api(rp, &earlier_id).await {
            Ok((_, record, api)) => Ok(Claim::Earlier(self.created_body(
                &earlier_id,
                &record,
                &api,
            ))),
            // Claimed, but that request has not stored its session yet (or failed and is
            // releasing the key): the retry should come again shortly.
            Err(RpApiError::NotFound) => Err(RpApiError::IdempotencyInProgress),
            Err(e) => Err(e),
        }
    }

    fn created_body(&self, id: &FlowId, record: &FlowRecord, api: &ApiSession) -> Value {
        let mut body = api_session::summary(id.as_str(), record, api, now_millis());
        // The pages open in the relying party's language; `?lang=` is the switcher's own
        // parameter, so the citizen's later choice still wins (the value is from LANGUAGES).
        let lang = api
            .language
            .as_deref()
            .map(|l| format!("?lang={l}"))
            .unwrap_or_default();
        body["authenticationUrl"] = json!(format!("{}/flow/{}{lang}", self.public_url.base(), id));
        body["allowedProviders"] = json!(api
            .providers
            .iter()
            .map(|m| api_name(*m))
            .collect::<Vec<_>>());
        body["requestedAttributes"] = json!(record.attributes);
        body["callbackUrls"] = json!(api.callbacks);
        body["language"] = json!(api.language);
        body["sessionLifetime"] = json!(api.lifetime_secs);
        body
    }

    /// The session if it exists and belongs to `rp` (anyone else's is "not found").
    async fn load_api(
        &self,
        rp: &RelyingParty,
        id: &FlowId,
    ) -> Result<(u64, FlowRecord, ApiSession), RpApiError> {
        let found = self.store.load_flow(id).await.map_err(FlowError::from)?;
        let versioned = found.ok_or(RpApiError::NotFound)?;
        let record: FlowRecord =
            serde_json::from_str(&versioned.data).map_err(|_| FlowError::Corrupt)?;
        match record.api.clone() {
            Some(api) if api.rp == rp.id.as_str() => Ok((versioned.version, record, api)),
            _ => Err(RpApiError::NotFound),
        }
    }

    /// `GET /api/v1/sessions/{id}`: status, tracker, and for a while after a success the
    /// subject (and the validation report, if the relying party asked for it).
    pub async fn api_session(&self, rp: &RelyingParty, id: &str) -> Result<Value, RpApiError> {
        let id = FlowId::parse(id).ok_or(RpApiError::NotFound)?;
        let (_, record, mut api) = self.load_api(rp, &id).await?;
        let delivered_at = delivered_key(id.as_str());
        let delivered = self.store.get_value(&delivered_at).await;
        if let Some(at) = delivered.map_err(FlowError::from)? {
            api.track("delivered", at.parse().unwrap_or_default(), None);
        }
        let mut body = api_session::summary(id.as_str(), &record, &api, now_millis());
        if api.ended.is_some() {
            let kept = self.store.get_value(&result_key(&id)).await;
            let kept = kept.map_err(FlowError::from)?;
            if let Some(result) = kept.and_then(|k| serde_json::from_str::<Value>(&k).ok()) {
                for field in ["subject", "validationReport"] {
                    if let Some(v) = result.get(field).filter(|v| !v.is_null()) {
                        body[field] = v.clone();
                    }
                }
            }
        }
        Ok(body)
    }

    /// `DELETE /api/v1/sessions/{id}`: ends a session that has not ended (status `ABORT`).
    pub async fn cancel_api_session(
        &self,
        rp: &RelyingParty,
        id: &str,
    ) -> Result<Value, RpApiError> {
        let id = FlowId::parse(id).ok_or(RpApiError::NotFound)?;
        let (version, record, api) = self.load_api(rp, &id).await?;
        if api.ended.is_some() || now_millis() >= record.expires_at {
            return Err(RpApiError::Ended);
        }
        let outcome = MeansOutcome::Cancelled;
        match self
            .finish_api(&id, version, record, outcome, Canceller::RelyingParty)
            .await
        {
            Ok(_) => {}
            Err(FlowError::Finished) => return Err(RpApiError::Ended),
            Err(e) => return Err(e.into()),
        }
        self.api_session(rp, id.as_str()).await
    }

    /// Ends an API session with `outcome` in one compare-and-set that also enqueues the
    /// webhook; gives the callback URL for the browser.
    pub(super) async fn finish_api(
        &self,
        id: &FlowId,
        version: u64,
        record: FlowRecord,
        outcome: MeansOutcome,
        by: Canceller,
    ) -> Result<String, FlowError> {
        let mut finished = record.clone();
        let mut api = finished.api.take().ok_or(FlowError::Corrupt)?;
        let now = now_millis();
        let provider = record.state.means();
        let evidence = !matches!(
            outcome,
            MeansOutcome::Cancelled | MeansOutcome::PhoneNotVerified
        );
        let (status, code, subject, report) = match outcome {
            MeansOutcome::Verified {
                means,
                identity,
                report,
            } => {
                let mapping = self
                    .catalog
                    .mapping(means)
                    .ok_or(FlowError::MeansUnavailable)?;
                match mapping.resolve(&record.attributes, &identity) {
                    Ok(attributes) => (Status::Success, None, Some(attributes), report),
                    Err(missing) => {
                        tracing::warn!(tag = %missing.tag, field = %missing.field, "identity lacks a mapped field");
                        (Status::Error, Some("identity_incomplete"), None, report)
                    }
                }
            }
            MeansOutcome::Failed { .. } => (Status::Error, Some("evidence_refused"), None, None),
            MeansOutcome::PhoneNotVerified => {
                (Status::Error, Some("phone_not_verified"), None, None)
            }
            MeansOutcome::Cancelled => {
                let code = match by {
                    Canceller::Citizen => "cancelled_by_user",
                    Canceller::RelyingParty => "cancelled_by_relying_party",
                };
                (Status::Abort, Some(code), None, None)
            }
        };
        if evidence {
            api.track("evidence_received", now, None);
        }
        let step = match status {
            Status::Success => "verified",
            Status::Abort => "cancelled",
            _ => "refused",
        };
        api.track(step, now, code);
        api.ended = Some(Ended {
            status,
            provider,
            code: code.map(str::to_string),
            at: now,
        });
        finished.state = FlowState::Delivered {
            success: status == Status::Success,
        };
        finished.report = report.clone();
        let rp = self.relying_parties.get(&api.rp);
        let wants_report = rp.is_some_and(|rp| rp.validation_report);
        let report = report.filter(|_| wants_report);
        let deliver = rp.and_then(|rp| {
            let hook = rp.webhook.as_ref()?;
            let mut event = json!({"type": status.event_type(), "sessionId": id.as_str()});
            let summary = api_session::summary(id.as_str(), &finished, &api, now);
            for (k, v) in summary.as_object().into_iter().flatten() {
                if k != "id" {
                    event[k] = v.clone();
                }
            }
            event["occurredAt"] = json!(api_session::rfc3339(now));
            if let Some(r) = &report {
                event["validationReport"] = r.clone();
            }
            if let (true, Some(s)) = (rp.subject_in_webhook, &subject) {
                event["subject"] = json!(s);
            }
            let body = event.to_string();
            let url = hook.url.as_str().to_string();
            Some(
                self.courier
                    .webhook_entry(id.to_string(), rp.id.as_str(), url, body, now),
            )
        });
        let location = api.callback_for(id.as_str(), status);
        finished.api = Some(api);
        if !self
            .store
            .update_flow(id, version, &encode(&finished), deliver.as_ref())
            .await?
        {
            return Err(FlowError::Finished);
        }
        tracing::info!(flow = ?id, status = ?status, webhook = deliver.is_some(), "api session ended");
        if subject.is_some() || report.is_some() {
            // Personal data: readable for the retention window only, then gone by itself.
            let kept = json!({"subject": subject, "validationReport": report}).to_string();
            let until = now + self.api.subject_retention.as_millis() as u64;
            if let Err(e) = self.store.put_value(&result_key(id), &kept, until).await {
                tracing::warn!(flow = ?id, error = %e, "api session result not kept for reading");
            }
        }
        if let Some(entry) = deliver {
            // Stored above; sent now, so the relying party has it when the browser lands.
            self.courier.deliver_now(entry).await;
        }
        Ok(location)
    }
}
