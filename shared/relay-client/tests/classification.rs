//! The client against the relay-sandbox (and two tiny misbehaving servers):
//! every answer of the contract lands in the right `RelayError` class.

use std::net::SocketAddr;
use std::time::Duration;

use novij_events::money::Amount;
use novij_relay_client::{RelayClient, RelayError, TxStatus};
use relay_sandbox::{RelayConfig, RunningRelay, TransferRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "test-relay-key";
const TIMEOUT: Duration = Duration::from_secs(5);

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

async fn ledger(api_key: Option<&str>) -> RunningRelay {
    relay_sandbox::start(RelayConfig {
        api_key: api_key.map(str::to_string),
        wallets: vec![("payer".into(), amount("100")), ("service".into(), Amount::ZERO)],
        ..RelayConfig::default()
    })
    .await
    .unwrap()
}

fn client(relay: &RunningRelay, key: Option<&str>) -> RelayClient {
    RelayClient::new(&relay.base_url(), key.map(str::to_string), TIMEOUT).unwrap()
}

/// Serves `response` verbatim to every connection.
async fn canned_server(response: String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

fn http_200(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_confirmed_transaction_is_read_exactly() {
    let relay = ledger(Some(KEY)).await;
    let mut request = TransferRequest::new("payer", "service", amount("12.5"));
    request.memo = Some("pay-123".into());
    let created = relay.relay().transfer(request).unwrap();

    let client = client(&relay, Some(KEY));
    client.health().await.unwrap();
    let tx = client.transaction(&created.tx_hash).await.unwrap();
    assert_eq!(tx.tx_hash, created.tx_hash);
    assert_eq!(tx.status, TxStatus::Confirmed);
    assert_eq!((tx.from_wallet_id.as_str(), tx.to_wallet_id.as_str()), ("payer", "service"));
    assert_eq!(tx.amount, amount("12.5"));
    assert_eq!(tx.asset, "NVJ");
    assert_eq!(tx.memo.as_deref(), Some("pay-123"));
    assert_eq!(tx.created_at, created.created_at);
    assert_eq!(tx.confirmed_at, created.confirmed_at);

    let wallet = client.wallet("service").await.unwrap();
    assert_eq!((wallet.wallet_id.as_str(), wallet.asset.as_str(), wallet.balance), ("service", "NVJ", amount("12.5")));
    assert_eq!(client.wallet("payer").await.unwrap().balance, amount("87.5"));
}

#[tokio::test]
async fn pending_and_failed_transactions_are_read_with_their_status() {
    let relay = ledger(None).await;
    let mut request = TransferRequest::new("payer", "service", amount("1"));
    request.status = Some(relay_sandbox::TxStatus::Pending);
    let pending = relay.relay().transfer(request).unwrap();
    let client = client(&relay, None);

    let tx = client.transaction(&pending.tx_hash).await.unwrap();
    assert_eq!((tx.status, tx.memo, tx.confirmed_at), (TxStatus::Pending, None, None));

    relay.relay().fail(&pending.tx_hash).unwrap();
    let tx = client.transaction(&pending.tx_hash).await.unwrap();
    assert_eq!((tx.status, tx.confirmed_at), (TxStatus::Failed, None));
}

#[tokio::test]
async fn unknown_transactions_and_wallets_are_not_found() {
    let relay = ledger(None).await;
    let client = client(&relay, None);
    assert_eq!(client.transaction(&"0".repeat(64)).await, Err(RelayError::NotFound));
    assert_eq!(client.wallet("nobody").await, Err(RelayError::NotFound));
    assert!(!RelayError::NotFound.is_transient());
}

#[tokio::test]
async fn malformed_hashes_are_invalid_requests() {
    let relay = ledger(None).await;
    let client = client(&relay, None);
    for bad in ["ABC", &"A".repeat(64), "a/b", "not a hash", ".."] {
        match client.transaction(bad).await {
            Err(RelayError::InvalidRequest(_)) => {}
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    match client.transaction("ABC").await {
        Err(RelayError::InvalidRequest(text)) => assert!(text.starts_with("invalid_tx_hash"), "{text}"),
        other => panic!("{other:?}"),
    }
    // Nothing under a wrong base path may pass for a missing transaction.
    let wrong_base = RelayClient::new(&format!("{}/api", relay.base_url()), None, TIMEOUT).unwrap();
    assert!(matches!(wrong_base.transaction(&"0".repeat(64)).await, Err(RelayError::InvalidRequest(_))));
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_unauthorized() {
    let relay = ledger(Some(KEY)).await;
    for key in [None, Some("wrong-key")] {
        let client = client(&relay, key);
        assert_eq!(client.health().await, Err(RelayError::Unauthorized), "{key:?}");
        assert_eq!(client.transaction(&"0".repeat(64)).await, Err(RelayError::Unauthorized));
        assert_eq!(client.wallet("payer").await, Err(RelayError::Unauthorized));
    }
    assert!(!RelayError::Unauthorized.is_transient());
}

#[tokio::test]
async fn an_outage_is_transient_and_passes() {
    let relay = ledger(Some(KEY)).await;
    let client = client(&relay, Some(KEY));
    relay.relay().set_unavailable_for(Duration::from_secs(60));
    let err = client.health().await.unwrap_err();
    assert_eq!(err, RelayError::Unavailable { status: 503 });
    assert!(err.is_transient());
    assert_eq!(client.wallet("payer").await, Err(RelayError::Unavailable { status: 503 }));
    relay.relay().clear_faults();
    client.health().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_ledger_is_a_network_error_without_the_url() {
    let relay = ledger(None).await;
    let base = relay.base_url();
    let port = relay.addr.port().to_string();
    relay.shutdown().await;
    let client = RelayClient::new(&base, None, TIMEOUT).unwrap();
    match client.transaction(&"0".repeat(64)).await {
        Err(err @ RelayError::Network(_)) => {
            assert!(err.is_transient());
            let text = err.to_string();
            assert!(!text.contains(&port) && !text.contains("transactions"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_ledger_that_does_not_answer_times_out_as_a_network_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = RelayClient::new(&format!("http://{addr}"), None, Duration::from_millis(300)).unwrap();
    match client.health().await {
        Err(err @ RelayError::Network(_)) => assert!(err.is_transient()),
        other => panic!("{other:?}"),
    }
    holder.abort();
}

#[tokio::test]
async fn an_unexpected_success_body_is_a_decode_error() {
    let hash = "ab".repeat(32);
    let other = "cd".repeat(32);
    let cases = [
        (http_200(r#"{"unexpected": true}"#), "shape"),
        (http_200(r#"{"status": "degraded"}"#), "health"),
        (http_200("not json"), "not json"),
        (
            http_200(&format!(
                r#"{{"tx_hash":"{other}","status":"confirmed","from_wallet_id":"a","to_wallet_id":"b",
                "amount":"1","asset":"NVJ","memo":null,"created_at":"2024-01-01T00:00:00Z","confirmed_at":null}}"#
            )),
            "another transaction",
        ),
        (http_200(r#"{"wallet_id":"w","asset":"NVJ","balance":1.5}"#), "numeric amount"),
    ];
    for (response, case) in cases {
        let addr = canned_server(response).await;
        let client = RelayClient::new(&format!("http://{addr}"), None, TIMEOUT).unwrap();
        let result = match case {
            "health" => client.health().await.map(|_| ()),
            "numeric amount" => client.wallet("w").await.map(|_| ()),
            _ => client.transaction(&hash).await.map(|_| ()),
        };
        match result {
            Err(err @ RelayError::Decode(_)) => assert!(!err.is_transient()),
            other => panic!("{case}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let addr = canned_server(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_string(),
    )
    .await;
    let client = RelayClient::new(&format!("http://{addr}"), Some(KEY.into()), TIMEOUT).unwrap();
    assert!(matches!(client.health().await, Err(RelayError::Decode(_))));
}
