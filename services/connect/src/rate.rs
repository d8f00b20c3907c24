//! How many commands each Telegram user runs per minute, kept in this
//! process's memory: each connect process counts the updates it handles, so
//! with several processes a user may run up to the limit per process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Users remembered before the idle ones are forgotten.
const REMEMBERED: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The first command over the limit in this window: tell the user once.
    Refused,
    /// Over the limit and told already.
    Silent,
}

#[derive(Clone)]
pub struct Limiter {
    per_minute: usize,
    users: Arc<Mutex<HashMap<String, Window>>>,
}

#[derive(Default)]
struct Window {
    runs: VecDeque<Instant>,
    told: bool,
}

impl Limiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute: per_minute as usize, users: Arc::default() }
    }

    /// Counts a command of `user` at `now`.
    pub fn check(&self, user: &str, now: Instant) -> Verdict {
        let Ok(mut users) = self.users.lock() else { return Verdict::Allowed };
        if users.len() >= REMEMBERED {
            users.retain(|_, w| w.runs.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
        }
        let window = users.entry(user.to_string()).or_default();
        while window.runs.front().is_some_and(|first| now.duration_since(*first) >= WINDOW) {
            window.runs.pop_front();
        }
        if window.runs.len() < self.per_minute {
            window.runs.push_back(now);
            window.told = false;
            return Verdict::Allowed;
        }
        if std::mem::replace(&mut window.told, true) {
            Verdict::Silent
        } else {
            Verdict::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_limit_a_user_is_refused_once_per_window_and_others_are_not_counted() {
        let limiter = Limiter::new(2);
        let t0 = Instant::now();
        assert_eq!(limiter.check("a", t0), Verdict::Allowed);
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(1)), Verdict::Allowed);
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(2)), Verdict::Refused);
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(3)), Verdict::Silent);
        assert_eq!(limiter.check("b", t0 + Duration::from_secs(3)), Verdict::Allowed);
        // The first run has left the window.
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(60)), Verdict::Allowed);
        assert_eq!(limiter.check("a", t0 + Duration::from_secs(60)), Verdict::Refused);
    }
}
