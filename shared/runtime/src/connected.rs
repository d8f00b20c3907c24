//! The connected (active) recipients, by chat and by integration, kept in
//! memory from the log: what connect decides an incoming update on (`/stop`,
//! a command, a message, a press, the bot cut off) and what a broadcast to
//! everyone connected is fixed from, with no Postgres round trip.
//!
//! It follows the recipient events and integration deletions from the log's
//! start; until it has read the log up to where it was at start, lookups
//! wait. A writer awaits its own change by sequence
//! ([`ConnectedRecipients::wait_for`]), so its next decision sees it. Memory:
//! one small entry per active recipient.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::Runtime;
use async_nats::jetstream::consumer::DeliverPolicy;
use novij_bus::follow::Follower;
use novij_events::integration::IntegrationDeleted;
use novij_events::{subjects, AnyEvent};
use tokio::sync::watch;

/// An active recipient of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub recipient_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub public_user_ref: String,
}

#[derive(Default)]
struct Directory {
    /// Recipient id → its chat hash and who it is.
    entries: HashMap<String, (String, Connected)>,
    /// Chat hash → its active recipients' ids, in the order they connected.
    by_chat: HashMap<String, Vec<String>>,
    /// Integration id → its active recipients' ids.
    by_integration: HashMap<String, BTreeSet<String>>,
}

impl Directory {
    fn remove(&mut self, recipient_id: &str) -> Option<Connected> {
        let (chat, connected) = self.entries.remove(recipient_id)?;
        if let Some(list) = self.by_chat.get_mut(&chat) {
            list.retain(|id| id != recipient_id);
            if list.is_empty() {
                self.by_chat.remove(&chat);
            }
        }
        if let Some(set) = self.by_integration.get_mut(&connected.integration_id) {
            set.remove(recipient_id);
            if set.is_empty() {
                self.by_integration.remove(&connected.integration_id);
            }
        }
        Some(connected)
    }

    fn insert(&mut self, chat_hash: String, connected: Connected) {
        self.remove(&connected.recipient_id);
        let id = connected.recipient_id.clone();
        self.by_chat.entry(chat_hash.clone()).or_default().push(id.clone());
        self.by_integration.entry(connected.integration_id.clone()).or_default().insert(id.clone());
        self.entries.insert(id, (chat_hash, connected));
    }

    fn of_chat(&self, chat_hash: &str) -> Vec<Connected> {
        let ids = self.by_chat.get(chat_hash).into_iter().flatten();
        ids.filter_map(|id| self.entries.get(id)).map(|(_, c)| c.clone()).collect()
    }

    fn apply(&mut self, event: &AnyEvent) {
        match event {
            AnyEvent::RecipientBound(e) => {
                let p = &e.payload;
                let connected = Connected {
                    recipient_id: p.recipient_id.clone(),
                    integration_id: p.integration_id.clone(),
                    project_id: p.project_id.clone(),
                    public_user_ref: p.public_user_ref.clone(),
                };
                self.insert(p.chat_hash.clone(), connected);
            }
            AnyEvent::RecipientDisabled(e) => drop(self.remove(&e.payload.recipient_id)),
            AnyEvent::RecipientUnreachable(e) => drop(self.remove(&e.payload.recipient_id)),
            AnyEvent::RecipientUnlinked(e) => drop(self.remove(&e.payload.recipient_id)),
            AnyEvent::RecipientChatMigrated(e) => {
                if let Some(connected) = self.remove(&e.payload.recipient_id) {
                    self.insert(e.payload.chat_hash.clone(), connected);
                }
            }
            AnyEvent::IntegrationDeleted(e) => {
                let gone = self.by_integration.get(&e.payload.integration_id).cloned().unwrap_or_default();
                for recipient_id in gone {
                    self.remove(&recipient_id);
                }
            }
            _ => {}
        }
    }
}

#[derive(Clone)]
pub struct ConnectedRecipients {
    directory: Arc<Mutex<Directory>>,
    ready: watch::Receiver<bool>,
    /// The last log sequence applied.
    seen: Arc<watch::Sender<u64>>,
}

/// How long a lookup waits for the log to be read at start, and a writer
/// for its own write to arrive, before it goes on with what it has.
const CATCH_UP: Duration = Duration::from_secs(10);

impl ConnectedRecipients {
    /// Starts following the log.
    pub fn start(rt: &Runtime, shutdown: watch::Receiver<bool>) -> ConnectedRecipients {
        let (ready_tx, ready) = watch::channel(false);
        let chats = ConnectedRecipients { directory: Default::default(), ready, seen: Arc::new(watch::channel(0).0) };
        let filters = vec![subjects::aggregate_type("recipient"), subjects::all_of::<IntegrationDeleted>()];
        let follower = Follower::new(rt.jetstream.clone(), filters, DeliverPolicy::All, shutdown);
        let building = chats.clone();
        tokio::spawn(async move {
            follower
                .build(ready_tx, "the connected recipients", |entry| {
                    match AnyEvent::from_slice(&entry.message.payload) {
                        Ok(event) => building.lock().apply(&event),
                        Err(e) => tracing::error!(sequence = entry.sequence, error = %e, "an event this release cannot read; skipped"),
                    }
                    building.seen.send_replace(entry.sequence);
                })
                .await
        });
        chats
    }

    /// The chat's active recipients.
    pub async fn in_chat(&self, chat_hash: &str) -> Result<Vec<Connected>, NotReady> {
        self.ready().await?;
        Ok(self.lock().of_chat(chat_hash))
    }

    /// The integration's active recipients, by recipient id.
    pub async fn of_integration(&self, integration_id: &str) -> Result<Vec<Connected>, NotReady> {
        self.ready().await?;
        let directory = self.lock();
        let ids = directory.by_integration.get(integration_id).into_iter().flatten();
        Ok(ids.filter_map(|id| directory.entries.get(id)).map(|(_, c)| c.clone()).collect())
    }

    /// The recipient, if it is active.
    pub async fn get(&self, recipient_id: &str) -> Result<Option<Connected>, NotReady> {
        self.ready().await?;
        Ok(self.lock().entries.get(recipient_id).map(|(_, c)| c.clone()))
    }

    async fn ready(&self) -> Result<(), NotReady> {
        let mut ready = self.ready.clone();
        tokio::time::timeout(CATCH_UP, ready.wait_for(|r| *r)).await.map_err(|_| NotReady)?.map_err(|_| NotReady)?;
        Ok(())
    }

    /// Waits (briefly) until the event appended at `sequence` is applied.
    pub async fn wait_for(&self, sequence: u64) {
        let mut seen = self.seen.subscribe();
        let _ = tokio::time::timeout(CATCH_UP, seen.wait_for(|s| *s >= sequence)).await;
    }

    fn lock(&self) -> MutexGuard<'_, Directory> {
        // Every change is a few inserts and removals that cannot panic halfway.
        self.directory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The log could not be read up to where it was at start in time.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the connected recipients are still being read from the log")]
pub struct NotReady;

#[cfg(test)]
mod tests {
    use super::*;
    use novij_crypto::Sealed;
    use novij_events::recipient::{
        ChatKind, DisableReason, RecipientBound, RecipientChatMigrated, RecipientDisabled, RecipientUnlinked,
    };
    use novij_events::{Envelope, EventMeta};

    fn env<E: novij_events::Event>(e: E) -> AnyEvent {
        let bytes = serde_json::to_vec(&Envelope::new(e, EventMeta::new("t"))).expect("encode");
        AnyEvent::from_slice(&bytes).expect("decode")
    }

    fn sealed() -> Sealed {
        Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: "c".into() }
    }

    fn bound(recipient: &str, integration: &str, chat: &str) -> AnyEvent {
        env(RecipientBound {
            recipient_id: recipient.into(),
            integration_id: integration.into(),
            project_id: "p".into(),
            public_user_ref: format!("ref:{recipient}"),
            chat: sealed(),
            chat_hash: chat.into(),
            chat_kind: ChatKind::Private,
        })
    }

    fn ids(d: &Directory, chat: &str) -> Vec<String> {
        d.of_chat(chat).into_iter().map(|c| c.recipient_id).collect()
    }

    #[test]
    fn a_chat_holds_its_active_recipients_as_the_log_changes_them() {
        let mut d = Directory::default();
        d.apply(&bound("r1", "i1", "c1"));
        d.apply(&bound("r2", "i2", "c1"));
        d.apply(&bound("r3", "i2", "c2"));
        assert_eq!(ids(&d, "c1"), ["r1", "r2"]);

        let disabled = RecipientDisabled {
            recipient_id: "r1".into(),
            integration_id: "i1".into(),
            reason: DisableReason::UserStopped,
        };
        d.apply(&env(disabled));
        assert_eq!(ids(&d, "c1"), ["r2"]);
        d.apply(&bound("r1", "i1", "c1"));
        assert_eq!(ids(&d, "c1"), ["r2", "r1"], "connected again");

        let migrated = RecipientChatMigrated {
            recipient_id: "r2".into(),
            integration_id: "i2".into(),
            chat: sealed(),
            chat_hash: "c9".into(),
        };
        d.apply(&env(migrated));
        assert_eq!((ids(&d, "c1"), ids(&d, "c9")), (vec!["r1".to_string()], vec!["r2".to_string()]));

        d.apply(&env(RecipientUnlinked { recipient_id: "r1".into(), integration_id: "i1".into() }));
        assert!(ids(&d, "c1").is_empty() && !d.by_chat.contains_key("c1"));

        assert_eq!(d.by_integration.get("i2").map(BTreeSet::len), Some(2));
        d.apply(&env(IntegrationDeleted { integration_id: "i2".into(), bot_key: "i2".into() }));
        assert!(d.by_chat.is_empty() && d.entries.is_empty(), "an integration's recipients go with it");
        assert!(d.by_integration.is_empty());
    }
}
