//! A press of a button under a command's reply: answered at once with a
//! short toast (through the dispatcher), and recorded as `command.pressed`
//! for the command's executor to poll. The press id comes from the callback
//! query, so a redelivered update is the same press.

use chrono::Utc;
use novij_aggregates::command::{decide, Command, CommandAction, CommandDecision, CommandRefusal};
use novij_bus::{AppendError, Expect};
use novij_events::commands::parse_button_data;
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::{derive, Runtime};

use super::commands::CommandError;
use super::press::answer;
use super::sender::sender_ref;
use super::update::CallbackQuery;
use novij_runtime::connected::ConnectedRecipients;

/// How many times a press decides again after losing a race for the command.
const RACES: usize = 10;

fn toast(label: &str, outcome: Result<(), CommandRefusal>, ru: bool) -> String {
    match (outcome, ru) {
        (Ok(()), false) => format!("✓ {label}: sent"),
        (Ok(()), true) => format!("✓ {label}: отправлено"),
        (Err(CommandRefusal::Over), false) => "This command is over".into(),
        (Err(CommandRefusal::Over), true) => "Эта команда уже завершена".into(),
        (Err(_), false) => "This button no longer works".into(),
        (Err(_), true) => "Эта кнопка больше не работает".into(),
    }
}

pub async fn press(
    rt: &Runtime,
    connected: &ConnectedRecipients,
    bot_key: &str,
    query: &CallbackQuery,
    meta: EventMeta,
) -> Result<(), CommandError> {
    let ru = query.from.russian();
    let label = query.button_label().unwrap_or("OK");
    let Some((command_id, action)) = query.data.as_deref().and_then(parse_button_data) else {
        answer(rt, bot_key, query, &toast(label, Err(CommandRefusal::NotFound), ru)).await;
        return Ok(());
    };
    let press_id = ids::command_press_id(command_id, &derive::press_hash(&rt.keyring, bot_key, &query.id))
        .ok_or_else(|| CommandError::Log("a command id of an unexpected form".into()))?;
    let mut loaded = rt.log.load::<Command>(command_id).await?;
    let integration_id = loaded.state.request.as_ref().map(|r| r.integration_id.clone()).unwrap_or_default();
    let from = sender_ref(rt, connected, bot_key, &integration_id, query.from.id).await?;
    let at = Utc::now();
    for _ in 0..RACES {
        let command =
            CommandAction::Press { action: action.to_string(), from: from.clone(), at, press_id: press_id.clone() };
        let outcome = match decide(&loaded.state, command) {
            Ok(CommandDecision::Pressed(event)) => {
                let env = Envelope::new(event, meta.clone()).with_event_id(ids::caused_event_id(&press_id, "pressed"));
                let taken = toast(label, Ok(()), ru);
                let (appended, ()) = tokio::join!(
                    rt.log.append(&env, Expect::LastSequence(loaded.version)),
                    answer(rt, bot_key, query, &taken),
                );
                match appended {
                    Ok(_) => {
                        tracing::info!(command_id = %command_id, press_id = %press_id, "command button pressed");
                        return Ok(());
                    }
                    Err(AppendError::Conflict) => {
                        loaded = rt.log.load::<Command>(command_id).await?;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Already recorded: the same update again, or the same press a moment later.
            Ok(_) => Ok(()),
            Err(refusal) => Err(refusal),
        };
        answer(rt, bot_key, query, &toast(label, outcome, ru)).await;
        return Ok(());
    }
    Err(CommandError::Log("the command kept changing".into()))
}
