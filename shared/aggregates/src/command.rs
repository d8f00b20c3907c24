//! The command aggregate (`nt.ev.command.<id>.*`): one `/command` a user ran,
//! from its request to its final reply or its expiry.
//!
//! One executor takes a request (the first ack wins; the others find it
//! taken). A reply answers the user's message and, when final, ends the
//! command; a reply needs no ack before it. A command not answered finally
//! by its deadline expires once, whoever (which scheduler) asks. A press of
//! a button under a reply is offered to the executor until acked, also after
//! the final reply (the result's buttons are pressed then); the same press
//! again, or the same button by the same person within a few seconds, is one.

use chrono::{DateTime, Utc};
use novij_events::commands::{
    CommandAcked, CommandExpired, CommandPressed, CommandPressesAcked, CommandReplied, CommandRequested, ExpiredStage,
};
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
    /// The actions of the buttons under its replies.
    pub buttons: Vec<String>,
    pub presses: Vec<Press>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    pub press_id: String,
    pub action: String,
    pub from: String,
    pub pressed_at: DateTime<Utc>,
    pub acked: bool,
}

/// Presses of one button by one person closer than this are one.
pub const SAME_PRESS: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

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
                for action in &e.payload.buttons {
                    if !self.buttons.contains(action) {
                        self.buttons.push(action.clone());
                    }
                }
            }
            AnyEvent::CommandPressed(e) => {
                let e = &e.payload;
                self.presses.push(Press {
                    press_id: e.press_id.clone(),
                    action: e.action.clone(),
                    from: e.from.clone(),
                    pressed_at: e.pressed_at,
                    acked: false,
                });
            }
            AnyEvent::CommandPressesAcked(e) => {
                for press in self.presses.iter_mut().filter(|p| e.payload.press_ids.contains(&p.press_id)) {
                    press.acked = true;
                }
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
    Ack { send_id: Option<String> },
    /// A reply, with the actions of its buttons.
    Reply { send_id: String, is_final: bool, buttons: Vec<String> },
    /// Someone pressed the button of `action` under a reply.
    Press { action: String, from: String, at: DateTime<Utc>, press_id: String },
    /// The executor took these presses (ids of other commands are not this one's).
    AckPresses { press_ids: Vec<String> },
    /// The deadline check, at `now`; `send_id`: the notice to the user.
    Expire { now: DateTime<Utc>, send_id: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandDecision {
    Acked(CommandAcked),
    Replied(CommandReplied),
    Expired(CommandExpired),
    Pressed(CommandPressed),
    PressesAcked(CommandPressesAcked),
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
    /// No reply of the command has a button of this action.
    #[error("no such button")]
    NoSuchButton,
}

pub fn decide(command: &Command, action: CommandAction) -> Result<CommandDecision, CommandRefusal> {
    let request = command.request.as_ref().ok_or(CommandRefusal::NotFound)?;
    let command_id = request.command_id.clone();
    match action {
        CommandAction::Press { .. } if command.expired.is_some() => Err(CommandRefusal::Over),
        CommandAction::Press { action, .. } if !command.buttons.contains(&action) => Err(CommandRefusal::NoSuchButton),
        CommandAction::Press { action, from, at, press_id } => {
            let again = command.presses.iter().any(|p| {
                p.press_id == press_id
                    || (p.action == action && p.from == from && (at - p.pressed_at).abs() < SAME_PRESS)
            });
            if again {
                return Ok(CommandDecision::Nothing);
            }
            Ok(CommandDecision::Pressed(CommandPressed {
                command_id,
                project_id: request.project_id.clone(),
                integration_id: request.integration_id.clone(),
                executor_key: request.executor_key.clone(),
                press_id,
                action,
                from,
                pressed_at: at,
            }))
        }
        CommandAction::AckPresses { press_ids } => {
            let open: Vec<String> = command
                .presses
                .iter()
                .filter(|p| !p.acked && press_ids.contains(&p.press_id))
                .map(|p| p.press_id.clone())
                .collect();
            if open.is_empty() {
                return Ok(CommandDecision::Nothing);
            }
            Ok(CommandDecision::PressesAcked(CommandPressesAcked { command_id, press_ids: open }))
        }
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
        CommandAction::Reply { send_id, is_final, buttons } => {
            Ok(CommandDecision::Replied(CommandReplied { command_id, send_id, is_final, buttons }))
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
        let sealed = Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: "c".into() };
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
            CommandDecision::Pressed(e) => command.evolve(&env(e)),
            CommandDecision::PressesAcked(e) => command.evolve(&env(e)),
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

        let reply =
            |send_id: &str, is_final| CommandAction::Reply { send_id: send_id.into(), is_final, buttons: vec![] };
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

    #[test]
    fn a_button_under_a_reply_is_pressed_once_also_after_the_final_reply_and_acked() {
        let at = Utc::now();
        let command = requested(at);
        let result = CommandAction::Reply { send_id: "snd_1".into(), is_final: true, buttons: vec!["rollback".into()] };
        let command = then(command.clone(), decide(&command, result));
        let press = |action: &str, from: &str, seconds, id: &str| CommandAction::Press {
            action: action.into(),
            from: from.into(),
            at: at + TimeDelta::seconds(seconds),
            press_id: id.into(),
        };
        assert_eq!(decide(&command, press("deploy", "user:1", 0, "cpr_1")), Err(CommandRefusal::NoSuchButton));
        let Ok(CommandDecision::Pressed(pressed)) = decide(&command, press("rollback", "user:1", 0, "cpr_1")) else {
            panic!("not pressed")
        };
        assert_eq!((pressed.action.as_str(), pressed.from.as_str()), ("rollback", "user:1"));
        let command = command.evolve(&env(pressed));
        for again in [press("rollback", "user:1", 0, "cpr_1"), press("rollback", "user:1", 3, "cpr_2")] {
            assert_eq!(decide(&command, again), Ok(CommandDecision::Nothing));
        }
        assert!(matches!(decide(&command, press("rollback", "user:2", 1, "cpr_3")), Ok(CommandDecision::Pressed(_))));

        let ack = CommandAction::AckPresses { press_ids: vec!["cpr_1".into(), "cpr_x".into()] };
        let Ok(CommandDecision::PressesAcked(acked)) = decide(&command, ack.clone()) else { panic!("not acked") };
        assert_eq!(acked.press_ids, vec!["cpr_1".to_string()]);
        let command = command.evolve(&env(acked));
        assert_eq!(decide(&command, ack), Ok(CommandDecision::Nothing));

        let expired = requested(at).evolve(&env(CommandExpired {
            command_id: "cmd_1".into(),
            stage: ExpiredStage::NotAcked,
            send_id: "snd_x".into(),
        }));
        assert_eq!(decide(&expired, press("rollback", "user:1", 0, "cpr_9")), Err(CommandRefusal::Over));
    }
}
