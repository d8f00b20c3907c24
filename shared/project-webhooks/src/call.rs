//! One signed POST to a checked [`Target`], at the addresses the check
//! resolved (the name is not looked up again), following no redirect.

use std::time::Duration;

use novij_events::inbound::WebhookFailure;

use crate::signature::{self, Secret};
use crate::Target;

/// What is sent: the body, its id (the same on every attempt, so a receiver
/// can drop a repeat) and when it was signed.
pub struct Request<'a> {
    pub id: &'a str,
    pub timestamp: i64,
    pub body: &'a [u8],
    pub secrets: &'a [Secret],
}

/// Why the call did not deliver, with what can be said of it (the status, or
/// the connection's error; never the body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct Failed {
    pub reason: WebhookFailure,
    pub detail: String,
}

/// POSTs the request; `Ok(status)` when the receiver answered 2xx.
pub async fn post(target: &Target, request: &Request<'_>, timeout: Duration) -> Result<u16, Failed> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&target.host, &target.addrs)
        .timeout(timeout)
        .user_agent("novij-telegram-webhooks")
        .build()
        .map_err(|e| Failed { reason: WebhookFailure::Connect, detail: e.to_string() })?;
    let answer = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", request.id)
        .header("webhook-timestamp", request.timestamp.to_string())
        .header("webhook-signature", signature::header(request.secrets, request.id, request.timestamp, request.body))
        .body(request.body.to_vec())
        .send()
        .await
        .map_err(|e| Failed {
            reason: if e.is_timeout() { WebhookFailure::Timeout } else { WebhookFailure::Connect },
            detail: without_url(e),
        })?;
    let status = answer.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(Failed { reason: WebhookFailure::Status, detail: format!("answered {}", status.as_u16()) })
    }
}

/// The error without the URL (a project's URL may carry a token in its query).
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{resolve, AllowList};
    use warp::Filter;

    #[tokio::test]
    async fn posts_signed_to_the_resolved_address_and_names_failures() {
        let route = warp::post()
            .and(warp::path("ok").or(warp::path("down")).unify())
            .and(warp::header::<String>("webhook-signature"))
            .and(warp::header::<String>("webhook-id"))
            .and(warp::path::full())
            .map(|signature: String, id: String, path: warp::path::FullPath| {
                let status = if path.as_str() == "/ok" && signature.starts_with("v1,") && id == "inb_1" {
                    warp::http::StatusCode::NO_CONTENT
                } else {
                    warp::http::StatusCode::SERVICE_UNAVAILABLE
                };
                warp::reply::with_status(warp::reply(), status)
            });
        let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
        tokio::spawn(server);
        let allow = AllowList::new(vec!["127.0.0.0/8".parse().expect("net")]);
        let secret = Secret::generate().expect("secret");
        let request = Request { id: "inb_1", timestamp: 1, body: b"{}", secrets: std::slice::from_ref(&secret) };
        let ok = resolve(&format!("http://{addr}/ok"), &allow).await.expect("target");
        assert_eq!(post(&ok, &request, Duration::from_secs(5)).await, Ok(204));
        let down = resolve(&format!("http://{addr}/down"), &allow).await.expect("target");
        let failed = post(&down, &request, Duration::from_secs(5)).await.expect_err("503");
        assert_eq!((failed.reason, failed.detail.as_str()), (WebhookFailure::Status, "answered 503"));
        let closed = resolve("http://127.0.0.1:1/x", &allow).await.expect("target");
        let refused = post(&closed, &request, Duration::from_secs(5)).await.expect_err("closed");
        assert_eq!(refused.reason, WebhookFailure::Connect);
        assert!(!refused.detail.contains("127.0.0.1:1/x"), "no URL in the detail: {}", refused.detail);
    }
}
