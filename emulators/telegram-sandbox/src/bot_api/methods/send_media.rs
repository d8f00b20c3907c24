//! `sendPhoto`, `sendVideo`, `sendDocument`, `sendAudio`, `sendAnimation`
//! and `sendVoice`: one media message each, its file uploaded, given by URL
//! or by `file_id`, with the chat checks and flood control of `sendMessage`.

use super::media::{Caption, MediaItem};
use super::outgoing;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::input_file::InputFile;
use crate::bot_api::params::Params;
use crate::bot_api::reply_markup;
use crate::state::FileKind;

pub fn handle(ctx: &Ctx, params: &Params, kind: FileKind) -> ApiResult {
    // The Bot API server reads the file and the caption before anything else.
    let field = kind.field();
    let value = params.str(field).unwrap_or_default();
    let input = InputFile::read(params, Some(field), &value)
        .ok_or_else(|| ApiError::bad_request(format!("there is no {field} in the request")))?;
    let item = MediaItem::new(kind, input, Caption::read(params)?, params);
    let chat_id = outgoing::chat_id(params)?;
    let markup = reply_markup::from_params(params)?;
    let reply_to = outgoing::reply_target(params)?;

    let mut world = ctx.sandbox.world();
    let target = outgoing::resolve_chat(&world, chat_id)?;
    let checked = item.check(&world.files, ctx.bot_id)?;
    outgoing::check_access(&world, ctx.bot_id, &target)?;
    let replied = outgoing::replied_message(&world, ctx.bot_id, chat_id, reply_to)?;
    let limits = ctx.sandbox.config.limits;
    let paid_broadcast = params.bool("allow_paid_broadcast");
    outgoing::check_flood(&mut world, &limits, ctx.bot_id, chat_id, paid_broadcast, 1, ctx.method.name)?;

    // Reborrowed so the file store and the bots can be used at once.
    let world = &mut *world;
    let (mut fields, mut content) = item.into_message(checked, &mut world.files, ctx.bot_id, None);
    if let Some(markup) = markup.as_ref().filter(|m| reply_markup::is_inline_keyboard(m)) {
        fields.insert("reply_markup".into(), markup.clone());
    }
    content.reply_markup = markup;
    let message = outgoing::deliver(world, ctx, &target, replied.as_ref(), fields, content)?;
    Ok(ApiReply::new(message))
}
