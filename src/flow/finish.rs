//! Ending a flow: one result, signed and encrypted, delivered by redirect or through the outbox
//! in the same compare-and-set that marks the flow delivered.

use crate::attributes::{AttributeTag, Identity};
use crate::ids::{FlowId, SessionId};
use crate::means::MeansId;
use crate::store::now_millis;
use crate::token::{Outcome, ResultToken};

use super::{encode, BrowserProof, FlowError, FlowRecord, FlowService, FlowState};

/// What a means (or the citizen) decided.
#[derive(Debug, Clone)]
pub enum MeansOutcome {
    /// Evidence verified: the identity and, if any, the certificate validation report.
    Verified {
        means: MeansId,
        identity: Identity,
        report: Option<serde_json::Value>,
    },
    /// The means refused (bad evidence, user refused at the phone, ...).
    Failed { means: MeansId },
    /// The citizen pressed Cancel.
    Cancelled,
    /// The phone step ended without a verified code (too many wrong codes).
    PhoneNotVerified,
}

impl FlowService {
    /// What the test means would share for `tags`: its fixed value per tag (None if it has
    /// none), exactly what [`FlowService::complete_test`] puts in the token.
    pub fn test_preview(&self, tags: &[AttributeTag]) -> Vec<(String, Option<String>)> {
        let identity = self.catalog().test_identity();
        tags.iter()
            .map(|t| {
                (
                    t.as_str().to_string(),
                    identity.fields.get(t.as_str()).cloned(),
                )
            })
            .collect()
    }

    /// The test means confirmed: the flow ends with its fixed identity.
    pub async fn complete_test(
        &self,
        id: &FlowId,
        proof: &BrowserProof<'_>,
    ) -> Result<String, FlowError> {
        let outcome = MeansOutcome::Verified {
            means: MeansId::Test,
            identity: self.catalog().test_identity().clone(),
            report: None,
        };
        self.complete(id, proof, outcome).await
    }

    /// Ends the flow with `outcome` and gives the URL to send the browser to (303).
    /// A flow that is already finished gives [`FlowError::Finished`] and no second result.
    pub async fn complete(
        &self,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        outcome: MeansOutcome,
    ) -> Result<String, FlowError> {
        let (version, record) = self.authorized(id, proof).await?;
        self.finish(id, version, record, outcome).await
    }

    /// Ends the flow without a browser: a means that finished in the background (Smart-ID)
    /// for a flow whose result goes to its `attr_url`, if `still_this_attempt` holds for the
    /// state of the very version this replaces (else `WrongState`). Gives the continuation.
    pub async fn complete_unattended(
        &self,
        id: &FlowId,
        outcome: MeansOutcome,
        still_this_attempt: impl Fn(&FlowState) -> bool,
    ) -> Result<String, FlowError> {
        let (version, record) = self.load(id).await?;
        if !record.state.is_finished() && !still_this_attempt(&record.state) {
            return Err(FlowError::WrongState);
        }
        self.finish(id, version, record, outcome).await
    }

    pub(super) async fn finish(
        &self,
        id: &FlowId,
        version: u64,
        record: FlowRecord,
        outcome: MeansOutcome,
    ) -> Result<String, FlowError> {
        if record.state.is_finished() {
            return Err(FlowError::Finished);
        }
        if let MeansOutcome::Verified { means, .. } | MeansOutcome::Failed { means } = &outcome {
            if record.state.means() != Some(*means) {
                return Err(FlowError::WrongState);
            }
        }
        if record.api.is_some() {
            let by = super::rp_api::Canceller::Citizen;
            return self.finish_api(id, version, record, outcome, by).await;
        }
        let (wire, report) = self.wire_outcome(&record, outcome).await?;
        let success = matches!(wire, Outcome::Success { .. });
        let now = now_millis();
        // Signing (RSA or EC) and encrypting the result is CPU work: off the async workers.
        let (issuer, job) = (self.issuer.clone(), wire);
        let token = crate::cpu::run_last_step(move || issuer.issue(&job, now / 1000)).await??;

        let mut finished = record.clone();
        finished.state = FlowState::Delivered { success };
        finished.report = report;
        let (deliver, location) = match &record.attr_url {
            Some(url) => (
                Some(
                    self.courier
                        .entry(id.to_string(), url.clone(), token.into_string(), now),
                ),
                record.continuation.clone(),
            ),
            None => (None, redirect_with_result(&record.continuation, &token)),
        };
        if !self
            .store
            .update_flow(id, version, &encode(&finished), deliver.as_ref())
            .await?
        {
            // Another request finished (or changed) the flow first; its result stands.
            return Err(FlowError::Finished);
        }
        let by_attr_url = deliver.is_some();
        tracing::info!(flow = ?id, success, by_attr_url, "flow finished");
        if let Some(entry) = deliver {
            // Stored first (above), sent now: whoever looks the result up when the browser
            // lands finds it there, unless the receiver is slow or down.
            self.courier.deliver_now(entry).await;
        }
        Ok(location)
    }

    /// The token's content: exactly the requested tags on success, nothing on failure.
    async fn wire_outcome(
        &self,
        record: &FlowRecord,
        outcome: MeansOutcome,
    ) -> Result<(Outcome, Option<serde_json::Value>), FlowError> {
        let MeansOutcome::Verified {
            means,
            identity,
            report,
        } = outcome
        else {
            return Ok((Outcome::Failed, None));
        };
        let mapping = self
            .catalog
            .mapping(means)
            .ok_or(FlowError::MeansUnavailable)?;
        let attributes = match mapping.resolve(&record.attributes, &identity) {
            Ok(a) => a,
            Err(missing) => {
                // Verified, but the evidence lacks a mapped field (a card read without its
                // identity file, say): the core gets a failure, never a partial result.
                tracing::warn!(tag = %missing.tag, field = %missing.field, "identity lacks a mapped field");
                return Ok((Outcome::Failed, report));
            }
        };
        let session_url = if self.settings.session_updates {
            Some(self.open_session().await?)
        } else {
            None
        };
        Ok((
            Outcome::Success {
                attributes,
                session_url,
            },
            report,
        ))
    }

    /// Starts the authenticated session that `session_url` updates.
    async fn open_session(&self) -> Result<String, FlowError> {
        let sid = SessionId::new();
        let now = now_millis();
        let idle_until = now + self.settings.session_idle.as_millis() as u64;
        let absolute_until = now + self.settings.session_max.as_millis() as u64;
        self.store
            .create_session(&sid, idle_until, absolute_until)
            .await?;
        Ok(format!(
            "{}/session/{}/update",
            self.internal_url.base(),
            sid
        ))
    }
}

/// The continuation with `result` added to its query (existing parameters kept).
pub fn redirect_with_result(continuation: &str, token: &ResultToken) -> String {
    match url::Url::parse(continuation) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("result", token.as_str());
            url.into()
        }
        // The continuation was parsed and allow-listed at start; this cannot happen.
        Err(_) => continuation.to_string(),
    }
}
