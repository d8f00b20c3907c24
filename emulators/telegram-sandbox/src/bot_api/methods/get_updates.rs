//! `getUpdates`: long polling, refused while a webhook is set; a newer call
//! terminates an older waiting one, as in Telegram.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::webhooks::allowed_updates;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::state::{now_stamp, DeliveryRecord, Update};

fn webhook_conflict() -> ApiError {
    ApiError::conflict(
        "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
}

fn terminated() -> ApiError {
    ApiError::conflict("terminated by other getUpdates request; make sure that only one bot instance is running")
}

/// The delivery log's record of an update a call hands over for the first time.
fn polled(update: &Update) -> DeliveryRecord {
    let (at, at_ms) = now_stamp();
    DeliveryRecord {
        update_id: update.update_id,
        kind: update.kind.to_string(),
        via: "getUpdates",
        ok: true,
        http_status: None,
        error: None,
        attempt: 1,
        latency_ms: update.queued.elapsed().as_millis() as u64,
        at,
        at_ms,
    }
}

pub async fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let offset = params.i64("offset").ok().flatten().unwrap_or(0);
    let limit = params.i64("limit").ok().flatten().unwrap_or(100).clamp(1, 100) as usize;
    let timeout = params.i64("timeout").ok().flatten().unwrap_or(0).clamp(0, 50) as u64;
    let allowed = allowed_updates(params)?;
    let deadline = Instant::now() + Duration::from_secs(timeout);

    let generation = {
        let mut world = ctx.sandbox.world();
        let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
        if bot.webhook.is_some() {
            return Err(webhook_conflict());
        }
        bot.poll_generation += 1;
        if allowed.is_some() {
            bot.allowed_updates = allowed;
        }
        if offset > 0 {
            while bot.updates.front().is_some_and(|u| u.update_id < offset) {
                bot.updates.pop_front();
            }
        } else if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while bot.updates.len() > keep {
                bot.updates.pop_front();
            }
        }
        bot.notify_updates();
        bot.poll_generation
    };

    loop {
        let mut changes = {
            let mut world = ctx.sandbox.world();
            let bot = world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
            if bot.poll_generation != generation {
                return Err(terminated());
            }
            if bot.webhook.is_some() {
                return Err(webhook_conflict());
            }
            bot.drop_disallowed_front();
            let batch: Vec<&Update> = bot.updates.iter().filter(|u| bot.allows(u.kind)).take(limit).collect();
            if !batch.is_empty() || Instant::now() >= deadline {
                let json = batch.iter().map(|u| u.to_json()).collect();
                let handed: Vec<DeliveryRecord> =
                    batch.iter().filter(|u| u.update_id > bot.deliveries.polled_up_to).map(|u| polled(u)).collect();
                if !handed.is_empty() {
                    ctx.sandbox.publish(serde_json::json!({"type": "delivery", "bot": bot.username}));
                }
                for record in handed {
                    bot.deliveries.polled_up_to = record.update_id;
                    bot.deliveries.push(record);
                }
                return Ok(ApiReply::new(Value::Array(json)));
            }
            bot.updates_tx.subscribe()
        };
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Err(ApiError::unauthorized());
                }
            }
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}
