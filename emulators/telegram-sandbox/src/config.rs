//! Configuration of a sandbox instance: listen address, seeded bots, rate limits.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Everything needed to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Allow `http://` (and any port) for webhook URLs whose host is a loopback
    /// address. Without it the real rules apply: https only, ports 443/80/88/8443.
    pub allow_insecure_webhooks: bool,
    /// Flood limits enforced on message-producing calls.
    pub limits: Limits,
    /// Bots that exist from the start.
    pub bots: Vec<BotSeed>,
    /// First retry delay for failed webhook deliveries; doubles, capped at 5 s.
    pub webhook_retry_base: Duration,
    /// How long a pressed button's callback query may be answered (Telegram:
    /// about 15 s); later answers fail as "query is too old".
    pub callback_query_ttl: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            allow_insecure_webhooks: true,
            limits: Limits::telegram(),
            bots: Vec::new(),
            webhook_retry_base: Duration::from_millis(200),
            callback_query_ttl: Duration::from_secs(15),
        }
    }
}

/// A bot that exists when the sandbox starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSeed {
    /// Token in Telegram's format `<digits>:<secret>`; the digits are the bot id.
    pub token: String,
    /// Username, must end in "bot" as Telegram requires.
    pub username: String,
    /// Display name.
    pub first_name: String,
}

/// Flood limits, as Telegram documents them for bots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages per bot per second over all chats (Telegram: 30).
    pub per_bot_per_second: u32,
    /// Messages per private chat per second (Telegram: 1).
    pub per_chat_per_second: u32,
    /// Messages per group, supergroup or channel per minute (Telegram: 20).
    pub per_group_per_minute: u32,
    /// Messages per bot per second, all calls counted, when calls beyond
    /// `per_bot_per_second` carry `allow_paid_broadcast` (Telegram: 1000).
    pub paid_broadcast_per_second: u32,
    /// Multiplies every allowance; 1.0 = Telegram's numbers.
    pub scale: f64,
}

impl Limits {
    /// Telegram's documented limits.
    pub fn telegram() -> Self {
        Self {
            per_bot_per_second: 30,
            per_chat_per_second: 1,
            per_group_per_minute: 20,
            paid_broadcast_per_second: 1000,
            scale: 1.0,
        }
    }

    /// No counting at all.
    pub fn unlimited() -> Self {
        Self {
            per_bot_per_second: 0,
            per_chat_per_second: 0,
            per_group_per_minute: 0,
            paid_broadcast_per_second: 0,
            scale: 0.0,
        }
    }

    /// True when these limits disable counting.
    pub fn is_unlimited(&self) -> bool {
        self.scale <= 0.0
            || !self.scale.is_finite()
            || (self.per_bot_per_second == 0 && self.per_chat_per_second == 0 && self.per_group_per_minute == 0)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::telegram()
    }
}
