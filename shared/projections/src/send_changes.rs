//! The send rows and history lines a batch of events makes, coalesced so a
//! batch costs a few statements however many sends it touches: one insert
//! of the new sends (in their state at the batch's end), one update of the
//! others, one insert of the history lines.
//!
//! Sends are most of the log, so this is what lets the projections keep up.
//! Merging is the same as applying the events one by one: a later status
//! replaces an earlier one, a value an event sets replaces the one before.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use novij_events::send::{Clearance, FailureReason};
use novij_events::status::SendStatus;
use novij_events::{AnyEvent, Envelope};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait, Statement, Value};
use serde_json::json;

use crate::model::{send, send_history};

/// Rows per statement, well below Postgres' 65,535 parameters.
const ROWS_PER_STATEMENT: usize = 1_000;

/// What the events of a batch change on one send that existed before it.
#[derive(Debug, Clone, PartialEq)]
struct Patch {
    status: SendStatus,
    updated_at: DateTime<Utc>,
    payment_tx: Option<String>,
    telegram_message_id: Option<i64>,
    attempts: Option<i32>,
    /// `Some`: the failure columns are set (the detail may be empty).
    failure: Option<(String, Option<String>)>,
}

impl Patch {
    fn then(self, later: Patch) -> Patch {
        Patch {
            status: later.status,
            updated_at: later.updated_at,
            payment_tx: later.payment_tx.or(self.payment_tx),
            telegram_message_id: later.telegram_message_id.or(self.telegram_message_id),
            attempts: later.attempts.or(self.attempts),
            failure: later.failure.or(self.failure),
        }
    }

    fn apply_to(self, row: &mut send::Model) {
        row.status = self.status.to_string();
        row.updated_at = self.updated_at;
        if let Some(tx) = self.payment_tx {
            row.payment_tx = Some(tx);
        }
        if let Some(id) = self.telegram_message_id {
            row.telegram_message_id = Some(id);
        }
        if let Some(attempts) = self.attempts {
            row.attempts = attempts;
        }
        if let Some((reason, detail)) = self.failure {
            row.failure_reason = Some(reason);
            row.failure_detail = detail;
        }
    }
}

fn paid_by(clearance: &Clearance) -> Option<String> {
    match clearance {
        Clearance::Paid { tx_hash, .. } => Some(tx_hash.clone()),
        _ => None,
    }
}

fn label<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The send changes of one batch, in the order they were first touched.
#[derive(Default)]
pub(crate) struct SendChanges {
    new: Vec<send::Model>,
    new_index: HashMap<String, usize>,
    patches: Vec<(String, Patch)>,
    patch_index: HashMap<String, usize>,
    history: Vec<send_history::Model>,
}

impl SendChanges {
    /// Takes a send event; false when `event` is not one.
    pub(crate) fn take(&mut self, sequence: u64, event: &AnyEvent) -> bool {
        let (send_id, patch, detail) = match event {
            AnyEvent::SendAccepted(e) => {
                self.accepted(sequence, e);
                return true;
            }
            AnyEvent::SendScheduled(e) => {
                let p = &e.payload;
                let detail = json!({ "send_at": p.send_at, "clearance": p.clearance });
                (&p.send_id, self.patch(e, SendStatus::Scheduled, paid_by(&p.clearance)), Some(detail))
            }
            AnyEvent::SendCancelled(e) => {
                let p = &e.payload;
                let detail = p.reason.map(|reason| json!({ "reason": reason }));
                (&p.send_id, self.patch(e, SendStatus::Cancelled, None), detail)
            }
            AnyEvent::SendQueued(e) => {
                let p = &e.payload;
                let detail = json!({ "clearance": p.clearance });
                (&p.send_id, self.patch(e, SendStatus::Queued, paid_by(&p.clearance)), Some(detail))
            }
            AnyEvent::MessageSent(e) => {
                let p = &e.payload;
                let patch = Patch {
                    telegram_message_id: Some(p.telegram_message_id),
                    attempts: Some(p.attempts as i32),
                    ..self.patch(e, SendStatus::Sent, None)
                };
                (&p.send_id, patch, Some(json!({ "telegram_message_id": p.telegram_message_id })))
            }
            AnyEvent::SendFailed(e) => {
                let p = &e.payload;
                let patch = self.failure(e, SendStatus::Failed, p.reason, &p.detail, p.attempts);
                (&p.send_id, patch, Some(json!({ "reason": p.reason, "detail": p.detail })))
            }
            AnyEvent::SendDeadLettered(e) => {
                let p = &e.payload;
                let patch = self.failure(e, SendStatus::DeadLettered, p.reason, &p.detail, p.attempts);
                let detail = json!({ "reason": p.reason, "detail": p.detail, "attempts": p.attempts });
                (&p.send_id, patch, Some(detail))
            }
            _ => return false,
        };
        self.history.push(send_history::Model {
            send_id: send_id.clone(),
            sequence: sequence as i64,
            status: patch.status.to_string(),
            at: patch.updated_at,
            detail,
        });
        self.change(send_id, patch);
        true
    }

    fn patch<P>(&self, env: &Envelope<P>, status: SendStatus, payment_tx: Option<String>) -> Patch {
        Patch {
            status,
            updated_at: env.occurred_at,
            payment_tx,
            telegram_message_id: None,
            attempts: None,
            failure: None,
        }
    }

    fn failure<P>(
        &self,
        env: &Envelope<P>,
        status: SendStatus,
        reason: FailureReason,
        detail: &str,
        attempts: u32,
    ) -> Patch {
        Patch {
            attempts: Some(attempts as i32),
            failure: Some((reason.as_str().to_string(), Some(detail.to_string()))),
            ..self.patch(env, status, None)
        }
    }

    fn accepted(&mut self, sequence: u64, e: &Envelope<novij_events::send::SendAccepted>) {
        let p = &e.payload;
        self.history.push(send_history::Model {
            send_id: p.send_id.clone(),
            sequence: sequence as i64,
            status: SendStatus::Accepted.to_string(),
            at: e.occurred_at,
            detail: None,
        });
        // A send's first event is its acceptance; a second one is a replay
        // over an existing row, which the insert leaves as it is.
        if self.new_index.contains_key(&p.send_id) || self.patch_index.contains_key(&p.send_id) {
            return;
        }
        self.new_index.insert(p.send_id.clone(), self.new.len());
        self.new.push(send::Model {
            send_id: p.send_id.clone(),
            project_id: p.project_id.clone(),
            integration_id: p.integration_id.clone(),
            recipient_id: p.recipient_id.clone(),
            template: p.template.clone(),
            payment_mode: label(&p.payment_mode),
            origin: label(&p.origin),
            status: SendStatus::Accepted.to_string(),
            telegram_message_id: None,
            failure_reason: None,
            failure_detail: None,
            attempts: 0,
            accepted_at: e.occurred_at,
            updated_at: e.occurred_at,
            send_at: p.send_at,
            payment_tx: None,
            broadcast_id: p.broadcast_id.clone(),
        });
    }

    fn change(&mut self, send_id: &str, patch: Patch) {
        if let Some(&i) = self.new_index.get(send_id) {
            patch.apply_to(&mut self.new[i]);
        } else if let Some(&i) = self.patch_index.get(send_id) {
            let earlier = self.patches[i].1.clone();
            self.patches[i].1 = earlier.then(patch);
        } else {
            self.patch_index.insert(send_id.to_string(), self.patches.len());
            self.patches.push((send_id.to_string(), patch));
        }
    }

    /// Writes the batch's changes.
    pub(crate) async fn write<C: ConnectionTrait>(self, txn: &C) -> Result<(), DbErr> {
        for rows in self.new.chunks(ROWS_PER_STATEMENT) {
            let rows = rows.iter().cloned().map(|m| send::ActiveModel {
                send_id: Set(m.send_id),
                project_id: Set(m.project_id),
                integration_id: Set(m.integration_id),
                recipient_id: Set(m.recipient_id),
                template: Set(m.template),
                payment_mode: Set(m.payment_mode),
                origin: Set(m.origin),
                status: Set(m.status),
                telegram_message_id: Set(m.telegram_message_id),
                failure_reason: Set(m.failure_reason),
                failure_detail: Set(m.failure_detail),
                attempts: Set(m.attempts),
                accepted_at: Set(m.accepted_at),
                updated_at: Set(m.updated_at),
                send_at: Set(m.send_at),
                payment_tx: Set(m.payment_tx),
                broadcast_id: Set(m.broadcast_id),
            });
            send::Entity::insert_many(rows)
                .on_conflict(OnConflict::column(send::Column::SendId).do_nothing().to_owned())
                .do_nothing()
                .exec(txn)
                .await?;
        }
        for patches in self.patches.chunks(ROWS_PER_STATEMENT) {
            update_sends(txn, patches).await?;
        }
        for lines in self.history.chunks(ROWS_PER_STATEMENT) {
            let lines = lines.iter().cloned().map(|h| send_history::ActiveModel {
                send_id: Set(h.send_id),
                sequence: Set(h.sequence),
                status: Set(h.status),
                at: Set(h.at),
                detail: Set(h.detail),
            });
            send_history::Entity::insert_many(lines)
                .on_conflict(
                    OnConflict::columns([send_history::Column::SendId, send_history::Column::Sequence])
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(txn)
                .await?;
        }
        Ok(())
    }
}

/// One `UPDATE … FROM (VALUES …)` for sends that existed before the batch.
async fn update_sends<C: ConnectionTrait>(txn: &C, patches: &[(String, Patch)]) -> Result<(), DbErr> {
    const COLUMNS: usize = 9;
    let mut values: Vec<Value> = Vec::with_capacity(patches.len() * COLUMNS);
    let mut rows = Vec::with_capacity(patches.len());
    for (i, (send_id, p)) in patches.iter().enumerate() {
        let n = i * COLUMNS;
        rows.push(format!(
            "(${}::text, ${}::text, ${}::timestamptz, ${}::text, ${}::bigint, ${}::int, ${}::bool, ${}::text, ${}::text)",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8,
            n + 9
        ));
        let (set_failure, reason, detail) = match &p.failure {
            Some((reason, detail)) => (true, Some(reason.clone()), detail.clone()),
            None => (false, None, None),
        };
        values.extend([
            send_id.clone().into(),
            p.status.as_str().into(),
            p.updated_at.into(),
            p.payment_tx.clone().into(),
            p.telegram_message_id.into(),
            p.attempts.into(),
            set_failure.into(),
            reason.into(),
            detail.into(),
        ]);
    }
    let sql = format!(
        "UPDATE sends AS s SET \
           status = v.status, updated_at = v.updated_at, \
           payment_tx = COALESCE(v.payment_tx, s.payment_tx), \
           telegram_message_id = COALESCE(v.telegram_message_id, s.telegram_message_id), \
           attempts = COALESCE(v.attempts, s.attempts), \
           failure_reason = CASE WHEN v.set_failure THEN v.failure_reason ELSE s.failure_reason END, \
           failure_detail = CASE WHEN v.set_failure THEN v.failure_detail ELSE s.failure_detail END \
         FROM (VALUES {}) AS v(send_id, status, updated_at, payment_tx, telegram_message_id, attempts, \
                               set_failure, failure_reason, failure_detail) \
         WHERE s.send_id = v.send_id",
        rows.join(", ")
    );
    txn.execute(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use novij_events::money::Amount;
    use novij_events::send::{MessageSent, Priority, SendAccepted, SendFailed, SendQueued};
    use novij_events::EventMeta;

    use super::*;

    fn env<P: novij_events::Event>(payload: P) -> Envelope<P> {
        Envelope::new(payload, EventMeta::new("c"))
    }

    fn accepted(id: &str) -> AnyEvent {
        AnyEvent::SendAccepted(env(SendAccepted {
            uploads: Vec::new(),
            send_id: id.into(),
            project_id: Some("p".into()),
            integration_id: Some("i".into()),
            bot_key: "b".into(),
            recipient_id: Some("r".into()),
            template: "text_message".into(),
            payment_mode: novij_events::integration::PaymentMode::None,
            request_hash: String::new(),
            origin: novij_events::send::SendOrigin::Api,
            priority: Priority::default(),
            locale: None,
            message: novij_crypto::Sealed { ad: None, kid: "k".into(), nonce: String::new(), ct: String::new() },
            payment: None,
            send_at: None,
            broadcast_id: None,
        }))
    }

    fn queued(id: &str) -> AnyEvent {
        AnyEvent::SendQueued(env(SendQueued {
            send_id: id.into(),
            bot_key: "b".into(),
            clearance: Clearance::NoPaymentRequired,
            priority: Priority::default(),
        }))
    }

    fn sent(id: &str, message_id: i64) -> AnyEvent {
        AnyEvent::MessageSent(env(MessageSent { send_id: id.into(), telegram_message_id: message_id, attempts: 2 }))
    }

    fn failed(id: &str) -> AnyEvent {
        AnyEvent::SendFailed(env(SendFailed {
            send_id: id.into(),
            reason: FailureReason::RecipientBlocked,
            detail: "blocked".into(),
            attempts: 1,
        }))
    }

    fn given(events: &[AnyEvent]) -> SendChanges {
        let mut changes = SendChanges::default();
        for (i, e) in events.iter().enumerate() {
            assert!(changes.take(i as u64 + 1, e));
        }
        changes
    }

    #[test]
    fn a_send_accepted_in_the_batch_is_inserted_as_it_stands_at_the_batchs_end() {
        let changes = given(&[accepted("s1"), queued("s1"), sent("s1", 77)]);
        assert_eq!(changes.new.len(), 1);
        let row = &changes.new[0];
        assert_eq!((row.status.as_str(), row.telegram_message_id, row.attempts), ("sent", Some(77), 2));
        assert!(changes.patches.is_empty());
        let statuses: Vec<&str> = changes.history.iter().map(|h| h.status.as_str()).collect();
        assert_eq!(statuses, ["accepted", "queued", "sent"]);
    }

    #[test]
    fn changes_to_an_older_send_merge_as_if_applied_one_by_one() {
        let changes = given(&[failed("s1"), queued("s1"), sent("s1", 9)]);
        assert!(changes.new.is_empty());
        let (id, patch) = &changes.patches[0];
        assert_eq!(id, "s1");
        assert_eq!(patch.status, SendStatus::Sent);
        assert_eq!(patch.telegram_message_id, Some(9));
        assert_eq!(patch.attempts, Some(2), "the latest attempts");
        assert_eq!(
            patch.failure,
            Some(("recipient_blocked".to_string(), Some("blocked".to_string()))),
            "a later status does not clear the failure columns, as one-by-one updates do not"
        );
        assert_eq!(changes.history.len(), 3);
    }

    #[test]
    fn events_of_other_aggregates_are_not_taken() {
        let mut changes = SendChanges::default();
        let claimed = AnyEvent::TxClaimed(env(novij_events::payment::TxClaimed {
            tx_hash: "t".into(),
            send_id: "s1".into(),
            amount: Amount::ZERO,
            asset: "DSR".into(),
        }));
        assert!(!changes.take(1, &claimed));
    }
}
