//! The statuses the projections and the API show, one closed set per
//! aggregate. Each is the fold of the aggregate's events; the labels are the
//! ones stored since the first version.

use crate::labelled_enum;

labelled_enum! {
    /// Where a send is: accepted → [scheduled →] queued → sent | failed |
    /// dead_lettered, or cancelled before it was queued.
    pub enum SendStatus {
        Accepted = "accepted",
        Scheduled = "scheduled",
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        DeadLettered = "dead_lettered",
        Cancelled = "cancelled",
    }
}

impl SendStatus {
    /// Nothing more will happen to the send (a dead letter may still be retried).
    pub fn is_final(self) -> bool {
        matches!(self, SendStatus::Sent | SendStatus::Failed | SendStatus::Cancelled)
    }
}

labelled_enum! {
    /// Whether a recipient can be sent to.
    pub enum RecipientStatus {
        Active = "active",
        /// The user sent /stop.
        Disabled = "disabled",
        /// Telegram refused delivery (blocked, deactivated, kicked).
        Unreachable = "unreachable",
        /// The project unlinked it.
        Unlinked = "unlinked",
    }
}

labelled_enum! {
    pub enum ConnectCodeStatus {
        Issued = "issued",
        Redeemed = "redeemed",
    }
}

labelled_enum! {
    /// The integration's webhook at Telegram.
    pub enum WebhookStatus {
        Pending = "pending",
        Set = "set",
        Failed = "failed",
    }
}

labelled_enum! {
    /// Whether Telegram accepts the integration's bot token.
    pub enum BotStatus {
        Ok = "ok",
        Unauthorized = "unauthorized",
    }
}

labelled_enum! {
    /// Where a broadcast is: pending (payment, `send_at`) → cleared → queued
    /// (its sends are out), or refused (payment), or cancelled.
    pub enum BroadcastStatus {
        Pending = "pending",
        Cleared = "cleared",
        Queued = "queued",
        Refused = "refused",
        Cancelled = "cancelled",
    }
}
