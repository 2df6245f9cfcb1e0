//! The background task of one Smart-ID attempt: start the session at SK, long-poll it, verify
//! the result (signature, identity, then the certificate through the trust profile) and record
//! it in the flow. It runs detached from the browser and ends at the latest with the flow's TTL.
//! Logs carry the flow id and failure classes only: never a code, name or hash. A session that
//! another instance started is polled on from its stored id (`watch.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::OwnedSemaphorePermit;

use super::{LinkState, Progress, SmartIdFlow};
use crate::attributes::Identity;
use crate::flow::{FlowError, FlowService, FlowState, MeansOutcome};
use crate::ids::FlowId;
use crate::means::smart_id::{
    conclude, AuthHash, AuthTarget, AuthenticationRequest, Failure, FailureKind, Interaction,
    PendingAuthentication, SessionStatus,
};
use crate::means::MeansId;
use crate::store::now_millis;

type Verified = (BTreeMap<String, String>, Option<serde_json::Value>);

/// Tries of the final store step, and the first pause between them (doubling: 0.25 + 0.5 + 1 +
/// 2 + 4 s, about 8 s in all, longer than a Redis failover usually takes).
const STORE_TRIES: u32 = 6;
const STORE_RETRY_FIRST: Duration = Duration::from_millis(250);

pub(super) struct Job {
    pub sid: SmartIdFlow,
    pub flows: Arc<FlowService>,
    pub id: FlowId,
    pub target: AuthTarget,
    pub hash: AuthHash,
    pub vc: String,
    /// Set when another instance started the session: polling goes on from here.
    pub resume: Option<PendingAuthentication>,
    /// A device-link attempt (QR code / Web2App) instead of a notification.
    pub link: Option<LinkState>,
}

/// How often a Web2App result waits for its browser to come back through the callback.
const CALLBACK_POLL: Duration = Duration::from_millis(300);

fn failed(retry: bool, key: &'static str, detail: &str) -> Failure {
    Failure {
        kind: if retry {
            FailureKind::Unavailable
        } else {
            FailureKind::Failed
        },
        retry,
        message_key: key,
        detail: detail.to_string(),
    }
}

impl Job {
    /// A new attempt: takes a session slot, or fails at once (retry later) when every slot
    /// is taken, so a burst never queues unboundedly behind SK's answers.
    pub async fn run(self) {
        match self.sid.inner.slots.clone().try_acquire_owned() {
            Ok(permit) => self.run_with(permit).await,
            Err(_) => {
                tracing::warn!(flow = ?self.id, "smart-id: every session slot is busy");
                self.record(Err(failed(true, "sid_busy", "no free session slot")))
                    .await;
                self.release().await;
            }
        }
    }

    /// Runs the attempt in its slot, at the latest until the flow expires.
    pub async fn run_with(self, permit: OwnedSemaphorePermit) {
        match self.flows.load(&self.id).await {
            Ok((_, record)) => {
                let left = Duration::from_millis(record.expires_at.saturating_sub(now_millis()));
                let r = tokio::time::timeout(left, self.session()).await;
                drop(permit);
                match r {
                    Ok(Some(r)) => self.record(r).await,
                    Ok(None) => {}
                    Err(_) => {
                        tracing::info!(flow = ?self.id, "smart-id: flow expired during the session")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(flow = ?self.id, error = %e, "smart-id: the flow could not be read; no session polled")
            }
        }
        self.release().await;
    }

    /// An attempt whose instance stopped before SK accepted its session: a failure the citizen
    /// may retry.
    pub async fn interrupted(self) {
        let f = failed(true, "sid_interrupted", "interrupted before SK answered");
        self.record(Err(f)).await;
        self.release().await;
    }

    async fn release(&self) {
        let store = self.flows.store().as_ref();
        self.sid
            .inner
            .watcher
            .release(store, &self.id, &self.vc)
            .await;
    }

    /// Starts the session at SK and stores its id in the flow, where another instance finds
    /// it if this one stops. `None` when the flow moved on meanwhile; `Some(Err)` when SK
    /// refused.
    async fn start_session(&self) -> Option<Result<PendingAuthentication, Failure>> {
        let inner = &self.sid.inner;
        let request = AuthenticationRequest {
            hash: self.hash.clone(),
            interactions: vec![Interaction::DisplayTextAndPin(
                inner.settings.display_text.clone(),
            )],
            nonce: None,
        };
        let (pending, link) = match &self.link {
            None => match inner
                .client
                .start_authentication(&self.target, &request)
                .await
            {
                Ok(p) => (p, None),
                Err(e) => return Some(Err(e.failure())),
            },
            Some(link) => {
                // One session for the QR code and the Web2App link, so with a callback (SK).
                // SK takes https callbacks only: a plugin served over plain http (a local
                // demo) offers the QR code alone.
                let page = self.flows.page_url(&self.id);
                let callback = page
                    .starts_with("https://")
                    .then(|| format!("{page}/smart-id/callback?state={}", link.callback_state));
                let started = inner
                    .client
                    .start_device_link(&self.target, &request, callback.as_deref(), now_millis)
                    .await;
                match started {
                    Ok(dl) => {
                        let mut link = link.clone();
                        let pending = dl.pending.clone();
                        link.session = Some(Box::new(dl));
                        (pending, Some(link))
                    }
                    Err(e) => return Some(Err(e.failure())),
                }
            }
        };
        let stored = Progress::Started {
            target: self.target.clone(),
            hash: self.hash.clone(),
            vc: self.vc.clone(),
            session: Some(pending.clone()),
            link,
        };
        self.set(stored).await.ok()?;
        Some(Ok(pending))
    }

    /// `None` when the flow went away or moved on (cancelled, expired): stop quietly.
    async fn session(&self) -> Option<Result<Verified, Failure>> {
        let inner = &self.sid.inner;
        let pending = match &self.resume {
            Some(pending) => pending.clone(),
            None => match self.start_session().await? {
                Ok(pending) => pending,
                Err(f) => return Some(Err(f)),
            },
        };
        let wait_ms = u32::try_from(inner.settings.poll_timeout.as_millis()).unwrap_or(120_000);
        let done = loop {
            match inner
                .client
                .session_status(&pending.session_id, wait_ms)
                .await
            {
                Ok(SessionStatus::Complete(done)) => break done,
                Ok(SessionStatus::Running) if self.still_ours().await => {}
                Ok(SessionStatus::Running) => return None,
                Err(e) => return Some(Err(e.failure())),
            }
        };
        let pending = match self.with_callback_verifier(pending, &done).await {
            Some(p) => p,
            None => return None,
        };
        let now = SystemTime::now();
        // The signature check and the path validation are CPU work: one job off the async
        // workers; only revocation (network) follows here.
        let (trust, profile) = (inner.trust.clone(), inner.settings.trust_profile.clone());
        let pending = pending.clone();
        let job = move || {
            let verified = conclude(&pending, &done, now)?;
            let assessed = trust.assess_now(&profile, &verified.cert, &verified.intermediates, now);
            Ok::<_, crate::means::smart_id::Rejected>((verified, assessed))
        };
        let (verified, assessed) = match crate::cpu::run(job).await {
            Ok(Ok(v)) => v,
            Ok(Err(r)) => return Some(Err(r.failure())),
            Err(e) => return Some(Err(failed(false, "smart_id.failed", &e.to_string()))),
        };
        let validation = match assessed {
            Ok(a) => inner.trust.finish_validation(a).await,
            Err(e) => return Some(Err(failed(false, "smart_id.failed", &e.to_string()))),
        };
        if !validation.is_valid() {
            // The check's name only: reasons may quote certificate fields.
            let check = validation
                .report
                .first_failure()
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let detail = format!("certificate refused by trust profile ({check})");
            return Some(Err(failed(false, "smart_id.failed", &detail)));
        }
        let report = serde_json::to_value(&validation.report).ok();
        Some(Ok((verified.fields(), report)))
    }

    /// A Web2App result is verified only after the browser came back through our callback with
    /// the verifier whose hash the app signed (SK's response verification): until then, wait
    /// for the callback step to store it. Other results pass as they are.
    async fn with_callback_verifier(
        &self,
        mut pending: PendingAuthentication,
        done: &crate::means::smart_id::CompletedSession,
    ) -> Option<PendingAuthentication> {
        let web2app = done
            .v3
            .as_ref()
            .is_some_and(|v| v.flow_type.as_deref() == Some("Web2App"));
        if !web2app || pending.v3.is_none() {
            return Some(pending);
        }
        loop {
            match self.flows.state_of(&self.id).await {
                Ok(FlowState::Authenticating {
                    means: MeansId::SmartId,
                    progress,
                }) if is_started(&progress, &self.vc) => {
                    if let Some(Progress::Started {
                        link:
                            Some(LinkState {
                                verifier: Some(v), ..
                            }),
                        ..
                    }) = Progress::parse(Some(&progress))
                    {
                        if let Some(v3) = pending.v3.as_mut() {
                            v3.user_challenge_verifier = Some(v);
                        }
                        return Some(pending);
                    }
                }
                Err(FlowError::Store(_)) => {}
                // Cancelled, retried or gone: stop (the flow's TTL bounds the wait too).
                _ => return None,
            }
            tokio::time::sleep(CALLBACK_POLL).await;
        }
    }

    /// Stores the end of the attempt. A flow whose result goes to its attr_url is finished
    /// here, so the result is delivered even if the browser is gone; a retryable failure waits
    /// for the citizen's choice.
    async fn record(&self, result: Result<Verified, Failure>) {
        let (progress, outcome) = match result {
            Ok((fields, report)) => {
                tracing::info!(flow = ?self.id, "smart-id: verified");
                let outcome = MeansOutcome::Verified {
                    means: MeansId::SmartId,
                    identity: Identity {
                        fields: fields.clone(),
                    },
                    report: report.clone(),
                };
                let progress = Progress::Verified {
                    vc: self.vc.clone(),
                    fields,
                    report,
                };
                (progress, Some(outcome))
            }
            Err(f) => {
                tracing::info!(flow = ?self.id, kind = ?f.kind, retry = f.retry, detail = %f.detail, "smart-id: attempt failed");
                let outcome = (!f.retry).then_some(MeansOutcome::Failed {
                    means: MeansId::SmartId,
                });
                let progress = Progress::Failed {
                    vc: self.vc.clone(),
                    retry: f.retry,
                    message_key: f.message_key.to_string(),
                };
                (progress, outcome)
            }
        };
        // A store that does not answer for a moment (a Redis failover) must not drop the
        // citizen's answer: the step is retried before it is given up.
        let mut pause = STORE_RETRY_FIRST;
        let mut outcome = outcome;
        let mut tries = 1;
        let result = loop {
            match self.finish_or_record(&progress, &mut outcome).await {
                Err(FlowError::Store(_)) if tries < STORE_TRIES => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    tries += 1;
                }
                other => break other,
            }
        };
        match result {
            Ok(()) => {}
            Err(e @ FlowError::Store(_)) => {
                tracing::warn!(flow = ?self.id, error = %e, tries, "smart-id: the result could not be recorded")
            }
            Err(e) => {
                tracing::info!(flow = ?self.id, error = %e, "smart-id: flow moved on before the result was recorded")
            }
        }
    }

    /// Finishes the flow when its result goes to an attr_url (taking `outcome`), else records
    /// `progress` for the browser. Both check, on the version they write, that the flow is
    /// still at this attempt: a cancelled or retried flow is never finished by an old one.
    async fn finish_or_record(
        &self,
        progress: &Progress,
        outcome: &mut Option<MeansOutcome>,
    ) -> Result<(), FlowError> {
        let finishing = match outcome.clone() {
            Some(o) if self.flows.delivers_server_side(&self.id).await? => Some(o),
            _ => None,
        };
        if let Some(finishing) = finishing {
            let vc = self.vc.clone();
            let this_attempt = move |state: &FlowState| match state {
                FlowState::Authenticating {
                    means: MeansId::SmartId,
                    progress,
                } => is_started(progress, &vc),
                _ => false,
            };
            match self
                .flows
                .complete_unattended(&self.id, finishing, this_attempt)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e @ FlowError::Store(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(flow = ?self.id, error = %e, "smart-id: unattended finish failed; leaving it to the browser");
                    *outcome = None;
                }
            }
        }
        self.set(progress.clone()).await
    }

    /// Compare-and-set from this attempt's `started` state to `next`.
    async fn set(&self, next: Progress) -> Result<(), FlowError> {
        let vc = self.vc.clone();
        self.flows
            .set_progress(
                &self.id,
                None,
                MeansId::SmartId,
                move |current| match current.is_some_and(|v| is_started(v, &vc)) {
                    true => Ok(next.to_json()),
                    false => Err(FlowError::WrongState),
                },
            )
            .await
    }

    /// The flow still exists and is still at this attempt (not cancelled, expired or retried).
    /// A store that does not answer is not a "no": the session at SK goes on, so polling does.
    async fn still_ours(&self) -> bool {
        match self.flows.state_of(&self.id).await {
            Ok(FlowState::Authenticating {
                means: MeansId::SmartId,
                progress,
            }) => is_started(&progress, &self.vc),
            Err(e @ FlowError::Store(_)) => {
                tracing::warn!(flow = ?self.id, error = %e, "smart-id: the flow could not be read; polling on");
                true
            }
            _ => false,
        }
    }
}

fn is_started(v: &serde_json::Value, vc: &str) -> bool {
    v.get("phase").and_then(|p| p.as_str()) == Some("started")
        && v.get("vc").and_then(|c| c.as_str()) == Some(vc)
}
