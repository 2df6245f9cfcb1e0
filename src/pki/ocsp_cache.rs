//! The OCSP cache: `good` answers with a nextUpdate, by (issuer, serial), bounded, used only
//! while fresh at the validation time. Failures are never put here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::x509::X509Ref;
use time::OffsetDateTime;

use super::ocsp::fresh;

/// Default bound on cached `good` answers (one entry per certificate).
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    issuer_sha256: Vec<u8>,
    serial: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CachedGood {
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
}

/// `good` answers by (issuer, serial), bounded.
#[derive(Debug)]
pub struct OcspCache {
    map: Mutex<HashMap<CacheKey, CachedGood>>,
    capacity: usize,
}

impl OcspCache {
    pub fn new(capacity: usize) -> OcspCache {
        OcspCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(
        &self,
        key: &CacheKey,
        at: OffsetDateTime,
        skew: Duration,
    ) -> Option<CachedGood> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .copied()
            .filter(|c| fresh(c.this_update, Some(c.next_update), at, skew).is_ok())
    }

    pub(crate) fn put(&self, key: CacheKey, value: CachedGood) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity && !map.contains_key(&key) {
            // Drop what has expired by the wall clock; if that frees nothing, drop an arbitrary
            // entry: the cache is an optimisation, never a source of truth.
            let now = OffsetDateTime::now_utc();
            map.retain(|_, v| v.next_update > now);
            if map.len() >= self.capacity {
                if let Some(k) = map.keys().next().cloned() {
                    map.remove(&k);
                }
            }
        }
        map.insert(key, value);
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

pub(crate) fn cache_key(leaf: &X509Ref, issuer: &X509Ref) -> Option<CacheKey> {
    Some(CacheKey {
        issuer_sha256: issuer.digest(MessageDigest::sha256()).ok()?.to_vec(),
        serial: leaf.serial_number().to_bn().ok()?.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEW: Duration = Duration::from_secs(900);

    #[test]
    fn cache_is_bounded_and_time_aware() {
        let cache = OcspCache::new(2);
        let t = OffsetDateTime::now_utc();
        let entry = CachedGood {
            this_update: t,
            next_update: t + time::Duration::HOUR,
        };
        for i in 0..5u8 {
            let key = CacheKey {
                issuer_sha256: vec![1],
                serial: vec![i],
            };
            cache.put(key, entry);
        }
        assert_eq!(cache.len(), 2);
        let key = CacheKey {
            issuer_sha256: vec![1],
            serial: vec![4],
        };
        assert!(cache.get(&key, t, SKEW).is_some());
        assert!(cache.get(&key, t + time::Duration::DAY, SKEW).is_none());
    }
}
