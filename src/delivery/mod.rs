//! Server-side delivery to `attr_url`: the first POST is made while the browser's redirect
//! waits (`courier`); a worker drains the outbox, POSTing each token (`Content-Type:
//! application/jwt`, the same bytes every time) until a 2xx, retrying with exponential backoff
//! and full jitter until the entry's give-up time.

mod courier;
pub mod webhook;

pub use courier::Courier;

/// Where the time a relying party's webhook was delivered is kept (the session's tracker).
pub fn webhook_delivered_key(id: &str) -> String {
    format!("rp-delivered:{id}")
}

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::store::{now_millis, OutboxEntry};
use courier::short;

/// Entries one pass claims at most; the rest wait for the next pass.
const BATCH: usize = 64;
/// Longest sleep between passes: other instances may have enqueued work (shared store).
const IDLE_POLL: Duration = Duration::from_secs(1);

pub struct DeliveryWorker {
    courier: Arc<Courier>,
}

impl DeliveryWorker {
    pub fn new(courier: Arc<Courier>) -> Self {
        DeliveryWorker { courier }
    }

    /// Runs until `shutdown` resolves, then stops claiming. Posts already under way get
    /// `grace` to finish; the entries still unsettled then are handed back (lease released,
    /// due now) so another instance sends them at once instead of after the lease. If the
    /// process dies instead, they are claimed again when their lease ends.
    pub async fn run(self, shutdown: impl Future<Output = ()>, grace: Duration) {
        // When shutdown was asked: first attempts get the same grace as the worker's posts.
        let asked = std::sync::OnceLock::new();
        let shutdown = async {
            shutdown.await;
            let _ = asked.set(tokio::time::Instant::now());
        };
        tokio::pin!(shutdown);
        loop {
            let (claimed, stopped) = self.pass_until(shutdown.as_mut(), grace).await;
            if stopped {
                break;
            }
            let sleep = if claimed == BATCH {
                Duration::ZERO
            } else {
                self.time_to_next().await
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.courier.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        let since = asked
            .get()
            .copied()
            .unwrap_or_else(tokio::time::Instant::now);
        self.courier.hand_back_first_attempts(since + grace).await;
        tracing::info!("delivery worker stopped");
    }

    async fn time_to_next(&self) -> Duration {
        match self.courier.store.next_delivery_due().await {
            Ok(Some(due)) => Duration::from_millis(due.saturating_sub(now_millis())).min(IDLE_POLL),
            _ => IDLE_POLL,
        }
    }

    /// Claims what is due and tries each entry once, concurrently. Returns how many it claimed.
    pub async fn pass(&self) -> usize {
        let never = std::pin::pin!(std::future::pending::<()>());
        self.pass_until(never, Duration::ZERO).await.0
    }

    /// One pass that watches `stop`: once it resolves, posts get `grace` more, then the rest
    /// are handed back. Returns how many entries it claimed and whether `stop` resolved.
    async fn pass_until<F: Future<Output = ()>>(
        &self,
        mut stop: Pin<&mut F>,
        grace: Duration,
    ) -> (usize, bool) {
        let now = now_millis();
        let claim = self
            .courier
            .store
            .claim_deliveries(now, self.courier.lease(), BATCH);
        let entries = match claim.await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "outbox unavailable");
                return (0, false);
            }
        };
        let claimed = entries.len();
        // Keyed by id until settled, to hand back what is still open at shutdown.
        let mut open = HashMap::new();
        let mut tasks = JoinSet::new();
        for entry in entries {
            // A store may hand out an entry whose token has expired (the memory store drops
            // them only when it sweeps): sending it would only be refused.
            if entry.give_up_at <= now {
                self.courier.log_give_up(&entry);
                self.forget(&entry.id).await;
                continue;
            }
            open.insert(entry.id.clone(), entry.clone());
            let courier = self.courier.clone();
            tasks.spawn(async move {
                let result = courier.post(&entry).await;
                (entry, result)
            });
        }
        let mut stopped = false;
        // Armed when `stop` resolves.
        let deadline = tokio::time::sleep(Duration::from_secs(365 * 86_400));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                joined = tasks.join_next() => match joined {
                    None => break,
                    Some(Ok((entry, result))) => {
                        open.remove(&entry.id);
                        self.courier.settle(entry, result).await;
                    }
                    // A post panicked: its entry stays leased and is retried after the lease.
                    Some(Err(_)) => {}
                },
                _ = stop.as_mut(), if !stopped => {
                    stopped = true;
                    deadline.as_mut().reset(tokio::time::Instant::now() + grace);
                }
                _ = &mut deadline, if stopped => {
                    tasks.abort_all();
                    break;
                }
            }
        }
        if stopped {
            self.hand_back(open.into_values()).await;
        }
        (claimed, stopped)
    }

    /// Releases the lease of entries this worker will not finish. An aborted post may still
    /// have reached the receiver; resending the same bytes is the at-least-once contract, and
    /// receivers drop duplicates by `jti`.
    async fn hand_back(&self, entries: impl Iterator<Item = OutboxEntry>) {
        for entry in entries {
            self.courier.hand_back(entry).await;
        }
    }

    async fn forget(&self, id: &str) {
        if let Err(e) = self.courier.store.remove_delivery(id).await {
            tracing::warn!(delivery = %short(id), error = %e, "outbox update failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::courier::{backoff_ms, give_up_limit};
    use super::*;
    use crate::config::DeliverySettings;
    use crate::store::{FlowStore, Millis};

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = DeliverySettings {
            timeout: Duration::from_secs(1),
            retry_for: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            first_attempt_wait: Duration::ZERO,
        };
        for attempts in 1..40 {
            let b = backoff_ms(&s, attempts);
            let ceiling = (100u64 << (attempts - 1).min(20)).min(2000);
            assert!((50..=ceiling.max(50)).contains(&b), "{attempts}: {b}");
        }
    }

    #[test]
    fn the_give_up_message_names_the_limit_that_ran_out() {
        let window = give_up_limit(Duration::from_secs(290));
        assert_eq!(
            window,
            "the retry window (delivery.retry_for_seconds = 290)"
        );
        let lifetime = give_up_limit(Duration::from_secs(300));
        assert_eq!(lifetime, "the token lifetime (300 s)");
    }

    use crate::ids::FlowId;
    use crate::store::memory::MemoryStore;

    fn settings(timeout: Duration) -> DeliverySettings {
        DeliverySettings {
            timeout,
            retry_for: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            first_attempt_wait: Duration::ZERO,
        }
    }

    /// A memory store holding one outbox entry for `url`.
    async fn outbox_with(url: &str, give_up_at: Millis) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::new(10));
        let id = FlowId::new();
        let now = now_millis();
        store.create_flow(&id, "{}", now + 60_000).await.unwrap();
        let entry = OutboxEntry {
            id: id.to_string(),
            url: url.into(),
            body: "eyJ.token".into(),
            attempts: 0,
            due_at: now.saturating_sub(10),
            give_up_at,
            webhook: None,
        };
        assert!(store.update_flow(&id, 1, "{}", Some(&entry)).await.unwrap());
        store
    }

    #[tokio::test]
    async fn an_entry_past_its_give_up_time_is_dropped_unsent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/r", listener.local_addr().unwrap());
        // The store drops it when asked for work (the worker would drop it too).
        let store = outbox_with(&url, now_millis().saturating_sub(1)).await;
        let courier = Courier::new(store.clone(), settings(Duration::from_secs(1))).unwrap();
        let worker = DeliveryWorker::new(courier);
        assert_eq!(worker.pass().await, 0);
        assert!(listener.accept().is_err(), "nothing was sent");
        assert_eq!(
            store.next_delivery_due().await.unwrap(),
            None,
            "and it is gone"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_shutdown_a_hanging_post_is_handed_back_after_the_grace() {
        // Accepts and never answers: the POST hangs for its 30 s timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/r", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        let store = outbox_with(&url, now_millis() + 60_000).await;
        let courier = Courier::new(store.clone(), settings(Duration::from_secs(30))).unwrap();
        let worker = DeliveryWorker::new(courier);
        let began = std::time::Instant::now();
        let shutdown = tokio::time::sleep(Duration::from_millis(300));
        worker.run(shutdown, Duration::from_millis(200)).await;
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "{:?}",
            began.elapsed()
        );
        // Leased for 35 s when claimed; handed back, it is claimable at once, unchanged.
        let again = store
            .claim_deliveries(now_millis(), Duration::from_secs(1), 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(
            (again[0].attempts, again[0].body.as_str()),
            (0, "eyJ.token")
        );
        hold.abort();
    }
}
