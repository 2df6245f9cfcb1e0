//! Fixed-window hit counters: the first hit opens a window of the budget's length, every hit
//! in it counts, and the count starts again when the window closes. One trait because two real
//! stores exist: this process's memory, and Redis shared by every instance.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::store::memory::expiring::Expiring;
use crate::store::redis::pool::Pool;
use crate::store::{now_millis, StoreError};

/// The count so far in the current window (this hit included) and the time left in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    pub count: u64,
    pub window_left: Duration,
}

#[async_trait]
pub trait Counter: Send + Sync + 'static {
    /// Counts one hit under `key` in a window of `window`.
    async fn hit(&self, key: &str, window: Duration) -> Result<Hits, StoreError>;
}

/// This process's counters: a budget is per instance.
#[derive(Default)]
pub struct MemoryCounter(Mutex<Expiring<String, u64>>);

#[async_trait]
impl Counter for MemoryCounter {
    async fn hit(&self, key: &str, window: Duration) -> Result<Hits, StoreError> {
        let now = now_millis();
        let mut windows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Closed windows go first, so memory holds only the keys counted in the last window.
        windows.sweep(now);
        let key = key.to_string();
        let (count, ends) = match windows.get(&key, now).copied() {
            Some((count, ends)) => (count.saturating_add(1), ends),
            None => (1, now + window.as_millis() as u64),
        };
        match windows.get_mut(&key) {
            Some(entry) if count > 1 => entry.0 = count,
            _ => windows.insert(key, count, ends),
        }
        Ok(Hits {
            count,
            window_left: Duration::from_millis(ends.saturating_sub(now)),
        })
    }
}

/// INCR opens or counts; the first hit sets the expiry; a key left without one (written by
/// something else) gets it too. Keys: 1 counter. Args: 1 window in ms. Returns {count, ms left}.
const HIT: &str = r#"
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if n == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
"#;

/// Counters in Redis under `<store.key_prefix>limit:<budget>:<keyed hash>`: instances on one
/// Redis share each budget. The connections are the store's kind (same URL, timeout, pool
/// size and recovery), made for this counter.
pub struct RedisCounter {
    pool: Pool,
    script: ::redis::Script,
}

impl RedisCounter {
    pub fn new(settings: &crate::config::StoreSettings) -> Result<Self, StoreError> {
        Ok(RedisCounter {
            pool: Pool::new(settings)?,
            script: ::redis::Script::new(HIT),
        })
    }
}

#[async_trait]
impl Counter for RedisCounter {
    async fn hit(&self, key: &str, window: Duration) -> Result<Hits, StoreError> {
        let (slot, mut conn) = self.pool.conn();
        let window_ms = window.as_millis().max(1) as u64;
        let mut call = self.script.key(key);
        call.arg(window_ms);
        let (count, left): (u64, i64) = self
            .pool
            .bounded(slot, "limit", call.invoke_async(&mut conn))
            .await?;
        Ok(Hits {
            count,
            window_left: Duration::from_millis(left.max(0) as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_memory_window_counts_then_starts_again() {
        let c = MemoryCounter::default();
        let w = Duration::from_millis(80);
        assert_eq!(c.hit("a", w).await.unwrap().count, 1);
        assert_eq!(c.hit("a", w).await.unwrap().count, 2);
        assert_eq!(c.hit("b", w).await.unwrap().count, 1);
        let third = c.hit("a", w).await.unwrap();
        assert_eq!(third.count, 3);
        assert!(third.window_left <= w && third.window_left > Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(c.hit("a", w).await.unwrap().count, 1, "a new window");
    }
}
