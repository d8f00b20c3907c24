//! The log of update deliveries of one bot: each webhook attempt (its HTTP
//! status or error, latency and retry number) and each update a `getUpdates`
//! call handed over for the first time.

use std::collections::VecDeque;

use serde::Serialize;

/// How many deliveries a bot keeps; older ones are forgotten.
const MAX_DELIVERIES: usize = 500;

/// One attempt to hand an update to the bot.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub update_id: i64,
    /// The Update field, e.g. "message".
    pub kind: String,
    /// "webhook" or "getUpdates".
    pub via: &'static str,
    pub ok: bool,
    /// The webhook's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why the attempt failed, as `getWebhookInfo` reports it.
    pub error: Option<String>,
    /// 1 for the first attempt at an update, 2 for its first retry...
    pub attempt: u32,
    /// Webhook: the request's round trip; getUpdates: how long the update waited.
    pub latency_ms: u64,
    pub at: String,
    pub at_ms: i64,
}

/// The newest deliveries of a bot, and how far `getUpdates` has handed them over.
#[derive(Debug, Default)]
pub struct Deliveries {
    records: VecDeque<DeliveryRecord>,
    /// The highest update id a `getUpdates` call returned.
    pub polled_up_to: i64,
}

impl Deliveries {
    /// Appends a record, forgetting the oldest beyond the cap.
    pub fn push(&mut self, record: DeliveryRecord) {
        if self.records.len() >= MAX_DELIVERIES {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &DeliveryRecord> {
        self.records.iter()
    }

    /// How many attempts there were at `update_id` so far.
    pub fn attempts_at(&self, update_id: i64) -> u32 {
        self.records.iter().rev().take_while(|r| r.update_id == update_id).count() as u32
    }
}
