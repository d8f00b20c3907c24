//! The broadcast aggregate (`nt.ev.broadcast.<id>.*`): created with its
//! recipients fixed; cleared (or refused) by its payment; queued, one send
//! per recipient still connected, once cleared and due; cancelled by its
//! project at any time before that or while its sends go out (no send of it
//! is taken off the queue after the cancel).

use novij_events::broadcast::{
    BroadcastCancelled, BroadcastCleared, BroadcastCreated, BroadcastQueued, BroadcastRefused,
};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Broadcast {
    /// `None`: the broadcast has no events.
    pub created: Option<BroadcastCreated>,
    pub cleared: Option<BroadcastCleared>,
    pub refused: Option<BroadcastRefused>,
    pub queued: Option<BroadcastQueued>,
    pub cancelled: bool,
}

impl Broadcast {
    /// Its sends may still be queued or delivered.
    pub fn goes_on(&self) -> bool {
        self.created.is_some() && self.refused.is_none() && !self.cancelled
    }
}

impl Aggregate for Broadcast {
    const TYPE: &'static str = "broadcast";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::BroadcastCreated(e) => self.created = Some(e.payload.clone()),
            // The first outcome of a payment stands.
            AnyEvent::BroadcastCleared(e) if self.refused.is_none() && self.cleared.is_none() => {
                self.cleared = Some(e.payload.clone())
            }
            AnyEvent::BroadcastRefused(e) if self.refused.is_none() && self.cleared.is_none() => {
                self.refused = Some(e.payload.clone())
            }
            AnyEvent::BroadcastQueued(e) if self.queued.is_none() => self.queued = Some(e.payload.clone()),
            AnyEvent::BroadcastCancelled(_) => self.cancelled = true,
            _ => {}
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastRefusal {
    #[error("broadcast not found")]
    NotFound,
    #[error("the broadcast's payment was refused: nothing was sent")]
    PaymentRefused,
}

/// A project's cancel: `Ok(None)` when it is cancelled already.
pub fn cancel(broadcast: &Broadcast) -> Result<Option<BroadcastCancelled>, BroadcastRefusal> {
    let Some(created) = &broadcast.created else { return Err(BroadcastRefusal::NotFound) };
    if broadcast.refused.is_some() {
        return Err(BroadcastRefusal::PaymentRefused);
    }
    Ok((!broadcast.cancelled).then(|| BroadcastCancelled { broadcast_id: created.broadcast_id.clone() }))
}

/// Whether its sends may be queued now: cleared, not cancelled, not queued yet.
pub fn may_queue(broadcast: &Broadcast) -> bool {
    broadcast.goes_on() && broadcast.cleared.is_some() && broadcast.queued.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use novij_crypto::Sealed;
    use novij_events::send::{Clearance, FailureReason};

    fn created() -> AnyEvent {
        env(BroadcastCreated {
            broadcast_id: "brd_1".into(),
            project_id: "p".into(),
            integration_id: "int_1".into(),
            bot_key: "common".into(),
            template: "text_message".into(),
            locale: "en".into(),
            content: Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: "c".into() },
            recipients: vec!["rcp_1".into(), "rcp_2".into()],
            request_hash: "h".into(),
            payment: None,
            send_at: None,
        })
    }

    fn cleared() -> AnyEvent {
        env(BroadcastCleared { broadcast_id: "brd_1".into(), clearance: Clearance::NoPaymentRequired })
    }

    fn given(events: Vec<AnyEvent>) -> Broadcast {
        fold::<Broadcast>(events.into_iter().zip(1..)).state
    }

    #[test]
    fn it_is_queued_once_cleared_and_not_after_a_cancel() {
        let created_only = given(vec![created()]);
        assert!(!may_queue(&created_only), "not before its payment is cleared");
        let ready = given(vec![created(), cleared()]);
        assert!(may_queue(&ready));
        let queued = BroadcastQueued { broadcast_id: "brd_1".into(), queued: 2, skipped: Default::default() };
        assert!(!may_queue(&ready.clone().evolve(&env(queued))), "once");
        let Ok(Some(cancelled)) = cancel(&ready) else { panic!("not cancelled") };
        let after = ready.evolve(&env(cancelled));
        assert!(!may_queue(&after) && !after.goes_on());
        assert_eq!(cancel(&after), Ok(None), "a second cancel changes nothing");
    }

    #[test]
    fn a_refused_payment_ends_it_and_the_first_outcome_stands() {
        let refused = env(BroadcastRefused {
            broadcast_id: "brd_1".into(),
            reason: FailureReason::InsufficientAmount,
            detail: "d".into(),
        });
        let state = given(vec![created(), refused, cleared()]);
        assert!(state.cleared.is_none() && !state.goes_on() && !may_queue(&state));
        assert_eq!(cancel(&state), Err(BroadcastRefusal::PaymentRefused));
        assert_eq!(cancel(&Broadcast::default()), Err(BroadcastRefusal::NotFound));
    }
}
