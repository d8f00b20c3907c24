//! The HTTP front: one warp filter that sends `/sandbox/events` to the live
//! stream, `/sandbox/...` to the control API, `/bot...` to the Bot API, GETs
//! of `/file/bot...` to file downloads, GETs of `/` and `/page/...` to the
//! web page, and answers anything else with Telegram's 404.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use warp::http::{Method, Response};
use warp::hyper::Body;
use warp::path::FullPath;
use warp::Filter;

use crate::bot_api::errors::ApiError;
use crate::bot_api::{download, router};
use crate::control;
use crate::page;
use crate::state::Sandbox;

/// All routes of a sandbox.
pub fn routes(sandbox: Arc<Sandbox>) -> impl Filter<Extract = (Response<Body>,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(query)
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::bytes())
        .and_then(move |method: Method, path: FullPath, query: String, content_type: Option<String>, body: Bytes| {
            let sandbox = sandbox.clone();
            async move {
                let path = path.as_str();
                let page = if method == Method::GET { page::asset(path) } else { None };
                let response = if let Some(page) = page {
                    page
                } else if path == "/sandbox/events" && method == Method::GET {
                    page::events(sandbox)
                } else if path == "/sandbox" || path.starts_with("/sandbox/") {
                    control::handle(sandbox, &method, path, &query, &body)
                } else if path.starts_with("/file/bot") && method == Method::GET {
                    download::handle(&sandbox, path)
                } else if path.starts_with("/bot") && (method == Method::GET || method == Method::POST) {
                    router::handle(sandbox, path, &query, content_type.as_deref(), &body).await
                } else {
                    router::respond(&Err(ApiError::not_found()))
                };
                Ok::<_, Infallible>(response)
            }
        })
}
