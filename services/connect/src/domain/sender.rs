//! Who a Telegram user is to an integration, as the project may know them.

use novij_runtime::{derive, Runtime};

use super::commands::CommandError;
use novij_runtime::connected::ConnectedRecipients;

/// Their `public_user_ref` when their own chat with the bot is a connected
/// recipient of the integration (in a private chat: that chat), else an
/// opaque id (`tg_…`), stable per bot; never the Telegram id or name.
pub async fn sender_ref(
    rt: &Runtime,
    connected: &ConnectedRecipients,
    bot_key: &str,
    integration_id: &str,
    user_id: i64,
) -> Result<String, CommandError> {
    let own_chat = derive::chat_hash(&rt.keyring, bot_key, user_id);
    let recipients = connected.in_chat(&own_chat).await?;
    let own = recipients.into_iter().find(|r| r.integration_id == integration_id);
    Ok(own.map_or_else(|| derive::presser_id(&rt.keyring, bot_key, user_id), |r| r.public_user_ref))
}
