//! Registering, reading and updating entries, and the refusals on the way.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{entry, start, KEY};

fn time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().expect("a time as text");
    assert!(text.ends_with('Z'), "UTC: {text}");
    DateTime::parse_from_rfc3339(text).expect("RFC 3339").with_timezone(&Utc)
}

#[tokio::test]
async fn an_entry_is_registered_read_updated_and_listed() {
    let env = start(Some(KEY)).await;
    let sent = entry("telegram.example.com");
    let (status, registered) = env.post("/v1/services", sent.clone()).await;
    assert_eq!(status, 201, "{registered}");
    let mut expected = sent.clone();
    for field in ["registered_at", "updated_at", "last_verification"] {
        expected[field] = registered[field].clone();
    }
    assert_eq!(registered, expected, "the entry as sent, plus three fields");
    assert_eq!(time(&registered["registered_at"]), time(&registered["updated_at"]));
    assert_eq!(registered["last_verification"], Value::Null);

    assert_eq!(env.get("/v1/services/telegram.example.com").await, (200, registered.clone()));

    let mut changed = sent.clone();
    changed["version"] = json!("0.2.0");
    changed["wallet_id"] = Value::Null;
    let (status, updated) = env.put("/v1/services/telegram.example.com", changed.clone()).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!((&updated["version"], &updated["wallet_id"]), (&json!("0.2.0"), &Value::Null));
    assert_eq!(updated["registered_at"], registered["registered_at"], "registration time is kept");
    assert!(time(&updated["updated_at"]) > time(&registered["updated_at"]), "{updated}");
    assert_eq!(updated["last_verification"], Value::Null);
    assert_eq!(env.get("/v1/services/telegram.example.com").await, (200, updated.clone()));

    let other = env.register(&entry("a.example.com")).await;
    assert_eq!(env.get("/registry/services").await, (200, json!([other, updated])), "sorted by service_id");
}

#[tokio::test]
async fn a_missing_wallet_id_is_stored_as_null() {
    let env = start(None).await;
    let mut sent = entry("a.test");
    sent.as_object_mut().expect("an object").remove("wallet_id");
    let registered = env.register(&sent).await;
    assert_eq!(registered["wallet_id"], Value::Null, "{registered}");
}

#[tokio::test]
async fn a_service_is_registered_once() {
    let env = start(None).await;
    let first = env.register(&entry("a.test")).await;
    let mut again = entry("a.test");
    again["version"] = json!("9.9.9");
    let (status, body) = env.post("/v1/services", again).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("service_exists")), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(env.get("/v1/services/a.test").await, (200, first), "the first entry stands");
}

#[tokio::test]
async fn unknown_services_are_not_found() {
    let env = start(None).await;
    env.register(&entry("a.test")).await;
    for (method, path, body) in [
        (Method::GET, "/v1/services/b.test", None),
        (Method::GET, "/v1/services/A.TEST", None),
        (Method::PUT, "/v1/services/b.test", Some(entry("b.test"))),
        (Method::POST, "/v1/services/b.test/verify", None),
    ] {
        let mut request = env.http.request(method.clone(), format!("{}{path}", env.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON body");
        assert_eq!((status, body["error"].as_str()), (404, Some("service_not_found")), "{method} {path}: {body}");
    }
    assert_eq!(env.registry.registry().list().len(), 1, "a PUT does not create");
}

#[tokio::test]
async fn invalid_entries_name_the_field() {
    let env = start(None).await;
    let cases = [
        ("service_id", json!("Upper.Case")),
        ("service_id", json!("")),
        ("service_id", json!("a".repeat(254))),
        ("service_id", json!("under_score")),
        ("kind", json!("")),
        ("name", json!("n".repeat(129))),
        ("version", json!(1)),
        ("version", Value::Null),
        ("base_url", json!("telegram.example.com")),
        ("manifest_url", json!("ftp://telegram.example.com/m")),
        ("health_url", json!("https://")),
        ("wallet_id", json!("")),
        ("wallet_id", json!("w".repeat(129))),
        ("wallet_id", json!(7)),
        ("openapi_url", json!("https://telegram.example.com/openapi.json")),
        ("registered_at", json!("2024-01-01T00:00:00Z")),
    ];
    for (field, value) in cases {
        let mut body = entry("telegram.example.com");
        body[field] = value.clone();
        for (method, path) in [(Method::POST, "/v1/services"), (Method::PUT, "/v1/services/telegram.example.com")] {
            let response =
                env.http.request(method.clone(), format!("{}{path}", env.base)).json(&body).send().await.expect("sent");
            let status = response.status().as_u16();
            let answer: Value = response.json().await.expect("JSON body");
            assert_eq!(
                (status, answer["error"].as_str(), answer["field"].as_str()),
                (400, Some("invalid_entry"), Some(field)),
                "{method} {field} = {value}: {answer}"
            );
            assert!(answer["message"].is_string(), "{answer}");
        }
    }
    let mut missing = entry("a.test");
    missing.as_object_mut().expect("an object").remove("health_url");
    let (status, body) = env.post("/v1/services", missing).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("health_url")), "{body}");
    assert!(env.registry.registry().list().is_empty());
}

#[tokio::test]
async fn an_update_must_keep_the_service_id_of_its_path() {
    let env = start(None).await;
    let registered = env.register(&entry("a.test")).await;
    let (status, body) = env.put("/v1/services/a.test", entry("b.test")).await;
    assert_eq!(
        (status, body["error"].as_str(), body["field"].as_str()),
        (400, Some("invalid_entry"), Some("service_id")),
        "{body}"
    );
    assert_eq!(env.get("/v1/services/a.test").await, (200, registered));
    assert_eq!(env.get("/v1/services/b.test").await.0, 404);
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused() {
    let env = start(None).await;
    env.register(&entry("a.test")).await;
    for body in ["", "{", "[]", "null", "\"entry\""] {
        for (method, path) in [(Method::POST, "/v1/services"), (Method::PUT, "/v1/services/a.test")] {
            let (status, answer) = env.send_raw(method.clone(), path, body).await;
            assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_body")), "{method} {body:?}: {answer}");
        }
    }
    let (status, answer) = env.send_raw(Method::POST, "/v1/services/a.test/verify", r#"{"now": true}"#).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_body")), "{answer}");
}
