//! `POST /payments/quote`: what a paid send costs and the code its ledger
//! transaction must carry as memo.

use chrono::{DateTime, Duration, Utc};
use novij_aggregates::integration::Integration;
use novij_events::integration::PaymentMode;
use novij_events::money::Amount;
use novij_events::payment::TxClaimed;
use novij_events::send::PaymentClaim;
use novij_events::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::find_for_project;
use super::{json, Credentials};
use crate::answer::Answer;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::quote::{self, QuoteError, Quoted};
use crate::selection::{resolve, RecipientVars, Selection};
use crate::state::AppState;

/// The most recipients one quote may cover.
const MAX_RECIPIENTS: u32 = 100_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    #[schema(schema_with = crate::fields::template)]
    pub template: String,
    /// How many recipients the payment covers (default 1), or a broadcast's
    /// `recipients` list (with `integration_id`).
    #[schema(value_type = Option<Object>)]
    pub recipients: Option<Recipients>,
    /// A broadcast's integration: the quote covers the recipients its
    /// selection (`recipient_refs`, `all_connected` or `recipients`) resolves to now.
    pub integration_id: Option<String>,
    #[schema(schema_with = crate::fields::broadcast_recipient_refs)]
    pub recipient_refs: Option<Vec<String>>,
    #[serde(default)]
    pub all_connected: bool,
}

/// A count, or a broadcast's recipients.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Recipients {
    Count(u32),
    Listed(Vec<RecipientVars>),
}

#[derive(Serialize, ToSchema)]
pub struct Quote {
    /// Put it in the transaction's memo and in the send's `payment_code`.
    pub payment_code: String,
    /// Total to pay: price per recipient × recipients.
    #[schema(value_type = String, example = "1.5")]
    pub amount: Amount,
    pub asset: String,
    pub receiver_wallet_id: String,
    pub expires_at: DateTime<Utc>,
}

/// The service wallet, or why paid sends cannot be made here.
pub fn service_wallet(state: &AppState) -> Result<&str, ApiError> {
    let payments = &state.rt.config.payments;
    match &payments.service_wallet_id {
        Some(wallet) if payments.dsr_enabled() => Ok(wallet),
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "dsr_not_configured",
            "paid sends are not configured on this service (SERVICE_WALLET_ID, RELAY_API_BASE_URL)",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/payments/quote", tag = "payments", request_body = QuoteRequest,
    security(("api_key" = [])),
    responses((status = 200, body = Quote), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn quote(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: QuoteRequest = body::parse(&bytes)?;
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    caller.require_project(&req.project_id)?;
    if req.integration_id.is_none() && (req.recipient_refs.is_some() || req.all_connected) {
        return Err(ApiError::invalid("integration_id", "is required to quote a selection of recipients"));
    }
    let recipients = match (req.integration_id, req.recipients) {
        (None, None) => 1,
        (None, Some(Recipients::Count(n))) => n,
        (None, Some(Recipients::Listed(_))) => {
            return Err(ApiError::invalid("integration_id", "is required with a list of recipients"))
        }
        (Some(_), Some(Recipients::Count(_))) => {
            return Err(ApiError::invalid("recipients", "with integration_id, name the recipients, not a count"))
        }
        (Some(integration_id), listed) => {
            let integration = find_for_project(&state, &caller, &req.project_id, &integration_id).await?;
            let recipients = match listed {
                Some(Recipients::Listed(list)) => Some(list),
                _ => None,
            };
            let selection =
                Selection { recipient_refs: req.recipient_refs, all_connected: req.all_connected, recipients };
            u32::try_from(resolve(&state, &integration, selection).await?.len()).unwrap_or(u32::MAX)
        }
    };
    if !(1..=MAX_RECIPIENTS).contains(&recipients) {
        return Err(ApiError::invalid("recipients", format!("must be between 1 and {MAX_RECIPIENTS}")));
    }
    let payments = &state.rt.config.payments;
    let price = payments.price(&req.template, PaymentMode::Dsr).ok_or_else(|| {
        ApiError::invalid(
            "template",
            format!("unknown template `{}`; available: {}", req.template, novij_templates::names().join(", ")),
        )
    })?;
    let receiver_wallet_id = service_wallet(&state)?.to_string();
    let amount = price
        .checked_mul(u64::from(recipients))
        .ok_or_else(|| ApiError::invalid("recipients", "the total is too large"))?;
    let expires_at = Utc::now() + Duration::seconds(i64::from(payments.quote_ttl_seconds));
    let quoted = Quoted { amount, recipients, expires_at };
    let payment_code = quote::issue(&state.rt.keyring, &req.project_id, &req.template, quoted);
    Ok(json(
        StatusCode::OK,
        &Quote { payment_code, amount, asset: payments.asset.clone(), receiver_wallet_id, expires_at },
    ))
}

/// The payment fields of a request that may cost something (a send, a
/// reminder, an alert card).
#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
pub struct PaymentFields {
    /// `none` or `dsr`; defaults to the integration's payment mode, and must match it.
    #[serde(default)]
    #[schema(schema_with = crate::fields::optional_payment_mode)]
    pub payment_mode: Option<PaymentMode>,
    /// DSR: the ledger transaction paying for it (64 lowercase hex).
    pub tx_hash: Option<String>,
    /// DSR: the wallet the transaction comes from.
    #[schema(schema_with = crate::fields::optional_wallet_id)]
    pub payer_wallet_id: Option<String>,
    /// DSR: the quote's `payment_code`, also the transaction's memo.
    pub payment_code: Option<String>,
}

/// What is paid for: `recipients` messages of `template`.
pub struct Priced<'a> {
    pub project_id: &'a str,
    pub template: &'a str,
    pub recipients: u32,
}

/// The payment mode of a request and, when its template costs something in
/// that mode, the claim the payment-verifier will check on the ledger.
pub fn claim_for(
    state: &AppState,
    priced: Priced<'_>,
    fields: &PaymentFields,
    integration: &Integration,
) -> Result<(PaymentMode, Option<PaymentClaim>), ApiError> {
    let integration_mode = integration.payment_mode;
    let mode = fields.payment_mode.unwrap_or(integration_mode);
    if mode != integration_mode {
        let label = match integration_mode {
            PaymentMode::None => "none",
            PaymentMode::Dsr => "dsr",
        };
        return Err(ApiError::invalid("payment_mode", format!("this integration sends with payment_mode `{label}`")));
    }
    let template = priced.template;
    let price =
        state.rt.config.payments.price(template, mode).ok_or_else(|| ApiError::invalid("template", "has no price"))?;
    let given = [
        ("tx_hash", &fields.tx_hash),
        ("payer_wallet_id", &fields.payer_wallet_id),
        ("payment_code", &fields.payment_code),
    ];
    if price == Amount::ZERO {
        if let Some((field, _)) = given.iter().find(|(_, v)| v.is_some()) {
            return Err(ApiError::invalid(field, "must be absent: this template is free in this payment mode"));
        }
        return Ok((mode, None));
    }
    let receiver_wallet_id = service_wallet(state)?.to_string();
    let required = |field: &str, value: &Option<String>| -> Result<String, ApiError> {
        value
            .clone()
            .ok_or_else(|| ApiError::invalid(field, format!("is required: {template} costs {price} per recipient")))
    };
    let tx_hash = required("tx_hash", &fields.tx_hash)?;
    if !novij_relay_client::is_valid_tx_hash(&tx_hash) {
        return Err(ApiError::invalid("tx_hash", "must be 64 lowercase hexadecimal characters"));
    }
    let payer_wallet_id = required("payer_wallet_id", &fields.payer_wallet_id)?;
    fields::WALLET_ID.check("payer_wallet_id", &payer_wallet_id)?;
    let payment_code = required("payment_code", &fields.payment_code)?;
    let quoted = quote::check(&state.rt.keyring, &payment_code, priced.project_id, template, Utc::now()).map_err(
        |e| match e {
            QuoteError::Expired(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "quote_expired", e.to_string())
                .with_field("payment_code"),
            QuoteError::Invalid => ApiError::invalid("payment_code", e.to_string()),
        },
    )?;
    if quoted.recipients < priced.recipients {
        return Err(ApiError::invalid(
            "payment_code",
            format!("the quote covers {} recipients; this needs {}", quoted.recipients, priced.recipients),
        ));
    }
    let payments = &state.rt.config.payments;
    Ok((
        mode,
        Some(PaymentClaim {
            tx_hash,
            payer_wallet_id,
            payment_code,
            // A quote holds its price until it expires, even if prices change.
            amount_due: quoted.amount,
            asset: payments.asset.clone(),
            receiver_wallet_id,
        }),
    ))
}

/// Answers at once when the transaction already paid for another send; the
/// payment-verifier's claim on the log is what actually guarantees it.
pub async fn refuse_used_tx(state: &AppState, tx_hash: &str) -> Result<(), ApiError> {
    if state.rt.log.last_sequence(TxClaimed::AGGREGATE, tx_hash).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "tx_already_used",
            "this transaction has already paid for another send or card",
        )
        .with_field("tx_hash"));
    }
    Ok(())
}
