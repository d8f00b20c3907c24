//! The command aggregate (`nt.ev.command.<id>.*`): one `/command` a user ran,
//! from its request to its final reply or its expiry.
//!
//! One executor takes a request (the first ack wins; the others find it
//! taken). A reply answers the user's message and, when final, ends the
//! command; a reply needs no ack before it. A command not answered finally
//! by its deadline expires once, whoever (which scheduler) asks.

use chrono::{DateTime, Utc};
use novij_events::commands::{CommandAcked, CommandExpired, CommandReplied, CommandRequested, ExpiredStage};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Command {
    /// `None`: the command has no events.
    pub request: Option<CommandRequested>,
    pub acked: bool,
    /// The send ids of its replies.
    pub replies: Vec<String>,
    /// A final reply came.
    pub answered: bool,
    pub expired: Option<ExpiredStage>,
}

impl Command {
    /// Requested, and neither answered finally nor expired.
    pub fn is_open(&self) -> bool {
        self.request.is_some() && !self.answered && self.expired.is_none()
    }

    /// Waiting for an executor to take it.
    pub fn is_pending(&self) -> bool {
        self.is_open() && !self.acked
    }
}

impl Aggregate for Command {
    const TYPE: &'static str = "command";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::CommandRequested(e) => self.request = Some(e.payload.clone()),
            AnyEvent::CommandAcked(_) => self.acked = true,
            AnyEvent::CommandReplied(e) => {
                self.acked = true;
                self.replies.push(e.payload.send_id.clone());
                self.answered |= e.payload.is_final;
            }
            AnyEvent::CommandExpired(e) => self.expired = Some(e.payload.stage),
            _ => {}
        }
        self
    }
}

/// What may happen to a command. The send ids are the caller's (derived
/// from the command), so a retry names the same send.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandAction {
    /// An executor takes it; `send_id`: the ack's reply to the user.
    Ack {
        send_id: Option<String>,
    },
    Reply {
        send_id: String,
        is_final: bool,
    },
    /// The deadline check, at `now`; `send_id`: the notice to the user.
    Expire {
        now: DateTime<Utc>,
        send_id: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandDecision {
    Acked(CommandAcked),
    Replied(CommandReplied),
    Expired(CommandExpired),
    /// Nothing to write: it ended already, or this reply is recorded.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandRefusal {
    #[error("command not found")]
    NotFound,
    /// Another executor acked it first.
    #[error("another executor took this command")]
    Taken,
    /// It was answered finally, or expired.
    #[error("the command is over")]
    Over,
    /// Its deadline has not come.
    #[error("the command is not due to expire yet")]
    NotDue,
}

pub fn decide(command: &Command, action: CommandAction) -> Result<CommandDecision, CommandRefusal> {
    let request = command.request.as_ref().ok_or(CommandRefusal::NotFound)?;
    let command_id = request.command_id.clone();
    match action {
        CommandAction::Expire { .. } if !command.is_open() => Ok(CommandDecision::Nothing),
        CommandAction::Expire { now, .. } if now < request.expires_at => Err(CommandRefusal::NotDue),
        // A retried reply.
        CommandAction::Reply { send_id, .. } if command.replies.contains(&send_id) => Ok(CommandDecision::Nothing),
        CommandAction::Expire { send_id, .. } => {
            let stage = if command.acked { ExpiredStage::NotAnswered } else { ExpiredStage::NotAcked };
            Ok(CommandDecision::Expired(CommandExpired { command_id, stage, send_id }))
        }
        _ if !command.is_open() => Err(CommandRefusal::Over),
        CommandAction::Ack { .. } if command.acked => Err(CommandRefusal::Taken),
        CommandAction::Ack { send_id } => Ok(CommandDecision::Acked(CommandAcked { command_id, send_id })),
        CommandAction::Reply { send_id, is_final } => {
            Ok(CommandDecision::Replied(CommandReplied { command_id, send_id, is_final }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env;
    use chrono::TimeDelta;
    use novij_crypto::Sealed;
    use novij_events::recipient::ChatKind;

    fn requested(at: DateTime<Utc>) -> Command {
        let sealed = Sealed { kid: "k".into(), nonce: "n".into(), ct: "c".into() };
        let request = CommandRequested {
            command_id: "cmd_1".into(),
            integration_id: "int_1".into(),
            project_id: "p1".into(),
            bot_key: "int_1".into(),
            name: "deploy".into(),
            executor_key: "ci".into(),
            input: sealed.clone(),
            chat: sealed,
            chat_kind: ChatKind::Private,
            message_id: 7,
            from: "user:1".into(),
            recipient_id: "rcp_1".into(),
            locale: "en".into(),
            requested_at: at,
            expires_at: at + TimeDelta::seconds(60),
        };
        Command::default().evolve(&env(request))
    }

    fn then(command: Command, decision: Result<CommandDecision, CommandRefusal>) -> Command {
        match decision.expect("decided") {
            CommandDecision::Acked(e) => command.evolve(&env(e)),
            CommandDecision::Replied(e) => command.evolve(&env(e)),
            CommandDecision::Expired(e) => command.evolve(&env(e)),
            CommandDecision::Nothing => command,
        }
    }

    #[test]
    fn the_first_ack_takes_it_and_a_final_reply_ends_it() {
        let at = Utc::now();
        let command = requested(at);
        assert!(command.is_pending());
        let ack = || CommandAction::Ack { send_id: None };
        let command = then(command.clone(), decide(&command, ack()));
        assert!(!command.is_pending() && command.is_open());
        assert_eq!(decide(&command, ack()), Err(CommandRefusal::Taken));

        let reply = |send_id: &str, is_final| CommandAction::Reply { send_id: send_id.into(), is_final };
        let command = then(command.clone(), decide(&command, reply("snd_1", false)));
        assert!(command.is_open(), "a reply that is not final leaves it open");
        let command = then(command.clone(), decide(&command, reply("snd_2", true)));
        assert!(!command.is_open());
        assert_eq!(decide(&command, reply("snd_3", true)), Err(CommandRefusal::Over));
        assert_eq!(decide(&command, reply("snd_2", true)), Ok(CommandDecision::Nothing), "a retry");
        let expire = CommandAction::Expire { now: at + TimeDelta::hours(1), send_id: "snd_x".into() };
        assert_eq!(decide(&command, expire), Ok(CommandDecision::Nothing));
    }

    #[test]
    fn a_command_expires_once_at_its_deadline_by_how_far_it_came() {
        let at = Utc::now();
        let command = requested(at);
        let expire = |seconds| CommandAction::Expire { now: at + TimeDelta::seconds(seconds), send_id: "snd_x".into() };
        assert_eq!(decide(&command, expire(59)), Err(CommandRefusal::NotDue));
        let Ok(CommandDecision::Expired(expired)) = decide(&command, expire(60)) else { panic!("not expired") };
        assert_eq!(expired.stage, ExpiredStage::NotAcked);
        let command = command.evolve(&env(expired));
        assert_eq!(decide(&command, expire(61)), Ok(CommandDecision::Nothing), "once");
        assert_eq!(decide(&command, CommandAction::Ack { send_id: None }), Err(CommandRefusal::Over));

        let acked = then(requested(at), decide(&requested(at), CommandAction::Ack { send_id: None }));
        let Ok(CommandDecision::Expired(expired)) = decide(&acked, expire(60)) else { panic!("not expired") };
        assert_eq!(expired.stage, ExpiredStage::NotAnswered);
        assert_eq!(decide(&Command::default(), expire(60)), Err(CommandRefusal::NotFound));
    }
}
