//! Transfers and how they move balances.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::support::{pay, start};

fn time(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str().expect("a timestamp").parse().expect("RFC 3339")
}

#[tokio::test]
async fn a_confirmed_transfer_moves_funds_at_once() {
    let env = start(None).await;
    let (status, body) = env.post("/relay/transfers", pay("12.5")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "confirmed");
    let tx_hash = body["tx_hash"].as_str().unwrap();
    assert!(relay_sandbox::is_valid_tx_hash(tx_hash), "{tx_hash}");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");

    let (status, tx) = env.get(&format!("/v1/transactions/{tx_hash}")).await;
    assert_eq!(status, 200, "{tx}");
    assert_eq!(tx["tx_hash"], tx_hash);
    assert_eq!(tx["status"], "confirmed");
    assert_eq!(tx["from_wallet_id"], "payer");
    assert_eq!(tx["to_wallet_id"], "service");
    assert_eq!(tx["amount"], "12.5");
    assert_eq!(tx["asset"], "NVJ");
    assert_eq!(tx["memo"], "code-1");
    assert_eq!(time(&tx["confirmed_at"]), time(&tx["created_at"]));
    assert_eq!(env.balance("payer").await, "87.5");
    assert_eq!(env.balance("service").await, "12.5");
}

#[tokio::test]
async fn a_memo_is_optional_and_shown_as_null() {
    let env = start(None).await;
    let tx_hash =
        env.transfer(json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": "0.000001"})).await;
    let tx = env.tx(&tx_hash).await;
    assert!(tx.get("memo").is_some_and(|m| m.is_null()), "{tx}");
    assert_eq!(tx["amount"], "0.000001");
}

#[tokio::test]
async fn a_pending_transfer_confirms_by_itself_after_the_delay() {
    let env = start(None).await;
    let mut body = pay("10");
    body["confirm_after_ms"] = json!(1000);
    let (status, created) = env.post("/relay/transfers", body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "pending");
    let tx_hash = created["tx_hash"].as_str().unwrap();

    let tx = env.tx(tx_hash).await;
    assert_eq!(tx["status"], "pending");
    assert!(tx["confirmed_at"].is_null());
    assert_eq!(env.balance("payer").await, "90", "the sender is debited at once");
    assert_eq!(env.balance("service").await, "0", "the receiver waits for confirmation");

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (status, tx) = env.get(&format!("/v1/transactions/{tx_hash}")).await;
    assert_eq!(status, 200);
    assert_eq!(tx["status"], "confirmed");
    let delay = time(&tx["confirmed_at"]) - time(&tx["created_at"]);
    assert_eq!(delay, chrono::Duration::milliseconds(1000));
    assert_eq!(env.balance("service").await, "10");
    assert_eq!(env.balance("payer").await, "90");
}

#[tokio::test]
async fn a_pending_transfer_is_confirmed_on_request() {
    let env = start(None).await;
    let mut body = pay("3");
    body["status"] = json!("pending");
    let tx_hash = env.transfer(body).await;
    let (status, tx) = env.post(&format!("/relay/transactions/{tx_hash}/confirm"), json!({})).await;
    assert_eq!(status, 200, "{tx}");
    assert_eq!(tx["status"], "confirmed");
    assert!(tx["confirmed_at"].is_string());
    assert_eq!(env.balance("service").await, "3");

    let (status, body) = env.post(&format!("/relay/transactions/{tx_hash}/confirm"), json!({})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("not_pending")), "{body}");
    let (status, _) = env.post(&format!("/relay/transactions/{tx_hash}/fail"), json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(env.balance("service").await, "3");
}

#[tokio::test]
async fn failing_a_pending_transfer_refunds_the_sender() {
    let env = start(None).await;
    let mut body = pay("40");
    body["status"] = json!("pending");
    let tx_hash = env.transfer(body).await;
    assert_eq!(env.balance("payer").await, "60");

    let (status, tx) = env.post(&format!("/relay/transactions/{tx_hash}/fail"), json!({})).await;
    assert_eq!(status, 200, "{tx}");
    assert_eq!(tx["status"], "failed");
    assert!(tx["confirmed_at"].is_null());
    assert_eq!(env.balance("payer").await, "100");
    assert_eq!(env.balance("service").await, "0");
    let (status, _) = env.post(&format!("/relay/transactions/{tx_hash}/confirm"), json!({})).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_transfer_created_failed_moves_nothing() {
    let env = start(None).await;
    let mut body = pay("1000");
    body["status"] = json!("failed");
    let (status, created) = env.post("/relay/transfers", body).await;
    assert_eq!((status, created["status"].as_str()), (201, Some("failed")), "{created}");
    assert_eq!(env.balance("payer").await, "100");
    assert_eq!(env.balance("service").await, "0");
}

#[tokio::test]
async fn a_transfer_beyond_the_balance_is_refused() {
    let env = start(None).await;
    let (status, body) = env.post("/relay/transfers", pay("100.000001")).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("insufficient_funds")), "{body}");
    let mut pending = pay("101");
    pending["status"] = json!("pending");
    let (status, _) = env.post("/relay/transfers", pending).await;
    assert_eq!(status, 409);
    assert_eq!(env.balance("payer").await, "100");
    env.transfer(pay("100")).await;
    assert_eq!(env.balance("payer").await, "0");
}

#[tokio::test]
async fn transfers_are_validated() {
    let env = start(None).await;
    let (status, body) = env
        .post("/relay/transfers", json!({"from_wallet_id": "ghost", "to_wallet_id": "service", "amount": "1"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str(), body["field"].as_str()),
        (404, Some("wallet_not_found"), Some("from_wallet_id"))
    );
    let (status, body) =
        env.post("/relay/transfers", json!({"from_wallet_id": "payer", "to_wallet_id": "ghost", "amount": "1"})).await;
    assert_eq!((status, body["field"].as_str()), (404, Some("to_wallet_id")), "{body}");

    let (status, body) = env.post("/relay/transfers", pay("0")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_amount")), "{body}");
    let (status, _) =
        env.post("/relay/transfers", json!({"from_wallet_id": "payer", "to_wallet_id": "payer", "amount": "1"})).await;
    assert_eq!(status, 400);
    let mut long_memo = pay("1");
    long_memo["memo"] = json!("m".repeat(257));
    assert_eq!(env.post("/relay/transfers", long_memo).await.0, 400);
    let mut mixed = pay("1");
    mixed["status"] = json!("confirmed");
    mixed["confirm_after_ms"] = json!(10);
    assert_eq!(env.post("/relay/transfers", mixed).await.0, 400);

    for bad in [
        json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": 1.5}),
        json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": "1.0000001"}),
        json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": "-1"}),
        json!({"from_wallet_id": "payer", "to_wallet_id": "service"}),
        json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": "1", "colour": "red"}),
        json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": "1", "status": "settled"}),
    ] {
        let (status, body) = env.post("/relay/transfers", bad.clone()).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_body")), "{bad} -> {body}");
    }
    let (status, body) = env.post_raw("/relay/transfers", "{not json").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("invalid JSON body"), "{body}");
    assert_eq!(env.balance("payer").await, "100");
}
