//! Which connected recipients each chat has, kept in memory from the log:
//! what an incoming update is decided on (`/stop`, a command, a message, a
//! press, the bot cut off), with no Postgres round trip.
//!
//! It follows the recipient events and integration deletions from the log's
//! start; until it has read the log up to where it was at start, lookups
//! wait. A recipient connect itself changes is awaited by sequence
//! ([`Chats::wait_for`]), so the next update of the chat sees it. Memory: one
//! small entry per active recipient.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use novij_bus::follow::Follower;
use novij_events::integration::IntegrationDeleted;
use novij_events::{subjects, AnyEvent};
use novij_runtime::Runtime;
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
    /// Chat hash → its active recipients.
    by_chat: HashMap<String, Vec<Connected>>,
    /// Recipient id → its chat hash.
    chat_of: HashMap<String, String>,
}

impl Directory {
    fn remove(&mut self, recipient_id: &str) -> Option<Connected> {
        let chat = self.chat_of.remove(recipient_id)?;
        let list = self.by_chat.get_mut(&chat)?;
        let at = list.iter().position(|c| c.recipient_id == recipient_id)?;
        let gone = list.remove(at);
        if list.is_empty() {
            self.by_chat.remove(&chat);
        }
        Some(gone)
    }

    fn insert(&mut self, chat_hash: String, connected: Connected) {
        self.remove(&connected.recipient_id);
        self.chat_of.insert(connected.recipient_id.clone(), chat_hash.clone());
        self.by_chat.entry(chat_hash).or_default().push(connected);
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
                let gone: Vec<String> = self
                    .by_chat
                    .values()
                    .flatten()
                    .filter(|c| c.integration_id == e.payload.integration_id)
                    .map(|c| c.recipient_id.clone())
                    .collect();
                for recipient_id in gone {
                    self.remove(&recipient_id);
                }
            }
            _ => {}
        }
    }
}

#[derive(Clone)]
pub struct Chats {
    directory: Arc<Mutex<Directory>>,
    ready: watch::Receiver<bool>,
    /// The last log sequence applied.
    seen: Arc<watch::Sender<u64>>,
}

/// How long a lookup waits for the log to be read at start, and a writer
/// for its own write to arrive, before it goes on with what it has.
const CATCH_UP: Duration = Duration::from_secs(10);

impl Chats {
    /// Starts following the log.
    pub fn start(rt: &Runtime, shutdown: watch::Receiver<bool>) -> Chats {
        let (ready_tx, ready) = watch::channel(false);
        let chats = Chats { directory: Default::default(), ready, seen: Arc::new(watch::channel(0).0) };
        let filters = vec![subjects::aggregate_type("recipient"), subjects::all_of::<IntegrationDeleted>()];
        let follower = Follower::new(rt.jetstream.clone(), filters, DeliverPolicy::All, shutdown);
        let building = chats.clone();
        tokio::spawn(async move {
            follower
                .build(ready_tx, "the chats' recipients", |entry| {
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
    pub async fn active(&self, chat_hash: &str) -> Result<Vec<Connected>, NotReady> {
        let mut ready = self.ready.clone();
        tokio::time::timeout(CATCH_UP, ready.wait_for(|r| *r)).await.map_err(|_| NotReady)?.map_err(|_| NotReady)?;
        Ok(self.lock().by_chat.get(chat_hash).cloned().unwrap_or_default())
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
#[error("the chats' recipients are still being read from the log")]
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
        Sealed { kid: "k".into(), nonce: "n".into(), ct: "c".into() }
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
        d.by_chat.get(chat).into_iter().flatten().map(|c| c.recipient_id.clone()).collect()
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

        d.apply(&env(IntegrationDeleted { integration_id: "i2".into(), bot_key: "i2".into() }));
        assert!(d.by_chat.is_empty() && d.chat_of.is_empty(), "an integration's recipients go with it");
    }
}
