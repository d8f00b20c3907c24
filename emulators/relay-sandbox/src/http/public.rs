//! The public ledger API under `/v1`, as docs/RELAY.md describes it.

use emulator_kit::json_api::{answer, only, HttpError, HttpResult};
use serde_json::json;
use warp::http::Method;

use crate::ledger::Relay;

pub(super) fn handle(relay: &Relay, method: &Method, segments: &[&str], authorization: Option<&str>) -> HttpResult {
    // Counted before faults and auth: tests prove the service asked, whatever it was told.
    if let (&Method::GET, ["transactions", tx_hash]) = (method, segments) {
        relay.record_lookup(tx_hash);
    }
    if !relay.unavailable_for().is_zero() {
        return Err(HttpError::new(503, "unavailable", "the ledger is temporarily unavailable"));
    }
    if !relay.authorizes(authorization) {
        return Err(HttpError::new(401, "unauthorized", "a valid API key is required as Authorization: Bearer <key>"));
    }
    match segments {
        ["health"] => {
            only(method, "GET")?;
            answer(200, json!({"status": "ok"}))
        }
        ["transactions", tx_hash] => {
            only(method, "GET")?;
            answer(200, relay.transaction(tx_hash)?)
        }
        ["wallets", wallet_id] => {
            only(method, "GET")?;
            answer(200, relay.wallet(wallet_id)?)
        }
        ["wallets", wallet_id, "public-key"] => {
            only(method, "GET")?;
            answer(200, relay.wallet_key(wallet_id)?)
        }
        _ => Err(HttpError::not_found()),
    }
}
