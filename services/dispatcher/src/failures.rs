//! Telegram's transient failures (5xx, timeouts, network) per send, counted
//! by this process. They decide backoff and dead-lettering; JetStream's
//! delivery count cannot, because a send is also redelivered for reasons that
//! are no attempt at all (waiting for a new bot token, a partition changing
//! owner, the log being briefly unavailable). A new owner starts from zero,
//! so a send may get more attempts than configured, never fewer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sends tracked at most; beyond, the counts start again (more retries, not fewer).
const TRACKED: usize = 100_000;

#[derive(Clone, Default)]
pub struct Failures {
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

impl Failures {
    /// Counts one more transient failure of `send_id`; returns how many so far.
    pub fn record(&self, send_id: &str) -> u32 {
        let Ok(mut counts) = self.counts.lock() else { return 1 };
        if counts.len() >= TRACKED && !counts.contains_key(send_id) {
            counts.clear();
        }
        let count = counts.entry(send_id.to_string()).or_default();
        *count += 1;
        *count
    }

    /// The send has its outcome.
    pub fn forget(&self, send_id: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(send_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_per_send_until_forgotten() {
        let f = Failures::default();
        assert_eq!(f.record("snd_1"), 1);
        assert_eq!(f.record("snd_1"), 2);
        assert_eq!(f.record("snd_2"), 1);
        f.forget("snd_1");
        assert_eq!(f.record("snd_1"), 1);
    }
}
