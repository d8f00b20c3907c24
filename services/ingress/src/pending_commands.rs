//! Command requests no executor has taken yet, and presses of the buttons
//! under command replies not yet acked, per (project, integration, executor
//! key), kept in memory from the log for `GET /commands/poll` (oldest
//! first), with long polls.
//!
//! It follows the commands' events from the start of the log; what it keeps
//! is the open requests and presses.

use async_nats::jetstream;
use chrono::Utc;
use novij_events::commands::{
    CommandAcked, CommandExpired, CommandPressed, CommandPressesAcked, CommandReplied, CommandRequested,
};
use novij_events::{subjects, AnyEvent};
use tokio::sync::watch;

use crate::offered::{follow_log, Offered};

/// (project, integration, executor key).
type Executor = (String, String, String);

/// What an executor's poll offers.
#[derive(Debug, Clone)]
pub enum Pending {
    Request(Box<CommandRequested>),
    Press(CommandPressed),
}

#[derive(Clone)]
pub struct PendingCommands {
    open: Offered<Executor, Pending>,
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
            subjects::all_of::<CommandPressed>(),
            subjects::all_of::<CommandPressesAcked>(),
        ];
        let observer = pending.clone();
        follow_log(js, filters, shutdown, ready, "command requests", move |sequence, event| {
            observer.observe(sequence, event)
        });
        pending
    }

    /// The executor's requests not taken and not past their deadline, and
    /// presses not acked, oldest first; waits up to `wait` for one when there
    /// are none.
    pub async fn poll(
        &self,
        project_id: &str,
        integration_id: &str,
        executor_key: &str,
        wait: std::time::Duration,
    ) -> Option<Vec<Pending>> {
        let key = (project_id.to_string(), integration_id.to_string(), executor_key.to_string());
        let live = |p: &Pending| match p {
            Pending::Request(r) => r.expires_at > Utc::now(),
            Pending::Press(_) => true,
        };
        self.open.poll(&key, wait, live).await
    }

    /// An item this process just took (acked, answered) leaves the poll at
    /// once, before the follower delivers the event: the caller's next poll
    /// reads its own write.
    pub fn taken(&self, id: &str) {
        self.open.take(id)
    }

    fn observe(&self, sequence: u64, event: AnyEvent) {
        match event {
            AnyEvent::CommandRequested(e) => {
                let r = e.payload;
                let key = (r.project_id.clone(), r.integration_id.clone(), r.executor_key.clone());
                self.open.offer(key, r.command_id.clone(), sequence, Pending::Request(Box::new(r)));
            }
            AnyEvent::CommandPressed(e) => {
                let p = e.payload;
                let key = (p.project_id.clone(), p.integration_id.clone(), p.executor_key.clone());
                self.open.offer(key, p.press_id.clone(), sequence, Pending::Press(p));
            }
            AnyEvent::CommandPressesAcked(e) => e.payload.press_ids.iter().for_each(|id| self.open.take(id)),
            AnyEvent::CommandAcked(e) => self.open.take(&e.payload.command_id),
            AnyEvent::CommandReplied(e) => self.open.take(&e.payload.command_id),
            AnyEvent::CommandExpired(e) => self.open.take(&e.payload.command_id),
            _ => {}
        }
    }
}
