//! The public API under `/v1`: auth, validation and not-found answers.

use serde_json::json;

use crate::support::{pay, start, KEY};

#[tokio::test]
async fn health_is_ok() {
    let env = start(None).await;
    assert_eq!(env.get("/v1/health").await, (200, json!({"status": "ok"})));
}

#[tokio::test]
async fn the_api_key_is_enforced_on_every_public_call() {
    let env = start(Some(KEY)).await;
    let tx_hash = env.transfer(pay("1")).await;
    for path in ["/v1/health".to_string(), format!("/v1/transactions/{tx_hash}"), "/v1/wallets/payer".to_string()] {
        let (status, body) = env.get(&path).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "{path}: {body}");
        assert_eq!(env.get_with_key(&path, "not-the-key").await.0, 401, "{path}");
        assert_eq!(env.get_with_key(&path, &format!("{KEY}x")).await.0, 401, "{path}");
        assert_eq!(env.get_with_key(&path, KEY).await.0, 200, "{path}");
    }
    let raw = env.http.get(format!("{}/v1/health", env.base)).header("authorization", KEY).send().await.unwrap();
    assert_eq!(raw.status().as_u16(), 401, "the Bearer scheme is required");
    assert_eq!(env.get("/relay/wallets/payer").await.0, 200, "the control API needs no key");
}

#[tokio::test]
async fn a_malformed_hash_is_a_bad_request() {
    let env = start(None).await;
    let upper = "A".repeat(64);
    let short = "a".repeat(63);
    let long = "a".repeat(65);
    for bad in ["xyz", upper.as_str(), short.as_str(), long.as_str(), "0x1234"] {
        let (status, body) = env.get(&format!("/v1/transactions/{bad}")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_tx_hash")), "{bad}: {body}");
        assert!(body["message"].is_string());
    }
}

#[tokio::test]
async fn unknown_transactions_and_wallets_are_not_found() {
    let env = start(None).await;
    let (status, body) = env.get(&format!("/v1/transactions/{}", "0".repeat(64))).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("tx_not_found")), "{body}");
    let (status, body) = env.get("/v1/wallets/ghost").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("wallet_not_found")), "{body}");
    let (status, body) = env.get("/v1/wallets/payer").await;
    assert_eq!((status, body), (200, json!({"wallet_id": "payer", "asset": "NVJ", "balance": "100"})));
}

#[tokio::test]
async fn a_configured_asset_is_reported() {
    let relay = relay_sandbox::start(relay_sandbox::RelayConfig {
        asset: "TST".into(),
        wallets: vec![("w".into(), "1".parse().unwrap())],
        ..Default::default()
    })
    .await
    .unwrap();
    let body: serde_json::Value =
        reqwest::get(format!("{}/v1/wallets/w", relay.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(body["asset"], "TST");
    relay.shutdown().await;
}

#[tokio::test]
async fn a_wallet_key_is_served_once_set() {
    let env = start(Some(KEY)).await;
    let (status, body) = env.get_with_key("/v1/wallets/payer/public-key", KEY).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("public_key_not_found")), "{body}");
    let key = "A".repeat(43) + "=";
    let (status, body) = env.put("/relay/wallets/payer/public-key", json!({"public_key": "short"})).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("public_key")), "{body}");
    assert_eq!(env.put("/relay/wallets/payer/public-key", json!({"public_key": key})).await.0, 200);
    assert_eq!(env.get("/v1/wallets/payer/public-key").await.0, 401, "the key is public data behind the API key");
    let (status, body) = env.get_with_key("/v1/wallets/payer/public-key", KEY).await;
    assert_eq!((status, body), (200, json!({"wallet_id": "payer", "algorithm": "ed25519", "public_key": key})));
    let (status, body) = env.post("/relay/wallets", json!({"wallet_id": "w2", "public_key": key})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(env.get_with_key("/v1/wallets/w2/public-key", KEY).await.1["public_key"], json!(key));
    let (status, body) = env.get_with_key("/v1/wallets/ghost/public-key", KEY).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("wallet_not_found")), "{body}");
}
