//! The API under `/v1`: auth, health, routes and methods.

use reqwest::Method;
use serde_json::json;

use crate::support::{entry, start, KEY};

#[tokio::test]
async fn health_is_ok() {
    let env = start(None).await;
    assert_eq!(env.get("/v1/health").await, (200, json!({"status": "ok"})));
}

#[tokio::test]
async fn the_api_key_is_enforced_on_every_v1_call() {
    let env = start(Some(KEY)).await;
    env.register(&entry("a.test")).await;
    let calls = [
        (Method::GET, "/v1/health", None),
        (Method::POST, "/v1/services", Some(entry("b.test"))),
        (Method::GET, "/v1/services/a.test", None),
        (Method::PUT, "/v1/services/a.test", Some(entry("a.test"))),
        (Method::POST, "/v1/services/a.test/verify", None),
        (Method::GET, "/v1/nothing", None),
    ];
    for (method, path, body) in calls {
        let url = format!("{}{path}", env.base);
        let send = |authorization: Option<String>| {
            let mut request = env.http.request(method.clone(), &url);
            if let Some(body) = &body {
                request = request.json(body);
            }
            if let Some(authorization) = authorization {
                request = request.header("authorization", authorization);
            }
            request.send()
        };
        for bad in [None, Some("Bearer not-the-key".to_string()), Some(format!("Bearer {KEY}x")), Some(KEY.to_string())]
        {
            let response = send(bad.clone()).await.expect("request");
            assert_eq!(response.status().as_u16(), 401, "{method} {path} with {bad:?}");
            let body: serde_json::Value = response.json().await.expect("JSON body");
            assert_eq!(body["error"], "unauthorized", "{method} {path}: {body}");
            assert!(body["message"].is_string(), "{body}");
        }
        let status = send(Some(format!("Bearer {KEY}"))).await.expect("request").status().as_u16();
        assert_ne!(status, 401, "{method} {path} with the key");
    }
    assert_eq!(env.registry.registry().list().len(), 2, "only the keyed POST registered b.test");
}

#[tokio::test]
async fn the_control_api_needs_no_key() {
    let env = start(Some(KEY)).await;
    let response = env.http.get(format!("{}/registry/services", env.base)).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let env = start(None).await;
    for path in ["/", "/v2/health", "/v1", "/v1/nothing", "/v1/services/a/b/c", "/v1/services/a/check", "/registry"] {
        let (status, body) = env.get(path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{path}: {body}");
    }
    let wrong = [
        (Method::POST, "/v1/health", "GET"),
        (Method::GET, "/v1/services", "POST"),
        (Method::DELETE, "/v1/services/a.test", "GET, PUT"),
        (Method::POST, "/v1/services/a.test", "GET, PUT"),
        (Method::GET, "/v1/services/a.test/verify", "POST"),
        (Method::POST, "/registry/services", "GET"),
    ];
    for (method, path, allow) in wrong {
        let response = env.http.request(method.clone(), format!("{}{path}", env.base)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{method} {path}");
        let body: serde_json::Value = response.json().await.expect("JSON body");
        assert_eq!(body["error"], "method_not_allowed", "{method} {path}");
    }
}
