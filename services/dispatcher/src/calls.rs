//! Calls announced before they are made, so that a dispatcher taking over a
//! partition knows which sends its predecessor may have delivered without
//! having recorded it yet.
//!
//! A predecessor whose lease expired is not always dead. Cut off by a NATS
//! node's death, it may have called Telegram just before and still be trying
//! to record the outcome; a new owner that did not know would send that
//! message again. So before each Bot API call a delivery adds its send to its
//! partition's announced set, and calls only once a write of the set to
//! `dispatcher_handover` (key `c<partition>`) is acknowledged; concurrent
//! deliveries share one write. A send leaves the set when its delivery ends,
//! and the next write drops it.
//!
//! The new owner reads the set from the bucket's leader before it pulls.
//! Those sends wait until the predecessor says it no longer delivers them
//! (`nt.rpc.dispatcher.member.<member>.calls`); their outcome is then read
//! from the log's leader. A predecessor that nobody answers for, for
//! [`PRESUMED_DEAD`], was killed: its last calls may arrive twice, the
//! at-least-once of a crash, bounded by its calls in flight.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::jetstream::kv;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::RequestErrorKind;
use novij_events::rpc::{CallsQuery, CallsReply};
use novij_events::subjects;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long the predecessor's subject may have no subscriber before it is
/// taken for dead. A live predecessor cut off by a node's death has moved to
/// another node by the time its lease expired; this allows for its
/// subscriptions being restored there.
pub const PRESUMED_DEAD: Duration = Duration::from_secs(1);
/// How often the predecessor is asked, and how long an answer may take.
const ASK_EVERY: Duration = Duration::from_millis(250);
/// The longest wait, even for a predecessor that answers: it gives up
/// recording after `delivery::RECORD_FOR`.
const AT_MOST: Duration = Duration::from_secs(25);

/// A partition's calls as its deliveries see them.
pub struct Calls {
    pub announcer: Arc<Announcer>,
    /// The calls the previous owner announced, until it is done with them.
    pub inherited: Option<Inherited>,
}

/// The value of `c<partition>`.
#[derive(Debug, Serialize, Deserialize)]
struct Announced {
    member: String,
    send_ids: BTreeSet<String>,
}

fn key(partition: u16) -> String {
    format!("c{partition:02}")
}

#[derive(Debug, thiserror::Error)]
#[error("cannot announce the call: {0}")]
pub struct AnnounceError(String);

#[derive(Default)]
struct Pending {
    sends: BTreeSet<String>,
    /// Counts additions; `written` is the count the last acknowledged write covered.
    added: u64,
    written: u64,
}

/// The owner's side: a partition's announced calls.
pub struct Announcer {
    store: kv::Store,
    key: String,
    member: String,
    pending: Mutex<Pending>,
    /// One write at a time; those waiting meanwhile share the next one.
    writer: tokio::sync::Mutex<()>,
}

/// A send announced; it leaves the set when dropped.
pub struct Announcement<'a> {
    announcer: &'a Announcer,
    send_id: String,
}

impl Drop for Announcement<'_> {
    fn drop(&mut self) {
        self.announcer.pending().sends.remove(&self.send_id);
    }
}

impl Announcer {
    pub fn new(store: kv::Store, partition: u16, member: &str) -> Self {
        Self {
            store,
            key: key(partition),
            member: member.to_string(),
            pending: Mutex::default(),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `send_id` to the set and returns once a write holding it is acknowledged.
    pub async fn announce(&self, send_id: &str) -> Result<Announcement<'_>, AnnounceError> {
        let wanted = {
            let mut pending = self.pending();
            pending.sends.insert(send_id.to_string());
            pending.added += 1;
            pending.added
        };
        let announcement = Announcement { announcer: self, send_id: send_id.to_string() };
        let _turn = self.writer.lock().await;
        if self.pending().written >= wanted {
            return Ok(announcement);
        }
        self.write().await?;
        Ok(announcement)
    }

    /// What another member announced for this partition, read from the
    /// bucket's leader (a replica may not yet hold the predecessor's last
    /// write).
    pub async fn inherited(&self) -> Result<Option<Inherited>, AnnounceError> {
        let subject = format!("{}{}", self.store.prefix, self.key);
        let announced = match self.store.stream.get_last_raw_message_by_subject(&subject).await {
            Ok(msg) => serde_json::from_slice::<Announced>(&msg.payload).map_err(|e| AnnounceError(e.to_string()))?,
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(e) => return Err(AnnounceError(e.to_string())),
        };
        if announced.member == self.member || announced.send_ids.is_empty() {
            return Ok(None);
        }
        let (waiting, _) = watch::channel(announced.send_ids);
        Ok(Some(Inherited { member: announced.member, waiting }))
    }

    /// Writes the set as it is now: on release, after the deliveries drained,
    /// so the next owner waits for none of them.
    pub async fn flush(&self) -> Result<(), AnnounceError> {
        let _turn = self.writer.lock().await;
        self.write().await
    }

    async fn write(&self) -> Result<(), AnnounceError> {
        let (value, covers) = {
            let pending = self.pending();
            (Announced { member: self.member.clone(), send_ids: pending.sends.clone() }, pending.added)
        };
        let body = serde_json::to_vec(&value).map_err(|e| AnnounceError(e.to_string()))?;
        self.store.put(&self.key, body.into()).await.map_err(|e| AnnounceError(e.to_string()))?;
        let mut pending = self.pending();
        pending.written = pending.written.max(covers);
        Ok(())
    }
}

/// The new owner's side: the sends its predecessor announced, until the
/// predecessor is done with them.
pub struct Inherited {
    member: String,
    waiting: watch::Sender<BTreeSet<String>>,
}

impl Inherited {
    pub fn contains(&self, send_id: &str) -> bool {
        self.waiting.borrow().contains(send_id)
    }

    /// Returns once the predecessor no longer delivers `send_id`.
    pub async fn settled(&self, send_id: &str) {
        let mut rx = self.waiting.subscribe();
        let _ = rx.wait_for(|waiting| !waiting.contains(send_id)).await;
    }

    /// Asks the predecessor until it delivers none of the sends, it is
    /// presumed dead, or [`AT_MOST`] has passed.
    pub async fn resolve(&self, nats: &async_nats::Client, partition: u16) {
        let subject = subjects::rpc_dispatcher_calls(&self.member);
        let started = Instant::now();
        let calls = self.waiting.borrow().len();
        tracing::info!(partition, calls, "asking the previous owner about the calls it announced");
        let mut silent_since: Option<Instant> = None;
        loop {
            let send_ids: Vec<String> = self.waiting.borrow().iter().cloned().collect();
            if send_ids.is_empty() {
                tracing::info!(partition, waited_ms = started.elapsed().as_millis() as u64, "previous owner done");
                return;
            }
            let query = serde_json::to_vec(&CallsQuery { send_ids }).unwrap_or_default();
            let asked = tokio::time::timeout(ASK_EVERY, nats.request(subject.clone(), query.into())).await;
            match asked {
                Ok(Ok(msg)) => {
                    silent_since = None;
                    match serde_json::from_slice::<CallsReply>(&msg.payload) {
                        Ok(reply) => {
                            let still: BTreeSet<String> = reply.delivering.into_iter().collect();
                            self.waiting.send_modify(|waiting| waiting.retain(|id| still.contains(id)));
                        }
                        Err(e) => {
                            tracing::warn!(partition, error = %e, "unreadable answer about the previous owner's calls")
                        }
                    }
                }
                // Alive but slow to answer (or the answer was lost): asked again.
                Err(_) => silent_since = None,
                Ok(Err(e)) if e.kind() != RequestErrorKind::NoResponders => silent_since = None,
                // Nobody subscribed: the process is gone, or moving to another node.
                Ok(Err(_)) => {
                    let since = *silent_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= PRESUMED_DEAD {
                        let calls = self.waiting.borrow().len();
                        tracing::warn!(
                            partition,
                            calls,
                            "previous owner presumed dead; its last calls may be repeated"
                        );
                        self.stop_waiting();
                        return;
                    }
                }
            }
            if started.elapsed() >= AT_MOST {
                tracing::warn!(partition, "previous owner still delivering; its last calls may be repeated");
                self.stop_waiting();
                return;
            }
            tokio::time::sleep(ASK_EVERY).await;
        }
    }

    /// Lets every waiting delivery go on.
    pub fn stop_waiting(&self) {
        self.waiting.send_modify(BTreeSet::clear);
    }
}
