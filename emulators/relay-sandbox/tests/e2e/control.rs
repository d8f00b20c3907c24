//! The control API's own rules: wallets, lookups, routes and methods.

use serde_json::json;

use crate::support::{pay, start, KEY};

#[tokio::test]
async fn wallets_are_created_once() {
    let env = start(None).await;
    let (status, body) = env.post("/relay/wallets", json!({"wallet_id": "alice", "balance": "5.25"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"wallet_id": "alice", "asset": "NVJ", "balance": "5.25"}));
    let (status, body) = env.post("/relay/wallets", json!({"wallet_id": "alice", "balance": "1"})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("wallet_exists")), "{body}");
    assert_eq!(env.balance("alice").await, "5.25");

    let (status, body) = env.post("/relay/wallets", json!({"wallet_id": "bob"})).await;
    assert_eq!((status, body["balance"].as_str()), (201, Some("0")), "{body}");
    let (status, body) = env.post("/relay/wallets", json!({"wallet_id": "no/slash"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_wallet_id")), "{body}");
    let (status, body) = env.post("/relay/wallets", json!({"balance": "1"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_body")), "{body}");
    assert_eq!(env.get("/relay/wallets/nobody").await.0, 404);
}

#[tokio::test]
async fn lookups_count_every_public_read_of_a_transaction() {
    let env = start(Some(KEY)).await;
    let tx_hash = env.transfer(pay("1")).await;
    let lookups = format!("/relay/transactions/{tx_hash}/lookups");
    assert_eq!(env.get(&lookups).await, (200, json!({"lookups": 0})));

    let public = format!("/v1/transactions/{tx_hash}");
    assert_eq!(env.get_with_key(&public, KEY).await.0, 200);
    assert_eq!(env.get_with_key(&public, KEY).await.0, 200);
    assert_eq!(env.get(&public).await.0, 401, "refused reads count too");
    env.tx(&tx_hash).await;
    assert_eq!(env.get(&lookups).await, (200, json!({"lookups": 3})), "control reads do not count");

    let unknown = "f".repeat(64);
    assert_eq!(env.get_with_key(&format!("/v1/transactions/{unknown}"), KEY).await.0, 404);
    assert_eq!(env.get(&format!("/relay/transactions/{unknown}/lookups")).await, (200, json!({"lookups": 1})));
    assert_eq!(env.get("/relay/transactions/xyz/lookups").await.0, 400);
    assert_eq!(env.relay.relay().lookups(&tx_hash), Ok(3));
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let env = start(None).await;
    for path in ["/", "/v2/health", "/v1/nothing", "/relay/nothing", "/relay/transactions"] {
        let (status, body) = env.get(path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{path}: {body}");
    }
    let response = env.http.get(format!("{}/relay/transfers", env.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    assert_eq!(env.post("/v1/health", json!({})).await.0, 405);
    assert_eq!(env.delete("/relay/wallets/payer").await.0, 405);
    let tx_hash = env.transfer(pay("1")).await;
    assert_eq!(env.get(&format!("/relay/transactions/{tx_hash}/confirm")).await.0, 405);
    let (status, body) = env.post_raw(&format!("/relay/transactions/{tx_hash}/confirm"), "[1,").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_body")), "{body}");
}
