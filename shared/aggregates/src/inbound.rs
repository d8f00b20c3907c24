//! The inbound aggregate (`nt.ev.inbound.<id>.*`): a message a user wrote to
//! a project's bot, and its way to the project's `inbound_webhook_url`.
//!
//! Each round of the retry schedule ends delivered or dead-lettered; a dead
//! letter may be asked for again, which starts a new round. Once delivered,
//! nothing is sent again (a late attempt of an older round records nothing).

use chrono::{DateTime, Utc};
use novij_events::inbound::{
    InboundDeadLettered, InboundDelivered, InboundDeliveryFailed, InboundReceived, InboundRedeliveryRequested,
    WebhookFailure,
};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inbound {
    /// `None`: the message has no events.
    pub received: Option<InboundReceived>,
    /// Calls made, over every round.
    pub attempts: u32,
    /// Calls made in this round: where in the retry schedule it stands.
    pub round_attempts: u32,
    /// 1, then one more per redelivery asked for.
    pub round: u32,
    pub delivered: bool,
    pub dead_lettered: bool,
}

impl Aggregate for Inbound {
    const TYPE: &'static str = "inbound";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::InboundReceived(e) => {
                self.received = Some(e.payload.clone());
                self.round = 1;
            }
            AnyEvent::InboundDelivered(e) => {
                self.attempts = e.payload.attempts;
                self.round_attempts += 1;
                self.delivered = true;
            }
            AnyEvent::InboundDeliveryFailed(e) => {
                self.attempts = e.payload.attempts;
                self.round_attempts += 1;
            }
            AnyEvent::InboundDeadLettered(e) => {
                self.attempts = e.payload.attempts;
                self.round_attempts += 1;
                self.dead_lettered = true;
            }
            AnyEvent::InboundRedeliveryRequested(e) => {
                self.round = e.payload.round;
                self.round_attempts = 0;
                self.dead_lettered = false;
            }
            _ => {}
        }
        self
    }
}

/// What one call to the receiver came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    /// `retry_at`: when the schedule calls again; `None`: it was the last call.
    Failed {
        reason: WebhookFailure,
        detail: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundCommand {
    /// Record a call of round `round`.
    Record { round: u32, outcome: Outcome },
    /// Ask for a dead-lettered message again.
    Redeliver,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundChange {
    Delivered(InboundDelivered),
    Failed(InboundDeliveryFailed),
    DeadLettered(InboundDeadLettered),
    RedeliveryRequested(InboundRedeliveryRequested),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundRefusal {
    #[error("inbound message not found")]
    NotFound,
    #[error("the message is not dead-lettered")]
    NotDeadLettered,
}

/// `Ok(None)`: nothing to record (delivered already, or a call of a round
/// that has ended).
pub fn decide(inbound: &Inbound, command: InboundCommand) -> Result<Option<InboundChange>, InboundRefusal> {
    let Some(received) = &inbound.received else { return Err(InboundRefusal::NotFound) };
    let (message_id, integration_id) = (received.message_id.clone(), received.integration_id.clone());
    match command {
        InboundCommand::Redeliver if !inbound.dead_lettered || inbound.delivered => {
            Err(InboundRefusal::NotDeadLettered)
        }
        InboundCommand::Redeliver => Ok(Some(InboundChange::RedeliveryRequested(InboundRedeliveryRequested {
            message_id,
            integration_id,
            round: inbound.round + 1,
        }))),
        InboundCommand::Record { round, .. }
            if inbound.delivered || inbound.dead_lettered || round != inbound.round =>
        {
            Ok(None)
        }
        InboundCommand::Record { outcome, .. } => {
            let attempts = inbound.attempts + 1;
            Ok(Some(match outcome {
                Outcome::Delivered { status } => {
                    InboundChange::Delivered(InboundDelivered { message_id, integration_id, attempts, status })
                }
                Outcome::Failed { reason, detail, retry_at: Some(retry_at) } => {
                    InboundChange::Failed(InboundDeliveryFailed {
                        message_id,
                        integration_id,
                        attempts,
                        reason,
                        detail,
                        retry_at,
                    })
                }
                Outcome::Failed { reason, detail, retry_at: None } => {
                    InboundChange::DeadLettered(InboundDeadLettered {
                        message_id,
                        integration_id,
                        project_id: received.project_id.clone(),
                        attempts,
                        reason,
                        detail,
                    })
                }
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use novij_crypto::Sealed;
    use novij_events::recipient::ChatKind;

    fn received() -> AnyEvent {
        let sealed = Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: "c".into() };
        env(InboundReceived {
            message_id: "inb_1".into(),
            integration_id: "int_1".into(),
            project_id: "p1".into(),
            bot_key: "common".into(),
            recipient_id: "rcp_1".into(),
            from: "user:1".into(),
            chat_kind: ChatKind::Private,
            chat: sealed.clone(),
            telegram_message_id: 7,
            content: sealed,
            received_at: Utc::now(),
        })
    }

    fn given(events: Vec<AnyEvent>) -> Inbound {
        fold::<Inbound>(events.into_iter().zip(1..)).state
    }

    fn failed(retry: bool) -> Outcome {
        let retry_at = retry.then(Utc::now);
        Outcome::Failed { reason: WebhookFailure::Status, detail: "503".into(), retry_at }
    }

    fn record(state: &Inbound, round: u32, outcome: Outcome) -> Option<InboundChange> {
        decide(state, InboundCommand::Record { round, outcome }).expect("decided")
    }

    fn event(change: Option<InboundChange>) -> AnyEvent {
        match change.expect("a change") {
            InboundChange::Delivered(e) => env(e),
            InboundChange::Failed(e) => env(e),
            InboundChange::DeadLettered(e) => env(e),
            InboundChange::RedeliveryRequested(e) => env(e),
        }
    }

    #[test]
    fn failures_count_up_to_a_dead_letter_and_a_redelivery_starts_a_round_that_can_deliver() {
        let state = given(vec![received()]);
        let first = record(&state, 1, failed(true));
        assert!(matches!(&first, Some(InboundChange::Failed(f)) if f.attempts == 1));
        let state = given(vec![received(), event(first)]);
        let last = record(&state, 1, failed(false));
        assert!(matches!(&last, Some(InboundChange::DeadLettered(d)) if d.attempts == 2 && d.project_id == "p1"));
        let state = given(vec![received(), event(record(&state, 1, failed(true))), event(last)]);
        assert!(state.dead_lettered);
        assert_eq!(record(&state, 1, failed(true)), None, "a late call of the ended round records nothing");

        let again = decide(&state, InboundCommand::Redeliver).expect("redelivered");
        assert!(matches!(&again, Some(InboundChange::RedeliveryRequested(r)) if r.round == 2));
        let state = state.evolve(&event(again));
        assert_eq!((state.round_attempts, state.attempts), (0, 2), "a new round starts the schedule again");
        assert_eq!(decide(&state, InboundCommand::Redeliver), Err(InboundRefusal::NotDeadLettered));
        let delivered = record(&state, 2, Outcome::Delivered { status: 204 });
        assert!(matches!(&delivered, Some(InboundChange::Delivered(d)) if d.attempts == 3 && d.status == 204));
        let state = state.evolve(&event(delivered));
        assert_eq!(record(&state, 2, Outcome::Delivered { status: 200 }), None, "delivered once");
    }

    #[test]
    fn nothing_is_decided_for_a_message_that_was_never_received() {
        let none = Inbound::default();
        assert_eq!(decide(&none, InboundCommand::Redeliver), Err(InboundRefusal::NotFound));
        assert_eq!(
            decide(&none, InboundCommand::Record { round: 1, outcome: failed(true) }),
            Err(InboundRefusal::NotFound)
        );
    }
}
