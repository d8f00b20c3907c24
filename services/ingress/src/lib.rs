//! The ingress service: the REST API, its OpenAPI document, and the Telegram
//! webhook intake. It validates, appends events to the log, and reads
//! projections; it never calls Telegram (the dispatcher does).

mod auth;
mod body;
mod error;
mod handlers;
pub mod openapi;
mod quote;
mod state;

use std::convert::Infallible;
use std::net::SocketAddr;

use novij_runtime::Runtime;
use tokio::sync::watch;
use warp::filters::BoxedFilter;
use warp::Filter;

use crate::error::ApiError;
pub use crate::handlers::service::{settings_of, Settings};
use crate::handlers::{
    connect_codes, dead_letters, integrations, payments, reminders, sends, service, webhook, Credentials,
};
pub use crate::state::AppState;

type Reply = warp::reply::Response;

fn respond(result: Result<Reply, ApiError>) -> Reply {
    result.unwrap_or_else(ApiError::into_reply)
}

fn with_state(state: AppState) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

fn credentials() -> impl Filter<Extract = (Credentials,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::header::optional::<String>("x-api-key"))
        .and(warp::header::optional::<String>("x-request-id"))
        .and(warp::header::optional::<String>("traceparent"))
        .map(|authorization, api_key, request_id, traceparent| Credentials {
            authorization,
            api_key,
            request_id,
            traceparent,
        })
}

/// Every route of the API.
pub fn routes(state: AppState) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    let limit = state.rt.config.max_body_bytes;
    let body = move || warp::body::content_length_limit(limit).and(warp::body::bytes());
    let s = move || with_state(state.clone());
    let api = warp::path("api").and(warp::path("v1"));

    let health = api
        .and(warp::path!("health"))
        .and(warp::get())
        .and(s())
        .then(|st| async move { respond(service::health(st).await) });
    let version = api.and(warp::path!("version")).and(warp::get()).then(|| async { respond(service::version().await) });
    let settings = api
        .and(warp::path!("settings"))
        .and(warp::get())
        .and(s())
        .then(|st| async move { respond(service::settings(st).await) });
    let openapi =
        warp::path!("openapi.json").and(warp::get()).map(|| warp::reply::json(&openapi::document()).into_response());

    let create_integration = api
        .and(warp::path!("integrations"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|st, c, b| async move { respond(integrations::create(st, c, b).await) });
    let get_integration = api
        .and(warp::path!("integrations" / String))
        .and(warp::get())
        .and(s())
        .and(credentials())
        .then(|id, st, c| async move { respond(integrations::get(st, c, id).await) });
    let update_integration = api
        .and(warp::path!("integrations" / String))
        .and(warp::patch())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|id, st, c, b| async move { respond(integrations::update(st, c, id, b).await) });
    let recipients = api
        .and(warp::path!("integrations" / String / "recipients"))
        .and(warp::get())
        .and(s())
        .and(credentials())
        .then(|id, st, c| async move { respond(integrations::recipients(st, c, id).await) });
    let connect_code = api
        .and(warp::path!("telegram" / "connect-codes"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|st, c, b| async move { respond(connect_codes::create(st, c, b).await) });
    let webhook = api
        .and(warp::path!("telegram" / "webhook" / String))
        .and(warp::post())
        .and(s())
        .and(warp::header::optional::<String>("x-telegram-bot-api-secret-token"))
        .and(warp::query::<webhook::SecretQuery>())
        .and(body())
        .then(|bot, st, h, q, b| async move { respond(webhook::receive(st, bot, h, q, b).await) });
    let send = api
        .and(warp::path!("send"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|st, c, b| async move { respond(sends::create(st, c, b).await) });
    let get_send = api
        .and(warp::path!("sends" / String))
        .and(warp::get())
        .and(s())
        .and(credentials())
        .then(|id, st, c| async move { respond(sends::get(st, c, id).await) });
    let quote = api
        .and(warp::path!("payments" / "quote"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|st, c, b| async move { respond(payments::quote(st, c, b).await) });
    let create_reminder = api
        .and(warp::path!("reminders"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|st, c, b| async move { respond(reminders::create(st, c, b).await) });
    let get_reminder = api
        .and(warp::path!("reminders" / String))
        .and(warp::get())
        .and(s())
        .and(credentials())
        .then(|id, st, c| async move { respond(reminders::get(st, c, id).await) });
    let cancel_reminder = api
        .and(warp::path!("reminders" / String))
        .and(warp::delete())
        .and(s())
        .and(credentials())
        .then(|id, st, c| async move { respond(reminders::cancel(st, c, id).await) });

    let list_dead_letters = api
        .and(warp::path!("ops" / "dead-letters"))
        .and(warp::get())
        .and(s())
        .and(credentials())
        .then(|st, c| async move { respond(dead_letters::list(st, c).await) });
    let retry_dead_letters = api
        .and(warp::path!("ops" / "dead-letters" / "retry"))
        .and(warp::post())
        .and(s())
        .and(credentials())
        .and(body())
        .then(|st, c, b| async move { respond(dead_letters::retry(st, c, b).await) });

    // Boxed one by one: a long chain of `or` types makes compile times explode.
    let routes: BoxedFilter<(Reply,)> = health.boxed();
    let routes = routes.or(version).unify().boxed();
    let routes = routes.or(settings).unify().boxed();
    let routes = routes.or(openapi).unify().boxed();
    let routes = routes.or(create_integration).unify().boxed();
    let routes = routes.or(get_integration).unify().boxed();
    let routes = routes.or(update_integration).unify().boxed();
    let routes = routes.or(recipients).unify().boxed();
    let routes = routes.or(connect_code).unify().boxed();
    let routes = routes.or(webhook).unify().boxed();
    let routes = routes.or(send).unify().boxed();
    let routes = routes.or(get_send).unify().boxed();
    let routes = routes.or(quote).unify().boxed();
    let routes = routes.or(create_reminder).unify().boxed();
    let routes = routes.or(get_reminder).unify().boxed();
    let routes = routes.or(cancel_reminder).unify().boxed();
    let routes = routes.or(list_dead_letters).unify().boxed();
    let routes = routes.or(retry_dead_letters).unify().boxed();
    routes.recover(error::recover).unify().with(warp::trace::request())
}

use warp::Reply as _;

/// Serves the API until shutdown.
pub async fn run(rt: Runtime, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let addr: SocketAddr = rt.config.http_listen;
    let state = AppState { rt };
    let (bound, server) = warp::serve(routes(state)).try_bind_with_graceful_shutdown(addr, async move {
        let _ = shutdown.wait_for(|s| *s).await;
    })?;
    tracing::info!(%bound, "ingress listening");
    server.await;
    Ok(())
}
