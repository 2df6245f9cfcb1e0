//! Watched ids (Smart-ID sessions waiting at SK) in one instance: each with its lease end and
//! give-up time. A claim scans them all; there are at most as many as sessions waiting at once
//! (`[means.smart_id] max_sessions`) and claims come every few seconds, so a scan of even
//! 10,000 entries is microseconds against a poll interval of seconds.

use std::collections::HashMap;

use crate::ids::FlowId;
use crate::store::{Millis, Watched};

#[derive(Debug, Default)]
pub(super) struct Watches {
    /// id -> (lease end, give-up time)
    entries: HashMap<FlowId, (Millis, Millis)>,
}

impl Watches {
    pub fn watch(&mut self, watched: &[Watched], lease_until: Millis) {
        for w in watched {
            self.entries
                .insert(w.id.clone(), (lease_until, w.give_up_at));
        }
    }

    pub fn claim(&mut self, now: Millis, lease_until: Millis, limit: usize) -> Vec<FlowId> {
        self.entries.retain(|_, (_, give_up)| *give_up > now);
        self.entries
            .iter_mut()
            .filter(|(_, (lease, _))| *lease <= now)
            .take(limit)
            .map(|(id, (lease, _))| {
                *lease = lease_until;
                id.clone()
            })
            .collect()
    }

    pub fn unwatch(&mut self, id: &FlowId) {
        self.entries.remove(id);
    }
}
