//! The body of `POST /send` and `POST /reminders`.

use chrono::{DateTime, FixedOffset};
use novij_events::integration::PaymentMode;
use novij_events::send::Priority;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    pub integration_id: String,
    /// The `public_user_ref` the user connected with.
    #[schema(schema_with = crate::fields::user_ref)]
    pub recipient_ref: String,
    /// `text_message`, `nrsv_reminder`, `server_alert_basic` or `test_message` (see `GET /settings`).
    #[schema(schema_with = crate::fields::template)]
    pub template: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub template_vars: serde_json::Map<String, serde_json::Value>,
    /// `none` or `dsr`; defaults to the integration's payment mode, and must match it.
    #[serde(default)]
    #[schema(schema_with = crate::fields::optional_payment_mode)]
    pub payment_mode: Option<PaymentMode>,
    /// DSR: the ledger transaction paying for this send (64 lowercase hex).
    pub tx_hash: Option<String>,
    /// DSR: the wallet the transaction comes from.
    #[schema(schema_with = crate::fields::optional_wallet_id)]
    pub payer_wallet_id: Option<String>,
    /// DSR: the quote's `payment_code`, also the transaction's memo.
    pub payment_code: Option<String>,
    /// Required; the same key with the same body returns the same send.
    #[schema(schema_with = crate::fields::idempotency_key)]
    pub idempotency_key: String,
    /// `interactive` (default) or `bulk`: bulk waits while interactive sends to the same bot are pending.
    #[serde(default)]
    #[schema(schema_with = crate::fields::optional_priority)]
    pub priority: Option<Priority>,
    /// `ru` or `en`; defaults to the integration's `default_locale`.
    #[schema(schema_with = crate::fields::optional_locale)]
    pub locale: Option<String>,
    /// Reminders only (`POST /reminders`, whose schema adds it: `openapi::shapes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub send_at: Option<DateTime<FixedOffset>>,
    /// One file; the rendered template is its caption (at most 1,024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::media::MediaRequest>,
    /// An album of 2–10 files; the rendered template is its caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 2, max_items = 10)]
    pub media_group: Option<Vec<crate::media::MediaRequest>>,
}

impl SendRequest {
    pub fn payment_fields(&self) -> super::payments::PaymentFields {
        super::payments::PaymentFields {
            payment_mode: self.payment_mode,
            tx_hash: self.tx_hash.clone(),
            payer_wallet_id: self.payer_wallet_id.clone(),
            payment_code: self.payment_code.clone(),
        }
    }
}
