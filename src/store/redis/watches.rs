//! Watched ids in Redis, shared by every instance:
//! - `P watch:lease`: sorted set id -> lease end; claimable when <= now.
//! - `P watch:give_up`: sorted set id -> give-up time; entries past it are dropped.
//!
//! A claim is one script, so two instances never both take one expired lease.

use ::redis::Script;

use super::{score, RedisStore};
use crate::ids::FlowId;
use crate::store::{Millis, StoreError, Watched};

/// Ids per ZADD: bounds one command's size when thousands of sessions wait.
const CHUNK: usize = 512;

/// Drops up to 100 entries past their give-up time, then leases up to `limit` entries whose
/// lease ended to the caller and returns their ids.
/// Keys: 1 lease index, 2 give-up index. Args: 1 now, 2 new lease end, 3 limit.
const CLAIM_WATCHES: &str = r#"
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  out[#out + 1] = id
end
return out
"#;

pub(super) fn claim_script() -> Script {
    Script::new(CLAIM_WATCHES)
}

impl RedisStore {
    fn watch_keys(&self) -> [String; 2] {
        [
            format!("{}watch:lease", self.prefix),
            format!("{}watch:give_up", self.prefix),
        ]
    }

    pub(super) async fn add_watches(
        &self,
        watched: &[Watched],
        lease_until: Millis,
    ) -> Result<(), StoreError> {
        let [lease, give_up] = self.watch_keys();
        let at = score(lease_until);
        for chunk in watched.chunks(CHUNK) {
            // One ZADD per index for the chunk, in MULTI/EXEC: an entry never has a lease
            // without its give-up time.
            let mut leases = ::redis::cmd("ZADD");
            let mut give_ups = ::redis::cmd("ZADD");
            leases.arg(&lease);
            give_ups.arg(&give_up);
            for w in chunk {
                leases.arg(&at).arg(w.id.as_str());
                give_ups.arg(score(w.give_up_at)).arg(w.id.as_str());
            }
            let mut pipe = ::redis::pipe();
            pipe.atomic().add_command(leases).add_command(give_ups);
            let (slot, mut conn) = self.pool.conn();
            self.pool
                .bounded(slot, "watch", pipe.exec_async(&mut conn))
                .await?;
        }
        Ok(())
    }

    pub(super) async fn claim(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<FlowId>, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let mut call = self.scripts.claim_watches.prepare_invoke();
        call.key(&self.watch_keys()[..])
            .arg(score(now))
            .arg(score(lease_until))
            .arg(limit);
        let ids: Vec<String> = self
            .pool
            .bounded(slot, "claim_watches", call.invoke_async(&mut conn))
            .await?;
        let parsed: Vec<FlowId> = ids.iter().filter_map(|raw| FlowId::parse(raw)).collect();
        if parsed.len() < ids.len() {
            // Not written by us; it goes at its give-up time. Never logged: ids are capabilities.
            tracing::warn!("a watched id in redis is not a flow id; ignored");
        }
        Ok(parsed)
    }

    pub(super) async fn remove_watch(&self, id: &FlowId) -> Result<(), StoreError> {
        let [lease, give_up] = self.watch_keys();
        let (slot, mut conn) = self.pool.conn();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .zrem(&lease, id.as_str())
            .zrem(&give_up, id.as_str());
        self.pool
            .bounded(slot, "unwatch", pipe.exec_async(&mut conn))
            .await
    }
}
