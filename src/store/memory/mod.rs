//! The in-memory store: one instance, bounded. A restart loses pending flows (their pages then
//! say "expired").
//!
//! Flows live in shards, each under its own lock, so one flow's step never waits for another's
//! beyond its shard. Expired entries leave through expiry-ordered queues (`expiring.rs`): a
//! sweep costs what expired, not what is stored, so a full store refuses a start as fast as it
//! accepts one. Single-use values, sessions, the outbox and the watches have a lock each.

pub(crate) mod expiring;
mod watches;

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::{now_millis, FlowStore, Millis, OutboxEntry, StoreError, Versioned, Watched};
use crate::ids::{FlowId, SessionId};
use expiring::Expiring;
use watches::Watches;

/// Enough that two cores rarely meet on one lock; each shard is a small map.
const SHARDS: usize = 32;

/// A session: (idle deadline, absolute end). The map's deadline is the idle one.
type Sessions = Expiring<SessionId, Millis>;

pub struct MemoryStore {
    shards: Vec<Mutex<Expiring<FlowId, Versioned>>>,
    /// Flows held in all shards, expired ones included until swept.
    held: AtomicUsize,
    /// When a full store last swept every shard: at most once a millisecond, so a flood of
    /// refused starts costs a counter read each.
    swept_all_at: AtomicU64,
    hasher: RandomState,
    single_use: Mutex<Expiring<String, String>>,
    /// Readable values (idempotency keys, subjects of ended API sessions).
    values: Mutex<Expiring<String, String>>,
    sessions: Mutex<Sessions>,
    /// entry and the end of its current lease (0: not leased)
    outbox: Mutex<HashMap<String, (OutboxEntry, Millis)>>,
    watches: Mutex<Watches>,
    max_flows: usize,
}

/// A panic while holding a lock cannot leave a half-written entry (every change is one map
/// operation), so the data is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    pub fn new(max_flows: usize) -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            held: AtomicUsize::new(0),
            swept_all_at: AtomicU64::new(0),
            hasher: RandomState::new(),
            single_use: Mutex::default(),
            values: Mutex::default(),
            sessions: Mutex::default(),
            outbox: Mutex::default(),
            watches: Mutex::default(),
            max_flows,
        }
    }

    fn shard(&self, id: &FlowId) -> MutexGuard<'_, Expiring<FlowId, Versioned>> {
        let at = self.hasher.hash_one(id) as usize % SHARDS;
        lock(&self.shards[at])
    }

    /// Sweeps one shard; keeps the count of held flows.
    fn sweep_shard(&self, shard: &mut Expiring<FlowId, Versioned>, now: Millis) {
        let removed = shard.sweep(now);
        if removed > 0 {
            self.held.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Sweeps every shard: only when the cap is reached, and then it costs what expired.
    fn sweep_all(&self, now: Millis) {
        if self.swept_all_at.swap(now, Ordering::Relaxed) == now {
            return;
        }
        for shard in &self.shards {
            self.sweep_shard(&mut lock(shard), now);
        }
    }

    /// Number of flows held, expired ones included until they are swept (for tests and stats).
    pub fn flow_count(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl FlowStore for MemoryStore {
    async fn create_flow(
        &self,
        id: &FlowId,
        data: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let now = now_millis();
        if self.held.load(Ordering::Relaxed) >= self.max_flows {
            self.sweep_all(now);
        }
        // Reserve a place first, so concurrent starts cannot overshoot the cap.
        let reserved = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < self.max_flows).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(StoreError::Full);
        }
        let mut shard = self.shard(id);
        self.sweep_shard(&mut shard, now);
        let flow = Versioned {
            version: 1,
            data: data.to_string(),
        };
        if shard.get_mut(id).is_some() {
            // 128 random bits never collide; were they to, the place is not counted twice.
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
        shard.insert(id.clone(), flow, expires_at);
        Ok(())
    }

    async fn load_flow(&self, id: &FlowId) -> Result<Option<Versioned>, StoreError> {
        let now = now_millis();
        Ok(self.shard(id).get(id, now).map(|(v, _)| v.clone()))
    }

    async fn update_flow(
        &self,
        id: &FlowId,
        expected: u64,
        data: &str,
        deliver: Option<&OutboxEntry>,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let mut shard = self.shard(id);
        match shard.get_mut(id) {
            Some((v, exp)) if *exp > now && v.version == expected => {
                v.version += 1;
                v.data = data.to_string();
            }
            _ => return Ok(false),
        }
        // Still under the shard's lock (order: shard, then outbox): whoever sees the new
        // version finds the entry too.
        if let Some(entry) = deliver {
            lock(&self.outbox).insert(entry.id.clone(), (entry.clone(), 0));
        }
        Ok(true)
    }

    async fn put_single_use(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let mut values = lock(&self.single_use);
        values.sweep(now_millis());
        values.insert(key.to_string(), value.to_string(), expires_at);
        Ok(())
    }

    async fn take_single_use(&self, key: &str) -> Result<Option<String>, StoreError> {
        let now = now_millis();
        Ok(lock(&self.single_use)
            .remove(&key.to_string())
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v))
    }

    async fn put_value_if_absent(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<Option<String>, StoreError> {
        let now = now_millis();
        let mut values = lock(&self.values);
        values.sweep(now);
        let key = key.to_string();
        if let Some((existing, _)) = values.get(&key, now) {
            return Ok(Some(existing.clone()));
        }
        values.insert(key, value.to_string(), expires_at);
        Ok(None)
    }

    async fn put_value(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let mut values = lock(&self.values);
        values.sweep(now_millis());
        values.insert(key.to_string(), value.to_string(), expires_at);
        Ok(())
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let values = lock(&self.values);
        Ok(values
            .get(&key.to_string(), now_millis())
            .map(|(v, _)| v.clone()))
    }

    async fn remove_value(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.values).remove(&key.to_string());
        Ok(())
    }

    async fn create_session(
        &self,
        id: &SessionId,
        idle_until: Millis,
        absolute_until: Millis,
    ) -> Result<(), StoreError> {
        let mut sessions = lock(&self.sessions);
        sessions.sweep(now_millis());
        sessions.insert(id.clone(), absolute_until, idle_until.min(absolute_until));
        Ok(())
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        now: Millis,
        idle: Duration,
    ) -> Result<bool, StoreError> {
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(id) {
            Some((absolute, idle_until)) if *idle_until > now => {
                *idle_until = (now + idle.as_millis() as u64).min(*absolute);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(lock(&self.sessions).remove(id).is_some())
    }

    async fn claim_deliveries(
        &self,
        now: Millis,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut outbox = lock(&self.outbox);
        // A token past its give-up time would only be refused: such entries go, unsent.
        outbox.retain(|_, (e, _)| e.give_up_at > now);
        let lease_end = now + lease.as_millis() as u64;
        let claimed = outbox
            .values_mut()
            .filter(|(e, leased)| e.due_at <= now && *leased <= now)
            .take(limit)
            .map(|(e, leased)| {
                *leased = lease_end;
                e.clone()
            })
            .collect();
        Ok(claimed)
    }

    async fn reschedule_delivery(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        if let Some(slot) = lock(&self.outbox).get_mut(&entry.id) {
            *slot = (entry.clone(), 0);
        }
        Ok(())
    }

    async fn remove_delivery(&self, id: &str) -> Result<(), StoreError> {
        lock(&self.outbox).remove(id);
        Ok(())
    }

    async fn next_delivery_due(&self) -> Result<Option<Millis>, StoreError> {
        Ok(lock(&self.outbox)
            .values()
            .map(|(e, leased)| e.due_at.max(*leased))
            .min())
    }

    async fn watch(&self, watched: &[Watched], lease_until: Millis) -> Result<(), StoreError> {
        lock(&self.watches).watch(watched, lease_until);
        Ok(())
    }

    async fn claim_watches(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<FlowId>, StoreError> {
        Ok(lock(&self.watches).claim(now, lease_until, limit))
    }

    async fn unwatch(&self, id: &FlowId) -> Result<(), StoreError> {
        lock(&self.watches).unwatch(id);
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, due_at: Millis) -> OutboxEntry {
        OutboxEntry {
            id: id.into(),
            url: "http://127.0.0.1:1/x".into(),
            body: "t".into(),
            attempts: 0,
            due_at,
            give_up_at: u64::MAX,
            webhook: None,
        }
    }

    #[tokio::test]
    async fn compare_and_set_lets_one_writer_win() {
        let store = MemoryStore::new(10);
        let id = FlowId::new();
        let far = now_millis() + 60_000;
        store.create_flow(&id, "a", far).await.unwrap();
        let v = store.load_flow(&id).await.unwrap().unwrap();
        assert!(store
            .update_flow(&id, v.version, "b", Some(&entry("e", 0)))
            .await
            .unwrap());
        assert!(!store
            .update_flow(&id, v.version, "c", Some(&entry("f", 0)))
            .await
            .unwrap());
        let now = store.load_flow(&id).await.unwrap().unwrap();
        assert_eq!((now.version, now.data.as_str()), (2, "b"));
        let claimed = store
            .claim_deliveries(now_millis(), Duration::from_secs(5), 10)
            .await
            .unwrap();
        assert_eq!(
            claimed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e"]
        );
    }

    #[tokio::test]
    async fn cap_expiry_and_single_use() {
        let store = MemoryStore::new(1);
        let now = now_millis();
        store
            .create_flow(&FlowId::new(), "a", now + 60_000)
            .await
            .unwrap();
        assert_eq!(
            store.create_flow(&FlowId::new(), "b", now + 60_000).await,
            Err(StoreError::Full)
        );

        let expired = MemoryStore::new(1);
        let id = FlowId::new();
        expired
            .create_flow(&id, "a", now.saturating_sub(1))
            .await
            .unwrap();
        assert_eq!(expired.load_flow(&id).await.unwrap(), None);
        // the expired flow does not count against the cap
        expired
            .create_flow(&FlowId::new(), "b", now + 60_000)
            .await
            .unwrap();

        store.put_single_use("n", "v", now + 60_000).await.unwrap();
        assert_eq!(
            store.take_single_use("n").await.unwrap().as_deref(),
            Some("v")
        );
        assert_eq!(store.take_single_use("n").await.unwrap(), None);
    }

    #[tokio::test]
    async fn leases_hide_claimed_entries_until_they_end() {
        let store = MemoryStore::new(1);
        let id = FlowId::new();
        store
            .create_flow(&id, "a", now_millis() + 60_000)
            .await
            .unwrap();
        store
            .update_flow(&id, 1, "b", Some(&entry("e", 0)))
            .await
            .unwrap();
        let t = now_millis();
        assert_eq!(
            store
                .claim_deliveries(t, Duration::from_millis(100), 5)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(store
            .claim_deliveries(t + 50, Duration::from_millis(100), 5)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store
                .claim_deliveries(t + 150, Duration::from_millis(100), 5)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn sessions_extend_and_end() {
        let store = MemoryStore::new(1);
        let sid = SessionId::new();
        let now = now_millis();
        store
            .create_session(&sid, now + 1_000, now + 5_000)
            .await
            .unwrap();
        assert!(store
            .touch_session(&sid, now + 500, Duration::from_secs(10))
            .await
            .unwrap());
        assert!(store.end_session(&sid).await.unwrap());
        assert!(!store
            .touch_session(&sid, now + 600, Duration::from_secs(10))
            .await
            .unwrap());
    }
}
