//! Injected outages: the public API answers 503, the control API keeps working.

use std::time::Duration;

use serde_json::json;

use crate::support::{start, KEY};

#[tokio::test]
async fn an_outage_answers_503_until_it_ends() {
    let env = start(Some(KEY)).await;
    let (status, body) = env.post("/relay/faults", json!({"unavailable_for_ms": 300})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["unavailable_for_ms"].as_u64().is_some_and(|ms| ms > 0 && ms <= 300), "{body}");

    for path in ["/v1/health", "/v1/wallets/payer", "/v1/nothing"] {
        let (status, body) = env.get_with_key(path, KEY).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")), "{path}: {body}");
    }
    assert_eq!(env.get("/v1/health").await.0, 503, "the outage comes before auth");
    assert_eq!(env.get("/relay/wallets/payer").await.0, 200, "the control API stays up");

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(env.get_with_key("/v1/health", KEY).await.0, 200);
    assert_eq!(env.get("/relay/faults").await, (200, json!({"unavailable_for_ms": 0})));
}

#[tokio::test]
async fn clearing_faults_ends_the_outage_at_once() {
    let env = start(None).await;
    env.post("/relay/faults", json!({"unavailable_for_ms": 60_000})).await;
    assert_eq!(env.get("/v1/health").await.0, 503);
    assert_eq!(env.delete("/relay/faults").await, (200, json!({"unavailable_for_ms": 0})));
    assert_eq!(env.get("/v1/health").await.0, 200);
}

#[tokio::test]
async fn fault_bodies_are_validated() {
    let env = start(None).await;
    for bad in [json!({}), json!({"unavailable_for_ms": -1}), json!({"unavailable_for_ms": "10"}), json!({"ms": 1})] {
        let (status, body) = env.post("/relay/faults", bad.clone()).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_body")), "{bad}: {body}");
    }
    assert_eq!(env.post("/relay/faults", json!({"unavailable_for_ms": 86_400_001})).await.0, 400);
    assert_eq!(env.get("/v1/health").await.0, 200);
}
