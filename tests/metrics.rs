//! `GET /metrics` of every service: it parses with Prometheus's reference
//! parser, the counters move after a send, and no label value holds an id,
//! a chat or a text.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use novij_testkit::{eventually, free_port};
use serde_json::Value;
use support::{Layout, TestStack, COMMON_BOT, SERVICES, WAIT};

/// Every sample of a scrape, as the reference parser reads it.
fn parse(text: &str) -> Vec<Value> {
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/receivers/prometheus_parse.py");
    let mut child = Command::new(&python)
        .arg(script)
        .env("PYTHONPATH", std::env::var("TEST_PYTHONPATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} (TEST_PYTHON; scripts/bootstrap.sh sets it): {e}"));
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("parser");
    assert!(out.status.success(), "the parser refused the text: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("samples")
}

async fn scrape(url: &str) -> Vec<Value> {
    let response = reqwest::get(url).await.expect("GET /metrics");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(kind.starts_with("text/plain"), "{url}: {kind}");
    parse(&response.text().await.expect("body"))
}

/// The sum of `name`'s samples whose labels include `labels`.
fn total(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching = samples.iter().filter(|s| s["name"] == name);
    let matching = matching.filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v));
    matching.map(|s| s["value"].as_f64().unwrap_or(0.0)).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_exposes_metrics_that_move_and_name_no_one() {
    let mut stack = TestStack::start(Layout::Separate).await;
    // Every service but the ingress (its HTTP port serves them) on a port of its own.
    let mut urls = vec![("ingress".to_string(), format!("{}/metrics", stack.api))];
    for service in SERVICES.iter().filter(|s| **s != "ingress") {
        let listen = format!("127.0.0.1:{}", free_port());
        stack.service(service).kill().await;
        stack.set_env("METRICS_LISTEN", &listen);
        stack.spawn(service, &["serve", service]);
        urls.push((service.to_string(), format!("http://{listen}/metrics")));
    }
    stack.env.retain(|(k, _)| k != "METRICS_LISTEN");
    stack.wait_ready().await;

    let integration = stack.create_integration("p_metrics", None).await;
    let chat = stack.connect_user("p_metrics", &integration, "ann").await;
    let sent = stack.send_text("p_metrics", &integration, "ann", "a private text", "m-1").await;
    let send_id = sent.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&send_id, "sent").await;

    let dispatcher = &urls.iter().find(|(s, _)| s == "dispatcher").expect("dispatcher").1;
    let moved = eventually(WAIT, || async {
        let samples = scrape(dispatcher).await;
        let sent = total(&samples, "novij_sends_total", &[("status", "sent")]);
        let calls = total(&samples, "novij_bot_api_calls_total", &[("method", "sendMessage"), ("result", "ok")]);
        (sent >= 2.0 && calls >= 2.0).then_some(())
    })
    .await;
    assert!(moved.is_ok(), "the welcome and the send are not counted: {:?}", scrape(dispatcher).await);

    let ingress = scrape(&urls[0].1).await;
    let accepted = total(&ingress, "novij_api_requests_total", &[("operation", "sends.create"), ("status", "2xx")]);
    assert!(accepted >= 1.0, "{ingress:?}");
    let lag = ingress.iter().find(|s| s["name"] == "novij_projector_lag_events");
    assert!(lag.is_some(), "{ingress:?}");
    assert!(ingress.iter().any(|s| s["name"] == "novij_consumer_pending"), "{ingress:?}");

    // No label value names anyone: no id, chat, token or text.
    let secrets = [chat.to_string(), "a private text".to_string(), stack.common_token.clone(), integration.clone()];
    for (service, url) in &urls {
        for sample in scrape(url).await {
            for value in sample["labels"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str()) {
                let id_like = ["snd_", "int_", "rcp_", "cc_", "key_", "brd_", "upl_", "inb_", "cmd_"];
                assert!(!id_like.iter().any(|p| value.contains(p)), "{service}: an id in a label: {sample}");
                assert!(!secrets.iter().any(|s| value.contains(s.as_str())), "{service}: {sample}");
                let digits = value.as_bytes().windows(5).any(|w| w.iter().all(u8::is_ascii_digit));
                assert!(!digits, "{service}: a number like a chat or user id in a label: {sample}");
            }
        }
    }
    assert!(stack.sent(COMMON_BOT).await.iter().any(|m| m["chat_id"] == chat));
}
