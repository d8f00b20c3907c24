//! The recipient aggregate (`nt.ev.recipient.<id>.*`): a project's user bound
//! to a Telegram chat through one integration.

use novij_crypto::Sealed;
use novij_events::recipient::{RecipientUnlinked, UnreachableReason};
use novij_events::status::RecipientStatus;
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recipient {
    pub recipient_id: String,
    pub integration_id: String,
    /// `None`: the recipient has no events.
    pub project_id: Option<String>,
    pub status: Option<RecipientStatus>,
    /// Why it is disabled or unreachable.
    pub reason: Option<String>,
    /// What Telegram answered when it became unreachable.
    pub unreachable: Option<UnreachableReason>,
    /// The chat it is bound to, sealed.
    pub chat: Option<Sealed>,
    /// Keyed hash of the bot and chat, to recognise the chat in an update.
    pub chat_hash: Option<String>,
    pub public_user_ref: Option<String>,
}

impl Aggregate for Recipient {
    const TYPE: &'static str = "recipient";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::RecipientBound(e) => {
                self.recipient_id = e.payload.recipient_id.clone();
                self.integration_id = e.payload.integration_id.clone();
                self.project_id = Some(e.payload.project_id.clone());
                self.status = Some(RecipientStatus::Active);
                self.reason = None;
                self.chat = Some(e.payload.chat.clone());
                self.chat_hash = Some(e.payload.chat_hash.clone());
                self.public_user_ref = Some(e.payload.public_user_ref.clone());
            }
            AnyEvent::RecipientDisabled(e) => {
                self.status = Some(RecipientStatus::Disabled);
                self.reason = Some(e.payload.reason.as_str().to_string());
            }
            AnyEvent::RecipientUnreachable(e) => {
                self.status = Some(RecipientStatus::Unreachable);
                self.reason = Some(e.payload.reason.as_str().to_string());
                self.unreachable = Some(e.payload.reason);
            }
            AnyEvent::RecipientUnlinked(_) => {
                self.status = Some(RecipientStatus::Unlinked);
                self.reason = None;
            }
            AnyEvent::RecipientChatMigrated(e) => {
                self.chat = Some(e.payload.chat.clone());
                self.chat_hash = Some(e.payload.chat_hash.clone());
            }
            _ => {}
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientCommand {
    /// The project unlinks the recipient.
    Unlink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecipientRefusal {
    #[error("recipient not found")]
    NotFound,
}

pub fn decide(recipient: &Recipient, command: RecipientCommand) -> Result<Option<RecipientUnlinked>, RecipientRefusal> {
    let status = recipient.status.ok_or(RecipientRefusal::NotFound)?;
    match (command, status) {
        (RecipientCommand::Unlink, RecipientStatus::Unlinked) => Ok(None),
        (RecipientCommand::Unlink, _) => Ok(Some(RecipientUnlinked {
            recipient_id: recipient.recipient_id.clone(),
            integration_id: recipient.integration_id.clone(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use novij_crypto::Sealed;
    use novij_events::recipient::{ChatKind, DisableReason, RecipientBound, RecipientDisabled};

    fn bound() -> AnyEvent {
        env(RecipientBound {
            recipient_id: "rcp_1".into(),
            integration_id: "int_1".into(),
            project_id: "p1".into(),
            public_user_ref: "user:1".into(),
            chat: Sealed { ad: None, kid: "k1".into(), nonce: "n".into(), ct: "c".into() },
            chat_hash: "h".into(),
            chat_kind: ChatKind::Private,
        })
    }

    fn given(events: Vec<AnyEvent>) -> Recipient {
        fold::<Recipient>(events.into_iter().zip(1..)).state
    }

    #[test]
    fn a_bound_or_stopped_recipient_is_unlinked_once() {
        let stopped = env(RecipientDisabled {
            recipient_id: "rcp_1".into(),
            integration_id: "int_1".into(),
            reason: DisableReason::UserStopped,
        });
        for history in [vec![bound()], vec![bound(), stopped]] {
            let state = given(history);
            let unlinked = decide(&state, RecipientCommand::Unlink).expect("decided").expect("unlinked");
            assert_eq!((unlinked.recipient_id.as_str(), unlinked.integration_id.as_str()), ("rcp_1", "int_1"));
            let after = state.evolve(&env(unlinked));
            assert_eq!(after.status, Some(RecipientStatus::Unlinked));
            assert_eq!(decide(&after, RecipientCommand::Unlink), Ok(None));
            // Connecting again binds it anew.
            assert_eq!(after.evolve(&bound()).status, Some(RecipientStatus::Active));
        }
        assert_eq!(decide(&Recipient::default(), RecipientCommand::Unlink), Err(RecipientRefusal::NotFound));
    }
}
