//! Telegram's limits per bot token, kept in this process: sliding windows per
//! bot (messages/second), per private chat (messages/second) and per group
//! (messages/minute), and pauses after a 429.
//!
//! A caller asks for a slot and is told how long to wait; chats do not block
//! each other (no head-of-line blocking), the bot window is shared. While an
//! interactive message waits for a bot, bulk messages of that bot get no slot.
//! A partition just taken over from another dispatcher is held until the
//! previous owner's windows have passed (`hold_partition`). Windows are
//! slightly wider than Telegram's so that network jitter between our clock and
//! Telegram's cannot make two calls land inside one window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use novij_config::TelegramLimits;
use novij_events::send::Priority;
use tokio::time::Instant;

const BOT_WINDOW: Duration = Duration::from_millis(1_050);
const CHAT_WINDOW: Duration = Duration::from_millis(1_100);
const GROUP_WINDOW: Duration = Duration::from_millis(60_500);

#[derive(Default)]
struct BotState {
    sent: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
    paused_until: Option<Instant>,
    interactive_waiting: usize,
}

/// Until when a taken-over partition sends nothing: to private chats, to groups.
#[derive(Clone, Copy)]
struct Hold {
    private_until: Instant,
    group_until: Instant,
}

pub struct Pacer {
    limits: TelegramLimits,
    bots: Mutex<HashMap<String, BotState>>,
    holds: Mutex<HashMap<u16, Hold>>,
}

/// Marks an interactive message as waiting for its bot while it lives.
pub struct InteractiveWaiter<'a> {
    pacer: &'a Pacer,
    bot_key: String,
}

impl Drop for InteractiveWaiter<'_> {
    fn drop(&mut self) {
        if let Ok(mut bots) = self.pacer.bots.lock() {
            if let Some(bot) = bots.get_mut(&self.bot_key) {
                bot.interactive_waiting = bot.interactive_waiting.saturating_sub(1);
            }
        }
    }
}

/// How long bulk waits before asking again while interactive messages wait.
const BULK_YIELD: Duration = Duration::from_millis(20);

/// Group, supergroup and channel ids are negative; private chats positive.
fn chat_window(limits: &TelegramLimits, chat_id: i64) -> (usize, Duration) {
    if chat_id < 0 {
        (limits.per_group_per_minute as usize, GROUP_WINDOW)
    } else {
        (limits.per_chat_per_second as usize, CHAT_WINDOW)
    }
}

fn prune(window: &mut VecDeque<Instant>, now: Instant, width: Duration) {
    while window.front().is_some_and(|t| now.duration_since(*t) >= width) {
        window.pop_front();
    }
}

impl Pacer {
    pub fn new(limits: TelegramLimits) -> Self {
        Self { limits, bots: Mutex::new(HashMap::new()), holds: Mutex::new(HashMap::new()) }
    }

    /// Holds a partition: nothing to private chats before `private_until`,
    /// nothing to groups before `group_until`.
    pub fn hold_partition(&self, partition: u16, private_until: Instant, group_until: Instant) {
        if let Ok(mut holds) = self.holds.lock() {
            holds.insert(partition, Hold { private_until, group_until });
        }
    }

    /// Registers an interactive message waiting for `bot_key` (bulk yields to it).
    pub fn interactive_waiter(&self, bot_key: &str) -> InteractiveWaiter<'_> {
        if let Ok(mut bots) = self.bots.lock() {
            bots.entry(bot_key.to_string()).or_default().interactive_waiting += 1;
        }
        InteractiveWaiter { pacer: self, bot_key: bot_key.to_string() }
    }

    /// Takes a slot for a message from `bot_key` (in `partition`) to `chat_id`
    /// now, or says how long to wait before asking again.
    pub fn try_take(&self, partition: u16, bot_key: &str, chat_id: i64, class: Priority) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(hold) = self.holds.lock().ok().and_then(|h| h.get(&partition).copied()) {
            let until = if chat_id < 0 { hold.group_until } else { hold.private_until };
            if until > now {
                return Err(until - now);
            }
        }
        let Ok(mut bots) = self.bots.lock() else { return Err(Duration::from_millis(10)) };
        let bot = bots.entry(bot_key.to_string()).or_default();
        if class == Priority::Bulk && bot.interactive_waiting > 0 {
            return Err(BULK_YIELD);
        }
        if let Some(until) = bot.paused_until {
            if until > now {
                return Err(until - now);
            }
            bot.paused_until = None;
        }
        prune(&mut bot.sent, now, BOT_WINDOW);
        let (chat_limit, chat_width) = chat_window(&self.limits, chat_id);
        let chat = bot.chats.entry(chat_id).or_default();
        prune(chat, now, chat_width);
        let mut wait = Duration::ZERO;
        if chat.len() >= chat_limit {
            wait = wait.max(chat.front().map_or(chat_width, |t| chat_width - now.duration_since(*t)));
        }
        if bot.sent.len() >= self.limits.per_bot_per_second as usize {
            wait = wait.max(bot.sent.front().map_or(BOT_WINDOW, |t| BOT_WINDOW - now.duration_since(*t)));
        }
        let spacing = BOT_WINDOW / self.limits.per_bot_per_second.max(1);
        if let Some(last) = bot.sent.back() {
            wait = wait.max(spacing.saturating_sub(now.duration_since(*last)));
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        chat.push_back(now);
        bot.sent.push_back(now);
        if bot.chats.len() > 10_000 {
            bot.chats.retain(|_, w| w.back().is_some_and(|t| now.duration_since(*t) < GROUP_WINDOW));
        }
        Ok(())
    }

    /// No call for `bot_key` until `retry_after` has passed (Telegram's 429).
    pub fn pause(&self, bot_key: &str, retry_after: Duration) {
        if let Ok(mut bots) = self.bots.lock() {
            let bot = bots.entry(bot_key.to_string()).or_default();
            let until = Instant::now() + retry_after;
            bot.paused_until = Some(bot.paused_until.map_or(until, |u| u.max(until)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(bot: u32, chat: u32, group: u32) -> Pacer {
        Pacer::new(TelegramLimits { per_bot_per_second: bot, per_chat_per_second: chat, per_group_per_minute: group })
    }

    #[tokio::test(start_paused = true)]
    async fn one_message_per_second_per_chat_but_chats_are_independent() {
        let p = pacer(30, 1, 20);
        assert!(p.try_take(0, "b", 1, Priority::Interactive).is_ok());
        let wait = p.try_take(0, "b", 1, Priority::Interactive).unwrap_err();
        assert!(wait > Duration::from_millis(1000) && wait <= CHAT_WINDOW, "{wait:?}");
        tokio::time::advance(BOT_WINDOW / 30).await;
        assert!(p.try_take(0, "b", 2, Priority::Interactive).is_ok(), "another chat is not held up");
        assert!(p.try_take(0, "other-bot", 1, Priority::Interactive).is_ok(), "another bot is not held up");
        tokio::time::advance(CHAT_WINDOW).await;
        assert!(p.try_take(0, "b", 1, Priority::Interactive).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_bot_window_caps_all_chats_together_and_spreads_calls() {
        let p = pacer(3, 1, 20);
        for chat in 1..=3 {
            assert!(p.try_take(0, "b", chat, Priority::Interactive).is_ok());
            assert!(p.try_take(0, "b", 10 + chat, Priority::Interactive).is_err(), "calls are spaced");
            tokio::time::advance(BOT_WINDOW / 3).await;
        }
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(p.try_take(0, "b", 4, Priority::Interactive).is_ok(), "the oldest call left the window");
        assert!(p.try_take(0, "b", 5, Priority::Interactive).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn groups_get_a_per_minute_window() {
        let p = pacer(1000, 1, 2);
        assert!(p.try_take(0, "b", -5, Priority::Interactive).is_ok());
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(p.try_take(0, "b", -5, Priority::Interactive).is_ok());
        tokio::time::advance(Duration::from_millis(2)).await;
        let wait = p.try_take(0, "b", -5, Priority::Interactive).unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_yields_while_an_interactive_message_waits() {
        let p = pacer(30, 1, 20);
        let waiter = p.interactive_waiter("b");
        assert_eq!(p.try_take(0, "b", 1, Priority::Bulk), Err(BULK_YIELD));
        assert!(p.try_take(0, "other", 1, Priority::Bulk).is_ok(), "other bots are not held");
        assert!(p.try_take(0, "b", 2, Priority::Interactive).is_ok());
        drop(waiter);
        tokio::time::advance(BOT_WINDOW / 30).await;
        assert!(p.try_take(0, "b", 3, Priority::Bulk).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_taken_over_partition_waits_for_the_previous_owners_windows() {
        let p = pacer(30, 1, 20);
        let now = Instant::now();
        p.hold_partition(3, now + Duration::from_secs(1), now + Duration::from_secs(60));
        assert!(p.try_take(3, "b", 1, Priority::Interactive).is_err());
        assert!(p.try_take(4, "c", 2, Priority::Interactive).is_ok(), "other partitions are free");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(p.try_take(3, "b", 5, Priority::Interactive).is_ok());
        assert!(p.try_take(3, "b", -5, Priority::Interactive).unwrap_err() > Duration::from_secs(58));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_chat_of_the_bot() {
        let p = pacer(30, 1, 20);
        p.pause("b", Duration::from_secs(5));
        assert!(p.try_take(0, "b", 1, Priority::Interactive).unwrap_err() > Duration::from_secs(4));
        assert!(p.try_take(0, "c", 1, Priority::Interactive).is_ok());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(p.try_take(0, "b", 1, Priority::Interactive).is_ok());
    }
}
