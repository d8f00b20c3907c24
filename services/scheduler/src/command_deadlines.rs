//! `scheduler-commands`: each command a user ran is held until its deadline
//! (the request comes back then: a nak with that delay, so no timer is lost
//! with a process), and a command not answered finally by then expires
//! (`command.expired`) and its user is told, once.
//!
//! Several schedulers may hold requests of one consumer, and a request may
//! come back to another one: the expiry is fenced on the command, so one
//! wins, and the notice's send id is derived from the command, so it is
//! queued once whoever queues it, also after a crash between the two.

use std::time::Duration;

use chrono::Utc;
use novij_aggregates::command::{decide, Command, CommandAction, CommandDecision, CommandRefusal};
use novij_bus::{run_event_consumer, AppendError, Expect, Handled};
use novij_events::commands::{CommandRequested, ExpiredStage};
use novij_events::{Envelope, EventMeta};
use novij_runtime::system_send::{self, Owner, SystemSend};
use novij_runtime::{derive, Runtime};
use tokio::sync::watch;

const DURABLE: &str = "scheduler-commands";
/// Requests held at once by one instance.
const CONCURRENCY: usize = 256;

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    run_event_consumer(
        rt.jetstream.clone(),
        DURABLE,
        CONCURRENCY,
        shutdown,
        |requested: Envelope<CommandRequested>, _| {
            let rt = rt.clone();
            async move { handle(&rt, &requested).await }
        },
    )
    .await
}

async fn handle(rt: &Runtime, requested: &Envelope<CommandRequested>) -> Handled {
    let request = &requested.payload;
    let retry = |e: &dyn std::fmt::Display| {
        tracing::warn!(command_id = %request.command_id, error = %e, "cannot check a command's deadline; will retry");
        Handled::Retry(Duration::from_secs(1))
    };
    let loaded = match rt.log.load::<Command>(&request.command_id).await {
        Ok(loaded) => loaded,
        Err(e) => return retry(&e),
    };
    let send_id =
        derive::send_id(&rt.keyring, &request.project_id, &format!("command-expired\0{}", request.command_id));
    let action = CommandAction::Expire { now: Utc::now(), send_id: send_id.clone() };
    let stage = match decide(&loaded.state, action) {
        Err(CommandRefusal::NotDue) => {
            let until = (request.expires_at - Utc::now()).to_std().unwrap_or_default();
            return Handled::Retry(until + Duration::from_millis(50));
        }
        Err(e) => return Handled::Reject(e.to_string()),
        // Expired before (by this or another scheduler): make sure the user was told.
        Ok(CommandDecision::Nothing) => match loaded.state.expired {
            Some(stage) => stage,
            None => return Handled::Done,
        },
        Ok(CommandDecision::Expired(expired)) => {
            let stage = expired.stage;
            let env = Envelope::new(expired, EventMeta::caused_by(requested));
            match rt.log.append(&env, Expect::LastSequence(loaded.version)).await {
                Ok(_) => tracing::info!(command_id = %request.command_id, stage = stage.as_str(), "command expired"),
                // It changed meanwhile (a reply, or another scheduler): decide again.
                Err(AppendError::Conflict) => return Handled::Retry(Duration::from_millis(50)),
                Err(e) => return retry(&e),
            }
            stage
        }
        Ok(_) => return Handled::Done,
    };
    match tell(rt, requested, send_id, stage).await {
        Ok(()) => Handled::Done,
        Err(e) => retry(&e),
    }
}

/// The expiry notice, a reply to the user's command message.
async fn tell(
    rt: &Runtime,
    requested: &Envelope<CommandRequested>,
    send_id: String,
    stage: ExpiredStage,
) -> Result<(), AppendError> {
    let request = &requested.payload;
    let chat_id = rt
        .keyring
        .open_owned(derive::purpose::CHAT_ID, &request.recipient_id, &request.chat)
        .map_err(|e| AppendError::Unavailable(e.to_string()))?
        .parse()
        .map_err(|e: std::num::ParseIntError| AppendError::Unavailable(e.to_string()))?;
    let text = notice(&request.name, stage, request.locale == "ru");
    let send = SystemSend {
        send_id,
        bot_key: &request.bot_key,
        chat_id,
        text: &text,
        reply_to: Some(request.message_id),
        purpose: "command_expired",
        owner: Owner {
            project_id: Some(request.project_id.clone()),
            integration_id: Some(request.integration_id.clone()),
            recipient_id: Some(request.recipient_id.clone()),
        },
    };
    system_send::queue(rt, EventMeta::caused_by(requested), send).await
}

fn notice(name: &str, stage: ExpiredStage, ru: bool) -> String {
    match (stage, ru) {
        (ExpiredStage::NotAcked, false) => format!("⌛ /{name}: nobody took it in time. Try again later."),
        (ExpiredStage::NotAcked, true) => format!("⌛ /{name}: никто не взялся вовремя. Попробуйте позже."),
        (ExpiredStage::NotAnswered, false) => format!("⌛ /{name}: no result in time."),
        (ExpiredStage::NotAnswered, true) => format!("⌛ /{name}: результата не дождались."),
    }
}
