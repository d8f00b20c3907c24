//! The emulated Telegram world: bots, users, chats, pending updates and the
//! records (calls, sent messages, violations) that tests inspect.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::SandboxConfig;
use crate::limits::{BotLimiter, Reason, Scope};

mod blobs;
mod commands;
mod deliveries;
mod files;
mod group;
mod media;
mod sent;
pub use blobs::{image_sides, ImageFormat, MAX_KEPT_BYTES};
pub use commands::{BotCommand, CommandLists, CommandScope};
pub use deliveries::{Deliveries, DeliveryRecord};
pub use files::{FileKind, Files, StoredFile};
pub use group::{group_anonymous_bot_json, group_chat_id, BotMembership, Group, GroupKind, GROUP_ANONYMOUS_BOT_ID};
pub use media::{mime_type_of, NewFile, MIME_TYPES};
pub use sent::{MediaSource, SentContent, SentMedia, SentRecord};

/// How many Bot API calls are kept for `/sandbox/calls`.
const MAX_CALL_RECORDS: usize = 100_000;
/// How many change notices a slow page may fall behind before it is told to resync.
const EVENT_BACKLOG: usize = 256;

/// Shared state of one running sandbox.
/// What runs for each bot for as long as the sandbox does (its webhook
/// deliveries): given by the crate root, so the state needs no delivery code.
pub type BotWorker = fn(Weak<Sandbox>, i64) -> Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct Sandbox {
    pub config: SandboxConfig,
    world: Mutex<World>,
    /// Client used for webhook deliveries.
    pub http: reqwest::Client,
    bot_worker: BotWorker,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Turns true when the sandbox stops; slowed and hung calls then answer at once.
    stopping: watch::Sender<bool>,
    /// Change notices for the page's live stream (`/sandbox/events`).
    events: broadcast::Sender<Value>,
}

/// Everything that changes while the sandbox runs.
#[derive(Default)]
pub struct World {
    pub bots: BTreeMap<i64, Bot>,
    pub users: BTreeMap<i64, User>,
    pub next_user_id: i64,
    pub calls: VecDeque<CallRecord>,
    pub violations: Vec<Violation>,
    pub groups: BTreeMap<i64, Group>,
    /// How many basic groups and supergroups were created (ids derive from these).
    pub group_seq: i64,
    pub supergroup_seq: i64,
    /// Files bots received (from users, or by sending them), by `file_id`.
    pub files: Files,
}

/// A Telegram user acted out through the control API.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

impl User {
    /// The `User` object Telegram sends.
    pub fn to_json(&self) -> Value {
        let mut user = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        insert_opt(&mut user, "last_name", &self.last_name);
        insert_opt(&mut user, "username", &self.username);
        insert_opt(&mut user, "language_code", &self.language_code);
        user
    }

    /// The private `Chat` object between this user and a bot.
    pub fn private_chat_json(&self) -> Value {
        let mut chat = json!({"id": self.id, "first_name": self.first_name});
        insert_opt(&mut chat, "last_name", &self.last_name);
        insert_opt(&mut chat, "username", &self.username);
        if let Some(map) = chat.as_object_mut() {
            map.insert("type".into(), Value::from("private"));
        }
        chat
    }
}

fn insert_opt(target: &mut Value, key: &str, value: &Option<String>) {
    if let (Some(map), Some(value)) = (target.as_object_mut(), value) {
        map.insert(key.to_string(), Value::from(value.clone()));
    }
}

/// Relation between one user and one bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// The user pressed Start at least once.
    pub started: bool,
    /// The user blocked the bot.
    pub blocked: bool,
}

/// A webhook as set by `setWebhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_connections: u32,
}

/// A pending update.
#[derive(Debug, Clone)]
pub struct Update {
    pub update_id: i64,
    /// The Update field that holds the payload, e.g. "message".
    pub kind: &'static str,
    pub payload: Value,
    /// When it was queued, for the delivery log's latency of polled updates.
    pub queued: std::time::Instant,
}

impl Update {
    /// The `Update` object as delivered.
    pub fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("update_id".into(), Value::from(self.update_id));
        map.insert(self.kind.into(), self.payload.clone());
        Value::Object(map)
    }
}

/// A message kept in a chat, for replies and edits.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// The Message object as Telegram returned or delivered it.
    pub json: Value,
    pub from_bot: bool,
    /// The message it replies to (kept apart: the JSON holds no reply).
    pub reply_to: Option<i64>,
}

/// Messages of one chat as seen by one bot.
#[derive(Debug, Default)]
pub struct ChatLog {
    pub last_message_id: i64,
    pub messages: BTreeMap<i64, StoredMessage>,
    /// The newest message the page's reader has seen; later bot messages are unread.
    pub read_up_to: i64,
}

/// One received Bot API call (never the token).
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub bot_username: Option<String>,
    pub method: String,
    pub status: u16,
    pub at: String,
    pub at_ms: i64,
    pub params: Value,
    /// The answer came from an injected fault (failure, delay or hang).
    pub fault: bool,
    /// The calling bot, for the per-bot counters.
    #[serde(skip)]
    pub bot_id: Option<i64>,
    /// The method sends messages (counted apart per bot).
    #[serde(skip)]
    pub sends_messages: bool,
    /// The messages a successful call sent or edited, for the page's "raw call".
    #[serde(skip)]
    pub message_ids: Vec<i64>,
}

/// A recorded flood-limit violation.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub bot_username: String,
    pub chat_id: Option<i64>,
    pub scope: Scope,
    pub reason: Reason,
    pub method: String,
    pub retry_after: u64,
    pub at: String,
    pub at_ms: i64,
}

/// An injected fault for the next `remaining` matching calls: a failure, a
/// slow answer (then performed or failed), or a hang (never performed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The error status; None with `delay_ms` = performed normally after the delay.
    pub status: Option<u16>,
    pub remaining: u32,
    pub retry_after: Option<u64>,
    /// Method name as documented, or any method.
    pub method: Option<String>,
    pub description: Option<String>,
    /// Wait this long before answering.
    pub delay_ms: Option<u64>,
    /// Hold the connection this long, then answer `status` (502) without performing the call.
    pub hang_ms: Option<u64>,
    /// Only calls whose `chat_id` is this.
    pub chat_id: Option<i64>,
}

impl Fault {
    /// Whether a call of `method` (documented name) to `chat_id` matches.
    pub fn matches(&self, method: &str, chat_id: Option<i64>) -> bool {
        self.remaining > 0
            && self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.chat_id.is_none_or(|wanted| chat_id == Some(wanted))
    }

    /// As the control API shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "status": self.status,
            "count": self.remaining,
            "retry_after": self.retry_after,
            "method": self.method,
            "description": self.description,
            "delay_ms": self.delay_ms,
            "hang": self.hang_ms.is_some(),
            "hang_ms": self.hang_ms,
            "chat_id": self.chat_id,
        })
    }
}

/// Running totals of one bot, kept so large tests can check counts cheaply.
#[derive(Debug, Clone, Default)]
pub struct BotStats {
    /// Bot API calls made with this bot's token.
    pub calls: u64,
    /// Calls of message-producing methods, whatever their outcome.
    pub message_calls: u64,
    /// Messages actually sent (not edits).
    pub delivered: u64,
    /// Successful edits.
    pub edited: u64,
    /// Calls answered by an injected fault.
    pub faulted: u64,
    /// Flood-limit violations.
    pub violations: u64,
    /// Messages sent with `allow_paid_broadcast` (each costs the bot Stars).
    pub paid_broadcast: u64,
    /// File parts received in multipart bodies, whatever the call's outcome, and their bytes.
    pub uploads: u64,
    pub upload_bytes: u64,
    /// Media messages sent, by how the bot gave the file.
    pub media_by_upload: u64,
    pub media_by_url: u64,
    pub media_by_file_id: u64,
    /// Messages sent per chat.
    pub per_chat: BTreeMap<i64, u64>,
}

/// A callback query produced by a user pressing an inline button.
#[derive(Debug, Clone)]
pub struct CallbackQueryState {
    pub user_id: i64,
    /// Where the pressed button is.
    pub chat_id: i64,
    pub message_id: i64,
    pub answered: bool,
    /// When the button was pressed: the answer's deadline and latency count from it.
    pub pressed: std::time::Instant,
    /// The same, in unix milliseconds, for the record of the answer.
    pub pressed_at_ms: i64,
}

/// An emulated bot.
pub struct Bot {
    pub id: i64,
    pub token: String,
    pub username: String,
    pub first_name: String,
    pub webhook: Option<Webhook>,
    /// (unix date, message) of the last failed delivery to the current webhook.
    pub webhook_error: Option<(i64, String)>,
    pub allowed_updates: Option<Vec<String>>,
    pub updates: VecDeque<Update>,
    pub next_update_id: i64,
    pub relations: HashMap<i64, Relation>,
    pub chats: HashMap<i64, ChatLog>,
    pub sent: Vec<SentRecord>,
    pub limiter: BotLimiter,
    pub faults: Vec<Fault>,
    pub stats: BotStats,
    /// Bumped by every getUpdates call; an older waiting call then gives up.
    pub poll_generation: u64,
    pub callback_queries: HashMap<String, CallbackQueryState>,
    pub callback_answers: Vec<Value>,
    /// Lists set by `setMyCommands`.
    pub commands: CommandLists,
    /// Bumped whenever updates or the webhook change.
    pub updates_tx: watch::Sender<u64>,
    /// Bumped whenever the webhook changes.
    pub webhook_tx: watch::Sender<u64>,
    /// Updates handed over by webhook or `getUpdates`, newest last.
    pub deliveries: Deliveries,
}

/// Update types delivered when `allowed_updates` was never given.
const NOT_DELIVERED_BY_DEFAULT: [&str; 3] = ["chat_member", "message_reaction", "message_reaction_count"];

impl Bot {
    fn new(id: i64, token: String, username: String, first_name: String) -> Self {
        let next_update_id = rand::thread_rng().gen_range(100_000_000..900_000_000);
        Self {
            id,
            token,
            username,
            first_name,
            webhook: None,
            webhook_error: None,
            allowed_updates: None,
            updates: VecDeque::new(),
            next_update_id,
            relations: HashMap::new(),
            chats: HashMap::new(),
            sent: Vec::new(),
            limiter: BotLimiter::default(),
            faults: Vec::new(),
            stats: BotStats::default(),
            poll_generation: 0,
            callback_queries: HashMap::new(),
            callback_answers: Vec::new(),
            commands: CommandLists::new(),
            updates_tx: watch::channel(0).0,
            webhook_tx: watch::channel(0).0,
            deliveries: Deliveries::default(),
        }
    }

    /// Forgets what happened with the bot: updates, chats, records, limits.
    fn reset_activity(&mut self) {
        self.updates.clear();
        self.relations.clear();
        self.chats.clear();
        self.sent.clear();
        self.limiter = BotLimiter::default();
        self.faults.clear();
        self.stats = BotStats::default();
        self.callback_queries.clear();
        self.callback_answers.clear();
        self.deliveries = Deliveries::default();
        self.webhook_error = None;
        self.notify_updates();
    }

    /// The bot's own `User` object.
    pub fn user_json(&self) -> Value {
        json!({
            "id": self.id,
            "is_bot": true,
            "first_name": self.first_name,
            "username": self.username,
        })
    }

    /// Whether an update of `kind` passes the bot's `allowed_updates`.
    pub fn allows(&self, kind: &str) -> bool {
        match &self.allowed_updates {
            Some(list) if !list.is_empty() => list.iter().any(|k| k == kind),
            _ => !NOT_DELIVERED_BY_DEFAULT.contains(&kind),
        }
    }

    /// Queues an update and wakes pollers and the webhook worker.
    pub fn push_update(&mut self, kind: &'static str, payload: Value) -> i64 {
        let update_id = self.next_update_id;
        self.next_update_id += 1;
        self.updates.push_back(Update { update_id, kind, payload, queued: std::time::Instant::now() });
        self.notify_updates();
        update_id
    }

    /// Wakes long polls and the webhook worker.
    pub fn notify_updates(&self) {
        self.updates_tx.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Signals a webhook change to the delivery worker.
    pub fn notify_webhook(&self) {
        self.webhook_tx.send_modify(|v| *v = v.wrapping_add(1));
        self.notify_updates();
    }

    /// Drops queued updates that the current `allowed_updates` excludes.
    pub fn drop_disallowed_front(&mut self) {
        while let Some(front) = self.updates.front() {
            if self.allows(front.kind) {
                break;
            }
            self.updates.pop_front();
        }
    }

    /// Allocates the next message id in a chat.
    pub fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let log = self.chats.entry(chat_id).or_default();
        log.last_message_id += 1;
        log.last_message_id
    }

    /// Stores a message of a chat.
    pub fn store_message(&mut self, chat_id: i64, message_id: i64, message: StoredMessage) {
        self.chats.entry(chat_id).or_default().messages.insert(message_id, message);
    }

    /// A stored message of a chat.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<&StoredMessage> {
        self.chats.get(&chat_id)?.messages.get(&message_id)
    }

    /// Records a message the bot sent or edited, and counts it.
    pub fn record_sent(&mut self, record: SentRecord) {
        if record.method.starts_with("edit") {
            self.stats.edited += 1;
        } else {
            self.stats.delivered += 1;
            *self.stats.per_chat.entry(record.chat_id).or_default() += 1;
            match record.content.media.as_ref().map(|media| media.source) {
                Some(MediaSource::Upload) => self.stats.media_by_upload += 1,
                Some(MediaSource::Url) => self.stats.media_by_url += 1,
                Some(MediaSource::FileId) => self.stats.media_by_file_id += 1,
                None => {}
            }
        }
        self.sent.push(record);
    }

    /// What a message the bot sent carries, as last recorded.
    pub fn sent_content(&self, chat_id: i64, message_id: i64) -> Option<&SentContent> {
        self.sent.iter().rev().find(|r| r.chat_id == chat_id && r.message_id == message_id).map(|r| &r.content)
    }

    /// A new token for the bot (BotFather's /revoke); the old one stops working.
    pub fn revoke_token(&mut self) -> String {
        self.token = generate_token(self.id);
        self.token.clone()
    }

    /// Relation with a user (default: never started, not blocked).
    pub fn relation(&self, user_id: i64) -> Relation {
        self.relations.get(&user_id).copied().unwrap_or_default()
    }
}

/// Public facts about a bot, as the control API shows them.
#[derive(Debug, Clone, Serialize)]
pub struct BotInfo {
    pub id: i64,
    pub token: String,
    pub username: String,
}

/// Whether `token` has Telegram's shape `<digits>:<30-50 of A-Za-z0-9_->`.
pub fn parse_token(token: &str) -> Option<i64> {
    let (id, secret) = token.split_once(':')?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !(30..=50).contains(&secret.len())
        || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    id.parse::<i64>().ok().filter(|id| *id > 0)
}

/// Telegram's bot username rules: 5-32 of A-Za-z0-9_, starting with a letter, ending in "bot".
pub fn validate_bot_username(username: &str) -> Result<(), String> {
    if !(5..=32).contains(&username.len()) {
        return Err("bot username must be 5-32 characters long".into());
    }
    if !username.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || !username.as_bytes()[0].is_ascii_alphabetic()
    {
        return Err("bot username may contain only A-Z, a-z, 0-9 and _ and must start with a letter".into());
    }
    if !username.to_ascii_lowercase().ends_with("bot") {
        return Err("bot username must end in \"bot\"".into());
    }
    Ok(())
}

/// Unix time in seconds.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// (RFC 3339 with milliseconds, unix milliseconds) of now.
pub fn now_stamp() -> (String, i64) {
    let now = chrono::Utc::now();
    (now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), now.timestamp_millis())
}

fn generate_token(id: i64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::thread_rng();
    let secret: String = (0..33).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    format!("{id}:AA{secret}")
}

impl Sandbox {
    /// A sandbox with no bots yet.
    pub fn new(config: SandboxConfig, bot_worker: BotWorker) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Arc::new(Self {
            config,
            world: Mutex::new(World { next_user_id: 700_000_001, ..World::default() }),
            http,
            bot_worker,
            workers: Mutex::new(Vec::new()),
            stopping: watch::channel(false).0,
            events: broadcast::channel(EVENT_BACKLOG).0,
        }))
    }

    /// Tells live pages that something changed (nobody listening is fine).
    pub fn publish(&self, event: Value) {
        let _ = self.events.send(event);
    }

    /// The change notices from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Value> {
        self.events.subscribe()
    }

    /// Forgets users, groups, chats, updates and every record, keeping the
    /// bots (tokens, webhooks and command menus), so a running service keeps working.
    pub fn reset(&self) {
        let mut world = self.world();
        let world = &mut *world;
        world.users.clear();
        world.groups.clear();
        world.calls.clear();
        world.violations.clear();
        world.files = Files::default();
        for bot in world.bots.values_mut() {
            bot.reset_activity();
        }
    }

    /// Locks the world (a panic elsewhere never makes it unusable).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a bot; `token` None generates one in Telegram's format.
    pub fn create_bot(
        self: &Arc<Self>,
        token: Option<String>,
        username: &str,
        first_name: &str,
    ) -> Result<BotInfo, CreateBotError> {
        validate_bot_username(username).map_err(CreateBotError::Invalid)?;
        let info = {
            let mut world = self.world();
            if world.bot_id_by_username(username).is_some() {
                return Err(CreateBotError::Conflict(format!("bot @{username} already exists")));
            }
            let (id, token) = match token {
                Some(token) => {
                    let id = parse_token(&token).ok_or_else(|| {
                        CreateBotError::Invalid(format!(
                            "token of @{username} is not in Telegram's format <digits>:<secret>"
                        ))
                    })?;
                    (id, token)
                }
                None => {
                    let mut rng = rand::thread_rng();
                    let mut id = rng.gen_range(6_000_000_000_i64..8_000_000_000);
                    while world.bots.contains_key(&id) {
                        id = rng.gen_range(6_000_000_000_i64..8_000_000_000);
                    }
                    (id, generate_token(id))
                }
            };
            if world.bots.contains_key(&id) {
                return Err(CreateBotError::Conflict(format!("a bot with id {id} already exists")));
            }
            let first_name = if first_name.trim().is_empty() { username.to_string() } else { first_name.to_string() };
            world.bots.insert(id, Bot::new(id, token.clone(), username.to_string(), first_name));
            BotInfo { id, token, username: username.to_string() }
        };
        let worker = tokio::spawn((self.bot_worker)(Arc::downgrade(self), info.id));
        self.workers.lock().unwrap_or_else(|e| e.into_inner()).push(worker);
        Ok(info)
    }

    /// Resolves once the sandbox is stopping.
    pub async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Stops background work.
    pub fn stop_workers(&self) {
        self.stopping.send_replace(true);
        for worker in self.workers.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            worker.abort();
        }
    }
}

/// Why a bot could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateBotError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
}

impl World {
    /// The bot with this exact token.
    pub fn bot_id_by_token(&self, token: &str) -> Option<i64> {
        let id = parse_token(token)?;
        self.bots.get(&id).filter(|bot| bot.token == token).map(|bot| bot.id)
    }

    /// The bot with this username (case-insensitive, leading @ ignored).
    pub fn bot_id_by_username(&self, username: &str) -> Option<i64> {
        let wanted = username.trim_start_matches('@');
        self.bots.values().find(|bot| bot.username.eq_ignore_ascii_case(wanted)).map(|bot| bot.id)
    }

    /// Appends a call record, forgetting the oldest beyond the cap, and
    /// counts it for its bot.
    pub fn record_call(&mut self, record: CallRecord) {
        if let Some(bot) = record.bot_id.and_then(|id| self.bots.get_mut(&id)) {
            bot.stats.calls += 1;
            if record.sends_messages {
                bot.stats.message_calls += 1;
            }
            if record.fault {
                bot.stats.faulted += 1;
            }
        }
        if self.calls.len() >= MAX_CALL_RECORDS {
            self.calls.pop_front();
        }
        self.calls.push_back(record);
    }

    /// Allocates the id of the next message a bot sends to a chat: groups
    /// share one sequence, private chats have one per bot.
    pub fn next_message_id(&mut self, bot_id: i64, chat_id: i64) -> i64 {
        if let Some(group) = self.groups.get_mut(&chat_id) {
            return group.next_message_id();
        }
        self.bots.get_mut(&bot_id).map(|bot| bot.next_message_id(chat_id)).unwrap_or(1)
    }

    /// Registers a new group and returns its id.
    pub fn create_group(&mut self, title: String, kind: GroupKind, members: Vec<i64>) -> i64 {
        let id = self.allocate_group_id(kind);
        self.groups.insert(id, Group::new(id, title, kind, members));
        id
    }

    /// The next unused id for a group of this kind.
    pub fn allocate_group_id(&mut self, kind: GroupKind) -> i64 {
        let seq = match kind {
            GroupKind::Group => {
                self.group_seq += 1;
                self.group_seq
            }
            GroupKind::Supergroup => {
                self.supergroup_seq += 1;
                self.supergroup_seq
            }
        };
        group_chat_id(kind, seq)
    }
}
