//! Replay: dropping the projections and rebuilding them from the log gives
//! identical rows.

mod support;

use support::{Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn rebuild_after_dropping_projections_gives_identical_rows() {
    let mut stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    let chat = stack.connect_user("p1", &integration, "user:1").await;
    stack.connect_user("p1", &integration, "user:2").await;
    for (i, user) in ["user:1", "user:2"].iter().enumerate() {
        let r = stack.send_text("p1", &integration, user, &format!("hello {i}"), &format!("k{i}")).await;
        stack.wait_send(r.body["send_id"].as_str().unwrap(), "sent").await;
    }
    // An alert card, opened and changed.
    for status in ["firing", "acknowledged"] {
        let alert = serde_json::json!({
            "project_id": "p1", "integration_id": integration, "recipient_ref": "user:2", "external_id": "disk",
            "title": "Disk full", "severity": "high", "status": status
        });
        let r = stack.post("/api/v1/alerts/upsert", alert).await;
        assert!(r.status == 200 || r.status == 201, "{}", r.body);
    }
    // Paid cards (payment mode dsr): one cleared, one refused for too little.
    let paid = stack.create_integration_with("p1", None, serde_json::json!({"payment_mode": "dsr"})).await;
    stack.connect_user("p1", &paid, "user:3").await;
    for (external_id, amount) in [("cpu", "0.5"), ("mem", "0.1")] {
        let quote = stack.quote("p1", "server_alert_basic").await;
        let code = quote["payment_code"].as_str().expect("payment_code");
        let tx = stack.transfer(support::PAYER_WALLET, support::SERVICE_WALLET, amount, code, "confirmed").await;
        let alert = serde_json::json!({
            "project_id": "p1", "integration_id": paid, "recipient_ref": "user:3", "external_id": external_id,
            "title": "Paid", "severity": "high", "status": "firing",
            "tx_hash": tx, "payer_wallet_id": support::PAYER_WALLET, "payment_code": code
        });
        let r = stack.post("/api/v1/alerts/upsert", alert).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    stack
        .sandbox_post(
            &format!("/sandbox/users/{chat}/messages"),
            serde_json::json!({"bot_username": support::COMMON_BOT, "text": "/stop"}),
        )
        .await;
    let path = format!("/api/v1/integrations/{integration}/recipients");
    novij_testkit::eventually(support::WAIT, || async {
        let r = stack.get(&path).await;
        r.body.as_array()?.iter().any(|x| x["status"] == "disabled").then_some(())
    })
    .await
    .expect("user:1 disabled by /stop");
    // The /stop reply and all it led to are handled: the log has stopped moving.
    stack.wait_settled().await;
    stack.service("all").kill().await;

    let db = stack.db.connect().await.expect("db");
    let before = support::projection_rows(&db).await;
    assert!(before.iter().all(|(_, rows)| !rows.is_empty()), "a projection is empty: {before:?}");

    let said = support::rebuild_from_scratch(&stack, &db).await;
    assert!(said.contains("rebuilt projections"), "{said}");

    let cards = before.iter().find(|(table, _)| table == "alert_cards").map(|(_, rows)| rows.join("\n"));
    let cards = cards.unwrap_or_default();
    assert!(cards.contains("paid") && cards.contains("refused"), "both payment outcomes projected: {cards}");

    let after = support::projection_rows(&db).await;
    assert_eq!(before, after);
}
