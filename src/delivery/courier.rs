//! One POST of a result to its `attr_url` and what follows from its answer, shared by the
//! first attempt (made while the browser's redirect waits) and the outbox worker's retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::config::{DeliverySettings, WebhookSecret};
use crate::contract::TOKEN_LIFETIME_SECS;
use crate::store::{now_millis, FlowStore, Millis, OutboxEntry};
use crate::urls::loggable_origin;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    Delivered,
    Retry,
}

/// Sends results. The outbox entry is always written first (in the compare-and-set that
/// finishes the flow), so a crash at any point leaves it for a retry: never lost.
pub struct Courier {
    pub(super) store: Arc<dyn FlowStore>,
    client: reqwest::Client,
    pub(super) settings: DeliverySettings,
    /// Wakes the worker when there is new work.
    pub(super) wake: Notify,
    /// First attempts under way in this process, by entry id.
    first: Mutex<HashMap<String, InFlight>>,
    /// Webhook secrets by relying-party id.
    webhooks: HashMap<String, WebhookSecret>,
    /// How long a webhook's delivery time is kept for its session's tracker.
    keep_delivered: Duration,
}

/// A first attempt under way: what it sends, a way to wait for it and a way to stop it.
struct InFlight {
    entry: OutboxEntry,
    /// True once the attempt has settled the entry.
    done: watch::Receiver<bool>,
    abort: AbortHandle,
}

impl Courier {
    pub fn new(
        store: Arc<dyn FlowStore>,
        settings: DeliverySettings,
    ) -> Result<Arc<Self>, reqwest::Error> {
        Self::with_webhooks(store, settings, HashMap::new(), Duration::ZERO)
    }

    /// A courier that also signs relying parties' webhooks with `webhooks` (id -> secret).
    pub fn with_webhooks(
        store: Arc<dyn FlowStore>,
        settings: DeliverySettings,
        webhooks: HashMap<String, WebhookSecret>,
        keep_delivered: Duration,
    ) -> Result<Arc<Self>, reqwest::Error> {
        let client = reqwest::Client::builder()
            // attr_url is allow-listed; a redirect could lead anywhere, so none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .build()?;
        Ok(Arc::new(Courier {
            store,
            client,
            settings,
            wake: Notify::new(),
            first: Mutex::default(),
            webhooks,
            keep_delivered,
        }))
    }

    /// How long a claimed entry is reserved for the one attempt that claimed it.
    pub fn lease(&self) -> Duration {
        self.settings.timeout + Duration::from_secs(5)
    }

    /// Whether results are tried at once, before the browser is redirected.
    fn tries_first(&self) -> bool {
        !self.settings.first_attempt_wait.is_zero()
    }

    /// The outbox entry for result `body` of entry `id` (the flow id), made at `now`. The
    /// worker may first claim it after the lease of the first attempt (if this instance dies
    /// meanwhile, another sends it then), or at once when there is no first attempt; it is
    /// given up after the retry window.
    pub fn entry(&self, id: String, url: String, body: String, now: Millis) -> OutboxEntry {
        let due_at = if self.tries_first() {
            now + self.lease().as_millis() as u64
        } else {
            now
        };
        OutboxEntry {
            id,
            url,
            body,
            attempts: 0,
            due_at,
            give_up_at: now + self.settings.retry_for.as_millis() as u64,
            webhook: None,
        }
    }

    /// The outbox entry for a relying party's webhook event `body`, as [`Courier::entry`].
    pub fn webhook_entry(
        &self,
        id: String,
        relying_party: &str,
        url: String,
        body: String,
        now: Millis,
    ) -> OutboxEntry {
        OutboxEntry {
            webhook: Some(relying_party.to_string()),
            ..self.entry(id, url, body, now)
        }
    }

    /// A webhook event that waits until `due_at` (a session's expiry): first tried then by
    /// whichever instance's worker claims it, retried for the usual window after that.
    pub fn scheduled_webhook_entry(
        &self,
        id: String,
        relying_party: &str,
        url: String,
        body: String,
        due_at: Millis,
    ) -> OutboxEntry {
        OutboxEntry {
            due_at,
            ..self.webhook_entry(id, relying_party, url, body, due_at)
        }
    }

    /// The entry was just written to the outbox: tries it now, waiting at most
    /// `first_attempt_wait`. An attempt still running then goes on in the background and
    /// settles the entry itself; a failure leaves it to the worker's retries.
    pub async fn deliver_now(self: &Arc<Self>, entry: OutboxEntry) {
        if !self.tries_first() {
            self.wake.notify_one();
            return;
        }
        let (done, watcher) = watch::channel(false);
        let id = entry.id.clone();
        let attempt = {
            // Registered before the task can leave the map: it takes the same lock to leave.
            let mut in_flight = self.in_flight();
            let me = self.clone();
            let sent = entry.clone();
            let attempt = tokio::spawn(async move {
                let result = me.post(&sent).await;
                let id = sent.id.clone();
                me.settle(sent, result).await;
                me.in_flight().remove(&id);
                let _ = done.send(true);
            });
            let abort = attempt.abort_handle();
            let watched = InFlight {
                entry,
                done: watcher,
                abort,
            };
            in_flight.insert(id, watched);
            attempt
        };
        // On timeout the task is detached, not cancelled.
        let _ = tokio::time::timeout(self.settings.first_attempt_wait, attempt).await;
    }

    /// Waits (at most `first_attempt_wait`) for a first attempt of entry `id` under way in
    /// this process: a browser arriving for a flow finished in the background then lands
    /// after its result, as with a redirect.
    pub async fn first_attempt_settled(&self, id: &str) {
        let watched = self.in_flight().get(id).map(|f| f.done.clone());
        let Some(mut done) = watched else {
            return;
        };
        let wait = done.wait_for(|done| *done);
        let _ = tokio::time::timeout(self.settings.first_attempt_wait, wait).await;
    }

    /// At shutdown: first attempts get until `deadline` to finish; those still running are
    /// stopped and their entries handed back (due now, attempts unchanged), so another instance
    /// sends them at once instead of after the lease. Resending bytes a receiver may already
    /// have is the at-least-once contract (receivers drop duplicates by `jti`).
    pub(super) async fn hand_back_first_attempts(&self, deadline: Instant) {
        let waiting: Vec<_> = self.in_flight().values().map(|f| f.done.clone()).collect();
        for mut done in waiting {
            let _ = tokio::time::timeout_at(deadline, done.wait_for(|done| *done)).await;
        }
        let left: Vec<InFlight> = self.in_flight().drain().map(|(_, f)| f).collect();
        for f in left {
            f.abort.abort();
            self.hand_back(f.entry).await;
        }
    }

    /// Releases an entry this process will not finish: due now, attempts unchanged.
    pub(super) async fn hand_back(&self, mut entry: OutboxEntry) {
        entry.due_at = now_millis();
        match self.store.reschedule_delivery(&entry).await {
            Ok(()) => {
                tracing::info!(delivery = %short(&entry.id), "delivery handed back at shutdown")
            }
            Err(e) => {
                tracing::warn!(delivery = %short(&entry.id), error = %e, "could not hand back a delivery; it is retried after its lease")
            }
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, InFlight>> {
        self.first.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) async fn post(&self, entry: &OutboxEntry) -> Attempt {
        let signed = match &entry.webhook {
            None => None,
            Some(rp) => match self.webhooks.get(rp) {
                Some(secret) => Some(secret),
                None => {
                    // The relying party left the configuration: nobody could verify it.
                    tracing::warn!(delivery = %short(&entry.id), "webhook of an unknown relying party; will retry");
                    return Attempt::Retry;
                }
            },
        };
        post(&self.client, entry, signed).await
    }

    /// Removes a delivered entry, or schedules the next attempt, or gives up when the next
    /// attempt would come after the entry's give-up time.
    pub(super) async fn settle(&self, mut entry: OutboxEntry, result: Attempt) {
        let now = now_millis();
        let outcome = if result == Attempt::Delivered {
            tracing::info!(delivery = %short(&entry.id), attempts = entry.attempts + 1, "result delivered");
            if entry.webhook.is_some() {
                let key = super::webhook_delivered_key(&entry.id);
                let until = now + self.keep_delivered.as_millis() as u64;
                let stored = self.store.put_value(&key, &now.to_string(), until).await;
                if let Err(e) = stored {
                    tracing::warn!(delivery = %short(&entry.id), error = %e, "webhook delivery time not kept");
                }
            }
            self.store.remove_delivery(&entry.id).await
        } else {
            entry.attempts += 1;
            entry.due_at = now + backoff_ms(&self.settings, entry.attempts);
            if entry.due_at >= entry.give_up_at {
                self.log_give_up(&entry);
                self.store.remove_delivery(&entry.id).await
            } else {
                let r = self.store.reschedule_delivery(&entry).await;
                self.wake.notify_one();
                r
            }
        };
        if let Err(e) = outcome {
            // The lease runs out and another pass retries: at-least-once, never lost.
            tracing::warn!(delivery = %short(&entry.id), error = %e, "outbox update failed");
        }
    }

    /// Says which limit ran out: the configured retry window, or the token's lifetime when
    /// the window is as long (a later POST would carry an expired token).
    pub(super) fn log_give_up(&self, entry: &OutboxEntry) {
        let limit = give_up_limit(self.settings.retry_for);
        tracing::warn!(
            delivery = %short(&entry.id),
            attempts = entry.attempts,
            origin = %loggable_origin(&entry.url),
            "result not delivered: gave up after {} attempt(s), {limit} ran out",
            entry.attempts
        );
    }
}

/// Which limit ends the retries of a window of `retry_for`, in words.
pub(super) fn give_up_limit(retry_for: Duration) -> String {
    let window = retry_for.as_secs();
    if window >= TOKEN_LIFETIME_SECS {
        format!("the token lifetime ({TOKEN_LIFETIME_SECS} s)")
    } else {
        format!("the retry window (delivery.retry_for_seconds = {window})")
    }
}

/// One POST: a result token, or a webhook event signed with `webhook` at this attempt's time.
async fn post(
    client: &reqwest::Client,
    entry: &OutboxEntry,
    webhook: Option<&WebhookSecret>,
) -> Attempt {
    let request = client.post(&entry.url).body(entry.body.clone());
    let request = match webhook {
        None => request.header(reqwest::header::CONTENT_TYPE, "application/jwt"),
        Some(secret) => {
            let t = now_millis() / 1000;
            let signature = super::webhook::header_value(secret.bytes(), t, &entry.body);
            request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(super::webhook::SIGNATURE_HEADER, signature)
                .header("Auth-Eid-Event-Id", entry.id.as_str())
        }
    };
    let response = request.send().await;
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
pub(super) fn backoff_ms(settings: &DeliverySettings, attempts: u32) -> Millis {
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
pub(super) fn short(id: &str) -> &str {
    id.get(..4).unwrap_or(id)
}
