//! The chat's lifecycle from the bot's side (`my_chat_member`): the user
//! blocked the bot, or the bot was removed from a group or may no longer
//! post there → each recipient of that chat is unreachable at once
//! (`recipient.unreachable`), so sends to it fail fast instead of finding
//! out from Telegram. Unblocking or adding the bot again connects nobody:
//! connecting again takes a fresh code from the project.

use novij_bus::Expect;
use novij_events::recipient::{RecipientUnreachable, UnreachableReason};
use novij_events::Envelope;
use novij_runtime::derive;

use super::commands::{CommandError, Context};
use super::update::ChatMember;

/// Why the bot can no longer post in the chat, if it cannot.
fn cut_off(private: bool, member: &ChatMember) -> Option<UnreachableReason> {
    match member.status.as_str() {
        "kicked" if private => Some(UnreachableReason::RecipientBlocked),
        "kicked" | "left" => Some(UnreachableReason::BotKicked),
        "restricted" if member.can_send_messages == Some(false) => Some(UnreachableReason::BotKicked),
        _ => None,
    }
}

pub async fn member_changed(ctx: &Context<'_>, member: &ChatMember) -> Result<(), CommandError> {
    let Some(reason) = cut_off(ctx.chat.is_private(), member) else { return Ok(()) };
    let chat_hash = derive::chat_hash(&ctx.rt.keyring, ctx.bot_key, ctx.chat.id);
    for r in ctx.connected.in_chat(&chat_hash).await? {
        let unreachable = RecipientUnreachable {
            recipient_id: r.recipient_id.clone(),
            integration_id: r.integration_id.clone(),
            reason,
        };
        let env = Envelope::new(unreachable, ctx.meta.clone())
            .with_event_id(ctx.event_id(&format!("unreachable:{}", r.recipient_id)));
        let appended = ctx.rt.log.append(&env, Expect::Any).await?;
        ctx.connected.wait_for(appended.sequence).await;
        tracing::info!(recipient_id = %r.recipient_id, reason = reason.as_str(), "recipient unreachable: the bot was cut off");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(status: &str, can_send_messages: Option<bool>) -> ChatMember {
        ChatMember { status: status.into(), can_send_messages }
    }

    #[test]
    fn a_block_a_removal_or_a_muting_cuts_the_chat_off_and_nothing_else_does() {
        assert_eq!(cut_off(true, &member("kicked", None)), Some(UnreachableReason::RecipientBlocked));
        assert_eq!(cut_off(false, &member("kicked", None)), Some(UnreachableReason::BotKicked));
        assert_eq!(cut_off(false, &member("left", None)), Some(UnreachableReason::BotKicked));
        assert_eq!(cut_off(false, &member("restricted", Some(false))), Some(UnreachableReason::BotKicked));
        for (private, status, can) in
            [(true, "member", None), (false, "administrator", None), (false, "restricted", Some(true))]
        {
            assert_eq!(cut_off(private, &member(status, can)), None, "{status}");
        }
    }
}
