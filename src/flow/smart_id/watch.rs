//! Smart-ID sessions outlive their instance. A session waiting at SK is *watched* in the store:
//! leased to the instance that polls it, renewed by that instance every third of the lease for
//! all its sessions at once. When an instance stops (a crash, SIGKILL, or a shutdown that hands
//! its leases back), its leases run out and any instance claims them and resumes each session
//! from the session id kept in the flow; the citizen's result then arrives as if nothing had
//! happened. Correctness never rests on the lease: every step is a compare-and-set on the flow,
//! so two instances polling one session for a moment still finish it once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::task::Job;
use super::{Progress, SmartIdFlow};
use crate::flow::{FlowError, FlowService, FlowState};
use crate::ids::FlowId;
use crate::means::MeansId;
use crate::store::{now_millis, FlowStore, Millis, StoreError, Watched};

/// Sessions taken over per round: a stopped instance's sessions move over a few rounds
/// rather than in one burst of SK requests.
const CLAIM_LIMIT: usize = 500;

/// This instance's waiting sessions.
pub(super) struct Watcher {
    lease: Duration,
    /// flow id -> (the attempt's verification code, the flow's expiry)
    local: Mutex<HashMap<FlowId, (String, Millis)>>,
}

impl Watcher {
    pub fn new(lease: Duration) -> Self {
        Watcher {
            lease,
            local: Mutex::default(),
        }
    }

    fn local(&self) -> MutexGuard<'_, HashMap<FlowId, (String, Millis)>> {
        // One map operation per lock: a panic cannot leave it half-changed.
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lease_from(&self, now: Millis) -> Millis {
        now.saturating_add(self.lease.as_millis() as u64)
    }

    /// Before a session is started: from here on a stopped instance's attempt is found by the
    /// others, even if it stops before SK answered.
    pub async fn announce(
        &self,
        store: &dyn FlowStore,
        id: &FlowId,
        give_up_at: Millis,
    ) -> Result<(), StoreError> {
        let watched = Watched {
            id: id.clone(),
            give_up_at,
        };
        store.watch(&[watched], self.lease_from(now_millis())).await
    }

    /// This instance polls the attempt from now on: its lease is renewed with the others.
    pub fn hold(&self, id: &FlowId, vc: &str, give_up_at: Millis) {
        self.local()
            .insert(id.clone(), (vc.to_string(), give_up_at));
    }

    /// The attempt ended here (recorded, or the flow moved on). Another attempt of the same
    /// flow on this instance keeps its entry (and its next renewal writes it back).
    pub async fn release(&self, store: &dyn FlowStore, id: &FlowId, vc: &str) {
        {
            let mut local = self.local();
            if local.get(id).is_some_and(|(v, _)| v == vc) {
                local.remove(id);
            }
        }
        if let Err(e) = store.unwatch(id).await {
            // Harmless: the entry is claimed later, found finished, and dropped then.
            tracing::debug!(flow = ?id, error = %e, "smart-id: could not unwatch");
        }
    }

    fn held(&self) -> Vec<Watched> {
        self.local()
            .iter()
            .map(|(id, (_, give_up_at))| Watched {
                id: id.clone(),
                give_up_at: *give_up_at,
            })
            .collect()
    }

    /// Renews this instance's leases, then claims leases that ran out elsewhere (sessions
    /// this instance polls itself are not taken twice).
    async fn round(&self, store: &dyn FlowStore) -> Result<Vec<FlowId>, StoreError> {
        let now = now_millis();
        let held = self.held();
        if !held.is_empty() {
            store.watch(&held, self.lease_from(now)).await?;
        }
        let claimed = store
            .claim_watches(now, self.lease_from(now), CLAIM_LIMIT)
            .await?;
        let local = self.local();
        Ok(claimed
            .into_iter()
            .filter(|id| !local.contains_key(id))
            .collect())
    }

    /// At shutdown: every lease ends now, so other instances take the sessions over at their
    /// next round instead of a lease later.
    async fn hand_back(&self, store: &dyn FlowStore) {
        let held = self.held();
        if held.is_empty() {
            return;
        }
        match store.watch(&held, now_millis()).await {
            Ok(()) => tracing::info!(
                sessions = held.len(),
                "smart-id: waiting sessions handed to the other instances"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "smart-id: could not hand back the waiting sessions; others resume them after the lease")
            }
        }
    }
}

impl SmartIdFlow {
    /// Renews this instance's leases and resumes sessions whose instance stopped, every third
    /// of the lease, until `shutdown`; then hands the leases back.
    pub async fn watch_sessions(self, flows: Arc<FlowService>, shutdown: impl Future<Output = ()>) {
        let watcher = &self.inner.watcher;
        let every = watcher.lease / 3;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = &mut shutdown => break,
            }
            match watcher.round(flows.store().as_ref()).await {
                Ok(claimed) => {
                    for id in claimed {
                        self.resume(&flows, id).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "smart-id: could not renew or claim sessions")
                }
            }
        }
        watcher.hand_back(flows.store().as_ref()).await;
    }

    /// Takes over a claimed session: polls it on from its stored session id, or ends an
    /// attempt that never reached SK with a failure the citizen can retry.
    async fn resume(&self, flows: &Arc<FlowService>, id: FlowId) {
        let watcher = &self.inner.watcher;
        let store = flows.store().as_ref();
        let record = match flows.load(&id).await {
            Ok((_, record)) => record,
            // The lease runs out again and a later round retries.
            Err(FlowError::Store(e)) => {
                tracing::warn!(flow = ?id, error = %e, "smart-id: a session to resume could not be read");
                return;
            }
            Err(_) => return watcher.release(store, &id, "").await,
        };
        let progress = match &record.state {
            FlowState::Authenticating {
                means: MeansId::SmartId,
                progress,
            } => Progress::parse(Some(progress)),
            _ => None,
        };
        let Some(Progress::Started {
            target,
            hash,
            vc,
            session,
            link,
        }) = progress
        else {
            // Finished, retried, or never started: nothing waits at SK for this flow.
            return watcher.release(store, &id, "").await;
        };
        let interrupted = session.is_none();
        let job = Job {
            sid: self.clone(),
            flows: flows.clone(),
            id: id.clone(),
            target,
            hash,
            vc: vc.clone(),
            resume: session,
            link,
        };
        if interrupted {
            // Its instance stopped before SK accepted the session (or while SK was answering).
            // Starting another would prompt the phone a second time for a page that may show
            // nothing: the citizen chooses to try again instead.
            tracing::info!(flow = ?id, "smart-id: an attempt interrupted before SK answered ends; the citizen may retry");
            return job.interrupted().await;
        }
        let Ok(permit) = self.inner.slots.clone().try_acquire_owned() else {
            // Not held here: the lease runs out and a less busy instance (or a later round)
            // takes it.
            tracing::warn!(flow = ?id, "smart-id: no free session slot to resume a session");
            return;
        };
        tracing::info!(flow = ?id, "smart-id: resuming a session whose instance stopped");
        watcher.hold(&id, &vc, record.expires_at);
        tokio::spawn(job.run_with(permit));
    }
}
