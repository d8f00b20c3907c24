//! The connect service's consumers.

pub mod callbacks;
pub mod updates;

use novij_bus::Handled;
use novij_events::update::UpdateReceived;
use novij_runtime::{derive::purpose, Runtime};

use crate::domain::update::Update;

/// The update a queued message holds, unsealed.
fn open(rt: &Runtime, received: &UpdateReceived) -> Result<Update, Handled> {
    rt.keyring
        .open(purpose::TELEGRAM_UPDATE, &received.update)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| Handled::Reject(format!("update {} unreadable: {e}", received.message_id())))
}
