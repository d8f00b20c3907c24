//! `editMessageText` for text messages the bot sent in private chats and
//! groups (a media message has no text: its caption is another method's).

use serde_json::Value;

use super::Ctx;
use super::{edits, outgoing};
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::bot_api::reply_markup;
use crate::state::{SentContent, SentRecord};

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let (chat_id, message_id) = edits::target(params)?;
    let raw_text = params.str("text").unwrap_or_default();
    if raw_text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    let parse_mode = outgoing::parse_mode(params)?;
    let markup = reply_markup::from_params(params)?;
    if markup.as_ref().is_some_and(|m| !reply_markup::is_inline_keyboard(m)) {
        return Err(ApiError::bad_request("inline keyboard expected"));
    }

    let mut world = ctx.sandbox.world();
    outgoing::resolve_chat(&world, chat_id)?;
    let formatted = outgoing::format_text(&raw_text, parse_mode.as_deref(), params, "entities")?;
    let current = edits::editable(&world, ctx, chat_id, message_id)?;
    if current.get("text").is_none() {
        return Err(ApiError::bad_request("there is no text in the message to edit"));
    }
    let entities: Vec<Value> = formatted.entities.iter().map(|e| e.to_json()).collect();
    let same_text = current.get("text").and_then(Value::as_str) == Some(formatted.text.as_str());
    let current_entities = current.get("entities").cloned().unwrap_or(Value::Array(Vec::new()));
    let same_entities = current_entities == Value::Array(entities.clone());
    let same_markup = current.get("reply_markup") == markup.as_ref();
    if same_text && same_entities && same_markup {
        return Err(edits::not_modified());
    }

    let mut edited = current;
    let date = edited.get("date").and_then(Value::as_i64).unwrap_or_default();
    if let Some(map) = edited.as_object_mut() {
        map.insert("text".into(), Value::from(formatted.text.clone()));
        if entities.is_empty() {
            map.remove("entities");
        } else {
            map.insert("entities".into(), Value::Array(entities.clone()));
        }
    }
    edits::set_markup(&mut edited, markup.as_ref());
    let record = SentRecord {
        message_id,
        chat_id,
        content: SentContent::text(formatted.text, raw_text, parse_mode, entities, markup),
        date,
        method: ctx.method.name.to_string(),
    };
    Ok(ApiReply::new(edits::store(&mut world, ctx, edited, record)?))
}
