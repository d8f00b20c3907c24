//! Command requests no executor has taken yet, per (project, integration,
//! executor key), kept in memory from the log for `GET /commands/poll`
//! (oldest first), with long polls.
//!
//! It follows the commands' `requested`, `acked`, `replied` and `expired`
//! from the start of the log; what it keeps is the requests still open.

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use chrono::Utc;
use novij_bus::follow::Follower;
use novij_events::commands::{CommandAcked, CommandExpired, CommandReplied, CommandRequested};
use novij_events::{subjects, AnyEvent};
use tokio::sync::watch;

use crate::offered::Offered;

/// (project, integration, executor key).
type Executor = (String, String, String);

#[derive(Clone)]
pub struct PendingCommands {
    open: Offered<Executor, CommandRequested>,
}

impl PendingCommands {
    pub fn start(js: jetstream::Context, shutdown: watch::Receiver<bool>) -> Self {
        let (open, ready) = Offered::new();
        let pending = Self { open };
        let filters = vec![
            subjects::all_of::<CommandRequested>(),
            subjects::all_of::<CommandAcked>(),
            subjects::all_of::<CommandReplied>(),
            subjects::all_of::<CommandExpired>(),
        ];
        let follower = Follower::new(js, filters, DeliverPolicy::All, shutdown);
        tokio::spawn(pending.clone().follow(follower, ready));
        pending
    }

    /// The executor's requests not taken and not past their deadline, oldest
    /// first; waits up to `wait` for one when there are none.
    pub async fn poll(
        &self,
        project_id: &str,
        integration_id: &str,
        executor_key: &str,
        wait: std::time::Duration,
    ) -> Option<Vec<CommandRequested>> {
        let key = (project_id.to_string(), integration_id.to_string(), executor_key.to_string());
        self.open.poll(&key, wait, |r| r.expires_at > Utc::now()).await
    }

    async fn follow(self, follower: Follower, ready: watch::Sender<bool>) {
        follower
            .build(ready, "command requests", |entry| match AnyEvent::from_slice(&entry.message.payload) {
                Ok(event) => self.observe(entry.sequence, event),
                Err(e) => {
                    tracing::error!(sequence = entry.sequence, error = %e, "a command event this release cannot read; skipped")
                }
            })
            .await
    }

    fn observe(&self, sequence: u64, event: AnyEvent) {
        match event {
            AnyEvent::CommandRequested(e) => {
                let r = e.payload;
                let key = (r.project_id.clone(), r.integration_id.clone(), r.executor_key.clone());
                self.open.offer(key, r.command_id.clone(), sequence, r);
            }
            AnyEvent::CommandAcked(e) => self.open.take(&e.payload.command_id),
            AnyEvent::CommandReplied(e) => self.open.take(&e.payload.command_id),
            AnyEvent::CommandExpired(e) => self.open.take(&e.payload.command_id),
            _ => {}
        }
    }
}
