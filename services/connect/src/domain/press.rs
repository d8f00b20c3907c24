//! A press of an alert card's button: answered at once with a short toast
//! (through the dispatcher, which alone calls Telegram), and recorded as
//! `incident.action_pressed` for the project's poll.
//!
//! The answer does not wait for the record: Telegram shows a spinner until
//! it comes. A record that fails is retried with the update; answering the
//! same query twice only makes Telegram refuse the second answer. The press
//! id comes from the callback query, so a redelivered update is the same
//! press, and presses of one button by one person a few seconds apart are
//! one action (the incident decides both).

use std::time::Duration;

use chrono::Utc;
use novij_aggregates::incident::{decide, Decision, Incident, IncidentCommand, IncidentRefusal};
use novij_aggregates::recipient::Recipient;
use novij_bus::{AppendError, Expect};
use novij_events::rpc::{CallbackAnswerReply, CallbackAnswerRequest};
use novij_events::{ids, subjects, Envelope, EventMeta};
use novij_runtime::{derive, Runtime};
use novij_templates::card::parse_action_data;

use super::commands::CommandError;
use super::update::CallbackQuery;

/// How long the dispatcher has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a press decides again after losing a race for the incident.
const RACES: usize = 10;

/// What the toast says.
enum Toast<'a> {
    Taken(&'a str),
    Resolved,
    Gone,
}

impl Toast<'_> {
    fn text(&self, russian: bool) -> String {
        match (self, russian) {
            (Toast::Taken(label), false) => format!("✓ {label}: sent"),
            (Toast::Taken(label), true) => format!("✓ {label}: отправлено"),
            (Toast::Resolved, false) => "This alert is already resolved".into(),
            (Toast::Resolved, true) => "Этот алерт уже решён".into(),
            (Toast::Gone, false) => "This alert no longer exists".into(),
            (Toast::Gone, true) => "Этого алерта больше нет".into(),
        }
    }
}

pub async fn press(rt: &Runtime, bot_key: &str, query: &CallbackQuery, meta: EventMeta) -> Result<(), CommandError> {
    let russian = query.from.russian();
    let target = query.data.as_deref().and_then(parse_action_data).and_then(|(alert_id, position)| {
        ids::parse_alert_id(alert_id).map(|(incident_id, generation)| (incident_id, generation, position))
    });
    let Some((incident_id, generation, position)) = target else {
        answer(rt, bot_key, query, &Toast::Gone.text(russian)).await;
        return Ok(());
    };
    let label = query.button_label().unwrap_or("OK");
    let action_id = ids::action_id(&incident_id, &derive::press_hash(&rt.keyring, bot_key, &query.id))
        .ok_or_else(|| CommandError::Log("an incident id of an unexpected form".into()))?;
    let mut loaded = rt.log.load::<Incident>(&incident_id).await?;
    let pressed_by = presser(rt, bot_key, &loaded.state, generation, query.from.id).await?;
    let at = Utc::now();
    for _ in 0..RACES {
        let command = IncidentCommand::Press {
            generation,
            position,
            pressed_by: pressed_by.clone(),
            at,
            action_id: action_id.clone(),
        };
        let toast = match decide(&loaded.state, &incident_id, &loaded.state.external_id, command) {
            Ok(Decision::Pressed(event)) => {
                let env = Envelope::new(event, meta.clone()).with_event_id(ids::caused_event_id(&action_id, "pressed"));
                let taken = Toast::Taken(label).text(russian);
                let (appended, ()) = tokio::join!(
                    rt.log.append(&env, Expect::LastSequence(loaded.version)),
                    answer(rt, bot_key, query, &taken),
                );
                match appended {
                    Ok(_) => {
                        tracing::info!(alert_id = %env.payload.alert_id, action_id = %action_id, "button pressed");
                        return Ok(());
                    }
                    Err(AppendError::Conflict) => {
                        loaded = rt.log.load::<Incident>(&incident_id).await?;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Already recorded: the same update again, or the same press a moment later.
            Ok(_) => Toast::Taken(label),
            Err(IncidentRefusal::Resolved) => Toast::Resolved,
            Err(_) => Toast::Gone,
        };
        answer(rt, bot_key, query, &toast.text(russian)).await;
        return Ok(());
    }
    Err(CommandError::Log("the incident kept changing".into()))
}

/// Who pressed: the card's recipient whose private chat this user is, by
/// their `public_user_ref`; anyone else (a member of a bound group) by an
/// opaque id.
async fn presser(
    rt: &Runtime,
    bot_key: &str,
    incident: &Incident,
    generation: u32,
    user_id: i64,
) -> Result<String, CommandError> {
    let chat_hash = derive::chat_hash(&rt.keyring, bot_key, user_id);
    for recipient_id in incident.card(generation).map(|c| c.recipients.as_slice()).unwrap_or_default() {
        let recipient = rt.log.load::<Recipient>(recipient_id).await?.state;
        if recipient.chat_hash.as_deref() == Some(chat_hash.as_str()) {
            if let Some(public_user_ref) = recipient.public_user_ref {
                return Ok(public_user_ref);
            }
        }
    }
    Ok(derive::presser_id(&rt.keyring, bot_key, user_id))
}

/// Asks the dispatcher to answer the press; a failure is logged, not retried
/// (the answer is worth nothing after Telegram's ~15 s).
pub(super) async fn answer(rt: &Runtime, bot_key: &str, query: &CallbackQuery, text: &str) {
    let request = CallbackAnswerRequest {
        bot_key: bot_key.to_string(),
        callback_query_id: query.id.clone(),
        text: text.to_string(),
    };
    let Ok(payload) = serde_json::to_vec(&request) else { return };
    let asked = tokio::time::timeout(ANSWER_TIMEOUT, rt.nats.request(subjects::RPC_CALLBACK_ANSWER, payload.into()));
    let reply = match asked.await {
        Ok(Ok(message)) => serde_json::from_slice::<CallbackAnswerReply>(&message.payload).map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in time".to_string()),
    };
    match reply {
        Ok(CallbackAnswerReply { answered: true, .. }) => {}
        Ok(CallbackAnswerReply { detail, .. }) => {
            tracing::warn!(bot_key, detail = detail.unwrap_or_default(), "Telegram refused the press's answer")
        }
        Err(e) => tracing::warn!(bot_key, error = %e, "cannot answer a press"),
    }
}
