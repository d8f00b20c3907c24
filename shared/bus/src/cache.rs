//! Aggregates kept in memory and followed on the log, so a decision that
//! needs one (is this integration live, is this recipient connected) takes no
//! round trip once the aggregate was read.
//!
//! The cache follows every event of its aggregate type from the moment it
//! starts (an ordered consumer, `DeliverPolicy::New`). An aggregate not in
//! memory is loaded from the log on first use; events the follower delivers
//! while that load runs are buffered and applied after it, and every event at
//! or below an entry's version is skipped. So an entry is never behind the
//! log by more than the follower's delivery delay, and never misses an event.
//! Absent aggregates are cached too: a later first event creates them.
//!
//! While the follower is down (NATS lost, consumer gone), `get` reads the log
//! every time and the cache is emptied; it fills again once following resumes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use novij_aggregates::{Aggregate, Loaded};
use novij_events::{subjects, AnyEvent};
use tokio::sync::watch;

use crate::follow::{Followed, Follower};
use crate::{EventLog, ReadError};

enum Slot<A> {
    Loaded(Loaded<A>),
    /// A load is running; the events the follower saw meanwhile.
    Loading(Vec<(u64, AnyEvent)>),
}

struct Entries<A> {
    slots: HashMap<String, Slot<A>>,
}

/// See the module documentation.
pub struct AggregateCache<A> {
    entries: Arc<Mutex<Entries<A>>>,
    following: Arc<AtomicBool>,
    /// The stream sequence of the last event the follower delivered.
    seen: Arc<watch::Sender<u64>>,
    log: EventLog,
}

impl<A> Clone for AggregateCache<A> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            following: self.following.clone(),
            seen: self.seen.clone(),
            log: self.log.clone(),
        }
    }
}

/// How long [`AggregateCache::wait_for`] waits at most.
const CATCH_UP: Duration = Duration::from_secs(2);

impl<A: Aggregate + Clone + Send + 'static> AggregateCache<A> {
    /// Starts following the log; returns once the follower is subscribed, so
    /// every load after this sees the events that follow it.
    pub async fn start(log: EventLog, js: jetstream::Context, shutdown: watch::Receiver<bool>) -> Self {
        let cache = Self {
            entries: Arc::new(Mutex::new(Entries { slots: HashMap::new() })),
            following: Arc::new(AtomicBool::new(false)),
            seen: Arc::new(watch::channel(0).0),
            log,
        };
        let filter = vec![subjects::aggregate_type(A::TYPE)];
        let mut follower = Follower::new(js, filter, DeliverPolicy::New, shutdown);
        if let Some(followed) = follower.next().await {
            cache.observe(followed);
        }
        tokio::spawn(cache.clone().follow(follower));
        cache
    }

    /// The aggregate as the log has it (up to the follower's delay).
    pub async fn get(&self, id: &str) -> Result<Loaded<A>, ReadError> {
        if !self.following.load(Ordering::SeqCst) {
            return self.log.load::<A>(id).await;
        }
        {
            let mut entries = self.lock();
            match entries.slots.get(id) {
                Some(Slot::Loaded(loaded)) => return Ok(loaded.clone()),
                Some(Slot::Loading(_)) => {}
                None => {
                    entries.slots.insert(id.to_string(), Slot::Loading(Vec::new()));
                }
            }
        }
        let loaded = match self.log.load::<A>(id).await {
            Ok(loaded) => loaded,
            Err(e) => {
                let mut entries = self.lock();
                if matches!(entries.slots.get(id), Some(Slot::Loading(_))) {
                    entries.slots.remove(id);
                }
                return Err(e);
            }
        };
        let mut entries = self.lock();
        let settled = match entries.slots.remove(id) {
            // Another caller settled it first, from a load at least as recent.
            Some(Slot::Loaded(cached)) if cached.version >= loaded.version => cached,
            Some(Slot::Loading(seen)) => catch_up(loaded, seen),
            _ => loaded,
        };
        entries.slots.insert(id.to_string(), Slot::Loaded(settled.clone()));
        Ok(settled)
    }

    /// Reads the log again, for a refusal that a moment's delay could explain.
    pub async fn refresh(&self, id: &str) -> Result<Loaded<A>, ReadError> {
        self.forget(id);
        self.get(id).await
    }

    /// Waits (briefly) until the follower delivered the event appended at
    /// `sequence`, so this process's next decision sees its own write.
    pub async fn wait_for(&self, sequence: u64) {
        if self.following.load(Ordering::SeqCst) {
            let mut seen = self.seen.subscribe();
            let _ = tokio::time::timeout(CATCH_UP, seen.wait_for(|s| *s >= sequence)).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<A>> {
        // A panic while holding the lock cannot leave an entry half-changed
        // (every change is one insert), so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn apply(&self, id: &str, sequence: u64, event: AnyEvent) {
        let mut entries = self.lock();
        match entries.slots.get_mut(id) {
            Some(Slot::Loaded(loaded)) if sequence > loaded.version => {
                let state = std::mem::take(&mut loaded.state);
                *loaded = Loaded { state: state.evolve(&event), version: sequence };
            }
            Some(Slot::Loading(seen)) => seen.push((sequence, event)),
            _ => {}
        }
    }

    fn forget(&self, id: &str) {
        self.lock().slots.remove(id);
    }

    async fn follow(self, mut follower: Follower) {
        while let Some(followed) = follower.next().await {
            self.observe(followed);
        }
    }

    fn observe(&self, followed: Followed) {
        match followed {
            Followed::Subscribed { .. } => self.following.store(true, Ordering::SeqCst),
            Followed::Message(entry) => {
                if let Some(id) = aggregate_id(&entry.message.subject, A::TYPE) {
                    match AnyEvent::from_slice(&entry.message.payload) {
                        Ok(event) => self.apply(id, entry.sequence, event),
                        // Loading it again reports the event to the caller.
                        Err(_) => self.forget(id),
                    }
                }
                self.seen.send_replace(entry.sequence);
            }
            // Lost the log: nothing cached can be trusted until following resumes.
            Followed::Lost(_) => {
                self.following.store(false, Ordering::SeqCst);
                self.lock().slots.clear();
                tracing::warn!(aggregate = A::TYPE, "following the log failed; reading it directly until it resumes");
            }
        }
    }
}

/// A load and the events delivered while it ran, those it did not include.
fn catch_up<A: Aggregate>(loaded: Loaded<A>, seen: Vec<(u64, AnyEvent)>) -> Loaded<A> {
    let from = loaded.version;
    seen.into_iter()
        .filter(|(sequence, _)| *sequence > from)
        .fold(loaded, |loaded, (sequence, event)| Loaded { state: loaded.state.evolve(&event), version: sequence })
}

/// `<id>` of `nt.ev.<type>.<id>.<name>`.
fn aggregate_id<'s>(subject: &'s str, aggregate_type: &str) -> Option<&'s str> {
    let rest = subject.strip_prefix(subjects::EVENTS_ROOT)?.strip_prefix('.')?;
    let rest = rest.strip_prefix(aggregate_type)?.strip_prefix('.')?;
    rest.rsplit_once('.').map(|(id, _name)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregate_id_is_the_third_token_of_an_event_subject() {
        assert_eq!(aggregate_id("nt.ev.recipient.rcp_1.bound", "recipient"), Some("rcp_1"));
        assert_eq!(aggregate_id("nt.ev.recipient.rcp_1.bound", "send"), None);
        assert_eq!(aggregate_id("nt.ev.recipient", "recipient"), None);
    }
}
