//! One module per resource; each operation returns `Result<Answer, ApiError>`
//! and is served by both transports (`crate::api`).

pub mod alerts;
pub mod api_keys;
pub mod bot_test;
pub mod broadcasts;
pub mod command_requests;
pub mod commands;
pub mod connect_codes;
pub mod dead_letters;
pub mod inbound;
pub mod inbound_webhook;
pub mod integrations;
pub mod payments;
pub mod query;
pub mod queues;
pub mod recipients;
pub mod reminders;
pub mod send_request;
pub mod sends;
pub mod service;
pub mod uploads;
pub mod webhook;

pub use crate::answer::json;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The credentials presented with a request.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub request_id: Option<String>,
    /// W3C `traceparent` of the caller, continued by the events of this request.
    pub traceparent: Option<String>,
    /// The signature headers (`crate::signatures`).
    pub signature: crate::signatures::Presented,
    /// The wallet whose signature of this request was checked, if one was required.
    pub signer: Option<String>,
    /// The project whose key this request was already identified and
    /// counted as (`crate::api` does it before checking a signature).
    pub admitted: Option<String>,
}

impl Credentials {
    pub fn caller(&self, state: &AppState) -> Result<Caller, ApiError> {
        Caller::authenticate(state, self.key(), self.signer.clone(), self.admitted.as_deref())
    }

    /// The key headers.
    pub fn key(&self) -> crate::auth::Presented<'_> {
        crate::auth::Presented { authorization: self.authorization.as_deref(), api_key: self.api_key.as_deref() }
    }

    /// Metadata of the first event this request appends.
    pub fn meta(&self) -> novij_events::EventMeta {
        // The request's span, when spans are exported; else the caller's context.
        let traceparent = novij_telemetry::current_traceparent().or_else(|| self.traceparent.clone());
        novij_events::EventMeta::continuing(self.correlation_id(), traceparent.as_deref())
    }

    /// The correlation id of this request's events.
    pub fn correlation_id(&self) -> String {
        self.request_id
            .as_deref()
            .filter(|r| !r.is_empty() && r.len() <= 128 && r.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(|| format!("req_{}", uuid::Uuid::new_v4().simple()))
    }
}

/// Asks the dispatcher (request/reply on `subject`) and decodes its answer;
/// no answer within `within` is a 503.
pub(crate) async fn ask_dispatcher<R: serde::de::DeserializeOwned>(
    state: &AppState,
    subject: &'static str,
    request: &impl serde::Serialize,
    within: std::time::Duration,
) -> Result<R, ApiError> {
    novij_runtime::ask_dispatcher(&state.rt, subject, request, within).await.map_err(|e| match e {
        novij_runtime::AskError::Unavailable(why) => ApiError::unavailable("the dispatcher", &why),
        malformed => ApiError::internal(&malformed),
    })
}

/// Waits briefly for the projections to include an append, so a read that
/// follows the response sees the write.
pub async fn read_your_write(state: &AppState, sequence: u64) {
    if let Ok(false) =
        novij_projections::queries::wait_for(&state.rt.db, sequence, std::time::Duration::from_secs(2)).await
    {
        tracing::warn!(sequence, "projections are behind the log");
    }
}
