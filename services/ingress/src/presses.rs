//! The presses of alert buttons not yet acked, per integration, kept in
//! memory from the log for `GET /alerts/actions/poll` (oldest first), with a
//! signal for long polls.
//!
//! It follows the incidents' `card_opened` (which integration and project an
//! incident belongs to, and its external id), `action_pressed` and
//! `actions_acked` from the start of the log; what it keeps is the open
//! presses and one small entry per incident.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use chrono::{DateTime, Utc};
use novij_bus::follow::Follower;
use novij_events::incident::{ActionPressed, ActionsAcked, CardOpened};
use novij_events::{subjects, AnyEvent};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

/// A press as the project polls it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PressView {
    /// What to ack.
    pub action_id: String,
    pub alert_id: String,
    pub external_id: String,
    /// The action's `id` from the upsert.
    pub action: String,
    /// The presser's `public_user_ref` when they are a connected recipient of
    /// the card, else an opaque id (`tg_…`).
    pub pressed_by: String,
    pub pressed_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Presses {
    inner: Arc<Mutex<Inner>>,
    /// Moves on with every change, for long polls.
    changed: Arc<watch::Sender<u64>>,
    ready: watch::Receiver<bool>,
}

#[derive(Default)]
struct Inner {
    /// Incident → (project, integration, external id).
    incidents: HashMap<String, (String, String, String)>,
    /// (project, integration) → open presses by log sequence.
    open: HashMap<(String, String), BTreeMap<u64, PressView>>,
    /// Action id → where its press is in `open`.
    index: HashMap<String, ((String, String), u64)>,
}

impl Presses {
    pub fn start(js: jetstream::Context, shutdown: watch::Receiver<bool>) -> Self {
        let (ready_tx, ready) = watch::channel(false);
        let presses = Self { inner: Arc::default(), changed: Arc::new(watch::channel(0).0), ready };
        let filters = vec![
            subjects::all_of::<CardOpened>(),
            subjects::all_of::<ActionPressed>(),
            subjects::all_of::<ActionsAcked>(),
        ];
        let follower = Follower::new(js, filters, DeliverPolicy::All, shutdown);
        tokio::spawn(presses.clone().follow(follower, ready_tx));
        presses
    }

    /// The open presses of an integration, oldest first; waits up to `wait`
    /// for one when there are none (and for the log to be read at start).
    pub async fn poll(
        &self,
        project_id: &str,
        integration_id: &str,
        wait: std::time::Duration,
    ) -> Option<Vec<PressView>> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut ready = self.ready.clone();
        if tokio::time::timeout_at(deadline, ready.wait_for(|r| *r)).await.is_err() {
            return None;
        }
        let mut changed = self.changed.subscribe();
        loop {
            let open = self.open(project_id, integration_id);
            if !open.is_empty() {
                return Some(open);
            }
            if tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                return Some(open);
            }
        }
    }

    fn open(&self, project_id: &str, integration_id: &str) -> Vec<PressView> {
        let key = (project_id.to_string(), integration_id.to_string());
        self.lock().open.get(&key).map(|open| open.values().cloned().collect()).unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is a few inserts or removals that cannot panic halfway.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn follow(self, follower: Follower, ready: watch::Sender<bool>) {
        follower
            .build(ready, "button presses", |entry| match AnyEvent::from_slice(&entry.message.payload) {
                Ok(event) => self.observe(entry.sequence, event),
                Err(e) => {
                    tracing::error!(sequence = entry.sequence, error = %e, "an incident event this release cannot read; skipped")
                }
            })
            .await
    }

    fn observe(&self, sequence: u64, event: AnyEvent) {
        let mut inner = self.lock();
        match event {
            AnyEvent::CardOpened(e) => {
                let e = e.payload;
                inner.incidents.insert(e.incident_id, (e.project_id, e.integration_id, e.external_id));
            }
            AnyEvent::ActionPressed(e) => {
                let e = e.payload;
                let Some((project, integration, external_id)) = inner.incidents.get(&e.incident_id).cloned() else {
                    return;
                };
                let key = (project, integration);
                inner.index.insert(e.action_id.clone(), (key.clone(), sequence));
                let view = PressView {
                    action_id: e.action_id,
                    alert_id: e.alert_id,
                    external_id,
                    action: e.action,
                    pressed_by: e.pressed_by,
                    pressed_at: e.pressed_at,
                };
                inner.open.entry(key).or_default().insert(sequence, view);
            }
            AnyEvent::ActionsAcked(e) => {
                for action_id in &e.payload.action_ids {
                    if let Some((key, at)) = inner.index.remove(action_id) {
                        if let Some(open) = inner.open.get_mut(&key) {
                            open.remove(&at);
                        }
                    }
                }
            }
            _ => return,
        }
        drop(inner);
        self.changed.send_modify(|n| *n += 1);
    }
}
