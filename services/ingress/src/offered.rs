//! Items offered to a project until it takes them (button presses, command
//! requests), per key, in log order, kept in memory by a read model that
//! follows the log; with long polls that wake at the next offer.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use novij_bus::follow::Follower;
use novij_events::AnyEvent;
use tokio::sync::watch;

pub struct Offered<K, V> {
    inner: Arc<Mutex<Inner<K, V>>>,
    /// Moves on with every change, for long polls.
    changed: Arc<watch::Sender<u64>>,
    /// Whether the log has been read up to where it was at start.
    ready: watch::Receiver<bool>,
}

impl<K, V> Clone for Offered<K, V> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), changed: self.changed.clone(), ready: self.ready.clone() }
    }
}

struct Inner<K, V> {
    /// Key → open items by log sequence.
    open: HashMap<K, BTreeMap<u64, V>>,
    /// Item id → where it is in `open`.
    index: HashMap<String, (K, u64)>,
}

impl<K: Clone + Eq + Hash, V: Clone> Offered<K, V> {
    /// An empty set, and the sender its read model sets once it has read
    /// the log up to where it was.
    pub fn new() -> (Self, watch::Sender<bool>) {
        let (ready_tx, ready) = watch::channel(false);
        let inner = Inner { open: HashMap::new(), index: HashMap::new() };
        (Self { inner: Arc::new(Mutex::new(inner)), changed: Arc::new(watch::channel(0).0), ready }, ready_tx)
    }

    pub fn offer(&self, key: K, id: String, sequence: u64, item: V) {
        let mut inner = self.lock();
        inner.index.insert(id, (key.clone(), sequence));
        inner.open.entry(key).or_default().insert(sequence, item);
        drop(inner);
        self.changed.send_modify(|n| *n += 1);
    }

    /// The item leaves the offer (taken, or over).
    pub fn take(&self, id: &str) {
        let mut inner = self.lock();
        if let Some((key, at)) = inner.index.remove(id) {
            if let Some(open) = inner.open.get_mut(&key) {
                open.remove(&at);
                if open.is_empty() {
                    inner.open.remove(&key);
                }
            }
        }
    }

    /// The open items of `key` that `keep` keeps, oldest first; waits up to
    /// `wait` for one when there are none (and for the log to be read at
    /// start: `None` if it was not in time).
    pub async fn poll(&self, key: &K, wait: Duration, keep: impl Fn(&V) -> bool) -> Option<Vec<V>> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut ready = self.ready.clone();
        if tokio::time::timeout_at(deadline, ready.wait_for(|r| *r)).await.is_err() {
            return None;
        }
        let mut changed = self.changed.subscribe();
        loop {
            let open: Vec<V> = self
                .lock()
                .open
                .get(key)
                .map(|open| open.values().filter(|v| keep(v)).cloned().collect())
                .unwrap_or_default();
            if !open.is_empty() || tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                return Some(open);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // Every change is a few inserts or removals that cannot panic halfway.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Follows the events on `filters` from the log's start, handing each (with
/// its sequence) to `observe`; `ready` once caught up. `what` names them in
/// the logs.
pub fn follow_log(
    js: jetstream::Context,
    filters: Vec<String>,
    shutdown: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
    what: &'static str,
    observe: impl Fn(u64, AnyEvent) + Send + Sync + 'static,
) {
    let follower = Follower::new(js, filters, DeliverPolicy::All, shutdown);
    tokio::spawn(async move {
        follower
            .build(ready, what, |entry| match AnyEvent::from_slice(&entry.message.payload) {
                Ok(event) => observe(entry.sequence, event),
                Err(e) => tracing::error!(sequence = entry.sequence, error = %e, what, "an event this release cannot read; skipped"),
            })
            .await
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_poll_answers_the_open_items_oldest_first_and_a_long_poll_wakes_at_the_next_offer() {
        let (offered, ready) = Offered::<&str, u32>::new();
        assert_eq!(offered.poll(&"a", Duration::from_millis(10), |_| true).await, None, "not read yet");
        ready.send_replace(true);
        offered.offer("a", "x".into(), 5, 50);
        offered.offer("a", "y".into(), 3, 30);
        offered.offer("b", "z".into(), 4, 40);
        assert_eq!(offered.poll(&"a", Duration::ZERO, |_| true).await, Some(vec![30, 50]));
        assert_eq!(offered.poll(&"a", Duration::ZERO, |v| *v > 40).await, Some(vec![50]));
        offered.take("y");
        offered.take("x");
        let waiting = {
            let offered = offered.clone();
            tokio::spawn(async move { offered.poll(&"a", Duration::from_secs(10), |_| true).await })
        };
        tokio::task::yield_now().await;
        offered.offer("a", "w".into(), 9, 90);
        assert_eq!(waiting.await.expect("joined"), Some(vec![90]));
        assert_eq!(offered.poll(&"b", Duration::ZERO, |_| true).await, Some(vec![40]));
    }
}
