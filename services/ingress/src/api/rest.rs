//! The HTTP transport: `METHOD /api/v1/<path>` to the operation with that
//! method and path; the Telegram webhook and the OpenAPI document beside them.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::{Filter, Reply as _};

use super::{operations, path_params, Answer, Call, Operation};
use crate::error::{self, ApiError};
use crate::handlers::{queues, service, uploads, webhook, Credentials};
use crate::openapi;
use crate::signatures;
use crate::state::AppState;

type Reply = warp::reply::Response;

fn reply(answer: Answer) -> Reply {
    let mut response = warp::http::Response::new(answer.body.into());
    *response.status_mut() = answer.status;
    response.headers_mut().insert("content-type", warp::http::HeaderValue::from_static("application/json"));
    if let Some(seconds) = answer.retry_after {
        response.headers_mut().insert(warp::http::header::RETRY_AFTER, seconds.into());
    }
    response
}

fn respond(result: Result<Answer, ApiError>) -> Reply {
    reply(result.unwrap_or_else(Answer::from))
}

fn credentials() -> impl Filter<Extract = (Credentials,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::header::optional::<String>("x-api-key"))
        .and(warp::header::optional::<String>("x-request-id"))
        .and(warp::header::optional::<String>("traceparent"))
        .and(warp::header::optional::<String>(signatures::WALLET_HEADER))
        .and(warp::header::optional::<String>(signatures::TIMESTAMP_HEADER))
        .and(warp::header::optional::<String>(signatures::SIGNATURE_HEADER))
        .map(|authorization, api_key, request_id, traceparent, wallet, timestamp, signature| Credentials {
            authorization,
            api_key,
            request_id,
            traceparent,
            signature: signatures::Presented { wallet, timestamp, signature },
            signer: None,
            admitted: None,
        })
}

/// The routes served beside the operations, over HTTP only (their own
/// filters below); other methods on them are answered 405 here.
const HTTP_ONLY: [(&str, Method); 2] = [("uploads", Method::POST), ("telegram/webhook/{bot_key}", Method::POST)];

/// Runs the operation the method and path name, or answers 404 / 405.
async fn dispatch(state: AppState, ops: Arc<Vec<Operation>>, method: Method, path: String, call: Call) -> Reply {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // The methods the path takes, for a 405's `Allow`.
    let mut allowed: Vec<&str> = HTTP_ONLY
        .iter()
        .filter(|(pattern, _)| path_params(pattern, &segments).is_some())
        .map(|(_, method)| method.as_str())
        .collect();
    // A literal segment wins over a parameter: `alerts/upsert` is not the alert `upsert`.
    let matching: Vec<(&Operation, Vec<String>)> =
        ops.iter().filter_map(|op| op.matches(&segments).map(|params| (op, params))).collect();
    let fewest = matching.iter().map(|(_, params)| params.len()).min().unwrap_or(0);
    for (op, params) in matching.into_iter().filter(|(_, params)| params.len() == fewest) {
        if op.method == method {
            if let Err(e) = op.check_body(&state.rt.config, &call.body) {
                return respond(Err(e));
            }
            return respond(op.serve(state, Call { params, ..call }).await);
        }
        allowed.push(op.method.as_str());
    }
    if allowed.is_empty() {
        return respond(Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")));
    }
    method_not_allowed(&allowed)
}

/// A route that takes `GET` alone; any other method gets a 405 with `Allow`.
async fn get_only(method: Method, answer: impl std::future::Future<Output = Result<Answer, ApiError>>) -> Reply {
    match method {
        Method::GET => respond(answer.await),
        _ => method_not_allowed(&["GET"]),
    }
}

/// 405 with `Allow`, naming the methods the path takes.
fn method_not_allowed(allowed: &[&str]) -> Reply {
    let mut response = respond(Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this endpoint takes {}", allowed.join(", ")),
    )));
    if let Ok(allow) = warp::http::HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(warp::http::header::ALLOW, allow);
    }
    response
}

/// Every route of the API.
pub fn routes(state: AppState) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    let limit = state.rt.config.max_body_bytes;
    // Each operation checks its own limit; this one is the largest of them.
    let largest = limit.max(state.rt.config.broadcast_max_body_bytes);
    let ops = Arc::new(operations());
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let api = || warp::path("api").and(warp::path("v1"));

    let webhook = api()
        .and(warp::path!("telegram" / "webhook" / String))
        .and(warp::post())
        .and(s())
        .and(warp::header::optional::<String>("x-telegram-bot-api-secret-token"))
        .and(warp::query::<webhook::SecretQuery>())
        .and(warp::body::content_length_limit(limit))
        .and(warp::body::bytes())
        .then(|bot, st, h, q, b| async move { respond(webhook::receive(st, bot, h, q, b).await) });
    // Streamed, with its own limit: not through the operations' buffered body.
    let uploads = api()
        .and(warp::path!("uploads"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::stream())
        .then(|st, creds, content_type, body| async move {
            use bytes::Buf;
            use futures::StreamExt;
            fn bytes_of(mut buf: impl Buf) -> Bytes {
                buf.copy_to_bytes(buf.remaining())
            }
            let body = StreamExt::map(body, |part: Result<_, warp::Error>| part.map(bytes_of));
            respond(uploads::create(st, creds, content_type, Box::pin(body)).await)
        });
    let openapi =
        warp::path!("openapi.json").and(warp::get()).map(|| warp::reply::json(&openapi::document()).into_response());
    // What the Service Registry reads (docs/REGISTRY.md); public, like health.
    let well_known = warp::path!(".well-known" / "novij" / String).and(warp::method()).and(s()).then(
        |name: String, method, st| async move {
            match name.as_str() {
                "service" => get_only(method, service::manifest(st)).await,
                "service-health" => get_only(method, service::registry_health(st)).await,
                _ => respond(Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint"))),
            }
        },
    );
    // Prometheus's scrape; keep it off the public proxy (deploy/proxy).
    let metrics = warp::path!("metrics").and(warp::get()).and(s()).then(|st: AppState| async move {
        let text = queues::metrics(&st).await;
        warp::reply::with_header(text, "content-type", novij_metrics::CONTENT_TYPE).into_response()
    });

    // Only methods that carry a body read one (a GET has no Content-Length).
    let with_body =
        warp::post().or(warp::patch()).unify().and(warp::body::content_length_limit(largest)).and(warp::body::bytes());
    let without_body = warp::get().or(warp::delete()).unify().map(Bytes::new);
    // Any other method reaches `dispatch` too, for a 405 with `Allow`.
    let other = warp::method().and_then(|method: Method| async move {
        match method {
            Method::GET | Method::POST | Method::PATCH | Method::DELETE => Err(warp::reject::not_found()),
            _ => Ok(Bytes::new()),
        }
    });
    let body = with_body.or(without_body).unify().or(other).unify();
    let operations = api()
        .and(warp::method())
        .and(warp::path::tail())
        .and(credentials())
        .and(warp::query::<BTreeMap<String, String>>())
        .and(body)
        .and(s())
        .then(move |method, tail: warp::path::Tail, creds, query, body, st| {
            let ops = ops.clone();
            let call = Call { creds, params: Vec::new(), query, body };
            async move { dispatch(st, ops, method, tail.as_str().to_string(), call).await }
        });

    // The API first: every filter a request passes before its own deepens
    // the stack it is served on.
    let routes: BoxedFilter<(Reply,)> = webhook.boxed();
    let routes = routes.or(uploads).unify().boxed();
    let routes = routes.or(operations).unify().boxed();
    let routes = routes.or(openapi).unify().boxed();
    let routes = routes.or(well_known).unify().boxed();
    let routes = routes.or(metrics).unify().boxed();
    routes.recover(error::recover).unify().with(warp::trace::request())
}
