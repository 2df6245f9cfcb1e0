//! Server-side delivery to `attr_url`: a worker drains the outbox, POSTing each token
//! (`Content-Type: application/jwt`, the same bytes every time) until a 2xx, retrying with
//! exponential backoff and full jitter until the entry's give-up time.

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

    /// Runs until `shutdown` resolves. Entries in flight then are finished or, if the process
    /// dies, picked up again when their lease ends.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let delivered = self.pass().await;
            let sleep = if delivered == BATCH {
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
    }

    async fn time_to_next(&self) -> Duration {
        match self.store.next_delivery_due().await {
            Ok(Some(due)) => Duration::from_millis(due.saturating_sub(now_millis())).min(IDLE_POLL),
            _ => IDLE_POLL,
        }
    }

    /// Claims what is due and tries each entry once, concurrently. Returns how many it claimed.
    pub async fn pass(&self) -> usize {
        let lease = self.settings.timeout + Duration::from_secs(5);
        let entries = match self
            .store
            .claim_deliveries(now_millis(), lease, BATCH)
            .await
        {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "outbox unavailable");
                return 0;
            }
        };
        let claimed = entries.len();
        let mut tasks = JoinSet::new();
        for entry in entries {
            let client = self.client.clone();
            tasks.spawn(async move {
                let result = post(&client, &entry).await;
                (entry, result)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok((entry, result)) = joined {
                self.settle(entry, result).await;
            }
        }
        claimed
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
}
