//! NATS subjects and stream names. The topology itself (retention, limits,
//! consumers) lives in `nats/` at the repository root.

use crate::Event;

/// The event log: every domain event, forever.
pub const EVENTS_STREAM: &str = "EVENTS";
/// Raw Telegram updates waiting for the connect service (work queue).
pub const UPDATES_STREAM: &str = "TG_UPDATES";

/// Queued sends by bot partition and class, for the partition's owning
/// dispatcher (work queue); the dispatcher names its subjects and consumers.
pub const DISPATCH_STREAM: &str = "DISPATCH";

/// Sends that exhausted their attempts, waiting for `dlq retry`.
pub const DEAD_LETTERS_STREAM: &str = "DEAD_LETTERS";

/// Root of all event subjects: `nt.ev.<aggregate>.<id>.<name>`.
pub const EVENTS_ROOT: &str = "nt.ev";
/// Root of update subjects: `nt.tg.update.<bot_key>`.
pub const UPDATES_ROOT: &str = "nt.tg.update";

/// Root of button-press subjects: `nt.tg.callback.<bot_key>`.
pub const CALLBACKS_ROOT: &str = "nt.tg.callback";

/// Root of the executors' work-queue subjects (core NATS, not stored):
/// `nt.cmd.<project token>.<integration>.<executor key>`.
pub const COMMAND_QUEUE_ROOT: &str = "nt.cmd";

pub fn command_queue(project_id: &str, integration_id: &str, executor_key: &str) -> String {
    format!("{COMMAND_QUEUE_ROOT}.{}.{integration_id}.{executor_key}", crate::feed::project_token(project_id))
}

/// Request/reply: answer a button press (`answerCallbackQuery`), served by
/// the dispatcher.
pub const RPC_CALLBACK_ANSWER: &str = "nt.rpc.dispatcher.callback.answer";

/// Request/reply: verify a bot token with getMe (served by the dispatcher).
pub const RPC_BOT_VERIFY: &str = "nt.rpc.dispatcher.bot.verify";
/// Request/reply: [`crate::rpc::BotTestRequest`] → [`crate::rpc::BotTestReply`].
pub const RPC_BOT_TEST: &str = "nt.rpc.dispatcher.bot.test";
/// Request/reply: [`crate::rpc::BotSyncRequest`] → [`crate::rpc::BotTestReply`].
pub const RPC_BOT_SYNC: &str = "nt.rpc.dispatcher.bot.sync";
/// Request/reply: which of these sends a dispatcher member is still
/// delivering (served by that member alone).
pub fn rpc_dispatcher_calls(member: &str) -> String {
    format!("nt.rpc.dispatcher.member.{member}.calls")
}
/// Queue group of the dispatcher's request handlers.
pub const RPC_DISPATCHER_GROUP: &str = "dispatcher";

/// The subject an event is appended to.
pub fn event<E: Event>(aggregate_id: &str) -> String {
    format!("{EVENTS_ROOT}.{}.{aggregate_id}.{}", E::AGGREGATE, E::NAME)
}

/// Every event of one aggregate instance (the optimistic-concurrency fence).
pub fn aggregate(aggregate_type: &str, aggregate_id: &str) -> String {
    format!("{EVENTS_ROOT}.{aggregate_type}.{aggregate_id}.*")
}

/// Every event of one type, across aggregates (a consumer filter).
pub fn all_of<E: Event>() -> String {
    format!("{EVENTS_ROOT}.{}.*.{}", E::AGGREGATE, E::NAME)
}

/// Every event of an aggregate type.
pub fn aggregate_type(aggregate_type: &str) -> String {
    format!("{EVENTS_ROOT}.{aggregate_type}.>")
}

/// The subject a bot's raw updates are queued on.
pub fn update(bot_key: &str) -> String {
    format!("{UPDATES_ROOT}.{bot_key}")
}

/// The subject a bot's button presses are queued on.
pub fn callback(bot_key: &str) -> String {
    format!("{CALLBACKS_ROOT}.{bot_key}")
}

/// The dead-letter entry of a send.
pub fn dead_letter(send_id: &str) -> String {
    format!("nt.dlq.send.{send_id}")
}

/// Every dead-lettered send.
pub const DEAD_SENDS: &str = "nt.dlq.send.*";

/// The dead-letter entry of an inbound message its project's receiver never took.
pub fn inbound_dead_letter(message_id: &str) -> String {
    format!("nt.dlq.inbound.{message_id}")
}

/// Every dead-lettered inbound message.
pub const DEAD_INBOUND: &str = "nt.dlq.inbound.*";
