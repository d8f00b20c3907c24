//! The send aggregate (`nt.ev.send.<send_id>.*`): one message to one recipient.
//!
//! accepted → [scheduled →] queued → sent | failed | dead_lettered (→ queued
//! again by a retry), or cancelled while it is a reminder not yet queued.

use novij_events::send::{CancelReason, Clearance, FailureReason, Priority, SendCancelled, SendQueued, SendScheduled};
use novij_events::status::SendStatus;
use novij_events::{AnyEvent, Envelope};

use crate::Aggregate;

/// What the log says of a send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Send {
    pub send_id: String,
    /// `None`: the send has no events.
    pub status: Option<SendStatus>,
    pub integration_id: Option<String>,
    pub bot_key: String,
    pub priority: Priority,
    pub project_id: Option<String>,
    /// Set for reminders: not before this instant.
    pub send_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The event that scheduled a reminder: firing it is caused by it.
    pub scheduled: Option<Envelope<SendScheduled>>,
    pub failure: Option<FailureReason>,
    /// Tells a retry of the request that made it from a reuse of its key.
    pub request_hash: String,
}

impl Aggregate for Send {
    const TYPE: &'static str = "send";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::SendAccepted(e) => {
                self.send_id = e.payload.send_id.clone();
                self.status = Some(SendStatus::Accepted);
                self.project_id = e.payload.project_id.clone();
                self.integration_id = e.payload.integration_id.clone();
                self.bot_key = e.payload.bot_key.clone();
                self.priority = e.payload.priority;
                self.send_at = e.payload.send_at;
                self.request_hash = e.payload.request_hash.clone();
            }
            AnyEvent::SendScheduled(e) => {
                self.status = Some(SendStatus::Scheduled);
                self.scheduled = Some(e.clone());
            }
            AnyEvent::SendQueued(_) => self.status = Some(SendStatus::Queued),
            AnyEvent::MessageSent(_) => self.status = Some(SendStatus::Sent),
            AnyEvent::SendCancelled(_) => self.status = Some(SendStatus::Cancelled),
            AnyEvent::SendFailed(e) => {
                self.status = Some(SendStatus::Failed);
                self.failure = Some(e.payload.reason);
            }
            AnyEvent::SendDeadLettered(e) => {
                self.status = Some(SendStatus::DeadLettered);
                self.failure = Some(e.payload.reason);
            }
            _ => {}
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendCommand {
    /// The client cancels a reminder (`DELETE /api/v1/reminders/{id}`).
    Cancel,
    /// The scheduler hands a reminder whose time has come to the dispatcher.
    Fire,
    /// The send's integration was deleted: whatever is not delivered yet is not.
    Withdraw,
    /// An operator sends a dead-lettered send again (`dlq retry`).
    RetryDeadLetter,
}

/// An event a decision appends.
#[derive(Debug, Clone, PartialEq)]
pub enum SendChange {
    Cancelled(SendCancelled),
    Queued(SendQueued),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendRefusal {
    #[error("no such send")]
    NotFound,
    #[error("the send is not a reminder")]
    NotAReminder,
    #[error("the reminder has already failed")]
    AlreadyFailed,
    #[error("the reminder has already been handed to the dispatcher")]
    AlreadyDispatched,
}

/// What `command` changes: nothing (already done), an event, or a refusal.
pub fn decide(send: &Send, command: SendCommand) -> Result<Option<SendChange>, SendRefusal> {
    let status = send.status.ok_or(SendRefusal::NotFound)?;
    match command {
        SendCommand::Cancel => {
            if send.send_at.is_none() {
                return Err(SendRefusal::NotAReminder);
            }
            match status {
                SendStatus::Accepted | SendStatus::Scheduled => Ok(Some(cancelled(send, CancelReason::ByClient))),
                SendStatus::Cancelled => Ok(None),
                SendStatus::Failed => Err(SendRefusal::AlreadyFailed),
                SendStatus::Queued | SendStatus::Sent | SendStatus::DeadLettered => Err(SendRefusal::AlreadyDispatched),
            }
        }
        SendCommand::RetryDeadLetter => Ok((status == SendStatus::DeadLettered).then(|| {
            SendChange::Queued(SendQueued {
                send_id: send.send_id.clone(),
                bot_key: send.bot_key.clone(),
                clearance: Clearance::RetriedFromDeadLetter,
                priority: send.priority,
            })
        })),
        SendCommand::Withdraw => Ok(match status {
            SendStatus::Accepted | SendStatus::Scheduled | SendStatus::Queued | SendStatus::DeadLettered => {
                Some(cancelled(send, CancelReason::IntegrationDeleted))
            }
            SendStatus::Sent | SendStatus::Failed | SendStatus::Cancelled => None,
        }),
        // Only a scheduled reminder fires; a cancelled or already queued one
        // has nothing left to fire.
        SendCommand::Fire => Ok(send.scheduled.as_ref().filter(|_| status == SendStatus::Scheduled).map(|s| {
            SendChange::Queued(SendQueued {
                send_id: s.payload.send_id.clone(),
                bot_key: s.payload.bot_key.clone(),
                clearance: s.payload.clearance.clone(),
                priority: s.payload.priority,
            })
        })),
    }
}

fn cancelled(send: &Send, reason: CancelReason) -> SendChange {
    SendChange::Cancelled(SendCancelled { send_id: send.send_id.clone(), reason: Some(reason) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use novij_events::integration::PaymentMode;
    use novij_events::send::{MessageSent, SendAccepted, SendDeadLettered, SendFailed, SendOrigin};

    const ID: &str = "snd_1";

    fn accepted(reminder: bool) -> AnyEvent {
        env(SendAccepted {
            uploads: Vec::new(),
            send_id: ID.into(),
            project_id: Some("p1".into()),
            integration_id: Some("int_1".into()),
            bot_key: "common".into(),
            recipient_id: Some("rcp_1".into()),
            template: "text_message".into(),
            payment_mode: PaymentMode::None,
            request_hash: "h".into(),
            origin: SendOrigin::Api,
            priority: Priority::Interactive,
            locale: None,
            message: novij_crypto::Sealed { ad: None, kid: "k1".into(), nonce: "n".into(), ct: "c".into() },
            payment: None,
            send_at: reminder.then(chrono::Utc::now),
            broadcast_id: None,
        })
    }

    fn scheduled() -> AnyEvent {
        env(SendScheduled {
            send_id: ID.into(),
            bot_key: "common".into(),
            send_at: chrono::Utc::now(),
            clearance: Clearance::NoPaymentRequired,
            priority: Priority::Bulk,
        })
    }

    fn queued() -> AnyEvent {
        env(SendQueued {
            send_id: ID.into(),
            bot_key: "common".into(),
            clearance: Clearance::NoPaymentRequired,
            priority: Priority::Bulk,
        })
    }

    fn failed(reason: FailureReason) -> AnyEvent {
        env(SendFailed { send_id: ID.into(), reason, detail: String::new(), attempts: 1 })
    }

    /// Given these events, when `command`, then this outcome.
    fn given(events: Vec<AnyEvent>) -> Send {
        let loaded = fold::<Send>(events.into_iter().zip(1..));
        loaded.state
    }

    #[test]
    fn history_folds_to_status_and_failure() {
        let send = given(vec![accepted(false), queued(), failed(FailureReason::ChatNotFound)]);
        assert_eq!((send.status, send.failure), (Some(SendStatus::Failed), Some(FailureReason::ChatNotFound)));
        assert_eq!(fold::<Send>(vec![(accepted(false), 7), (queued(), 9)]).version, 9);
        let dead = env(SendDeadLettered {
            send_id: ID.into(),
            bot_key: "common".into(),
            priority: Priority::Bulk,
            reason: FailureReason::TelegramUnavailable,
            detail: String::new(),
            attempts: 3,
        });
        // A retried dead letter is queued again.
        assert_eq!(given(vec![accepted(false), queued(), dead, queued()]).status, Some(SendStatus::Queued));
    }

    #[test]
    fn a_waiting_reminder_is_cancelled_once() {
        let by_client = SendCancelled { send_id: ID.into(), reason: Some(CancelReason::ByClient) };
        for history in [vec![accepted(true)], vec![accepted(true), scheduled()]] {
            assert_eq!(
                decide(&given(history), SendCommand::Cancel),
                Ok(Some(SendChange::Cancelled(by_client.clone())))
            );
        }
        // Written before cancellations had a reason.
        let cancelled = env(SendCancelled { send_id: ID.into(), reason: None });
        assert_eq!(decide(&given(vec![accepted(true), scheduled(), cancelled]), SendCommand::Cancel), Ok(None));
    }

    #[test]
    fn a_reminder_past_waiting_is_not_cancelled() {
        let sent = env(MessageSent { send_id: ID.into(), telegram_message_id: 5, attempts: 1 });
        let cases = [
            (vec![accepted(true), scheduled(), queued()], SendRefusal::AlreadyDispatched),
            (vec![accepted(true), scheduled(), queued(), sent], SendRefusal::AlreadyDispatched),
            (vec![accepted(true), failed(FailureReason::WrongMemo)], SendRefusal::AlreadyFailed),
            (vec![accepted(false)], SendRefusal::NotAReminder),
            (vec![], SendRefusal::NotFound),
        ];
        for (history, refusal) in cases {
            assert_eq!(decide(&given(history), SendCommand::Cancel), Err(refusal));
        }
    }

    #[test]
    fn a_dead_letter_is_queued_again_once() {
        let dead = env(SendDeadLettered {
            send_id: ID.into(),
            bot_key: "common".into(),
            priority: Priority::Interactive,
            reason: FailureReason::TelegramUnavailable,
            detail: String::new(),
            attempts: 3,
        });
        let send = given(vec![accepted(false), queued(), dead]);
        let Ok(Some(SendChange::Queued(again))) = decide(&send, SendCommand::RetryDeadLetter) else {
            panic!("not queued again")
        };
        assert_eq!(again.clearance, Clearance::RetriedFromDeadLetter);
        assert_eq!((again.bot_key.as_str(), again.priority), ("common", Priority::Interactive));
        let send = send.evolve(&env(again));
        assert_eq!(decide(&send, SendCommand::RetryDeadLetter), Ok(None), "already queued again");
        assert_eq!(decide(&given(vec![accepted(false), queued()]), SendCommand::RetryDeadLetter), Ok(None));
    }

    #[test]
    fn a_deleted_integration_withdraws_what_is_not_delivered_yet() {
        let withdrawn =
            SendChange::Cancelled(SendCancelled { send_id: ID.into(), reason: Some(CancelReason::IntegrationDeleted) });
        for history in [vec![accepted(false)], vec![accepted(true), scheduled()], vec![accepted(false), queued()]] {
            assert_eq!(decide(&given(history), SendCommand::Withdraw), Ok(Some(withdrawn.clone())));
        }
        let sent = env(MessageSent { send_id: ID.into(), telegram_message_id: 5, attempts: 1 });
        for history in [vec![accepted(false), queued(), sent], vec![accepted(false), failed(FailureReason::Forbidden)]]
        {
            assert_eq!(decide(&given(history), SendCommand::Withdraw), Ok(None));
        }
    }

    #[test]
    fn a_scheduled_reminder_fires_into_its_queued_event_and_only_then() {
        let fired = decide(&given(vec![accepted(true), scheduled()]), SendCommand::Fire);
        let Ok(Some(SendChange::Queued(q))) = fired else { panic!("not queued: {fired:?}") };
        assert_eq!((q.send_id.as_str(), q.priority, q.clearance), (ID, Priority::Bulk, Clearance::NoPaymentRequired));
        let cancelled = env(SendCancelled { send_id: ID.into(), reason: None });
        for history in [
            vec![accepted(true)],
            vec![accepted(true), scheduled(), cancelled],
            vec![accepted(true), scheduled(), queued()],
        ] {
            assert_eq!(decide(&given(history), SendCommand::Fire), Ok(None));
        }
        assert_eq!(decide(&given(vec![]), SendCommand::Fire), Err(SendRefusal::NotFound));
    }
}
