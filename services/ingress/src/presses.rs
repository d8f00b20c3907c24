//! The presses of alert buttons not yet acked, per integration, kept in
//! memory from the log for `GET /alerts/actions/poll` (oldest first), with a
//! signal for long polls.
//!
//! It follows the incidents' `card_opened` (which integration and project an
//! incident belongs to, and its external id), `action_pressed` and
//! `actions_acked` from the start of the log; what it keeps is the open
//! presses and one small entry per incident.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use novij_events::incident::{ActionPressed, ActionsAcked, CardOpened};
use novij_events::{subjects, AnyEvent};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::offered::{follow_log, Offered};

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

/// An incident's (project, integration, external id).
type IncidentOf = (String, String, String);

#[derive(Clone)]
pub struct Presses {
    /// By (project, integration).
    open: Offered<(String, String), PressView>,
    incidents: Arc<Mutex<HashMap<String, IncidentOf>>>,
}

impl Presses {
    pub fn start(js: jetstream::Context, shutdown: watch::Receiver<bool>) -> Self {
        let (open, ready) = Offered::new();
        let presses = Self { open, incidents: Arc::default() };
        let filters = vec![
            subjects::all_of::<CardOpened>(),
            subjects::all_of::<ActionPressed>(),
            subjects::all_of::<ActionsAcked>(),
        ];
        let observer = presses.clone();
        follow_log(js, filters, shutdown, ready, "button presses", move |sequence, event| {
            observer.observe(sequence, event)
        });
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
        self.open.poll(&(project_id.to_string(), integration_id.to_string()), wait, |_| true).await
    }

    fn observe(&self, sequence: u64, event: AnyEvent) {
        match event {
            AnyEvent::CardOpened(e) => {
                let e = e.payload;
                if let Ok(mut incidents) = self.incidents.lock() {
                    incidents.insert(e.incident_id, (e.project_id, e.integration_id, e.external_id));
                }
            }
            AnyEvent::ActionPressed(e) => {
                let e = e.payload;
                let incident = self.incidents.lock().ok().and_then(|i| i.get(&e.incident_id).cloned());
                let Some((project, integration, external_id)) = incident else { return };
                let view = PressView {
                    action_id: e.action_id.clone(),
                    alert_id: e.alert_id,
                    external_id,
                    action: e.action,
                    pressed_by: e.pressed_by,
                    pressed_at: e.pressed_at,
                };
                self.open.offer((project, integration), e.action_id, sequence, view);
            }
            AnyEvent::ActionsAcked(e) => e.payload.action_ids.iter().for_each(|id| self.open.take(id)),
            _ => {}
        }
    }
}
