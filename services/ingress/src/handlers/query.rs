//! Reading a `GET`'s query parameters (a JSON object over NATS).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::ApiError;

/// Longest `wait_seconds` of a long poll.
const MAX_WAIT_SECONDS: u64 = 30;

pub fn required(query: &BTreeMap<String, String>, name: &str) -> Result<String, ApiError> {
    query.get(name).cloned().ok_or_else(|| ApiError::invalid(name, format!("missing field `{name}`")))
}

/// A page's `limit`: 1 to `max`; absent, `default`.
pub fn limit(query: &BTreeMap<String, String>, default: u64, max: u64) -> Result<u64, ApiError> {
    let Some(raw) = query.get("limit") else { return Ok(default) };
    raw.parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ApiError::invalid("limit", format!("must be a whole number from 1 to {max}")))
}

/// A long poll's `wait_seconds` (0 to 30; absent: 0).
pub fn wait(query: &BTreeMap<String, String>) -> Result<Duration, ApiError> {
    let Some(w) = query.get("wait_seconds") else { return Ok(Duration::ZERO) };
    let seconds = w.parse::<u64>().ok().filter(|w| *w <= MAX_WAIT_SECONDS).ok_or_else(|| {
        ApiError::invalid("wait_seconds", format!("must be a whole number from 0 to {MAX_WAIT_SECONDS}"))
    })?;
    Ok(Duration::from_secs(seconds))
}
