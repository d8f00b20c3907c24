//! A message a connected user writes to a project's bot that is not a
//! command (text, or a file as Telegram describes it): recorded, sealed, as
//! `inbound.received` for the project, which may answer it.
//!
//! On a project's own bot it is that integration's. On the common bot it is
//! handed on only when the chat is connected to exactly one integration: a
//! chat shared by several projects' integrations must not tell one project
//! what the user meant for another.

use chrono::Utc;
use novij_aggregates::integration::Integration;
use novij_bus::{AppendError, Expect};
use novij_events::inbound::{InboundContent, InboundMedia, InboundReceived};
use novij_events::Envelope;
use novij_runtime::derive;

use super::commands::{CommandError, Context};
use super::sender::sender_ref;
use super::update::Message;

pub async fn received(
    ctx: &Context<'_>,
    integration: Option<&Integration>,
    message: &Message,
) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let media = message.media().map(|(kind, file)| InboundMedia {
        kind: kind.to_string(),
        file_id: file.file_id.clone(),
        file_size: file.file_size,
        caption: message.caption.clone(),
    });
    let content = InboundContent { text: message.text.clone(), media };
    if content == InboundContent::default() {
        return Ok(());
    }
    let chat_hash = derive::chat_hash(&rt.keyring, ctx.bot_key, ctx.chat.id);
    let connected = ctx.connected.in_chat(&chat_hash).await?;
    let mut ours = connected.into_iter().filter(|r| integration.is_none_or(|i| r.integration_id == i.integration_id));
    let (Some(recipient), None) = (ours.next(), ours.next()) else {
        // Not connected, or connected to several integrations of the common bot.
        return Ok(());
    };
    // An anonymous group admin speaks as the group.
    let user_id = message.from.as_ref().map_or(ctx.chat.id, |u| u.id);
    let from = sender_ref(rt, ctx.connected, ctx.bot_key, &recipient.integration_id, user_id).await?;
    let sealed = ctx.sealed_words(derive::purpose::INBOUND_MESSAGE, &content).await?;
    let chat = ctx.sealed_chat(&recipient.recipient_id)?;
    let message_id = derive::inbound_id(&rt.keyring, ctx.bot_key, ctx.update_id);
    let received = InboundReceived {
        message_id: message_id.clone(),
        integration_id: recipient.integration_id.clone(),
        project_id: recipient.project_id.clone(),
        bot_key: ctx.bot_key.to_string(),
        recipient_id: recipient.recipient_id.clone(),
        from,
        chat_kind: ctx.chat.kind(),
        chat,
        telegram_message_id: message.message_id,
        content: sealed,
        received_at: Utc::now(),
    };
    let env = Envelope::new(received, ctx.meta.clone()).with_event_id(ctx.event_id("inbound"));
    match rt.log.append(&env, Expect::NoEvents).await {
        // A redelivered update: recorded already.
        Ok(_) | Err(AppendError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(message_id = %message_id, integration_id = %recipient.integration_id, "inbound message received");
    Ok(())
}
