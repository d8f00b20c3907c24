//! The dispatcher service: every Bot API call goes through here.
//!
//! - `consumers::router`: puts each queued send on its bot's partition (`DISPATCH`).
//! - `consumers::cards`: puts each chat of an opened or updated alert card there too.
//! - `ownership`: which instance owns which partition (leases in NATS KV).
//! - `calls`: calls announced before they are made, for the next owner.
//! - `partitioning`: bots over partitions and lanes; the `DISPATCH` subjects and consumers.
//! - `partitions` + `delivery`: an owned partition's sends, delivered (sendMessage) and recorded.
//! - `consumers::dead_letters`: files dead-lettered sends into `DEAD_LETTERS`.
//! - `pacer`: Telegram's limits per bot, chat and group, 429 pauses, priority and fairness.
//! - `failures`: Telegram's transient failures per send, for backoff and dead letters.
//! - `consumers::integrations`: points a new integration's bot webhook at ingress,
//!   and pushes its command manifest to Telegram's menus (`menus`).
//! - `rpc`: answers `nt.rpc.dispatcher.bot.verify` (getMe) for ingress, and
//!   a new owner's questions about this member's calls.
//! - `bots`: resolves a bot key to its token.
//! - `polling`: getUpdates for the bots `TELEGRAM_UPDATES` polls, one poller per bot.

mod bots;
mod calls;
mod cancelled;
mod consumers;
mod delivery;
mod failures;
mod in_flight;
mod lease;
mod menus;
mod ownership;
mod pacer;
pub mod partitioning;
mod partitions;
mod polling;
mod rpc;
mod webhook;

use std::time::Duration;

use anyhow::Context as _;
use novij_aggregates::incident::Incident;
use novij_aggregates::integration::Integration;
use novij_aggregates::recipient::Recipient;
use novij_bus::cache::AggregateCache;
use novij_runtime::Runtime;
use novij_telegram_client::BotApi;
use tokio::sync::watch;

/// What the dispatcher's parts share.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    pub rt: Runtime,
    /// Whether a send's integration was deleted, and its recipient reachable,
    /// kept in memory from the log.
    pub integrations: AggregateCache<Integration>,
    pub recipients: AggregateCache<Recipient>,
    /// The alert cards to show, as the log has them.
    pub incidents: AggregateCache<Incident>,
    pub api: BotApi,
    pub bots: bots::Bots,
    pub pacer: std::sync::Arc<pacer::Pacer>,
    pub in_flight: in_flight::InFlight,
    pub failures: failures::Failures,
    /// This instance's member id among the dispatchers.
    pub member: String,
    /// Broadcasts known to be cancelled.
    pub cancelled: cancelled::CancelledBroadcasts,
    /// Uploads' `file_id`s per bot, learned here.
    pub upload_files: delivery::media::UploadFiles,
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let api = BotApi::new(&rt.config.telegram_api_base_url, Duration::from_secs(30))?;
    let pacer = std::sync::Arc::new(pacer::Pacer::new(rt.config.limits));
    let (log, js) = (rt.log.clone(), rt.jetstream.clone());
    let d = Dispatcher {
        integrations: AggregateCache::start(log.clone(), js.clone(), shutdown.clone()).await,
        recipients: AggregateCache::start(log.clone(), js.clone(), shutdown.clone()).await,
        incidents: AggregateCache::start(log, js, shutdown.clone()).await,
        bots: bots::Bots::new(rt.clone()),
        api,
        pacer,
        in_flight: Default::default(),
        failures: Default::default(),
        member: format!("d{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        cancelled: Default::default(),
        upload_files: Default::default(),
        rt,
    };
    novij_bus::topology::until_applied(|| partitioning::apply(&d.rt.jetstream))
        .await
        .context("creating the dispatch partitions' consumers")?;
    let polled = d.rt.config.telegram_updates.polls(novij_events::integration::COMMON_BOT_KEY);
    if d.rt.config.common_bot_token.is_some() && !polled {
        webhook::sync_common(&d).await;
    }
    // Boxed: these futures are large, and the caller's may live on the main thread's stack.
    tokio::join!(
        Box::pin(consumers::router::run(d.clone(), shutdown.clone())),
        Box::pin(consumers::cards::run(d.clone(), shutdown.clone())),
        Box::pin(ownership::run(d.clone(), shutdown.clone())),
        Box::pin(consumers::integrations::run(d.clone(), shutdown.clone())),
        Box::pin(consumers::dead_letters::run(d.clone(), shutdown.clone())),
        Box::pin(rpc::serve(d.clone(), shutdown.clone())),
        Box::pin(polling::run(d.clone(), shutdown.clone())),
    );
    Ok(())
}
