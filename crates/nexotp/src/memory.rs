//! Small bounded memories a client keeps between calls.
//!
//! A long-running service makes millions of calls through one client, so nothing remembered
//! per order may grow without end: every entry expires after a fixed time and the oldest goes
//! first when the memory is full. Each entry is also removed as soon as it has served (a wait
//! that ends, a reconcile that answers), so in steady state these stay nearly empty.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lock;

/// A map whose entries expire after `ttl` and which never holds more than `capacity`.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> BoundedMap<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        BoundedMap {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// Inserts (or replaces) `key`. When full, expired entries are dropped, then if need be the
    /// oldest (so the cost of pruning is paid once per `capacity` inserts at most).
    pub(crate) fn insert(&self, key: K, value: V) {
        self.insert_at(key, value, Instant::now());
    }

    fn insert_at(&self, key: K, value: V, now: Instant) {
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, at)| now.saturating_duration_since(*at) < self.ttl);
        }
        if entries.len() >= self.capacity
            && !entries.contains_key(&key)
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, (value, now));
    }

    /// The value of `key`, unless it expired.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let entries = lock(&self.entries);
        let (value, at) = entries.get(key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| value.clone())
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn remove(&self, key: &K) {
        lock(&self.entries).remove(key);
    }

    /// Entries held, expired ones included until a full map drops them.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_oldest_goes_first() {
        let map = BoundedMap::new(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            map.insert_at(key, i, t0 + Duration::from_secs(i as u64));
        }
        // Full: "a" (the oldest) makes room for "d".
        map.insert_at("d", 3, t0 + Duration::from_secs(3));
        assert_eq!(map.get_at(&"a", t0 + Duration::from_secs(3)), None);
        assert_eq!(map.get_at(&"b", t0 + Duration::from_secs(3)), Some(1));
        assert_eq!(map.len(), 3);
        // Later, everything but the newest has expired: the next insert into the full map drops
        // the expired entries.
        assert_eq!(map.get_at(&"b", t0 + Duration::from_secs(11)), None);
        map.insert_at("e", 4, t0 + Duration::from_secs(12));
        assert_eq!(map.len(), 2, "d and e remain");
        map.remove(&"e");
        assert_eq!(map.len(), 1);
    }
}
