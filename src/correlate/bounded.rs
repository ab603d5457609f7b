//! An LRU table that allocates as it fills: [`lru::LruCache::new`] sizes its hash table
//! for the whole bound at once (megabytes per table at the default bounds, in every run);
//! this one grows with what it holds and evicts the least recently used entry past the
//! bound, exactly as the bounded `LruCache` does.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::ops::{Deref, DerefMut};

pub struct Lru<K, V> {
    inner: lru::LruCache<K, V>,
    cap: usize,
}

impl<K: Hash + Eq, V> Lru<K, V> {
    pub fn new(cap: NonZeroUsize) -> Self {
        Lru {
            inner: lru::LruCache::unbounded(),
            cap: cap.get(),
        }
    }

    /// As [`lru::LruCache::push`]: the old entry of `k`, or the one evicted past the bound.
    pub fn push(&mut self, k: K, v: V) -> Option<(K, V)> {
        let old = self.inner.push(k, v);
        if old.is_none() && self.inner.len() > self.cap {
            return self.inner.pop_lru();
        }
        old
    }

    /// As [`lru::LruCache::put`]: the old value of `k` (an eviction is silent).
    pub fn put(&mut self, k: K, v: V) -> Option<V> {
        let old = self.inner.put(k, v);
        if self.inner.len() > self.cap {
            self.inner.pop_lru();
        }
        old
    }
}

impl<K, V> Deref for Lru<K, V> {
    type Target = lru::LruCache<K, V>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl<K, V> DerefMut for Lru<K, V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl<K: Hash + Eq, V> IntoIterator for Lru<K, V> {
    type Item = (K, V);
    type IntoIter = lru::IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.inner.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_past_its_bound_as_lru_does() {
        let cap = NonZeroUsize::new(2).unwrap_or(NonZeroUsize::MIN);
        let mut a = Lru::new(cap);
        let mut b = lru::LruCache::new(cap);
        for (k, v) in [(1, 'a'), (2, 'b'), (1, 'c'), (3, 'd'), (4, 'e')] {
            assert_eq!(a.push(k, v), b.push(k, v));
        }
        assert_eq!(a.put(5, 'f'), b.put(5, 'f'));
        let mut x: Vec<_> = a.iter().map(|(k, v)| (*k, *v)).collect();
        let mut y: Vec<_> = b.iter().map(|(k, v)| (*k, *v)).collect();
        x.sort();
        y.sort();
        assert_eq!(x, y);
        assert_eq!(a.len(), 2);
    }
}
