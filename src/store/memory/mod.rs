//! The in-memory store: one instance, bounded, expired entries swept as it goes.
//! A restart loses pending flows (their pages then say "expired").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{now_millis, FlowStore, Millis, OutboxEntry, StoreError, Versioned};
use crate::ids::{FlowId, SessionId};

/// How often at most a write sweeps expired entries.
const SWEEP_EVERY_MS: Millis = 1_000;

#[derive(Default)]
struct State {
    flows: HashMap<FlowId, (Versioned, Millis)>,
    single_use: HashMap<String, (String, Millis)>,
    sessions: HashMap<SessionId, (Millis, Millis)>,
    /// entry and the end of its current lease (0: not leased)
    outbox: HashMap<String, (OutboxEntry, Millis)>,
    last_sweep: Millis,
}

impl State {
    fn sweep(&mut self, now: Millis) {
        self.flows.retain(|_, (_, exp)| *exp > now);
        self.single_use.retain(|_, (_, exp)| *exp > now);
        self.sessions.retain(|_, (idle, _)| *idle > now);
        self.outbox.retain(|_, (e, _)| e.give_up_at > now);
        self.last_sweep = now;
    }

    fn maybe_sweep(&mut self, now: Millis) {
        if now.saturating_sub(self.last_sweep) >= SWEEP_EVERY_MS {
            self.sweep(now);
        }
    }
}

pub struct MemoryStore {
    state: Mutex<State>,
    max_flows: usize,
}

impl MemoryStore {
    pub fn new(max_flows: usize) -> Self {
        MemoryStore {
            state: Mutex::new(State::default()),
            max_flows,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written entry (every change is one
        // map operation), so the data is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of flows held, expired ones included until the next sweep (for tests and stats).
    pub fn flow_count(&self) -> usize {
        self.lock().flows.len()
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
        let mut s = self.lock();
        s.maybe_sweep(now);
        if s.flows.len() >= self.max_flows {
            s.sweep(now);
            if s.flows.len() >= self.max_flows {
                return Err(StoreError::Full);
            }
        }
        s.flows.insert(
            id.clone(),
            (
                Versioned {
                    version: 1,
                    data: data.to_string(),
                },
                expires_at,
            ),
        );
        Ok(())
    }

    async fn load_flow(&self, id: &FlowId) -> Result<Option<Versioned>, StoreError> {
        let now = now_millis();
        let s = self.lock();
        Ok(s.flows
            .get(id)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone()))
    }

    async fn update_flow(
        &self,
        id: &FlowId,
        expected: u64,
        data: &str,
        deliver: Option<&OutboxEntry>,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let mut s = self.lock();
        match s.flows.get_mut(id) {
            Some((v, exp)) if *exp > now && v.version == expected => {
                v.version += 1;
                v.data = data.to_string();
            }
            _ => return Ok(false),
        }
        if let Some(entry) = deliver {
            s.outbox.insert(entry.id.clone(), (entry.clone(), 0));
        }
        Ok(true)
    }

    async fn put_single_use(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.maybe_sweep(now_millis());
        s.single_use
            .insert(key.to_string(), (value.to_string(), expires_at));
        Ok(())
    }

    async fn take_single_use(&self, key: &str) -> Result<Option<String>, StoreError> {
        let now = now_millis();
        Ok(self
            .lock()
            .single_use
            .remove(key)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v))
    }

    async fn create_session(
        &self,
        id: &SessionId,
        idle_until: Millis,
        absolute_until: Millis,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.maybe_sweep(now_millis());
        s.sessions
            .insert(id.clone(), (idle_until.min(absolute_until), absolute_until));
        Ok(())
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        now: Millis,
        idle: Duration,
    ) -> Result<bool, StoreError> {
        let mut s = self.lock();
        match s.sessions.get_mut(id) {
            Some((idle_until, absolute)) if *idle_until > now => {
                *idle_until = (now + idle.as_millis() as u64).min(*absolute);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.lock().sessions.remove(id).is_some())
    }

    async fn claim_deliveries(
        &self,
        now: Millis,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut s = self.lock();
        let lease_end = now + lease.as_millis() as u64;
        let claimed = s
            .outbox
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
        let mut s = self.lock();
        if let Some(slot) = s.outbox.get_mut(&entry.id) {
            *slot = (entry.clone(), 0);
        }
        Ok(())
    }

    async fn remove_delivery(&self, id: &str) -> Result<(), StoreError> {
        self.lock().outbox.remove(id);
        Ok(())
    }

    async fn next_delivery_due(&self) -> Result<Option<Millis>, StoreError> {
        Ok(self
            .lock()
            .outbox
            .values()
            .map(|(e, leased)| e.due_at.max(*leased))
            .min())
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
