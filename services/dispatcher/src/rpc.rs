//! Request/reply handlers of the dispatcher (core NATS, queue group `dispatcher`).

use futures::StreamExt;
use novij_events::rpc::{BotCredential, BotVerifyReply, BotVerifyRequest};
use novij_events::{integration::BotIdentity, subjects};
use novij_telegram_client::BotApiErrorKind;
use tokio::sync::watch;

use crate::Dispatcher;

pub async fn serve(d: Dispatcher, mut shutdown: watch::Receiver<bool>) {
    loop {
        let mut sub =
            match d.rt.nats.queue_subscribe(subjects::RPC_BOT_VERIFY, subjects::RPC_DISPATCHER_GROUP.to_string()).await
            {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to bot.verify; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
        tracing::info!(subject = subjects::RPC_BOT_VERIFY, "answering bot.verify requests");
        loop {
            let msg = tokio::select! {
                _ = shutdown.changed() => return,
                msg = sub.next() => msg,
            };
            let Some(msg) = msg else { break };
            let Some(reply_to) = msg.reply.clone() else { continue };
            let reply = match serde_json::from_slice::<BotVerifyRequest>(&msg.payload) {
                Ok(req) => verify(&d, req).await,
                Err(e) => BotVerifyReply::Unavailable { detail: format!("malformed request: {e}") },
            };
            let body = serde_json::to_vec(&reply).unwrap_or_default();
            if let Err(e) = d.rt.nats.publish(reply_to, body.into()).await {
                tracing::warn!(error = %e, "cannot answer bot.verify");
            }
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
