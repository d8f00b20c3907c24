//! Turns one HTTP request into a Bot API call: token check, method lookup,
//! parameter parsing, injected faults (failures, slow answers, hangs), dispatch,
//! recording and the JSON answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
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

/// What an injected fault does to one call.
enum FaultAction {
    /// Answer this error at once; the call is not performed.
    Fail(ApiError),
    /// Wait, then answer the error if there is one, else perform the call.
    Delay(Duration, Option<ApiError>),
    /// Hold the connection, then answer the error; the call is not performed.
    Hang(Duration, ApiError),
}

/// A fault taken for a call, and the chat it was scoped to.
struct TakenFault {
    action: FaultAction,
    chat_id: Option<i64>,
}

/// Takes one matching injected fault of the bot, if any.
fn take_fault(sandbox: &Sandbox, bot_id: i64, method: &str, chat_id: Option<i64>) -> Option<TakenFault> {
    let mut world = sandbox.world();
    let bot = world.bots.get_mut(&bot_id)?;
    let index = bot.faults.iter().position(|f| f.matches(method, chat_id))?;
    let fault = &mut bot.faults[index];
    fault.remaining -= 1;
    let error = fault.status.map(|status| {
        let mut error = ApiError::for_status(status, fault.retry_after);
        if let Some(description) = &fault.description {
            error.description = description.clone();
        }
        error
    });
    let action = match (fault.hang_ms, fault.delay_ms, error) {
        (Some(hang_ms), _, error) => {
            FaultAction::Hang(Duration::from_millis(hang_ms), error.unwrap_or_else(|| ApiError::for_status(502, None)))
        }
        (None, Some(delay_ms), error) => FaultAction::Delay(Duration::from_millis(delay_ms), error),
        (None, None, Some(error)) => FaultAction::Fail(error),
        (None, None, None) => FaultAction::Delay(Duration::ZERO, None),
    };
    let scoped_chat = fault.chat_id;
    if fault.remaining == 0 {
        bot.faults.remove(index);
    }
    Some(TakenFault { action, chat_id: scoped_chat })
}

/// An injected 429 is enforced like a real one: calls before its
/// `retry_after` has passed are punished (the chat's window for a chat-scoped fault).
fn enforce_retry_after(sandbox: &Sandbox, bot_id: i64, chat_id: Option<i64>, error: &ApiError) {
    let Some(retry_after) = error.retry_after else { return };
    let until = Instant::now() + Duration::from_secs(retry_after);
    let mut world = sandbox.world();
    if let Some(bot) = world.bots.get_mut(&bot_id) {
        match chat_id {
            Some(chat_id) => bot.limiter.penalize_chat(chat_id, until),
            None => bot.limiter.penalize_bot(until),
        }
    }
}

/// Sleeps, cut short when the sandbox stops.
async fn wait(sandbox: &Sandbox, duration: Duration) {
    if duration.is_zero() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = sandbox.stopped() => {}
    }
}

/// A finished call, ready to be recorded and answered.
struct Outcome {
    bot_id: Option<i64>,
    bot: Option<String>,
    method: String,
    result: ApiResult,
    params: Value,
    fault: bool,
}

/// A call that passed the token, method and parameter checks.
struct Call {
    ctx: Ctx,
    username: String,
    params: Params,
    recorded: Value,
}

impl Call {
    fn outcome(self, result: ApiResult, fault: bool) -> Outcome {
        Outcome {
            bot_id: Some(self.ctx.bot_id),
            bot: Some(self.username),
            method: self.ctx.method.name.to_string(),
            result,
            params: self.recorded,
            fault,
        }
    }
}

/// The ids of the messages a successful call answered with (one, or an album's).
fn answered_message_ids(result: &ApiResult) -> Vec<i64> {
    let id = |message: &Value| message.get("message_id").and_then(Value::as_i64);
    match result {
        Ok(reply) => match &reply.result {
            Value::Array(messages) => messages.iter().filter_map(id).collect(),
            message => id(message).into_iter().collect(),
        },
        Err(_) => Vec::new(),
    }
}

/// Calls that change nothing a page shows unless they fail.
const QUIET_METHODS: [&str; 5] = ["getMe", "getUpdates", "getWebhookInfo", "getMyCommands", "getFile"];

/// Logs and records a call, then builds its answer.
fn finish(sandbox: &Sandbox, outcome: Outcome) -> Response<Body> {
    let status = match &outcome.result {
        Ok(_) => 200,
        Err(e) => e.code,
    };
    match &outcome.bot {
        Some(username) => {
            tracing::info!(bot = %username, method = %outcome.method, status, fault = outcome.fault, "bot api call")
        }
        None => tracing::info!(method = %outcome.method, status, "bot api call without a known bot"),
    }
    let (at, at_ms) = now_stamp();
    let sends_messages = super::methods::find(&outcome.method).is_some_and(|m| m.sends_messages);
    let message_ids = answered_message_ids(&outcome.result);
    let notice = (status != 200 || !QUIET_METHODS.contains(&outcome.method.as_str())).then(|| {
        json!({
            "type": "call",
            "bot": outcome.bot,
            "method": outcome.method,
            "status": status,
            "chat_id": outcome.params.get("chat_id"),
        })
    });
    sandbox.world().record_call(CallRecord {
        bot_username: outcome.bot,
        method: outcome.method,
        status,
        at,
        at_ms,
        params: outcome.params,
        fault: outcome.fault,
        bot_id: outcome.bot_id,
        sends_messages,
        message_ids,
    });
    // After recording, so a page that refetches on the notice sees the call.
    if let Some(notice) = notice {
        sandbox.publish(notice);
    }
    respond(&outcome.result)
}

/// Handles a request whose path starts with `/bot`.
pub async fn handle(
    sandbox: Arc<Sandbox>,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let (call, fault) = match prepare(&sandbox, path, query, content_type, body) {
        Ok(prepared) => prepared,
        Err(outcome) => return finish(&sandbox, *outcome),
    };
    match fault {
        None => {
            let result = methods::invoke(&call.ctx, &call.params).await;
            finish(&sandbox, call.outcome(result, false))
        }
        Some(TakenFault { action: FaultAction::Fail(error), chat_id }) => {
            enforce_retry_after(&sandbox, call.ctx.bot_id, chat_id, &error);
            finish(&sandbox, call.outcome(Err(error), true))
        }
        Some(fault) => {
            // A slowed or hung call runs on its own, as on a real server: a
            // client that gives up does not cancel it.
            let task = tokio::spawn(run_slow(sandbox.clone(), call, fault));
            task.await.unwrap_or_else(|_| respond(&Err(ApiError::for_status(500, None))))
        }
    }
}

async fn run_slow(sandbox: Arc<Sandbox>, call: Call, fault: TakenFault) -> Response<Body> {
    let bot_id = call.ctx.bot_id;
    let result = match fault.action {
        FaultAction::Fail(error) => Err(error),
        FaultAction::Delay(delay, error) => {
            wait(&sandbox, delay).await;
            match error {
                Some(error) => Err(error),
                None => methods::invoke(&call.ctx, &call.params).await,
            }
        }
        FaultAction::Hang(hang, error) => {
            wait(&sandbox, hang).await;
            Err(error)
        }
    };
    if let Err(error) = &result {
        enforce_retry_after(&sandbox, bot_id, fault.chat_id, error);
    }
    finish(&sandbox, call.outcome(result, true))
}

/// Checks token, method and parameters and takes a matching fault.
fn prepare(
    sandbox: &Arc<Sandbox>,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(Call, Option<TakenFault>), Box<Outcome>> {
    let failed = |bot_id, bot, method: &str, error, params| {
        Box::new(Outcome { bot_id, bot, method: method.to_string(), result: Err(error), params, fault: false })
    };
    let Some((token, raw_method)) = split_path(path) else {
        return Err(failed(None, None, "", ApiError::not_found(), Value::Null));
    };
    let bot = {
        let world = sandbox.world();
        world.bot_id_by_token(token).and_then(|id| world.bots.get(&id).map(|b| (id, b.username.clone())))
    };
    let Some((bot_id, username)) = bot else {
        return Err(failed(None, None, raw_method, ApiError::unauthorized(), Value::Null));
    };
    let Some(method) = methods::find(raw_method) else {
        return Err(failed(Some(bot_id), Some(username), raw_method, ApiError::not_found(), Value::Null));
    };
    let params = match Params::parse(query, content_type, body) {
        Ok(params) => params,
        Err(error) => return Err(failed(Some(bot_id), Some(username), method.name, error, Value::Null)),
    };
    let (uploads, upload_bytes) = params.upload_totals();
    if uploads > 0 {
        if let Some(bot) = sandbox.world().bots.get_mut(&bot_id) {
            bot.stats.uploads += uploads;
            bot.stats.upload_bytes += upload_bytes;
        }
    }
    let recorded = params.to_json();
    let chat_id = params.i64("chat_id").ok().flatten();
    let fault = take_fault(sandbox, bot_id, method.name, chat_id);
    let ctx = Ctx { sandbox: sandbox.clone(), bot_id, method };
    Ok((Call { ctx, username, params, recorded }, fault))
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
