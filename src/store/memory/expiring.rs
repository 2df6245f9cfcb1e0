//! A map whose entries expire, swept in O(expired log n): an expiry-ordered queue beside the
//! map, so a sweep looks only at what is due instead of scanning everything.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

use crate::store::Millis;

pub struct Expiring<K, V> {
    entries: HashMap<K, (V, Millis)>,
    /// (deadline, key), earliest first. A key's deadline may have moved later (a touched
    /// session) or the key may be gone: both are checked when its turn comes.
    queue: BinaryHeap<Reverse<(Millis, K)>>,
}

impl<K, V> Default for Expiring<K, V>
where
    K: Hash + Eq + Ord,
{
    fn default() -> Self {
        Expiring {
            entries: HashMap::new(),
            queue: BinaryHeap::new(),
        }
    }
}

impl<K, V> Expiring<K, V>
where
    K: Hash + Eq + Ord + Clone,
{
    pub fn insert(&mut self, key: K, value: V, expires_at: Millis) {
        self.queue.push(Reverse((expires_at, key.clone())));
        self.entries.insert(key, (value, expires_at));
    }

    /// The live entry and its deadline.
    pub fn get(&self, key: &K, now: Millis) -> Option<&(V, Millis)> {
        self.entries.get(key).filter(|(_, exp)| *exp > now)
    }

    /// The entry, live or not, to change in place. A later deadline is fine: the queue
    /// re-checks it; an earlier one would be honoured only at the old time.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut (V, Millis)> {
        self.entries.get_mut(key)
    }

    pub fn remove(&mut self, key: &K) -> Option<(V, Millis)> {
        self.entries.remove(key)
    }

    /// Removes every entry whose deadline has passed; gives how many.
    pub fn sweep(&mut self, now: Millis) -> usize {
        let mut removed = 0;
        while let Some(Reverse((due, _))) = self.queue.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((_, key))) = self.queue.pop() else {
                break;
            };
            match self.entries.get(&key) {
                Some((_, exp)) if *exp <= now => {
                    self.entries.remove(&key);
                    removed += 1;
                }
                // Moved later: queued again at its new deadline (at most once per key, as
                // the stale entry just left the queue).
                Some((_, exp)) => {
                    let exp = *exp;
                    self.queue.push(Reverse((exp, key)));
                }
                None => {}
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_only_what_is_due_and_follows_moved_deadlines() {
        let mut m: Expiring<u32, &str> = Expiring::default();
        m.insert(1, "a", 10);
        m.insert(2, "b", 20);
        m.insert(3, "c", 30);
        assert_eq!(m.sweep(5), 0);
        // 2 is extended, 3 is removed early.
        m.get_mut(&2).unwrap().1 = 40;
        m.remove(&3);
        assert_eq!(m.sweep(25), 1, "only 1 expired");
        assert!(m.get(&1, 25).is_none() && m.get(&2, 25).is_some());
        assert_eq!(m.sweep(35), 0, "3 was gone, 2 moved");
        assert_eq!(m.sweep(40), 1);
        assert_eq!(m.entries.len(), 0);
        assert!(m.queue.is_empty(), "nothing left behind");
    }

    #[test]
    fn a_large_map_sweeps_in_steps_proportional_to_what_expired() {
        let mut m: Expiring<u32, ()> = Expiring::default();
        for i in 0..100_000 {
            m.insert(i, (), 1_000 + u64::from(i));
        }
        assert_eq!(m.sweep(1_009), 10);
        assert_eq!(m.entries.len(), 99_990);
        assert_eq!(m.queue.len(), 99_990);
    }
}
