//! Ids and secrets derived from keyed hashes. Each derivation has its own
//! domain string, and each is defined only here.

use novij_crypto::Keyring;
use novij_events::ids;

/// The send id of an idempotency key: one key, one send, enforced by the log
/// because the send's first event must be the aggregate's first.
pub fn send_id(keyring: &Keyring, project_id: &str, idempotency_key: &str) -> String {
    ids::derived_id(ids::SEND, &keyring.hash("send/idempotency", format!("{project_id}\0{idempotency_key}").as_bytes()))
}

/// A broadcast's id, from its project and idempotency key.
pub fn broadcast_id(keyring: &Keyring, project_id: &str, idempotency_key: &str) -> String {
    ids::derived_id(
        ids::BROADCAST,
        &keyring.hash("broadcast/idempotency", format!("{project_id}\0{idempotency_key}").as_bytes()),
    )
}

/// The send of one recipient of a broadcast.
pub fn broadcast_send_id(keyring: &Keyring, broadcast_id: &str, recipient_id: &str) -> String {
    ids::derived_id(ids::SEND, &keyring.hash("send/broadcast", format!("{broadcast_id}\0{recipient_id}").as_bytes()))
}

/// The send id of a system reply, from the update it answers.
pub fn system_send_id(keyring: &Keyring, bot_key: &str, update_id: i64, purpose: &str) -> String {
    ids::derived_id(ids::SEND, &keyring.hash("send/system", format!("{bot_key}\0{update_id}\0{purpose}").as_bytes()))
}

/// The connect-code aggregate id; the log never holds the code itself.
pub fn code_id(keyring: &Keyring, code: &str) -> String {
    ids::derived_id(ids::CONNECT_CODE, &keyring.hash("connect/code", code.as_bytes()))
}

/// One recipient per (integration, public user ref).
pub fn recipient_id(keyring: &Keyring, integration_id: &str, public_user_ref: &str) -> String {
    ids::derived_id(
        ids::RECIPIENT,
        &keyring.hash("recipient", format!("{integration_id}\0{public_user_ref}").as_bytes()),
    )
}

/// One incident per (integration, the project's `external_id`).
pub fn incident_id(keyring: &Keyring, integration_id: &str, external_id: &str) -> String {
    ids::derived_id(ids::INCIDENT, &keyring.hash("incident", format!("{integration_id}\0{external_id}").as_bytes()))
}

/// A command a user ran, from the update that carried it: a redelivered
/// update is the same command.
pub fn command_id(keyring: &Keyring, bot_key: &str, update_id: i64) -> String {
    ids::derived_id(ids::COMMAND, &keyring.hash("command", format!("{bot_key}\0{update_id}").as_bytes()))
}

/// A message a user wrote to a project's bot, from the update that carried it.
pub fn inbound_id(keyring: &Keyring, bot_key: &str, update_id: i64) -> String {
    ids::derived_id(ids::INBOUND, &keyring.hash("inbound", format!("{bot_key}\0{update_id}").as_bytes()))
}

/// Fingerprint of a card's content, to tell an update that changes nothing
/// without opening the sealed content of the one before.
pub fn card_hash(keyring: &Keyring, canonical_content: &[u8]) -> String {
    keyring.hash("alert/card", canonical_content)
}

/// A button press's own hash, from the callback query Telegram gave it, so
/// a redelivered update is the same press.
pub fn press_hash(keyring: &Keyring, bot_key: &str, callback_query_id: &str) -> String {
    keyring.hash("alert/press", format!("{bot_key}\0{callback_query_id}").as_bytes())
}

/// The opaque id of a Telegram user who is not a recipient (`tg_<hash>`):
/// stable per bot, never the user's id.
pub fn presser_id(keyring: &Keyring, bot_key: &str, user_id: i64) -> String {
    format!("tg_{}", &keyring.hash("alert/presser", format!("{bot_key}\0{user_id}").as_bytes())[..16])
}

/// Lookup key of a chat as seen by one bot.
pub fn chat_hash(keyring: &Keyring, bot_key: &str, chat_id: i64) -> String {
    keyring.hash("chat", format!("{bot_key}\0{chat_id}").as_bytes())
}

/// The webhook secret Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`.
/// Derived, not stored: ingress and dispatcher compute the same one.
pub fn webhook_secret(keyring: &Keyring, bot_key: &str) -> String {
    keyring.hash("webhook/secret", bot_key.as_bytes())
}

/// Keyed hash of a project API key made at run time: what the log keeps of it.
pub fn api_key_hash(keyring: &Keyring, key: &str) -> String {
    keyring.hash("api_key", key.as_bytes())
}

/// Hash of a request body, to tell a retry from a conflicting reuse of a key.
pub fn request_hash(keyring: &Keyring, canonical_body: &[u8]) -> String {
    keyring.hash("send/request", canonical_body)
}

/// Purposes (associated data) of sealed values.
pub mod purpose {
    pub const BOT_TOKEN: &str = "bot_token";
    pub const CHAT_ID: &str = "chat_id";
    pub const ALERT_CARD: &str = "alert_card";
    pub const COMMAND_INPUT: &str = "command_input";
    pub const INBOUND_MESSAGE: &str = "inbound_message";
    pub const INBOUND_SECRET: &str = "inbound_secret";
    pub const BROADCAST_CONTENT: &str = "broadcast_content";
    pub const OUTGOING_MESSAGE: &str = "outgoing_message";
    pub const TELEGRAM_UPDATE: &str = "telegram_update";
    pub const UPLOAD_FILENAME: &str = "upload_filename";
    pub const FILE_ID: &str = "file_id";
}
