//! The connect service: turns Telegram updates into recipients.
//!
//! - `consumers::updates`: reads queued updates, unseals them, routes commands.
//! - `consumers::callbacks`: button presses of alert cards (`domain::press`).
//! - `consumers::inbound_webhooks`: inbound messages POSTed to the project, signed, retried.
//! - `domain::update`: the few fields of a Telegram update the service reads.
//! - `domain::commands`: `/start <code>` (bind) and `/stop` (disable).
//! - `domain::project_commands`: a project's `/commands` and `/help`.
//! - `rate`: commands per user and minute.
//! - `common_bot`: the common bot's name, for `/name@bot`.
//! - `replies`: the service's own short answers, sent as system sends.

mod common_bot;
mod consumers;
mod domain;
mod rate;
mod replies;

use novij_runtime::Runtime;
use tokio::sync::watch;

/// How a Telegram update is read: what `fuzz/` drives with arbitrary bytes.
pub use domain::update::{parse_command, Update};

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let connected = novij_runtime::connected::ConnectedRecipients::start(&rt, shutdown.clone());
    tokio::join!(
        consumers::updates::run(rt.clone(), connected.clone(), shutdown.clone()),
        consumers::callbacks::run(rt.clone(), connected, shutdown.clone()),
        consumers::inbound_webhooks::run(rt, shutdown),
    );
    Ok(())
}
