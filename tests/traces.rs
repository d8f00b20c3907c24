//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, one send is one trace
//! across the processes it passes (ingress, payment-verifier, dispatcher),
//! linked through the trace context the NATS messages carry; the spans name
//! operations, consumers and Bot API methods, and hold no chat, text or token.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use novij_testkit::{eventually, free_port};
use serde_json::Value;
use support::{Layout, TestStack, WAIT};
use warp::Filter as _;

/// One span as a collector received it.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    trace_id: String,
    name: String,
    /// The whole span as JSON text: its name, attributes, events and status.
    text: String,
}

/// An OTLP/HTTP collector taking JSON on `/v1/traces`, as the specification has it.
fn collector() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let kept = spans.clone();
    let route = warp::path!("v1" / "traces").and(warp::post()).and(warp::body::json()).map(move |body: Value| {
        kept.lock().expect("spans").extend(spans_of(&body));
        warp::reply::json(&serde_json::json!({}))
    });
    let port = free_port();
    tokio::spawn(warp::serve(route).run(([127, 0, 0, 1], port)));
    (format!("http://127.0.0.1:{port}"), spans)
}

fn spans_of(request: &Value) -> Vec<Span> {
    let mut out = Vec::new();
    for resource in request["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or_default()
            .to_string();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                out.push(Span {
                    service: service.clone(),
                    trace_id: span["traceId"].as_str().unwrap_or_default().to_string(),
                    name: span["name"].as_str().unwrap_or_default().to_string(),
                    text: span.to_string(),
                });
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn one_send_is_one_trace_across_ingress_payment_verifier_and_dispatcher() {
    let (endpoint, spans) = collector();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "200")];
    let stack = TestStack::start_with(Layout::Separate, &env).await;
    let integration = stack.create_integration("p_traces", None).await;
    let chat = stack.connect_user("p_traces", &integration, "ann-traced").await;
    let text = "a private note 7f3a";
    let sent = stack.send_text("p_traces", &integration, "ann-traced", text, "traced-1").await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let send_id = sent.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&send_id, "sent").await;

    // The send's trace: the one its API span started, once it holds the
    // payment-verifier's handling and the dispatcher's call (spans arrive in
    // batches, each process on its own schedule).
    let named = |trace: &str| -> BTreeSet<(String, String)> {
        let spans = spans.lock().expect("spans");
        spans.iter().filter(|s| s.trace_id == trace).map(|s| (s.service.clone(), s.name.clone())).collect()
    };
    let trace = eventually(WAIT, || async {
        let trace =
            spans.lock().expect("spans").iter().find(|s| s.name == "sends.create").map(|s| s.trace_id.clone())?;
        let seen = named(&trace);
        let verified = seen
            .iter()
            .any(|(service, name)| service == "novij-payment-verifier" && name.starts_with("payment-verifier"));
        let called = seen.contains(&("novij-dispatcher".to_string(), "sendMessage".to_string()));
        (verified && called).then_some(trace)
    })
    .await
    .unwrap_or_else(|_| {
        let seen: Vec<(String, String, String)> = spans
            .lock()
            .expect("spans")
            .iter()
            .map(|s| (s.service.clone(), s.name.clone(), s.trace_id.clone()))
            .collect();
        panic!("no trace from the API to the payment-verifier and the Bot API call: {seen:?}\n{}", stack.output_tail())
    });
    let services: BTreeSet<String> = named(&trace).into_iter().map(|(service, _)| service).collect();
    assert!(services.contains("novij-ingress"), "{services:?}");

    // No personal data or secret anywhere in any span: attributes, events, status.
    let all = spans.lock().expect("spans").clone();
    for span in &all {
        for private in [text, "ann-traced", &chat.to_string(), &stack.common_token] {
            assert!(!span.text.contains(private), "{private:?} in {span:?}");
        }
    }
}
