//! Firing reminders: a timetable of every `send.scheduled` reminder, kept in
//! memory, each queued (`send.queued`) the moment it is due.
//!
//! At start the timetable is loaded from the projections together with their
//! checkpoint (one snapshot), then followed on the log from the checkpoint on,
//! so nothing scheduled before or after the start is missed. Firing is fenced
//! on the scheduled event: a reminder already fired by another instance, or
//! cancelled, is simply dropped.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use chrono::{DateTime, Utc};
use novij_aggregates::send::{decide, Send, SendChange, SendCommand};
use novij_aggregates::Loaded;
use novij_bus::follow::{FollowError, Followed, Follower};
use novij_bus::{AppendError, Expect};
use novij_events::send::SendScheduled;
use novij_events::status::SendStatus;
use novij_events::{decode_slice_as, ids, subjects, Envelope, EventMeta};
use novij_runtime::Runtime;
use sea_orm::{AccessMode, ConnectionTrait, DbBackend, DbErr, IsolationLevel, Statement, TransactionTrait};
use tokio::sync::watch;

/// A reminder waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: DateTime<Utc>,
    send_id: String,
}

#[derive(Default)]
struct Timetable {
    queue: BTreeSet<Due>,
    known: HashMap<String, DateTime<Utc>>,
}

impl Timetable {
    fn add(&mut self, due: Due) {
        if self.known.insert(due.send_id.clone(), due.at).is_none() {
            self.queue.insert(due);
        }
    }

    fn next_at(&self) -> Option<DateTime<Utc>> {
        self.queue.first().map(|d| d.at)
    }

    fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        let mut due = Vec::new();
        while self.queue.first().is_some_and(|d| d.at <= now) {
            if let Some(d) = self.queue.pop_first() {
                self.known.remove(&d.send_id);
                due.push(d);
            }
        }
        due
    }
}

/// How long to wait before loading the reminders again after Postgres failed.
const PAUSE: Duration = Duration::from_secs(1);

pub async fn run(rt: Runtime, mut shutdown: watch::Receiver<bool>) {
    let (mut table, checkpoint) = loop {
        match snapshot(&rt).await {
            Ok(loaded) => break loaded,
            Err(e) => tracing::warn!(error = %e, "cannot load the reminders; retrying"),
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(PAUSE) => {}
        }
    };
    tracing::info!(waiting = table.queue.len(), "scheduler started");
    let from = DeliverPolicy::ByStartSequence { start_sequence: checkpoint + 1 };
    let scheduled = vec![subjects::all_of::<SendScheduled>()];
    let mut log = Follower::new(rt.jetstream.clone(), scheduled, from, shutdown.clone());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(until_next(&table)) => fire_due(&rt, &mut table),
            followed = log.next() => match followed {
                Some(Followed::Message(entry)) => {
                    let sequence = entry.sequence;
                    match decode_slice_as::<SendScheduled>(&entry.message.payload) {
                        Ok(env) => table.add(Due { at: env.payload.send_at, send_id: env.payload.send_id }),
                        // Skipping a newer release's reminder would lose it:
                        // stop taking new ones; the due ones still fire.
                        Err(e) if e.written_by_newer_release() => {
                            tracing::error!(sequence, error = %e, "STOPPED following reminders: an event this release cannot read");
                            return fire_until_shutdown(rt, table, shutdown).await;
                        }
                        Err(e) => tracing::error!(sequence, error = %e, "malformed send.scheduled; skipped"),
                    }
                }
                Some(Followed::Lost(FollowError::Subscribe(e))) => {
                    tracing::warn!(error = %e, "cannot follow the log; retrying")
                }
                Some(Followed::Lost(FollowError::Interrupted(e))) => {
                    tracing::warn!(error = %e, "following the log failed; resuming")
                }
                Some(Followed::Subscribed { .. } | Followed::Lost(FollowError::Ended)) => {}
                None => return,
            },
        }
    }
}

fn until_next(table: &Timetable) -> Duration {
    table.next_at().map(|at| (at - Utc::now()).to_std().unwrap_or_default()).unwrap_or(Duration::from_secs(3600))
}

fn fire_due(rt: &Runtime, table: &mut Timetable) {
    for due in table.take_due(Utc::now()) {
        tokio::spawn(fire(rt.clone(), due));
    }
}

/// Fires the reminders already in the table and takes no new ones.
async fn fire_until_shutdown(rt: Runtime, mut table: Timetable, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(until_next(&table)) => fire_due(&rt, &mut table),
        }
    }
}

/// The reminders waiting in the projections and the log position they include.
async fn snapshot(rt: &Runtime) -> Result<(Timetable, u64), DbErr> {
    let txn = rt.db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?;
    let checkpoint = novij_projections::queries::checkpoint(&txn).await?;
    let rows = txn
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT send_id, send_at FROM sends WHERE status = $1 AND send_at IS NOT NULL",
            [SendStatus::Scheduled.as_str().into()],
        ))
        .await?;
    txn.commit().await?;
    let mut table = Timetable::default();
    for row in rows {
        table.add(Due { at: row.try_get("", "send_at")?, send_id: row.try_get("", "send_id")? });
    }
    Ok((table, checkpoint))
}

/// Queues one due reminder, unless it was fired or cancelled already.
async fn fire(rt: Runtime, due: Due) {
    for attempt in 1..=20u32 {
        match fire_once(&rt, &due).await {
            Ok(fired) => {
                if fired {
                    let late_ms = (Utc::now() - due.at).num_milliseconds();
                    tracing::info!(send_id = %due.send_id, late_ms, "reminder fired");
                }
                return;
            }
            Err(e) => {
                tracing::warn!(send_id = %due.send_id, attempt, error = %e, "cannot fire the reminder yet");
                tokio::time::sleep(Duration::from_millis(200) * attempt).await;
            }
        }
    }
    tracing::error!(send_id = %due.send_id, "reminder not fired by this instance; another instance or a restart will");
}

async fn fire_once(rt: &Runtime, due: &Due) -> Result<bool, String> {
    let Loaded { state: send, version } = rt.log.load::<Send>(&due.send_id).await.map_err(|e| e.to_string())?;
    let (Ok(Some(SendChange::Queued(queued))), Some(scheduled)) = (decide(&send, SendCommand::Fire), &send.scheduled)
    else {
        return Ok(false);
    };
    // Every instance derives the same event id, so even the server's
    // duplicate window sees one event.
    let env = Envelope::new(queued, EventMeta::caused_by(scheduled))
        .with_event_id(ids::caused_event_id(&scheduled.event_id.to_string(), "queued"));
    match rt.log.append(&env, Expect::LastSequence(version)).await {
        Ok(_) => Ok(true),
        Err(AppendError::Conflict) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(secs: i64, id: &str) -> Due {
        Due { at: DateTime::from_timestamp(secs, 0).unwrap(), send_id: id.into() }
    }

    #[test]
    fn the_timetable_hands_out_due_reminders_in_order_once() {
        let mut t = Timetable::default();
        t.add(due(30, "c"));
        t.add(due(10, "a"));
        t.add(due(20, "b"));
        t.add(due(10, "a"));
        assert_eq!(t.next_at(), DateTime::from_timestamp(10, 0));
        let ids: Vec<String> =
            t.take_due(DateTime::from_timestamp(20, 0).unwrap()).into_iter().map(|d| d.send_id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(t.take_due(DateTime::from_timestamp(20, 0).unwrap()).is_empty());
        assert_eq!(t.next_at(), DateTime::from_timestamp(30, 0));
    }
}
