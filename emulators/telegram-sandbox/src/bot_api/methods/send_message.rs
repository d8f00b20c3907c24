//! `sendMessage`: strict validation, flood control, and the Message object.

use serde_json::{Map, Value};

use super::outgoing;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::bot_api::reply_markup;
use crate::state::SentContent;

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let chat_id = outgoing::chat_id(params)?;
    let raw_text = params.str("text").unwrap_or_default();
    if raw_text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    let parse_mode = outgoing::parse_mode(params)?;
    let markup = reply_markup::from_params(params)?;
    let reply_to = outgoing::reply_target(params)?;
    if params.has("link_preview_options") {
        let options = params
            .json("link_preview_options")
            .map_err(|_| ApiError::bad_request("can't parse link preview options JSON object"))?;
        if !options.as_ref().is_none_or(Value::is_object) {
            return Err(ApiError::bad_request("can't parse link preview options JSON object"));
        }
    }

    let mut world = ctx.sandbox.world();
    let target = outgoing::resolve_chat(&world, chat_id)?;
    let formatted = outgoing::format_text(&raw_text, parse_mode.as_deref(), params, "entities")?;
    outgoing::check_access(&world, ctx.bot_id, &target)?;
    let replied = outgoing::replied_message(&world, ctx.bot_id, chat_id, reply_to)?;

    let limits = ctx.sandbox.config.limits;
    let paid_broadcast = params.bool("allow_paid_broadcast");
    outgoing::check_flood(&mut world, &limits, ctx.bot_id, chat_id, paid_broadcast, 1, ctx.method.name)?;

    let entities: Vec<Value> = formatted.entities.iter().map(|e| e.to_json()).collect();
    let mut fields = Map::new();
    fields.insert("text".into(), Value::from(formatted.text.clone()));
    if !entities.is_empty() {
        fields.insert("entities".into(), Value::Array(entities.clone()));
    }
    if let Some(options) = params.json("link_preview_options").ok().flatten() {
        if options.as_object().is_some_and(|o| !o.is_empty()) {
            fields.insert("link_preview_options".into(), options);
        }
    }
    if let Some(markup) = markup.as_ref().filter(|m| reply_markup::is_inline_keyboard(m)) {
        fields.insert("reply_markup".into(), markup.clone());
    }
    let content = SentContent::text(formatted.text, raw_text, parse_mode, entities, markup);
    let message = outgoing::deliver(&mut world, ctx, &target, replied.as_ref(), fields, content)?;
    Ok(ApiReply::new(message))
}
