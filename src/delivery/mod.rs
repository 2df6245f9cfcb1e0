//! Server-side delivery to `attr_url`: a worker drains the outbox, POSTing each token
//! (`Content-Type: application/jwt`, the same bytes every time) until a 2xx, retrying with
//! exponential backoff and full jitter until the entry's give-up time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::config::DeliverySettings;
use crate::store::{now_millis, FlowStore, Millis, OutboxEntry};

/// Entries one pass claims at most; the rest wait for the next pass.
const BATCH: usize = 64;
/// Longest sleep between passes: other instances may have enqueued work (shared store).
const IDLE_POLL: Duration = Duration::from_secs(1);

pub struct DeliveryWorker {
    store: Arc<dyn FlowStore>,
    client: reqwest::Client,
    settings: DeliverySettings,
    wake: Arc<Notify>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Delivered,
    Retry,
}

impl DeliveryWorker {
    pub fn new(
        store: Arc<dyn FlowStore>,
        settings: DeliverySettings,
        wake: Arc<Notify>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            // attr_url is allow-listed; a redirect could lead anywhere, so none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .build()?;
        Ok(DeliveryWorker {
            store,
            client,
            settings,
            wake,
        })
    }

    /// Runs until `shutdown` resolves, then stops claiming. Posts already under way get
    /// `grace` to finish; the entries still unsettled then are handed back (lease released,
    /// due now) so another instance sends them at once instead of after the lease. If the
    /// process dies instead, they are claimed again when their lease ends.
    pub async fn run(self, shutdown: impl Future<Output = ()>, grace: Duration) {
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
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        tracing::info!("delivery worker stopped");
    }

    async fn time_to_next(&self) -> Duration {
        match self.store.next_delivery_due().await {
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
        let lease = self.settings.timeout + Duration::from_secs(5);
        let now = now_millis();
        let entries = match self.store.claim_deliveries(now, lease, BATCH).await {
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
                tracing::warn!(delivery = %short(&entry.id), attempts = entry.attempts, "result not delivered before the token expired; giving up");
                self.forget(&entry.id).await;
                continue;
            }
            open.insert(entry.id.clone(), entry.clone());
            let client = self.client.clone();
            tasks.spawn(async move {
                let result = post(&client, &entry).await;
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
                        self.settle(entry, result).await;
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

    /// Releases the lease of entries this worker will not finish: due now, attempts unchanged.
    /// An aborted post may still have reached the receiver; resending the same bytes is the
    /// at-least-once contract, and receivers drop duplicates by `jti`.
    async fn hand_back(&self, entries: impl Iterator<Item = OutboxEntry>) {
        let now = now_millis();
        for mut entry in entries {
            entry.due_at = now;
            match self.store.reschedule_delivery(&entry).await {
                Ok(()) => {
                    tracing::info!(delivery = %short(&entry.id), "delivery handed back at shutdown")
                }
                Err(e) => {
                    tracing::warn!(delivery = %short(&entry.id), error = %e, "could not hand back a delivery; it is retried after its lease")
                }
            }
        }
    }

    async fn forget(&self, id: &str) {
        if let Err(e) = self.store.remove_delivery(id).await {
            tracing::warn!(delivery = %short(id), error = %e, "outbox update failed");
        }
    }

    async fn settle(&self, mut entry: OutboxEntry, result: Attempt) {
        let now = now_millis();
        let outcome = if result == Attempt::Delivered {
            tracing::info!(delivery = %short(&entry.id), attempts = entry.attempts + 1, "result delivered");
            self.store.remove_delivery(&entry.id).await
        } else {
            entry.attempts += 1;
            entry.due_at = now + backoff_ms(&self.settings, entry.attempts);
            if entry.due_at >= entry.give_up_at {
                tracing::warn!(delivery = %short(&entry.id), attempts = entry.attempts, "result not delivered before the token expired; giving up");
                self.store.remove_delivery(&entry.id).await
            } else {
                self.store.reschedule_delivery(&entry).await
            }
        };
        if let Err(e) = outcome {
            // The lease runs out and another pass retries: at-least-once, never lost.
            tracing::warn!(delivery = %short(&entry.id), error = %e, "outbox update failed");
        }
    }
}

async fn post(client: &reqwest::Client, entry: &OutboxEntry) -> Attempt {
    let response = client
        .post(&entry.url)
        .header(reqwest::header::CONTENT_TYPE, "application/jwt")
        .body(entry.body.clone())
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => Attempt::Delivered,
        Ok(r) => {
            tracing::info!(delivery = %short(&entry.id), status = r.status().as_u16(), "attr_url refused the result; will retry");
            Attempt::Retry
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connect"
            } else {
                "other"
            };
            tracing::info!(delivery = %short(&entry.id), kind, "attr_url unreachable; will retry");
            Attempt::Retry
        }
    }
}

/// Full jitter: a random delay in [0, min(max, initial * 2^(attempts-1))], at least 50 ms.
fn backoff_ms(settings: &DeliverySettings, attempts: u32) -> Millis {
    let initial = settings.initial_backoff.as_millis() as u64;
    let cap = settings.max_backoff.as_millis() as u64;
    let ceiling = initial
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
        .min(cap);
    let mut r = [0u8; 8];
    let random = openssl::rand::rand_bytes(&mut r)
        .map(|_| u64::from_le_bytes(r))
        .unwrap_or(ceiling);
    (random % (ceiling + 1)).max(50)
}

/// Flow ids are capabilities; logs carry a prefix.
fn short(id: &str) -> &str {
    id.get(..4).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = DeliverySettings {
            timeout: Duration::from_secs(1),
            retry_for: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        };
        for attempts in 1..40 {
            let b = backoff_ms(&s, attempts);
            let ceiling = (100u64 << (attempts - 1).min(20)).min(2000);
            assert!((50..=ceiling.max(50)).contains(&b), "{attempts}: {b}");
        }
    }

    use crate::ids::FlowId;
    use crate::store::memory::MemoryStore;

    fn settings(timeout: Duration) -> DeliverySettings {
        DeliverySettings {
            timeout,
            retry_for: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
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
        };
        assert!(store.update_flow(&id, 1, "{}", Some(&entry)).await.unwrap());
        store
    }

    #[tokio::test]
    async fn an_entry_past_its_give_up_time_is_dropped_unsent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/r", listener.local_addr().unwrap());
        // The memory store still hands it out: it sweeps at most once a second.
        let store = outbox_with(&url, now_millis().saturating_sub(1)).await;
        let worker = DeliveryWorker::new(
            store.clone(),
            settings(Duration::from_secs(1)),
            Arc::default(),
        )
        .unwrap();
        assert_eq!(worker.pass().await, 1);
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
        let worker = DeliveryWorker::new(
            store.clone(),
            settings(Duration::from_secs(30)),
            Arc::default(),
        )
        .unwrap();
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
