//! Request/reply handlers of the dispatcher (core NATS, queue group `dispatcher`).

use futures::StreamExt;
use novij_bus::Expect;
use novij_events::integration::{BotIdentity, IntegrationWebhookSet, COMMON_BOT_KEY};
use novij_events::rpc::{
    BotCredential, BotSyncRequest, BotTestReply, BotTestRequest, BotVerifyReply, BotVerifyRequest, CallbackAnswerReply,
    CallbackAnswerRequest, CallsQuery, CallsReply, WebhookState,
};
use novij_events::{subjects, Envelope, EventMeta};
use novij_telegram_client::BotApiErrorKind;
use tokio::sync::watch;

use crate::Dispatcher;

pub async fn serve(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    let group = Some(subjects::RPC_DISPATCHER_GROUP);
    let verify = answer(
        &d,
        "bot.verify",
        subjects::RPC_BOT_VERIFY.to_string(),
        group,
        shutdown.clone(),
        |d, payload| async move {
            let reply = match serde_json::from_slice::<BotVerifyRequest>(&payload) {
                Ok(req) => verify(&d, req).await,
                Err(e) => BotVerifyReply::Unavailable { detail: format!("malformed request: {e}") },
            };
            serde_json::to_vec(&reply).unwrap_or_default()
        },
    );
    let test =
        answer(&d, "bot.test", subjects::RPC_BOT_TEST.to_string(), group, shutdown.clone(), |d, payload| async move {
            let reply = match serde_json::from_slice::<BotTestRequest>(&payload) {
                Ok(req) => test_bot(&d, &req.bot_key).await,
                Err(e) => BotTestReply::Unavailable { detail: format!("malformed request: {e}") },
            };
            serde_json::to_vec(&reply).unwrap_or_default()
        });
    let sync =
        answer(&d, "bot.sync", subjects::RPC_BOT_SYNC.to_string(), group, shutdown.clone(), |d, payload| async move {
            let reply = match serde_json::from_slice::<BotSyncRequest>(&payload) {
                Ok(req) => sync_bot(&d, &req).await,
                Err(e) => BotTestReply::Unavailable { detail: format!("malformed request: {e}") },
            };
            serde_json::to_vec(&reply).unwrap_or_default()
        });
    let calls = answer(
        &d,
        "calls",
        subjects::rpc_dispatcher_calls(&d.member),
        None,
        shutdown.clone(),
        |d, payload| async move {
            let query = serde_json::from_slice::<CallsQuery>(&payload).unwrap_or(CallsQuery { send_ids: Vec::new() });
            let delivering = query.send_ids.into_iter().filter(|id| d.in_flight.contains(id)).collect();
            serde_json::to_vec(&CallsReply { delivering }).unwrap_or_default()
        },
    );
    let callbacks = answer(
        &d,
        "callback.answer",
        subjects::RPC_CALLBACK_ANSWER.to_string(),
        group,
        shutdown,
        |d, payload| async move {
            let reply = match serde_json::from_slice::<CallbackAnswerRequest>(&payload) {
                Ok(req) => answer_callback(&d, req).await,
                Err(e) => CallbackAnswerReply { answered: false, detail: Some(format!("malformed request: {e}")) },
            };
            serde_json::to_vec(&reply).unwrap_or_default()
        },
    );
    tokio::join!(verify, test, sync, calls, callbacks);
}

/// getMe and getWebhookInfo with the bot's current token: nothing is sent to anyone.
async fn test_bot(d: &Dispatcher, bot_key: &str) -> BotTestReply {
    let token = match d.bots.profile(bot_key).await {
        Ok(bot) => bot.token,
        Err(e @ crate::bots::BotLookupError::Log(_)) => return BotTestReply::Unavailable { detail: e.to_string() },
        Err(_) => return BotTestReply::UnknownBot,
    };
    let unavailable_or_invalid = |e: novij_telegram_client::BotApiError| match e.kind() {
        BotApiErrorKind::Unauthorized => BotTestReply::InvalidToken { detail: e.description().to_string() },
        _ => BotTestReply::Unavailable { detail: e.description().to_string() },
    };
    let me = match d.api.get_me(&token).await {
        Ok(me) => me,
        Err(e) => return unavailable_or_invalid(e),
    };
    let Some(username) = me.username.filter(|_| me.is_bot) else {
        return BotTestReply::InvalidToken { detail: "getMe did not describe a bot".into() };
    };
    match d.api.get_webhook_info(&token).await {
        Ok(info) => BotTestReply::Tested {
            bot: BotIdentity { bot_id: me.id, username },
            webhook: WebhookState {
                url: info.url,
                pending_update_count: info.pending_update_count,
                last_error_message: info.last_error_message,
                max_connections: info.max_connections,
            },
        },
        Err(e) => unavailable_or_invalid(e),
    }
}

/// setWebhook again (a custom bot's is recorded as `integration.webhook_set`),
/// then the bot as [`test_bot`] sees it.
async fn sync_bot(d: &Dispatcher, req: &BotSyncRequest) -> BotTestReply {
    if d.rt.config.telegram_updates.polls(&req.bot_key) {
        return BotTestReply::Polled;
    }
    let token = match d.bots.profile(&req.bot_key).await {
        Ok(bot) => bot.token,
        Err(e @ crate::bots::BotLookupError::Log(_)) => return BotTestReply::Unavailable { detail: e.to_string() },
        Err(_) => return BotTestReply::UnknownBot,
    };
    match crate::webhook::set_dropping(d, &req.bot_key, &token, req.drop_pending_updates).await {
        Ok(url) if req.bot_key != COMMON_BOT_KEY => {
            let event = IntegrationWebhookSet {
                integration_id: req.bot_key.clone(),
                bot_key: req.bot_key.clone(),
                url,
                max_connections: d.rt.config.webhook_max_connections,
            };
            let meta = EventMeta::new(format!("webhook-sync:{}", uuid::Uuid::new_v4()));
            if let Err(e) = d.rt.log.append(&Envelope::new(event, meta), Expect::Any).await {
                return BotTestReply::Unavailable { detail: format!("the webhook is set but not recorded: {e}") };
            }
        }
        Ok(_) => {}
        Err(e) if e.kind() == BotApiErrorKind::Unauthorized => {
            return BotTestReply::InvalidToken { detail: e.description().to_string() }
        }
        Err(e) => return BotTestReply::Unavailable { detail: e.description().to_string() },
    }
    tracing::info!(bot_key = %req.bot_key, drop_pending = req.drop_pending_updates, "webhook synced");
    test_bot(d, &req.bot_key).await
}

/// Answers a button press now: Telegram shows a spinner until then and
/// refuses answers after about 15 s, so this never waits behind sends.
async fn answer_callback(d: &Dispatcher, req: CallbackAnswerRequest) -> CallbackAnswerReply {
    let token = match d.bots.profile(&req.bot_key).await {
        Ok(bot) => bot.token,
        Err(e) => return CallbackAnswerReply { answered: false, detail: Some(e.to_string()) },
    };
    match d.api.answer_callback_query(&token, &req.callback_query_id, &req.text).await {
        Ok(_) => CallbackAnswerReply { answered: true, detail: None },
        Err(e) => CallbackAnswerReply { answered: false, detail: Some(e.description().to_string()) },
    }
}

/// Answers every request on `subject` with `handle`'s reply, subscribing
/// again whenever the subscription ends.
async fn answer<F, Fut>(
    d: &Dispatcher,
    what: &str,
    subject: String,
    group: Option<&str>,
    mut shutdown: watch::Receiver<bool>,
    handle: F,
) where
    F: Fn(Dispatcher, bytes::Bytes) -> Fut,
    Fut: std::future::Future<Output = Vec<u8>> + Send + 'static,
{
    loop {
        let subscribed = match group {
            Some(group) => d.rt.nats.queue_subscribe(subject.clone(), group.to_string()).await,
            None => d.rt.nats.subscribe(subject.clone()).await,
        };
        let mut sub = match subscribed {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(subject, error = %e, "cannot subscribe; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        tracing::info!(subject, "answering {what} requests");
        loop {
            let msg = tokio::select! {
                _ = shutdown.changed() => return,
                msg = sub.next() => msg,
            };
            let Some(msg) = msg else { break };
            let Some(reply_to) = msg.reply.clone() else { continue };
            // Each on its own task: one slow request holds up no other.
            let (handling, nats, subject) = (handle(d.clone(), msg.payload), d.rt.nats.clone(), subject.clone());
            tokio::spawn(async move {
                if let Err(e) = nats.publish(reply_to, handling.await.into()).await {
                    tracing::warn!(subject, error = %e, "cannot answer a request");
                }
            });
        }
    }
}

async fn verify(d: &Dispatcher, req: BotVerifyRequest) -> BotVerifyReply {
    let token = match req.bot {
        BotCredential::Common => match d.rt.config.common_bot_token.clone() {
            Some(t) => t,
            None => return BotVerifyReply::NotConfigured,
        },
        BotCredential::Custom { token } => match d.bots.unseal(&token).await {
            Ok(t) => t,
            Err(e) => return BotVerifyReply::Unavailable { detail: e.to_string() },
        },
    };
    match d.api.get_me(&token).await {
        Ok(user) => match user.username {
            Some(username) if user.is_bot => {
                BotVerifyReply::Verified { bot: BotIdentity { bot_id: user.id, username } }
            }
            _ => BotVerifyReply::InvalidToken { detail: "getMe did not describe a bot".into() },
        },
        Err(e) if e.kind() == BotApiErrorKind::Unauthorized => {
            BotVerifyReply::InvalidToken { detail: e.description().to_string() }
        }
        Err(e) => BotVerifyReply::Unavailable { detail: e.description().to_string() },
    }
}
