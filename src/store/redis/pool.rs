//! Connections to Redis: a few multiplexed connection managers used round-robin, every
//! exchange bounded by the timeout, every failure turned into `Unavailable` with the URL's
//! password cut out.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::RedisResult;

use crate::config::StoreSettings;
use crate::store::StoreError;

pub(crate) struct Pool {
    /// `pool_size` managers; each reconnects by itself after I/O errors.
    slots: Vec<RwLock<ConnectionManager>>,
    next: AtomicUsize,
    /// To rebuild a manager that will not reconnect by itself (see `bounded`).
    client: ::redis::Client,
    config: ConnectionManagerConfig,
    timeout: Duration,
    /// The URL's password, cut out of every error message we pass on.
    password: Option<String>,
}

impl Pool {
    /// Makes no connection yet: each manager connects on first use.
    pub(crate) fn new(settings: &StoreSettings) -> Result<Pool, StoreError> {
        // The URL may hold a password: never echo it, nor the parser's view of it.
        let invalid = || StoreError::Unavailable("store.url is not a valid Redis URL".into());
        let url = settings.url.as_deref().ok_or_else(invalid)?;
        let client = ::redis::Client::open(url).map_err(|_| invalid())?;
        let password = client
            .get_connection_info()
            .redis_settings()
            .password()
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        // Few, short reconnect retries: while Redis is down a call fails at once with the
        // cached connection error (a fast 503) instead of waiting out a long retry series,
        // and the next call starts a new attempt, so service resumes as soon as Redis is back.
        // Each attempt and each reply is bounded by the timeout.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let slots = (0..settings.pool_size.max(1))
            .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
            .map(|m| m.map(RwLock::new))
            .collect::<RedisResult<Vec<_>>>()
            .map_err(|e| StoreError::Unavailable(format!("redis: {:?}", e.kind())))?;
        Ok(Pool {
            slots,
            next: AtomicUsize::new(0),
            client,
            config,
            timeout: settings.timeout,
            password,
        })
    }

    /// PINGs every connection, all within one timeout.
    pub(super) async fn ping_all(&self) -> Result<(), StoreError> {
        let pings = async {
            for slot in 0..self.slots.len() {
                ::redis::cmd("PING")
                    .query_async::<String>(&mut self.slot(slot))
                    .await?;
            }
            Ok::<(), ::redis::RedisError>(())
        };
        self.bounded(0, "connect", pings).await
    }

    /// The next slot and its connection manager (a cheap handle).
    pub(crate) fn conn(&self) -> (usize, ConnectionManager) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        (i, self.slot(i))
    }

    fn slot(&self, i: usize) -> ConnectionManager {
        // The lock only guards a handle swap; a poisoned one still holds a valid handle.
        self.slots[i]
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs one Redis exchange on `slot` within the timeout and maps every failure to
    /// `Unavailable`.
    pub(crate) async fn bounded<T>(
        &self,
        slot: usize,
        op: &str,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let message = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => {
                // The manager reconnects after I/O errors only. A failed handshake (wrong
                // password or ACL) stays cached in it for good, so replace the manager: the
                // store then recovers once the operator fixes Redis, without a restart.
                if e.kind() == ::redis::ErrorKind::AuthenticationFailed {
                    self.renew(slot);
                }
                self.redact(&e.to_string())
            }
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        tracing::warn!(op, error = %message, "redis flow store unavailable");
        Err(StoreError::Unavailable(format!("redis {op}: {message}")))
    }

    fn renew(&self, slot: usize) {
        if let Ok(fresh) =
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
        {
            *self.slots[slot].write().unwrap_or_else(|p| p.into_inner()) = fresh;
        }
    }

    fn redact(&self, message: &str) -> String {
        match &self.password {
            Some(p) => message.replace(p.as_str(), "***"),
            None => message.to_string(),
        }
    }
}
