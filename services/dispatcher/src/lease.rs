//! A partition lease as the delivery code sees it: valid until a moment that
//! each successful refresh pushes forward. A delivery checks it before every
//! Bot API call, so a dispatcher that cannot refresh stops calling Telegram
//! before its lease can expire on the server and pass to another instance.

use std::sync::{Arc, Mutex};

use tokio::time::Instant;

#[derive(Clone)]
pub struct Lease {
    valid_until: Arc<Mutex<Instant>>,
}

impl Lease {
    pub fn new(valid_until: Instant) -> Self {
        Self { valid_until: Arc::new(Mutex::new(valid_until)) }
    }

    pub fn is_valid(&self) -> bool {
        self.valid_until.lock().map(|u| Instant::now() < *u).unwrap_or(false)
    }

    pub fn extend(&self, until: Instant) {
        if let Ok(mut u) = self.valid_until.lock() {
            *u = until;
        }
    }

    pub fn revoke(&self) {
        self.extend(Instant::now());
    }
}
