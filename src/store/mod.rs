//! Where flows, single-use and readable values, authenticated sessions and the delivery outbox
//! live.
//!
//! The store keeps flow records as opaque JSON text with a version number; every change is a
//! compare-and-set on that version, so two instances (or two tabs) cannot both complete a flow.
//! All times are Unix milliseconds chosen by the caller; every entry expires by itself.
//! `memory` is the single-instance default; a Redis implementation shares state between
//! instances. Watches (leased ids of Smart-ID sessions waiting at SK) let another instance take
//! over a session whose instance stopped.

pub mod memory;
pub mod redis;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{StoreKind, StoreSettings};
use crate::ids::{FlowId, SessionId};

/// Opens the configured store. A Redis store is connected and pinged first: with Redis down
/// this fails with `Unavailable` after `settings.timeout` instead of hanging. (A server that
/// prefers to start unready can use `redis::RedisStore::new_lazy` instead.)
pub async fn open(
    settings: &StoreSettings,
    max_flows: usize,
) -> Result<Arc<dyn FlowStore>, StoreError> {
    Ok(match settings.kind {
        StoreKind::Memory => Arc::new(memory::MemoryStore::new(max_flows)),
        StoreKind::Redis => Arc::new(self::redis::RedisStore::connect(settings, max_flows).await?),
    })
}

/// Unix time in milliseconds.
pub type Millis = u64;

pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The cap on live flows is reached: the caller should retry later (503).
    #[error("too many flows in progress")]
    Full,
    /// The backing service cannot be reached or answered an error (503).
    #[error("the flow store is unavailable: {0}")]
    Unavailable(String),
}

/// A stored record with the version its next compare-and-set must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub version: u64,
    pub data: String,
}

/// A result waiting to be POSTed to an `attr_url`. The body is sent byte for byte on every
/// attempt, so receivers can drop duplicates by `jti`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Unique per result (the flow id).
    pub id: String,
    pub url: String,
    pub body: String,
    pub attempts: u32,
    /// Not before this time.
    pub due_at: Millis,
    /// After this time the token has expired: the entry is dropped.
    pub give_up_at: Millis,
    /// For a relying party's webhook: its id (the body is a JSON event, signed per attempt
    /// with its secret). Absent for a result token to an `attr_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

/// The token is a bearer of personal data: never print it.
impl std::fmt::Debug for OutboxEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxEntry")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .field("due_at", &self.due_at)
            .finish_non_exhaustive()
    }
}

/// A watched id and when its entry goes by itself (the flow's expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub id: FlowId,
    pub give_up_at: Millis,
}

#[async_trait]
pub trait FlowStore: Send + Sync + 'static {
    /// Stores a new flow at version 1. `Full` when the cap on live flows is reached.
    async fn create_flow(
        &self,
        id: &FlowId,
        data: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError>;

    /// The flow, if it exists and has not expired.
    async fn load_flow(&self, id: &FlowId) -> Result<Option<Versioned>, StoreError>;

    /// Replaces the flow if its version is still `expected` (the new version is `expected + 1`)
    /// and, in the same atomic step, enqueues `deliver`. The flow keeps its expiry.
    /// `Ok(false)`: someone else changed or removed it first; nothing was written.
    async fn update_flow(
        &self,
        id: &FlowId,
        expected: u64,
        data: &str,
        deliver: Option<&OutboxEntry>,
    ) -> Result<bool, StoreError>;

    /// Stores a value that can be taken once (a nonce, say).
    async fn put_single_use(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError>;

    /// Takes and removes the value atomically; `None` if absent, expired or already taken.
    async fn take_single_use(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores a readable value (an idempotency key, a session's subject) until `expires_at`,
    /// unless a live value is there already: then nothing is written and that value is given.
    async fn put_value_if_absent(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<Option<String>, StoreError>;

    /// Stores or replaces a readable value until `expires_at`.
    async fn put_value(&self, key: &str, value: &str, expires_at: Millis)
        -> Result<(), StoreError>;

    /// The value, if it is there and has not expired. Reading does not remove it.
    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Removes a readable value (a claim whose work failed, so a retry may claim it again).
    async fn remove_value(&self, key: &str) -> Result<(), StoreError>;

    /// Starts an authenticated session that stays alive until `idle_until`, never past
    /// `absolute_until`.
    async fn create_session(
        &self,
        id: &SessionId,
        idle_until: Millis,
        absolute_until: Millis,
    ) -> Result<(), StoreError>;

    /// Extends a live session's idle deadline to `now + idle` (capped at its absolute end).
    /// `Ok(false)` if there is no live session.
    async fn touch_session(
        &self,
        id: &SessionId,
        now: Millis,
        idle: Duration,
    ) -> Result<bool, StoreError>;

    /// Ends a session. `Ok(false)` if there was none.
    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError>;

    /// Claims up to `limit` entries that are due and not leased by a live worker; each is
    /// leased until `now + lease`. An entry whose lease ran out can be claimed again.
    async fn claim_deliveries(
        &self,
        now: Millis,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Puts a claimed entry back with its new `attempts` and `due_at`, lease released.
    async fn reschedule_delivery(&self, entry: &OutboxEntry) -> Result<(), StoreError>;

    /// Removes an entry for good (delivered, or given up).
    async fn remove_delivery(&self, id: &str) -> Result<(), StoreError>;

    /// The earliest `due_at` in the outbox, so a worker can sleep until then.
    async fn next_delivery_due(&self) -> Result<Option<Millis>, StoreError>;

    /// Records that the calling instance watches each id (a Smart-ID session waiting at SK),
    /// leased to it until `lease_until`: added if absent, lease and give-up time replaced if
    /// present. An entry goes by itself at its give-up time. A lease set to now hands the ids
    /// to whichever instance claims next.
    async fn watch(&self, watched: &[Watched], lease_until: Millis) -> Result<(), StoreError>;

    /// Claims up to `limit` watched ids whose lease has run out (their instance stopped, or
    /// handed them back), leasing each to the caller until `lease_until`. Entries past their
    /// give-up time are dropped, not returned.
    async fn claim_watches(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<FlowId>, StoreError>;

    /// Stops watching `id` (its session ended).
    async fn unwatch(&self, id: &FlowId) -> Result<(), StoreError>;

    /// Answers when the store can serve requests.
    async fn ping(&self) -> Result<(), StoreError>;
}
