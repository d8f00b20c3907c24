//! The control API under `/relay`: tests create wallets and transfers, settle
//! pending transactions, inject outages and read lookup counters. No auth.

use std::time::Duration;

use emulator_kit::json_api::{answer, empty_body, json_body, method_not_allowed, only, HttpError, HttpResult};
use serde::Deserialize;
use serde_json::json;
use warp::http::Method;

use crate::ledger::{Relay, MAX_DELAY_MS};
use crate::model::{NewWallet, NewWalletKey, TransferRequest};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFault {
    unavailable_for_ms: u64,
}

pub(super) fn handle(relay: &Relay, method: &Method, segments: &[&str], body: &[u8]) -> HttpResult {
    match segments {
        ["wallets"] => {
            only(method, "POST")?;
            let new: NewWallet = json_body(body)?;
            let wallet = relay.create_wallet_with_key(&new.wallet_id, new.balance, new.public_key.as_deref())?;
            tracing::info!(wallet_id = %wallet.wallet_id, balance = %wallet.balance, "wallet created");
            answer(201, wallet)
        }
        ["wallets", wallet_id] => {
            only(method, "GET")?;
            answer(200, relay.wallet(wallet_id)?)
        }
        ["wallets", wallet_id, "public-key"] => {
            only(method, "PUT")?;
            let new: NewWalletKey = json_body(body)?;
            answer(200, relay.set_wallet_key(wallet_id, &new.public_key)?)
        }
        ["transfers"] => {
            only(method, "POST")?;
            let request: TransferRequest = json_body(body)?;
            let tx = relay.transfer(request)?;
            tracing::info!(
                tx_hash = %tx.tx_hash, status = tx.status.as_str(), from = %tx.from_wallet_id,
                to = %tx.to_wallet_id, amount = %tx.amount, "transfer recorded"
            );
            answer(201, json!({"tx_hash": tx.tx_hash, "status": tx.status}))
        }
        ["transactions", tx_hash] => {
            only(method, "GET")?;
            answer(200, relay.transaction(tx_hash)?)
        }
        ["transactions", tx_hash, "confirm"] => {
            only(method, "POST")?;
            empty_body(body)?;
            answer(200, relay.confirm(tx_hash)?)
        }
        ["transactions", tx_hash, "fail"] => {
            only(method, "POST")?;
            empty_body(body)?;
            answer(200, relay.fail(tx_hash)?)
        }
        ["transactions", tx_hash, "lookups"] => {
            only(method, "GET")?;
            answer(200, json!({"lookups": relay.lookups(tx_hash)?}))
        }
        ["faults"] => faults(relay, method, body),
        _ => Err(HttpError::not_found()),
    }
}

fn faults(relay: &Relay, method: &Method, body: &[u8]) -> HttpResult {
    match method.as_str() {
        "POST" => {
            let fault: NewFault = json_body(body)?;
            if fault.unavailable_for_ms > MAX_DELAY_MS {
                return Err(HttpError::invalid_body(format!("unavailable_for_ms must be at most {MAX_DELAY_MS}")));
            }
            relay.set_unavailable_for(Duration::from_millis(fault.unavailable_for_ms));
            tracing::info!(ms = fault.unavailable_for_ms, "ledger unavailable");
        }
        "DELETE" => {
            relay.clear_faults();
            tracing::info!("faults cleared");
        }
        "GET" => {}
        _ => return Err(method_not_allowed(method, "GET, POST, DELETE")),
    }
    answer(200, json!({"unavailable_for_ms": relay.unavailable_for().as_millis() as u64}))
}
