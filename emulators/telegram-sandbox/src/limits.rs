//! Sliding-window flood control per bot, per private chat and per group, with
//! punishment of clients that ignore `retry_after`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Limits;

/// Which window a violation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// All messages of one bot.
    Bot,
    /// One private chat.
    Chat,
    /// One group, supergroup or channel.
    Group,
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The call would have exceeded a window.
    LimitExceeded,
    /// The call came before an earlier `retry_after` had passed.
    IgnoredRetryAfter,
}

/// A refused call: answer 429 with `retry_after` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub scope: Scope,
    pub retry_after: u64,
    pub reason: Reason,
}

/// Counters of one bot.
#[derive(Debug, Default)]
pub struct BotLimiter {
    /// Calls without `allow_paid_broadcast`: the free allowance.
    bot_window: VecDeque<Instant>,
    /// Every call: the paid-broadcast allowance.
    all_window: VecDeque<Instant>,
    chat_windows: HashMap<i64, VecDeque<Instant>>,
    bot_penalty_until: Option<Instant>,
    chat_penalty_until: HashMap<i64, Instant>,
}

/// One sliding window as it stands, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowView {
    pub scope: Scope,
    /// The chat of a chat or group window.
    pub chat_id: Option<i64>,
    /// Messages counted in the window now, of `cap`.
    pub used: usize,
    pub cap: usize,
    pub window_ms: u64,
    /// How long calls are still refused for having ignored a `retry_after`.
    pub penalty_ms: Option<u64>,
}

/// Private chats have positive ids; groups, supergroups and channels negative ones.
pub fn scope_of_chat(chat_id: i64) -> Scope {
    if chat_id > 0 {
        Scope::Chat
    } else {
        Scope::Group
    }
}

fn allowance(base: u32, window: Duration, scale: f64) -> Option<(usize, Duration)> {
    if base == 0 {
        return None;
    }
    let effective = f64::from(base) * scale;
    if effective >= 1.0 {
        Some((effective.floor() as usize, window))
    } else {
        Some((1, window.div_f64(effective)))
    }
}

/// How long until `needed` more messages fit in the window, None when they
/// fit now. A call of more messages than the whole allowance (an album to a
/// private chat) fits once the window is empty, as Telegram lets such a
/// burst through; it then fills the window for its full length.
fn wait_for_room(
    window: &mut VecDeque<Instant>,
    cap: usize,
    length: Duration,
    needed: usize,
    now: Instant,
) -> Option<Duration> {
    while let Some(front) = window.front() {
        if now.saturating_duration_since(*front) >= length {
            window.pop_front();
        } else {
            break;
        }
    }
    let needed = needed.min(cap);
    if window.len() + needed > cap {
        // The entry whose expiry makes room for the call.
        window.get(window.len() + needed - cap - 1).map(|entry| (*entry + length).saturating_duration_since(now))
    } else {
        None
    }
}

/// Whole seconds, rounded up, at least 1.
pub fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

impl BotLimiter {
    /// Counts the `messages` messages of one call to `chat_id` at `now`
    /// (several for an album), or refuses them all. A paid broadcast call is
    /// not held to the free per-bot allowance, only to the paid one over all
    /// calls; per-chat limits hold for every call.
    pub fn check_and_record(
        &mut self,
        limits: &Limits,
        chat_id: i64,
        paid: bool,
        messages: usize,
        now: Instant,
    ) -> Result<(), Denied> {
        if limits.is_unlimited() {
            return Ok(());
        }
        let chat_scope = scope_of_chat(chat_id);
        if let Some(until) = self.bot_penalty_until {
            if now < until {
                return Err(Denied {
                    scope: Scope::Bot,
                    retry_after: whole_seconds(until - now),
                    reason: Reason::IgnoredRetryAfter,
                });
            }
            self.bot_penalty_until = None;
        }
        if let Some(until) = self.chat_penalty_until.get(&chat_id).copied() {
            if now < until {
                return Err(Denied {
                    scope: chat_scope,
                    retry_after: whole_seconds(until - now),
                    reason: Reason::IgnoredRetryAfter,
                });
            }
            self.chat_penalty_until.remove(&chat_id);
        }

        let (bot_limit, bot_window) = if paid {
            (limits.paid_broadcast_per_second, &mut self.all_window)
        } else {
            (limits.per_bot_per_second, &mut self.bot_window)
        };
        if let Some((cap, length)) = allowance(bot_limit, Duration::from_secs(1), limits.scale) {
            if let Some(wait) = wait_for_room(bot_window, cap, length, messages, now) {
                let retry_after = whole_seconds(wait);
                self.bot_penalty_until = Some(now + Duration::from_secs(retry_after));
                return Err(Denied { scope: Scope::Bot, retry_after, reason: Reason::LimitExceeded });
            }
        }
        let chat_allowance = match chat_scope {
            Scope::Group => allowance(limits.per_group_per_minute, Duration::from_secs(60), limits.scale),
            _ => allowance(limits.per_chat_per_second, Duration::from_secs(1), limits.scale),
        };
        if let Some((cap, length)) = chat_allowance {
            let window = self.chat_windows.entry(chat_id).or_default();
            if let Some(wait) = wait_for_room(window, cap, length, messages, now) {
                let retry_after = whole_seconds(wait);
                self.chat_penalty_until.insert(chat_id, now + Duration::from_secs(retry_after));
                return Err(Denied { scope: chat_scope, retry_after, reason: Reason::LimitExceeded });
            }
            window.extend(std::iter::repeat_n(now, messages));
        }
        if !paid {
            self.bot_window.extend(std::iter::repeat_n(now, messages));
        }
        self.all_window.extend(std::iter::repeat_n(now, messages));
        if self.all_window.len() > 4 * limits.paid_broadcast_per_second.max(1) as usize {
            self.all_window.retain(|t| now.saturating_duration_since(*t) < Duration::from_secs(1));
        }
        Ok(())
    }

    /// The windows with anything in them (the bot's always), as of `now`.
    pub fn windows(&self, limits: &Limits, now: Instant) -> Vec<WindowView> {
        if limits.is_unlimited() {
            return Vec::new();
        }
        let live = |window: &VecDeque<Instant>, length: Duration| {
            window.iter().filter(|t| now.saturating_duration_since(**t) < length).count()
        };
        let penalty = |until: Option<Instant>| {
            until.filter(|u| *u > now).map(|u| u.saturating_duration_since(now).as_millis() as u64)
        };
        let mut views = Vec::new();
        if let Some((cap, length)) = allowance(limits.per_bot_per_second, Duration::from_secs(1), limits.scale) {
            views.push(WindowView {
                scope: Scope::Bot,
                chat_id: None,
                used: live(&self.bot_window, length),
                cap,
                window_ms: length.as_millis() as u64,
                penalty_ms: penalty(self.bot_penalty_until),
            });
        }
        let mut chats: Vec<i64> = self.chat_windows.keys().chain(self.chat_penalty_until.keys()).copied().collect();
        chats.sort_unstable();
        chats.dedup();
        for chat_id in chats {
            let scope = scope_of_chat(chat_id);
            let chat_allowance = match scope {
                Scope::Group => allowance(limits.per_group_per_minute, Duration::from_secs(60), limits.scale),
                _ => allowance(limits.per_chat_per_second, Duration::from_secs(1), limits.scale),
            };
            let Some((cap, length)) = chat_allowance else { continue };
            let used = self.chat_windows.get(&chat_id).map(|w| live(w, length)).unwrap_or(0);
            let penalty_ms = penalty(self.chat_penalty_until.get(&chat_id).copied());
            if used > 0 || penalty_ms.is_some() {
                views.push(WindowView {
                    scope,
                    chat_id: Some(chat_id),
                    used,
                    cap,
                    window_ms: length.as_millis() as u64,
                    penalty_ms,
                });
            }
        }
        views
    }

    /// Records a 429 answered for another reason (an injected fault): calls
    /// before `until` are punished like any ignored `retry_after`.
    pub fn penalize_bot(&mut self, until: Instant) {
        self.bot_penalty_until = Some(match self.bot_penalty_until {
            Some(current) if current > until => current,
            _ => until,
        });
    }

    /// Like [`BotLimiter::penalize_bot`] for one chat only.
    pub fn penalize_chat(&mut self, chat_id: i64, until: Instant) {
        let entry = self.chat_penalty_until.entry(chat_id).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_message_to_a_private_chat_within_a_second_is_refused() {
        let mut limiter = BotLimiter::default();
        let limits = Limits::telegram();
        let t0 = Instant::now();
        assert!(limiter.check_and_record(&limits, 5, false, 1, t0).is_ok());
        let denied = limiter.check_and_record(&limits, 5, false, 1, t0 + Duration::from_millis(100)).unwrap_err();
        assert_eq!(denied.scope, Scope::Chat);
        assert_eq!(denied.retry_after, 1);
        assert_eq!(denied.reason, Reason::LimitExceeded);
        // Another chat is fine.
        assert!(limiter.check_and_record(&limits, 6, false, 1, t0 + Duration::from_millis(100)).is_ok());
        // Ignoring retry_after is punished.
        let again = limiter.check_and_record(&limits, 5, false, 1, t0 + Duration::from_millis(500)).unwrap_err();
        assert_eq!(again.reason, Reason::IgnoredRetryAfter);
        // After the penalty has passed, it works again.
        assert!(limiter.check_and_record(&limits, 5, false, 1, t0 + Duration::from_millis(1200)).is_ok());
    }

    #[test]
    fn bot_window_caps_all_chats() {
        let mut limiter = BotLimiter::default();
        let limits = Limits::telegram();
        let t0 = Instant::now();
        for chat in 1..=30 {
            assert!(limiter.check_and_record(&limits, chat, false, 1, t0).is_ok());
        }
        let denied = limiter.check_and_record(&limits, 31, false, 1, t0).unwrap_err();
        assert_eq!(denied.scope, Scope::Bot);
    }

    #[test]
    fn scale_multiplies_allowances_and_groups_use_minutes() {
        let mut limiter = BotLimiter::default();
        let limits = Limits { scale: 2.0, ..Limits::telegram() };
        let t0 = Instant::now();
        assert!(limiter.check_and_record(&limits, 9, false, 1, t0).is_ok());
        assert!(limiter.check_and_record(&limits, 9, false, 1, t0).is_ok());
        assert!(limiter.check_and_record(&limits, 9, false, 1, t0).is_err());
        for _ in 0..40 {
            assert!(limiter.check_and_record(&limits, -100, false, 1, t0).is_ok());
        }
        let denied = limiter.check_and_record(&limits, -100, false, 1, t0 + Duration::from_millis(10)).unwrap_err();
        assert_eq!(denied.scope, Scope::Group);
        assert_eq!(denied.retry_after, 60);
    }

    #[test]
    fn paid_broadcast_calls_go_beyond_the_free_allowance_but_not_the_paid_one() {
        let mut limiter = BotLimiter::default();
        let limits = Limits { per_bot_per_second: 2, paid_broadcast_per_second: 5, ..Limits::telegram() };
        let t0 = Instant::now();
        assert!(limiter.check_and_record(&limits, 1, false, 1, t0).is_ok());
        assert!(limiter.check_and_record(&limits, 2, false, 1, t0).is_ok());
        assert_eq!(limiter.check_and_record(&limits, 3, false, 1, t0).unwrap_err().scope, Scope::Bot);
        let mut limiter = BotLimiter::default();
        assert!(limiter.check_and_record(&limits, 1, false, 1, t0).is_ok());
        assert!(limiter.check_and_record(&limits, 2, false, 1, t0).is_ok());
        for chat in 3..=5 {
            assert!(limiter.check_and_record(&limits, chat, true, 1, t0).is_ok(), "paid call {chat}");
        }
        assert_eq!(limiter.check_and_record(&limits, 6, true, 1, t0).unwrap_err().scope, Scope::Bot, "5 calls in all");
        let mut limiter = BotLimiter::default();
        assert!(limiter.check_and_record(&limits, 7, true, 1, t0).is_ok());
        assert_eq!(
            limiter.check_and_record(&limits, 7, true, 1, t0).unwrap_err().scope,
            Scope::Chat,
            "a chat's limit holds for paid calls"
        );
    }

    #[test]
    fn an_album_takes_a_slot_per_message_all_or_none() {
        let mut limiter = BotLimiter::default();
        let limits = Limits::telegram();
        let t0 = Instant::now();
        // A group allows 20 messages a minute: albums of 10 and 9 fit, 2 more do not, not even one.
        assert!(limiter.check_and_record(&limits, -100, false, 10, t0).is_ok());
        assert!(limiter.check_and_record(&limits, -100, false, 9, t0).is_ok());
        let denied = limiter.check_and_record(&limits, -100, false, 2, t0).unwrap_err();
        assert_eq!((denied.scope, denied.retry_after), (Scope::Group, 60));
        // A private chat lets an album through as a burst, then waits out its window.
        assert!(limiter.check_and_record(&limits, 5, false, 10, t0).is_ok());
        let denied = limiter.check_and_record(&limits, 5, false, 1, t0 + Duration::from_millis(500)).unwrap_err();
        assert_eq!((denied.scope, denied.retry_after), (Scope::Chat, 1));
        // The bot's 30 a second count every message: 29 are used, an album of 2 is too many.
        let denied = limiter.check_and_record(&limits, 6, false, 2, t0).unwrap_err();
        assert_eq!(denied.scope, Scope::Bot);
        let mut limiter = BotLimiter::default();
        assert!(limiter.check_and_record(&limits, 6, false, 2, t0).is_ok(), "a fresh bot has room");
    }

    #[test]
    fn windows_show_what_is_counted_and_who_is_punished() {
        let mut limiter = BotLimiter::default();
        let limits = Limits::telegram();
        let t0 = Instant::now();
        assert!(limiter.check_and_record(&limits, 5, false, 1, t0).is_ok());
        assert!(limiter.check_and_record(&limits, 5, false, 1, t0).is_err());
        let views = limiter.windows(&limits, t0 + Duration::from_millis(100));
        assert_eq!((views[0].scope, views[0].used, views[0].cap), (Scope::Bot, 1, 30));
        let chat = &views[1];
        assert_eq!((chat.chat_id, chat.used, chat.cap), (Some(5), 1, 1));
        assert_eq!(chat.penalty_ms, Some(900), "retry_after 1 s, 100 ms of it gone");
        let later = limiter.windows(&limits, t0 + Duration::from_secs(2));
        assert_eq!(later.len(), 1, "an empty chat window without penalty is not shown: {later:?}");
        assert_eq!(later[0].used, 0);
    }

    #[test]
    fn unlimited_never_refuses() {
        let mut limiter = BotLimiter::default();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(limiter.check_and_record(&Limits::unlimited(), 1, false, 1, t0).is_ok());
        }
    }
}
