//! The Smart-ID means in the flow: the form, the waiting page, the background session and the
//! browser's final step. No HTTP types here; `web::smart_id` maps these results.
//!
//! Progress is kept in `FlowState::Authenticating { means: SmartId, progress }` (see
//! [`Progress`]): `ready` (code checked, hash and verification code made, nothing sent to SK),
//! `started` (the waiting page was shown once; one background task owns the session),
//! `verified` or `failed`. Every move is a compare-and-set on the flow, so two browsers' tabs or
//! two instances never start two sessions for one flow.

pub mod device_link;
mod progress;
mod task;
mod watch;

use progress::{is_ready, is_ready_with, stage_of, wait_view};
pub use progress::{LinkState, Progress};

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{BrowserProof, FlowError, FlowService, FlowState, MeansOutcome};
use crate::attributes::Identity;
use crate::config::{Config, SmartIdMeansSettings};
use crate::ids::FlowId;
use crate::limits::{Budget, Client};
use crate::means::smart_id::{AuthTarget, ClientBuildError, Country, PersonalCode, SmartIdClient};
use crate::means::MeansId;
use crate::pki::TrustStore;

/// A refused step: the flow's own errors, or the citizen's input.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// Not a valid personal code for the country (or a country not offered): the form again.
    #[error("not a valid personal code")]
    BadInput { csrf: String },
}

/// Where the browser stands in the Smart-ID part of its flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Show the form (with the flow's CSRF token).
    Form { csrf: String },
    /// Show the waiting page.
    Waiting(WaitView),
    /// The flow is at another means (or not at any): back to its start page.
    Elsewhere,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitView {
    pub csrf: String,
    pub vc: String,
    pub state: RunState,
    /// Text key for the page (`sid_running`, `sid_done`, or a failure's key).
    pub message_key: String,
    pub retry: bool,
    /// A device-link attempt: the page shows the QR code (and the Web2App button on phones).
    pub device_link: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Done,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
        }
    }
}

/// What the browser's final POST leads to.
#[derive(Debug)]
pub enum Finished {
    /// Go here (the continuation, with `result` for redirect flows).
    Redirect(String),
    /// Not finished (still running, or a failure the citizen may retry): the waiting page.
    Wait,
}

/// The Smart-ID means, built once from the configuration; cheap to clone.
#[derive(Clone)]
pub struct SmartIdFlow {
    inner: Arc<Inner>,
}

struct Inner {
    client: SmartIdClient,
    settings: SmartIdMeansSettings,
    trust: Arc<TrustStore>,
    /// Background sessions running at once; when all are taken a new one fails "busy".
    slots: Arc<Semaphore>,
    watcher: watch::Watcher,
}

impl SmartIdFlow {
    pub fn new(config: &Config) -> Result<Self, ClientBuildError> {
        let settings = config.smart_id.clone();
        let client_settings = settings
            .client
            .clone()
            .ok_or(ClientBuildError::BaseUrl("[means.smart_id] is not enabled"))?;
        Ok(SmartIdFlow {
            inner: Arc::new(Inner {
                client: SmartIdClient::new(client_settings)?,
                slots: Arc::new(Semaphore::new(settings.max_sessions.max(1))),
                watcher: watch::Watcher::new(settings.resume_after),
                settings,
                trust: config.trust.clone(),
            }),
        })
    }

    /// The countries the form offers, in configuration order.
    pub fn countries(&self) -> &[Country] {
        &self.inner.settings.countries
    }

    /// `GET /flow/<id>/smart-id`: the form, or the waiting page once a code was accepted.
    pub async fn form(
        &self,
        flows: &FlowService,
        id: &FlowId,
        cookie: Option<&str>,
    ) -> Result<Stage, FlowError> {
        let view = flows.view_for(id, cookie).await?;
        match stage_of(&view.state)? {
            Some(None) => Ok(Stage::Form { csrf: view.csrf }),
            Some(Some(p)) => Ok(Stage::Waiting(wait_view(view.csrf, &p))),
            None => Ok(Stage::Elsewhere),
        }
    }

    /// `POST /flow/<id>/smart-id`: checks the code and prepares the session. The verification
    /// code exists from here on, before anything is sent to SK.
    pub async fn submit(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
        country: &str,
        code: &str,
        client: &Client<'_>,
    ) -> Result<(), SubmitError> {
        let (_, record) = flows.authorized(id, proof).await?;
        let csrf = record.binding.map(|b| b.csrf).unwrap_or_default();
        match stage_of(&record.state)? {
            Some(None) | Some(Some(Progress::Ready { .. })) => {}
            Some(Some(_)) | None => return Err(FlowError::WrongState.into()),
        }
        let country = Country::parse(country)
            .filter(|c| self.inner.settings.countries.contains(c))
            .ok_or(SubmitError::BadInput { csrf: csrf.clone() })?;
        let code = PersonalCode::parse(country, code, self.inner.settings.checks)
            .map_err(|_| SubmitError::BadInput { csrf })?;
        // Each accepted code is one push notification on that person's phone: counted per
        // person and per client address before anything is stored.
        client
            .limits
            .check_all(&[
                (Budget::SmartIdStart, &code.semantics_id()),
                (Budget::SmartIdStartIp, &client.ip),
            ])
            .await
            .map_err(FlowError::from)?;
        let hash = self.inner.client.new_hash().map_err(|e| {
            tracing::error!(error = %e, "no random hash");
            FlowError::Corrupt
        })?;
        let progress = Progress::Ready {
            target: AuthTarget::Etsi(code),
            vc: hash.verification_code(),
            hash,
            link: None,
        };
        flows
            .set_progress(
                id,
                Some(proof),
                MeansId::SmartId,
                // Before any session: a second submit of the form replaces the code.
                |current| match current.is_none_or(is_ready) {
                    true => Ok(progress.to_json()),
                    false => Err(FlowError::WrongState),
                },
            )
            .await?;
        Ok(())
    }

    /// `GET /flow/<id>/smart-id/wait`: the first show of a `ready` flow starts the session in
    /// the background, so the code is on screen before the phone prompts.
    pub async fn show(
        &self,
        flows: &Arc<FlowService>,
        id: &FlowId,
        cookie: Option<&str>,
    ) -> Result<Stage, FlowError> {
        let view = flows.view_for(id, cookie).await?;
        let progress = match stage_of(&view.state)? {
            None => return Ok(Stage::Elsewhere),
            Some(None) => return Ok(Stage::Form { csrf: view.csrf }),
            Some(Some(p)) => p,
        };
        let Progress::Ready {
            target,
            hash,
            vc,
            link,
        } = progress
        else {
            return Ok(Stage::Waiting(wait_view(view.csrf, &progress)));
        };
        let started = Progress::Started {
            target: target.clone(),
            hash: hash.clone(),
            vc: vc.clone(),
            session: None,
            link: link.clone(),
        };
        // Announced first, so an instance that stops right after the move is still found.
        let store = flows.store().as_ref();
        self.inner
            .watcher
            .announce(store, id, view.expires_at)
            .await?;
        // Only the request that moves ready -> started spawns the task.
        let moved = flows
            .set_progress(id, None, MeansId::SmartId, |current| {
                match current.is_some_and(is_ready_with(&vc)) {
                    true => Ok(started.to_json()),
                    false => Err(FlowError::WrongState),
                }
            })
            .await;
        match moved {
            Ok(()) => {
                self.inner.watcher.hold(id, &vc, view.expires_at);
                let job = task::Job {
                    sid: self.clone(),
                    flows: flows.clone(),
                    id: id.clone(),
                    target,
                    hash,
                    vc,
                    resume: None,
                    link,
                };
                tokio::spawn(job.run());
                Ok(Stage::Waiting(wait_view(view.csrf, &started)))
            }
            // Another request started it first: show what it stored (once; a flow that keeps
            // changing under us is a conflict).
            Err(FlowError::WrongState) => {
                let view = flows.view_for(id, cookie).await?;
                match stage_of(&view.state)? {
                    Some(Some(p)) if !matches!(p, Progress::Ready { .. }) => {
                        Ok(Stage::Waiting(wait_view(view.csrf, &p)))
                    }
                    _ => Err(FlowError::WrongState),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /flow/<id>/smart-id/status`: running, done or failed, and a text key. No personal
    /// data, no verification code.
    pub async fn status(
        &self,
        flows: &FlowService,
        id: &FlowId,
        cookie: Option<&str>,
    ) -> Result<(RunState, String), FlowError> {
        let view = flows.view_for(id, cookie).await?;
        if view.state.is_finished() {
            return Ok((RunState::Done, "sid_done".into()));
        }
        match stage_of(&view.state)? {
            Some(Some(p)) => {
                let w = wait_view(String::new(), &p);
                Ok((w.state, w.message_key))
            }
            _ => Err(FlowError::WrongState),
        }
    }

    /// `POST /flow/<id>/smart-id/finish`: delivers the verified result or a final failure.
    pub async fn finish(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
    ) -> Result<Finished, FlowError> {
        let (_, record) = flows.authorized(id, proof).await?;
        if record.state.is_finished() {
            // Delivered by the background task (attr_url flows) or by an earlier request.
            return flows
                .after_unattended(id, proof.cookie)
                .await
                .map(Finished::Redirect);
        }
        let outcome = match stage_of(&record.state)? {
            Some(Some(Progress::Verified { fields, report, .. })) => MeansOutcome::Verified {
                means: MeansId::SmartId,
                identity: Identity { fields },
                report,
            },
            Some(Some(Progress::Failed { retry: false, .. })) => MeansOutcome::Failed {
                means: MeansId::SmartId,
            },
            Some(Some(_)) => return Ok(Finished::Wait),
            Some(None) | None => return Err(FlowError::WrongState),
        };
        flows
            .complete(id, proof, outcome)
            .await
            .map(Finished::Redirect)
    }

    /// `POST /flow/<id>/smart-id/retry`: after a failure that allows it, back to the form
    /// (and to the means choice: the flow is `MeansChosen` again).
    pub async fn retry(
        &self,
        flows: &FlowService,
        id: &FlowId,
        proof: &BrowserProof<'_>,
    ) -> Result<(), FlowError> {
        for _ in 0..3 {
            let (version, mut record) = flows.authorized(id, proof).await?;
            match stage_of(&record.state)? {
                Some(Some(Progress::Failed { retry: true, .. })) => {}
                _ => return Err(FlowError::WrongState),
            }
            record.state = FlowState::MeansChosen {
                means: MeansId::SmartId,
            };
            let data = super::encode(&record);
            if flows.store.update_flow(id, version, &data, None).await? {
                return Ok(());
            }
        }
        Err(FlowError::WrongState)
    }
}
