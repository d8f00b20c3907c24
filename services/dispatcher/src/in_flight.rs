//! Sends being delivered by this process, so a redelivered copy of a work
//! item is not delivered a second time alongside the first.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct InFlight {
    sends: Arc<Mutex<HashSet<String>>>,
}

/// Removes its send from the set when dropped.
pub struct Entered {
    set: InFlight,
    send_id: String,
}

impl InFlight {
    pub fn contains(&self, send_id: &str) -> bool {
        // Unknown (a poisoned lock) counts as in flight: the asker waits rather than sends twice.
        self.sends.lock().map(|sends| sends.contains(send_id)).unwrap_or(true)
    }

    /// Marks `send_id` as in flight; `None` if it already is.
    pub fn enter(&self, send_id: &str) -> Option<Entered> {
        let mut sends = self.sends.lock().ok()?;
        sends.insert(send_id.to_string()).then(|| Entered { set: self.clone(), send_id: send_id.to_string() })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Ok(mut sends) = self.set.sends.lock() {
            sends.remove(&self.send_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_is_in_flight_once_until_its_guard_drops() {
        let set = InFlight::default();
        let guard = set.enter("snd_1").expect("first entry");
        assert!(set.enter("snd_1").is_none());
        assert!(set.enter("snd_2").is_some());
        drop(guard);
        assert!(set.enter("snd_1").is_some());
    }
}
