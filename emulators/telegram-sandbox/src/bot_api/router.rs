//! Turns one HTTP request into a Bot API call: token check, method lookup,
//! parameter parsing, injected faults, dispatch, recording and the JSON answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use warp::http::{header, Response, StatusCode};
use warp::hyper::Body;

use super::errors::{ApiError, ApiResult};
use super::methods::{self, Ctx};
use super::params::Params;
use crate::state::{now_stamp, CallRecord, Sandbox};

/// Splits `/bot<token>/<method>`; None when the path has another shape.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/bot")?;
    let (token, method) = rest.split_once('/')?;
    if token.is_empty() || method.is_empty() || method.contains('/') {
        return None;
    }
    Some((token, method))
}

/// Builds the HTTP answer of a call.
pub fn respond(result: &ApiResult) -> Response<Body> {
    let (status, body, retry_after) = match result {
        Ok(reply) => (200, reply.to_json(), None),
        Err(error) => (error.code, error.to_json(), error.retry_after),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(retry_after) = retry_after {
        builder = builder.header(header::RETRY_AFTER, retry_after.to_string());
    }
    builder.body(Body::from(body.to_string())).unwrap_or_else(|_| Response::new(Body::from("{}")))
}

/// Takes one matching injected fault of the bot, if any.
fn take_fault(sandbox: &Sandbox, bot_id: i64, method: &str) -> Option<ApiError> {
    let mut world = sandbox.world();
    let bot = world.bots.get_mut(&bot_id)?;
    let lower = method.to_ascii_lowercase();
    let index = bot.faults.iter().position(|f| f.remaining > 0 && f.method.as_ref().is_none_or(|m| *m == lower))?;
    let fault = &mut bot.faults[index];
    fault.remaining -= 1;
    let mut error = ApiError::for_status(fault.status, fault.retry_after);
    if let Some(description) = &fault.description {
        error.description = description.clone();
    }
    if fault.remaining == 0 {
        bot.faults.remove(index);
    }
    if let Some(retry_after) = error.retry_after {
        bot.limiter.penalize_bot(Instant::now() + Duration::from_secs(retry_after));
    }
    Some(error)
}

/// Handles a request whose path starts with `/bot`.
pub async fn handle(
    sandbox: Arc<Sandbox>,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let (bot, method_name, result, params) = dispatch(&sandbox, path, query, content_type, body).await;
    let status = match &result {
        Ok(_) => 200,
        Err(e) => e.code,
    };
    match &bot {
        Some(username) => {
            tracing::info!(bot = %username, method = %method_name, status, "bot api call")
        }
        None => tracing::info!(method = %method_name, status, "bot api call without a known bot"),
    }
    let (at, at_ms) = now_stamp();
    sandbox.world().record_call(CallRecord { bot_username: bot, method: method_name, status, at, at_ms, params });
    respond(&result)
}

async fn dispatch(
    sandbox: &Arc<Sandbox>,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (Option<String>, String, ApiResult, Value) {
    let Some((token, raw_method)) = split_path(path) else {
        return (None, String::new(), Err(ApiError::not_found()), Value::Null);
    };
    let bot = {
        let world = sandbox.world();
        world.bot_id_by_token(token).and_then(|id| world.bots.get(&id).map(|b| (id, b.username.clone())))
    };
    let Some((bot_id, username)) = bot else {
        return (None, raw_method.to_string(), Err(ApiError::unauthorized()), Value::Null);
    };
    let Some(method) = methods::find(raw_method) else {
        return (Some(username), raw_method.to_string(), Err(ApiError::not_found()), Value::Null);
    };
    let params = match Params::parse(query, content_type, body) {
        Ok(params) => params,
        Err(error) => return (Some(username), method.name.to_string(), Err(error), Value::Null),
    };
    let recorded = params.to_json();
    if let Some(fault) = take_fault(sandbox, bot_id, method.name) {
        return (Some(username), method.name.to_string(), Err(fault), recorded);
    }
    let ctx = Ctx { sandbox: sandbox.clone(), bot_id, method };
    let result = methods::invoke(&ctx, &params).await;
    (Some(username), method.name.to_string(), result, recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_shapes() {
        assert_eq!(split_path("/bot1:abc/getMe"), Some(("1:abc", "getMe")));
        assert_eq!(split_path("/bot1:abc/"), None);
        assert_eq!(split_path("/bot1:abc"), None);
        assert_eq!(split_path("/foo"), None);
        assert_eq!(split_path("/bot1:abc/a/b"), None);
    }
}
