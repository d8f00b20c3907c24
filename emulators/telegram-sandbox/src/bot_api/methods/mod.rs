//! The Bot API method table: one entry and one module per method, so adding a
//! method means adding a file, a table row and a match arm.

mod answer_callback_query;
mod edit_message_reply_markup;
mod edit_message_text;
mod edits;
mod get_file;
mod get_me;
mod get_updates;
mod media;
mod my_commands;
pub mod outgoing;
mod send_media;
mod send_media_group;
mod send_message;
mod webhooks;

use std::sync::Arc;

use super::errors::ApiResult;
use super::params::Params;
use crate::state::{FileKind, Sandbox};

/// Facts about one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// Name as documented, e.g. "sendMessage".
    pub name: &'static str,
    /// Whether calls count against the flood limits (one message each, or
    /// one per item of an album).
    pub sends_messages: bool,
}

const fn method(name: &'static str, sends_messages: bool) -> MethodInfo {
    MethodInfo { name, sends_messages }
}

/// Every implemented method.
pub const METHODS: &[MethodInfo] = &[
    method("getMe", false),
    method("getFile", false),
    method("getUpdates", false),
    method("setWebhook", false),
    method("deleteWebhook", false),
    method("getWebhookInfo", false),
    method("sendMessage", true),
    method("sendPhoto", true),
    method("sendVideo", true),
    method("sendDocument", true),
    method("sendAudio", true),
    method("sendAnimation", true),
    method("sendVoice", true),
    method("sendMediaGroup", true),
    method("editMessageText", true),
    method("editMessageReplyMarkup", true),
    method("answerCallbackQuery", false),
    method("setMyCommands", false),
    method("getMyCommands", false),
    method("deleteMyCommands", false),
];

/// Looks a method up; names are case-insensitive as in Telegram.
pub fn find(name: &str) -> Option<&'static MethodInfo> {
    METHODS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// What a handler gets: the sandbox, the calling bot and the method.
#[derive(Clone)]
pub struct Ctx {
    pub sandbox: Arc<Sandbox>,
    pub bot_id: i64,
    pub method: &'static MethodInfo,
}

/// Runs a method.
pub async fn invoke(ctx: &Ctx, params: &Params) -> ApiResult {
    match ctx.method.name {
        "getMe" => get_me::handle(ctx, params),
        "getFile" => get_file::handle(ctx, params),
        "getUpdates" => get_updates::handle(ctx, params).await,
        "setWebhook" => webhooks::set_webhook(ctx, params),
        "deleteWebhook" => webhooks::delete_webhook(ctx, params),
        "getWebhookInfo" => webhooks::get_webhook_info(ctx, params),
        "sendMessage" => send_message::handle(ctx, params),
        "sendPhoto" => send_media::handle(ctx, params, FileKind::Photo),
        "sendVideo" => send_media::handle(ctx, params, FileKind::Video),
        "sendDocument" => send_media::handle(ctx, params, FileKind::Document),
        "sendAudio" => send_media::handle(ctx, params, FileKind::Audio),
        "sendAnimation" => send_media::handle(ctx, params, FileKind::Animation),
        "sendVoice" => send_media::handle(ctx, params, FileKind::Voice),
        "sendMediaGroup" => send_media_group::handle(ctx, params),
        "editMessageText" => edit_message_text::handle(ctx, params),
        "editMessageReplyMarkup" => edit_message_reply_markup::handle(ctx, params),
        "answerCallbackQuery" => answer_callback_query::handle(ctx, params),
        "setMyCommands" => my_commands::set(ctx, params),
        "getMyCommands" => my_commands::get(ctx, params),
        "deleteMyCommands" => my_commands::delete(ctx, params),
        _ => Err(super::errors::ApiError::not_found()),
    }
}
