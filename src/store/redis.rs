//! The Redis store: any number of instances share flows, nonces, sessions and the outbox.
//!
//! Key layout, all under the configured prefix `P`:
//! - `P flow:{id}`: hash `v` (version), `d` (data); expires at the flow's deadline.
//! - `P flows`: sorted set of live flow ids scored by expiry, for the cap on live flows.
//! - `P once:{key}`: string, taken with GETDEL; expires at its deadline.
//! - `P session:{id}`: hash `i` (idle deadline), `a` (absolute end); expires at `i`.
//! - `P value:<key>`: a readable value (idempotency key, subject), expiring by itself.
//! - `P outbox:entries`: hash id -> entry JSON (the body is sent byte for byte).
//! - `P outbox:due`: sorted set id -> max(due_at, lease end): claimable when <= now.
//! - `P outbox:give_up`: sorted set id -> give_up_at: entries past it are dropped.
//! - `P watch:lease`, `P watch:give_up`: watched Smart-ID sessions (see `watches`).
//!
//! Multi-key steps are Lua scripts (see `scripts`), so the keys must live on one Redis
//! primary: Redis Cluster is not supported (a primary with replicas or Sentinel is).
//!
//! Every call is bounded by the configured timeout; any failure or timeout becomes
//! `StoreError::Unavailable`, and the connections recover by themselves (see `pool`).
//! Records that do not parse (written by something else) are treated as absent and logged,
//! never trusted and never a panic: a flow or session then reads as expired.

pub(crate) mod pool;
mod scripts;
mod watches;

use std::time::Duration;

use ::redis::{AsyncCommands, Script};
use async_trait::async_trait;

use super::{now_millis, FlowStore, Millis, OutboxEntry, StoreError, Versioned, Watched};
use crate::config::StoreSettings;
use crate::ids::{FlowId, SessionId};
use pool::Pool;

/// Deadlines and scores are kept below 2^53 ms (year 287396): Redis scores are doubles and
/// Lua compares doubles, so every value stays exact and prints as an integer.
const MAX_MS: Millis = 1 << 53;

/// For key expiries (PEXPIREAT/PXAT reject 0 and negative values).
fn deadline(t: Millis) -> String {
    t.clamp(1, MAX_MS).to_string()
}

/// `SET key value [flags] PXAT deadline`: every plain value the store keeps expires.
fn set_until(key: String, value: &str, flags: &[&str], expires_at: Millis) -> ::redis::Cmd {
    let mut cmd = ::redis::cmd("SET");
    cmd.arg(key)
        .arg(value)
        .arg(flags)
        .arg("PXAT")
        .arg(deadline(expires_at));
    cmd
}

/// For sorted-set scores.
fn score(t: Millis) -> String {
    t.min(MAX_MS).to_string()
}

struct Scripts {
    create_flow: Script,
    update_flow: Script,
    touch_session: Script,
    claim: Script,
    next_due: Script,
    reschedule: Script,
    claim_watches: Script,
}

pub struct RedisStore {
    pool: Pool,
    prefix: String,
    max_flows: usize,
    scripts: Scripts,
}

/// The pool holds the URL with its password: show only what is safe.
impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("max_flows", &self.max_flows)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects and checks every connection with PING, giving up with `Unavailable` after the
    /// configured timeout (so a start-up with Redis down fails fast instead of hanging).
    pub async fn connect(settings: &StoreSettings, max_flows: usize) -> Result<Self, StoreError> {
        let store = Self::new_lazy(settings, max_flows)?;
        store.pool.ping_all().await?;
        Ok(store)
    }

    /// Builds the store without touching the network: connections are made on first use and
    /// remade after failures. For a server that starts unready while Redis is down.
    pub fn new_lazy(settings: &StoreSettings, max_flows: usize) -> Result<Self, StoreError> {
        Ok(RedisStore {
            pool: Pool::new(settings)?,
            prefix: settings.key_prefix.clone(),
            max_flows,
            scripts: Scripts {
                create_flow: Script::new(scripts::CREATE_FLOW),
                update_flow: Script::new(scripts::UPDATE_FLOW),
                touch_session: Script::new(scripts::TOUCH_SESSION),
                claim: Script::new(&scripts::claim()),
                next_due: Script::new(&scripts::next_due()),
                reschedule: Script::new(scripts::RESCHEDULE),
                claim_watches: watches::claim_script(),
            },
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// The outbox keys in the order the scripts expect: due index, entries, give-up index.
    fn outbox_keys(&self) -> [String; 3] {
        [
            format!("{}outbox:due", self.prefix),
            format!("{}outbox:entries", self.prefix),
            format!("{}outbox:give_up", self.prefix),
        ]
    }

    fn entry_json(entry: &OutboxEntry) -> Result<String, StoreError> {
        serde_json::to_string(entry)
            .map_err(|_| StoreError::Unavailable("outbox entry does not serialize".into()))
    }
}

#[async_trait]
impl FlowStore for RedisStore {
    async fn create_flow(
        &self,
        id: &FlowId,
        data: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.create_flow.prepare_invoke();
        call.key(self.key("flow", id.as_str()))
            .key(format!("{}flows", self.prefix))
            .arg(data)
            .arg(deadline(expires_at))
            .arg(now_millis())
            .arg(self.max_flows)
            .arg(id.as_str());
        let created: bool = self
            .pool
            .bounded(slot, "create_flow", call.invoke_async(&mut conn))
            .await?;
        if created {
            Ok(())
        } else {
            Err(StoreError::Full)
        }
    }

    async fn load_flow(&self, id: &FlowId) -> Result<Option<Versioned>, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let key = self.key("flow", id.as_str());
        let (version, data): (Option<String>, Option<String>) = self
            .pool
            .bounded(slot, "load_flow", conn.hmget(&key, &["v", "d"]))
            .await?;
        match (version.as_deref().map(str::parse::<u64>), data) {
            (None, None) => Ok(None),
            (Some(Ok(version)), Some(data)) => Ok(Some(Versioned { version, data })),
            _ => {
                tracing::warn!(flow = ?id, "unreadable flow record in redis, treated as absent");
                Ok(None)
            }
        }
    }

    async fn update_flow(
        &self,
        id: &FlowId,
        expected: u64,
        data: &str,
        deliver: Option<&OutboxEntry>,
    ) -> Result<bool, StoreError> {
        let Some(next) = expected.checked_add(1) else {
            return Ok(false);
        };
        let [due, entries, give_up] = self.outbox_keys();
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.update_flow.prepare_invoke();
        call.key(self.key("flow", id.as_str()))
            .key(due)
            .key(entries)
            .key(give_up)
            .arg(expected)
            .arg(next)
            .arg(data);
        match deliver {
            Some(entry) => call
                .arg("1")
                .arg(&entry.id)
                .arg(Self::entry_json(entry)?)
                .arg(score(entry.due_at))
                .arg(score(entry.give_up_at)),
            None => call.arg("0"),
        };
        self.pool
            .bounded(slot, "update_flow", call.invoke_async(&mut conn))
            .await
    }

    async fn put_single_use(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let cmd = set_until(self.key("once", key), value, &[], expires_at);
        self.pool
            .bounded(slot, "put_single_use", cmd.exec_async(&mut conn))
            .await
    }

    async fn take_single_use(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        self.pool
            .bounded(slot, "take_single_use", conn.get_del(self.key("once", key)))
            .await
    }

    async fn put_value_if_absent(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<Option<String>, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        // One command (Redis 7): set only if absent, and give what was there.
        let cmd = set_until(self.key("value", key), value, &["NX", "GET"], expires_at);
        self.pool
            .bounded(slot, "put_value_if_absent", cmd.query_async(&mut conn))
            .await
    }

    async fn put_value(
        &self,
        key: &str,
        value: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let cmd = set_until(self.key("value", key), value, &[], expires_at);
        self.pool
            .bounded(slot, "put_value", cmd.exec_async(&mut conn))
            .await
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        self.pool
            .bounded(slot, "get_value", conn.get(self.key("value", key)))
            .await
    }

    async fn remove_value(&self, key: &str) -> Result<(), StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let removed = conn.del::<_, ()>(self.key("value", key));
        self.pool.bounded(slot, "remove_value", removed).await
    }

    async fn create_session(
        &self,
        id: &SessionId,
        idle_until: Millis,
        absolute_until: Millis,
    ) -> Result<(), StoreError> {
        let key = self.key("session", id.as_str());
        let idle = deadline(idle_until.min(absolute_until));
        let (slot, mut conn) = self.pool.conn();
        // MULTI/EXEC: a session is never visible without its expiry.
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .del(&key)
            .hset_multiple(&key, &[("i", &idle), ("a", &deadline(absolute_until))])
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(&idle);
        self.pool
            .bounded(slot, "create_session", pipe.exec_async(&mut conn))
            .await
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        now: Millis,
        idle: Duration,
    ) -> Result<bool, StoreError> {
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.touch_session.prepare_invoke();
        call.key(self.key("session", id.as_str()))
            .arg(score(now))
            .arg(deadline(now.saturating_add(idle_ms)));
        self.pool
            .bounded(slot, "touch_session", call.invoke_async(&mut conn))
            .await
    }

    async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let removed: u64 = self
            .pool
            .bounded(
                slot,
                "end_session",
                conn.del(self.key("session", id.as_str())),
            )
            .await?;
        Ok(removed > 0)
    }

    async fn claim_deliveries(
        &self,
        now: Millis,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let lease_ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.claim.prepare_invoke();
        call.key(&self.outbox_keys()[..])
            .arg(score(now))
            .arg(score(now.saturating_add(lease_ms)))
            .arg(limit);
        let pairs: Vec<(String, String)> = self
            .pool
            .bounded(slot, "claim_deliveries", call.invoke_async(&mut conn))
            .await?;
        let mut claimed = Vec::with_capacity(pairs.len());
        for (id, json) in pairs {
            match serde_json::from_str::<OutboxEntry>(&json) {
                // The hash field is what reschedule and remove address: it wins.
                Ok(entry) => claimed.push(OutboxEntry { id, ..entry }),
                Err(_) => {
                    // It can never be delivered; left in place, every worker would claim it
                    // again after each lease until its give-up time.
                    // The id is a flow id, a capability: log its first characters only.
                    let shown = id.get(..4).unwrap_or("");
                    tracing::warn!(id = shown, "unreadable outbox entry in redis, dropped");
                    // Best effort: the entries claimed so far must still reach their worker;
                    // if this fails (logged), a later claim drops it again.
                    let _ = self.remove_delivery(&id).await;
                }
            }
        }
        Ok(claimed)
    }

    async fn reschedule_delivery(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.reschedule.prepare_invoke();
        call.key(&self.outbox_keys()[..])
            .arg(&entry.id)
            .arg(Self::entry_json(entry)?)
            .arg(score(entry.due_at))
            .arg(score(entry.give_up_at));
        self.pool
            .bounded(slot, "reschedule_delivery", call.invoke_async(&mut conn))
            .await
    }

    async fn remove_delivery(&self, id: &str) -> Result<(), StoreError> {
        let [due, entries, give_up] = self.outbox_keys();
        let (slot, mut conn) = self.pool.conn();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .hdel(entries, id)
            .zrem(due, id)
            .zrem(give_up, id);
        self.pool
            .bounded(slot, "remove_delivery", pipe.exec_async(&mut conn))
            .await
    }

    async fn next_delivery_due(&self) -> Result<Option<Millis>, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.next_due.prepare_invoke();
        call.key(&self.outbox_keys()[..]).arg(score(now_millis()));
        let first: Option<String> = self
            .pool
            .bounded(slot, "next_delivery_due", call.invoke_async(&mut conn))
            .await?;
        // Scores below 2^53 print as integers; a float form can only come from outside.
        Ok(first.and_then(|s| {
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().map(|f| f.max(0.0) as u64))
        }))
    }

    async fn watch(&self, watched: &[Watched], lease_until: Millis) -> Result<(), StoreError> {
        self.add_watches(watched, lease_until).await
    }

    async fn claim_watches(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<FlowId>, StoreError> {
        self.claim(now, lease_until, limit).await
    }

    async fn unwatch(&self, id: &FlowId) -> Result<(), StoreError> {
        self.remove_watch(id).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let cmd = ::redis::cmd("PING");
        self.pool
            .bounded(slot, "ping", cmd.query_async::<String>(&mut conn))
            .await
            .map(drop)
    }
}
