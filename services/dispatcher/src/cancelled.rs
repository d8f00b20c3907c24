//! Whether a broadcast was cancelled, asked of the log right before each of
//! its sends is called: a cancel acknowledged to the project stops every
//! send taken off the queue after it. A cancelled broadcast stays cancelled,
//! so those answers are kept; the others are asked again each time (one
//! direct read of the last `broadcast.cancelled`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use novij_bus::{EventLog, ReadError};
use novij_events::broadcast::BroadcastCancelled;

#[derive(Clone, Default)]
pub struct CancelledBroadcasts {
    known: Arc<Mutex<HashSet<String>>>,
}

impl CancelledBroadcasts {
    pub async fn is_cancelled(&self, log: &EventLog, broadcast_id: &str) -> Result<bool, ReadError> {
        if self.known.lock().is_ok_and(|known| known.contains(broadcast_id)) {
            return Ok(true);
        }
        let cancelled = log.last::<BroadcastCancelled>(broadcast_id).await?.is_some();
        if cancelled {
            if let Ok(mut known) = self.known.lock() {
                known.insert(broadcast_id.to_string());
            }
        }
        Ok(cancelled)
    }
}
