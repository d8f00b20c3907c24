//! What the client does not do with an answer: follow a redirect (it would
//! send the token's path and the message to another host), or read more than
//! [`MAX_ANSWER_BYTES`] of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use novij_telegram_client::{BotApi, BotApiErrorKind, MAX_ANSWER_BYTES};
use warp::Filter;

/// A server answering every request with `reply`, counting them.
fn serve(reply: impl Fn() -> warp::reply::Response + Clone + Send + Sync + 'static) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let route = warp::any().map(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        reply()
    });
    let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
    tokio::spawn(server);
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (elsewhere, elsewhere_hits) = serve(|| warp::http::Response::new("{\"ok\":true,\"result\":true}".into()));
    let target = format!("{elsewhere}/bot123:secret/getMe");
    let (base, hits) = serve(move || {
        warp::http::Response::builder()
            .status(302)
            .header("location", target.clone())
            .body("".into())
            .unwrap_or_default()
    });
    let api = BotApi::new(&base, Duration::from_secs(5)).expect("client");
    let error = api.get_me("123:secret").await.expect_err("a redirect is no answer");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0, "the call went on to the other host");
    assert_eq!(error.kind(), BotApiErrorKind::Decode);
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused() {
    let huge = format!("{{\"ok\":true,\"result\":\"{}\"}}", "x".repeat(MAX_ANSWER_BYTES));
    let (base, _) = serve(move || warp::http::Response::new(huge.clone().into()));
    let api = BotApi::new(&base, Duration::from_secs(5)).expect("client");
    let error = api.get_me("123:secret").await.expect_err("too large");
    assert_eq!(error.kind(), BotApiErrorKind::Decode);
    assert!(error.to_string().contains("larger than"), "{error}");
}
