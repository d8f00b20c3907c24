//! Telegram's limits per bot token, kept in this process: sliding windows per
//! bot (messages/second), per private chat (messages/second) and per group
//! (messages/minute), pauses after a 429, and who goes first when slots are
//! scarce.
//!
//! A caller asks for a [`Slot`] and is told how long to wait if there is none;
//! chats do not block each other (no head-of-line blocking), the bot window is
//! shared. A slot counts in its windows from the moment it is taken, and when
//! it is dropped (the call has been answered, or given up) its time becomes
//! the moment of the answer. Telegram counts a call when it arrives, which is
//! always before its answer, so spacing calls from the answers keeps every
//! window exactly whatever the network delay, and only the one-way trip of the
//! next call is "lost" to the rate.
//!
//! Order of service for one bot: interactive messages first (while one waits,
//! bulk gets no slot); within a class, among tenants (integrations) that have
//! a message ready, the one served least recently goes first, so one tenant's
//! flood on the shared common bot cannot starve the others.
//!
//! With paid broadcast (`allow_paid_broadcast`), a bot uses its free
//! allowance first and only calls beyond it are flagged as paid, up to the
//! paid limit over all calls.
//!
//! A partition just taken over from another dispatcher is held until the
//! previous owner's windows have passed (`hold_partition`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use novij_config::TelegramLimits;
use novij_events::send::Priority;
use tokio::time::Instant;

/// Telegram's windows plus a small margin for its clock and ours.
pub const BOT_WINDOW: Duration = Duration::from_millis(1_010);
pub const CHAT_WINDOW: Duration = Duration::from_millis(1_010);
pub const GROUP_WINDOW: Duration = Duration::from_millis(60_100);
/// How long bulk waits before asking again while interactive messages wait.
const BULK_YIELD: Duration = Duration::from_millis(20);
/// How long a tenant waits before asking again while another goes first.
const FAIR_YIELD: Duration = Duration::from_millis(3);
/// How long a full window is re-checked while all its calls are unanswered.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(5);
/// How long a tenant counts as contending after it last asked with a message ready.
const CONTENDING: Duration = Duration::from_millis(30);
/// Bots' chats are forgotten once this many are tracked and their windows passed.
const CHATS_KEPT: usize = 10_000;

/// One call in a window: unanswered (`None`) or answered at that moment.
#[derive(Clone, Copy)]
struct Call {
    id: u64,
    answered: Option<Instant>,
}

#[derive(Default)]
struct Window {
    calls: Vec<Call>,
}

impl Window {
    fn prune(&mut self, now: Instant, width: Duration) {
        self.calls.retain(|c| c.answered.is_none_or(|t| now.duration_since(t) < width));
    }

    /// How long until the window has room for a call of `messages` (an
    /// album counts each item), after pruning. A call of more than the whole
    /// allowance fits an empty window, as Telegram lets such a burst through.
    fn wait(&mut self, cap: usize, now: Instant, width: Duration, messages: usize) -> Option<Duration> {
        self.prune(now, width);
        let needed = messages.clamp(1, cap.max(1));
        if self.calls.len() + needed <= cap {
            return None;
        }
        // The answered call whose expiry makes the room.
        let mut answered: Vec<Instant> = self.calls.iter().filter_map(|c| c.answered).collect();
        answered.sort_unstable();
        let freeing = answered.get(self.calls.len() + needed - cap - 1);
        Some(freeing.map_or(IN_FLIGHT_POLL, |t| (*t + width).saturating_duration_since(now)))
    }

    fn push(&mut self, id: u64, messages: usize) {
        self.calls.extend(std::iter::repeat_n(Call { id, answered: None }, messages.max(1)));
    }

    fn answer(&mut self, id: u64, now: Instant) {
        for call in self.calls.iter_mut().filter(|c| c.id == id) {
            call.answered = Some(now);
        }
    }
}

#[derive(Default)]
struct Tenant {
    contending_until: Option<Instant>,
    last_served: u64,
}

#[derive(Default)]
struct BotState {
    /// Calls not flagged as paid broadcast (Telegram's free allowance).
    free: Window,
    /// Every call, for the paid-broadcast limit.
    all: Window,
    chats: HashMap<i64, Window>,
    paused_until: Option<Instant>,
    interactive_waiting: usize,
    tenants: HashMap<(Priority, String), Tenant>,
    served: u64,
    last_taken: Option<Instant>,
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
    next_id: std::sync::atomic::AtomicU64,
}

/// What a slot is asked for.
pub struct Request<'a> {
    pub partition: u16,
    pub bot_key: &'a str,
    pub chat_id: i64,
    pub class: Priority,
    /// Whose message it is (the integration): the unit of fairness.
    pub tenant: &'a str,
    /// The bot may flag calls beyond its free allowance as paid broadcast.
    pub paid_broadcast: bool,
    /// Messages the call sends: 1, or an album's items.
    pub messages: usize,
}

/// A call's place in its windows; dropping it stamps the answer's time.
pub struct Slot<'a> {
    pacer: &'a Pacer,
    bot_key: String,
    chat_id: i64,
    id: u64,
    /// The call must carry `allow_paid_broadcast`.
    pub paid: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        if let Ok(mut bots) = self.pacer.bots.lock() {
            if let Some(bot) = bots.get_mut(&self.bot_key) {
                bot.free.answer(self.id, now);
                bot.all.answer(self.id, now);
                if let Some(chat) = bot.chats.get_mut(&self.chat_id) {
                    chat.answer(self.id, now);
                }
            }
        }
    }
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

/// Group, supergroup and channel ids are negative; private chats positive.
fn chat_window(limits: &TelegramLimits, chat_id: i64) -> (usize, Duration) {
    if chat_id < 0 {
        (limits.per_group_per_minute as usize, GROUP_WINDOW)
    } else {
        (limits.per_chat_per_second as usize, CHAT_WINDOW)
    }
}

/// What the bot windows allow now: a free call, a paid one, or a wait.
enum BotRoom {
    Free,
    Paid,
    Wait(Duration),
}

impl BotState {
    fn room(&mut self, limits: &TelegramLimits, paid_broadcast: bool, messages: usize, now: Instant) -> BotRoom {
        let free_wait = self.free.wait(limits.per_bot_per_second as usize, now, BOT_WINDOW, messages);
        if !paid_broadcast {
            // Calls are spread over half the window at least, so a full
            // window's calls never leave together.
            let spacing = BOT_WINDOW / (2 * limits.per_bot_per_second.max(1));
            let spaced = self.last_taken.map(|t| (t + spacing).saturating_duration_since(now)).filter(|w| !w.is_zero());
            return free_wait.or(spaced).map_or(BotRoom::Free, BotRoom::Wait);
        }
        let paid_cap = limits.paid_broadcast_per_second as usize;
        match (free_wait, self.all.wait(paid_cap, now, BOT_WINDOW, messages)) {
            (None, None) => BotRoom::Free,
            (Some(_), None) => BotRoom::Paid,
            (Some(a), Some(b)) => BotRoom::Wait(a.min(b)),
            (None, Some(b)) => BotRoom::Wait(b),
        }
    }

    /// Whether another ready tenant of the class has been served less recently.
    fn someone_else_first(&self, class: Priority, tenant: &str, now: Instant) -> bool {
        let mine = self.tenants.get(&(class, tenant.to_string())).map_or(0, |t| t.last_served);
        self.tenants.iter().any(|((c, name), t)| {
            *c == class && name != tenant && t.last_served < mine && t.contending_until.is_some_and(|u| u > now)
        })
    }

    fn contend(&mut self, class: Priority, tenant: &str, until: Instant) {
        let t = self.tenants.entry((class, tenant.to_string())).or_default();
        t.contending_until = Some(t.contending_until.map_or(until, |u| u.max(until)));
    }

    fn forget_idle(&mut self, now: Instant) {
        if self.chats.len() > CHATS_KEPT {
            self.chats.retain(|_, w| {
                w.prune(now, GROUP_WINDOW);
                !w.calls.is_empty()
            });
        }
        if self.tenants.len() > CHATS_KEPT {
            self.tenants.retain(|_, t| t.contending_until.is_some_and(|u| u > now));
        }
    }
}

impl Pacer {
    pub fn new(limits: TelegramLimits) -> Self {
        Self {
            limits,
            bots: Mutex::new(HashMap::new()),
            holds: Mutex::new(HashMap::new()),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
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

    /// Takes a slot for the call now, or says how long to wait before asking again.
    pub fn try_take(&self, req: &Request<'_>) -> Result<Slot<'_>, Duration> {
        let now = Instant::now();
        if let Some(hold) = self.holds.lock().ok().and_then(|h| h.get(&req.partition).copied()) {
            let until = if req.chat_id < 0 { hold.group_until } else { hold.private_until };
            if until > now {
                return Err(until - now);
            }
        }
        let Ok(mut bots) = self.bots.lock() else { return Err(IN_FLIGHT_POLL) };
        let bot = bots.entry(req.bot_key.to_string()).or_default();
        if req.class == Priority::Bulk && bot.interactive_waiting > 0 {
            return Err(BULK_YIELD);
        }
        if let Some(until) = bot.paused_until {
            if until > now {
                return Err(until - now);
            }
            bot.paused_until = None;
        }
        let (chat_cap, chat_width) = chat_window(&self.limits, req.chat_id);
        if let Some(wait) = bot.chats.entry(req.chat_id).or_default().wait(chat_cap, now, chat_width, req.messages) {
            return Err(wait);
        }
        // From here on the message is ready but for the bot's shared windows.
        let paid = match bot.room(&self.limits, req.paid_broadcast, req.messages, now) {
            BotRoom::Wait(wait) => {
                bot.contend(req.class, req.tenant, now + wait + CONTENDING);
                return Err(wait);
            }
            BotRoom::Free => false,
            BotRoom::Paid => true,
        };
        if bot.someone_else_first(req.class, req.tenant, now) {
            bot.contend(req.class, req.tenant, now + FAIR_YIELD + CONTENDING);
            return Err(FAIR_YIELD);
        }
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !paid {
            bot.free.push(id, req.messages);
        }
        bot.all.push(id, req.messages);
        bot.chats.entry(req.chat_id).or_default().push(id, req.messages);
        bot.last_taken = Some(now);
        bot.served += 1;
        let served = bot.served;
        let tenant = bot.tenants.entry((req.class, req.tenant.to_string())).or_default();
        tenant.last_served = served;
        // Its other messages contend again when they ask.
        tenant.contending_until = None;
        bot.forget_idle(now);
        Ok(Slot { pacer: self, bot_key: req.bot_key.to_string(), chat_id: req.chat_id, id, paid })
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
        Pacer::new(TelegramLimits {
            per_bot_per_second: bot,
            per_chat_per_second: chat,
            per_group_per_minute: group,
            paid_broadcast_per_second: 1000,
        })
    }

    fn req(bot_key: &str, chat_id: i64, class: Priority) -> Request<'_> {
        Request { partition: 0, bot_key, chat_id, class, tenant: "t", paid_broadcast: false, messages: 1 }
    }

    fn take(p: &Pacer, r: &Request<'_>) -> Result<(), Duration> {
        p.try_take(r).map(drop)
    }

    #[tokio::test(start_paused = true)]
    async fn one_message_per_second_per_chat_but_chats_are_independent() {
        let p = pacer(30, 1, 20);
        assert!(take(&p, &req("b", 1, Priority::Interactive)).is_ok());
        let wait = take(&p, &req("b", 1, Priority::Interactive)).unwrap_err();
        assert!(wait > Duration::from_millis(1000) && wait <= CHAT_WINDOW, "{wait:?}");
        tokio::time::advance(BOT_WINDOW / 60).await;
        assert!(take(&p, &req("b", 2, Priority::Interactive)).is_ok(), "another chat is not held up");
        assert!(take(&p, &req("other-bot", 1, Priority::Interactive)).is_ok(), "another bot is not held up");
        tokio::time::advance(CHAT_WINDOW).await;
        assert!(take(&p, &req("b", 1, Priority::Interactive)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_bot_window_caps_all_chats_together_and_spreads_calls() {
        let p = pacer(3, 1, 20);
        for chat in 1..=3 {
            assert!(take(&p, &req("b", chat, Priority::Interactive)).is_ok());
            assert!(take(&p, &req("b", 10 + chat, Priority::Interactive)).is_err(), "calls are spaced");
            tokio::time::advance(BOT_WINDOW / 6).await;
        }
        assert!(take(&p, &req("b", 4, Priority::Interactive)).is_err(), "the window is full");
        tokio::time::advance(BOT_WINDOW / 2 + Duration::from_millis(1)).await;
        assert!(take(&p, &req("b", 4, Priority::Interactive)).is_ok(), "the oldest call left the window");
        assert!(take(&p, &req("b", 5, Priority::Interactive)).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_counts_from_the_answer_and_holds_unanswered_calls() {
        let p = pacer(1, 1, 20);
        let slot = p.try_take(&req("b", 1, Priority::Interactive)).expect("slot");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(take(&p, &req("b", 2, Priority::Interactive)), Err(IN_FLIGHT_POLL), "a slow call still counts");
        drop(slot);
        let wait = take(&p, &req("b", 2, Priority::Interactive)).unwrap_err();
        assert_eq!(wait, BOT_WINDOW, "the window starts at the answer");
        tokio::time::advance(BOT_WINDOW).await;
        assert!(take(&p, &req("b", 2, Priority::Interactive)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn groups_get_a_per_minute_window() {
        let p = pacer(1000, 1, 2);
        assert!(take(&p, &req("b", -5, Priority::Interactive)).is_ok());
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(take(&p, &req("b", -5, Priority::Interactive)).is_ok());
        tokio::time::advance(Duration::from_millis(2)).await;
        let wait = take(&p, &req("b", -5, Priority::Interactive)).unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_yields_while_an_interactive_message_waits() {
        let p = pacer(30, 1, 20);
        let waiter = p.interactive_waiter("b");
        assert_eq!(take(&p, &req("b", 1, Priority::Bulk)), Err(BULK_YIELD));
        assert!(take(&p, &req("other", 1, Priority::Bulk)).is_ok(), "other bots are not held");
        assert!(take(&p, &req("b", 2, Priority::Interactive)).is_ok());
        drop(waiter);
        tokio::time::advance(BOT_WINDOW / 60).await;
        assert!(take(&p, &req("b", 3, Priority::Bulk)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn the_least_recently_served_ready_tenant_goes_first() {
        let p = pacer(2, 1, 20);
        let flood = |chat| Request { tenant: "flood", ..req("b", chat, Priority::Bulk) };
        let quiet = |chat| Request { tenant: "quiet", ..req("b", chat, Priority::Bulk) };
        assert!(take(&p, &flood(1)).is_ok());
        tokio::time::advance(BOT_WINDOW / 4).await;
        assert!(take(&p, &flood(2)).is_ok());
        // The window is full: both wait, and both are ready.
        assert!(take(&p, &quiet(100)).is_err());
        assert!(take(&p, &flood(3)).is_err());
        tokio::time::advance(BOT_WINDOW - BOT_WINDOW / 4).await;
        assert_eq!(take(&p, &flood(3)), Err(FAIR_YIELD), "the quiet tenant was never served");
        assert!(take(&p, &quiet(100)).is_ok());
        tokio::time::advance(BOT_WINDOW / 4).await;
        assert!(take(&p, &flood(3)).is_ok(), "then the flood again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_tenant_held_by_its_own_chat_does_not_hold_others() {
        let p = pacer(30, 1, 20);
        let quiet = Request { tenant: "quiet", ..req("b", 7, Priority::Bulk) };
        assert!(take(&p, &quiet).is_ok());
        tokio::time::advance(BOT_WINDOW / 30).await;
        assert!(take(&p, &Request { tenant: "flood", ..req("b", 1, Priority::Bulk) }).is_ok());
        tokio::time::advance(BOT_WINDOW / 30).await;
        assert!(take(&p, &quiet).is_err(), "its chat is within its second");
        assert!(take(&p, &Request { tenant: "flood", ..req("b", 2, Priority::Bulk) }).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn paid_broadcast_uses_the_free_allowance_first() {
        let p = pacer(2, 1, 20);
        let paid = |chat| Request { paid_broadcast: true, ..req("b", chat, Priority::Bulk) };
        let mut flags = Vec::new();
        for chat in 1..=6 {
            let slot = p.try_take(&paid(chat)).expect("a paid bot is not held by the free allowance");
            flags.push(slot.paid);
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(flags, [false, false, true, true, true, true], "the free allowance, then paid calls");
        assert!(take(&p, &req("b", 50, Priority::Bulk)).is_err(), "without paid broadcast the window is full");
    }

    #[tokio::test(start_paused = true)]
    async fn a_taken_over_partition_waits_for_the_previous_owners_windows() {
        let p = pacer(30, 1, 20);
        let now = Instant::now();
        p.hold_partition(3, now + Duration::from_secs(1), now + Duration::from_secs(60));
        let on = |partition, bot_key, chat_id| Request { partition, ..req(bot_key, chat_id, Priority::Interactive) };
        assert!(take(&p, &on(3, "b", 1)).is_err());
        assert!(take(&p, &on(4, "c", 2)).is_ok(), "other partitions are free");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(take(&p, &on(3, "b", 5)).is_ok());
        assert!(take(&p, &on(3, "b", -5)).unwrap_err() > Duration::from_secs(58));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_chat_of_the_bot() {
        let p = pacer(30, 1, 20);
        p.pause("b", Duration::from_secs(5));
        assert!(take(&p, &req("b", 1, Priority::Interactive)).unwrap_err() > Duration::from_secs(4));
        assert!(take(&p, &req("c", 1, Priority::Interactive)).is_ok());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(take(&p, &req("b", 1, Priority::Interactive)).is_ok());
    }
}
