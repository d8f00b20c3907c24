//! The command layer: every API operation once, whatever the transport.
//!
//! An operation takes a [`Call`] (credentials, path parameters, body) and
//! answers with an [`Answer`] (status and JSON body) or an [`ApiError`]; it
//! validates, loads, decides and appends. Two thin transports serve the one
//! table of [`operations`]:
//! - [`rest`]: `METHOD /api/v1/<path>` over HTTP (warp);
//! - [`nats`]: the NATS micro service `novij-telegram`, one endpoint per
//!   operation on `nt.api.v1.<name>[.<id>]`.

pub mod nats;
pub mod rest;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use warp::http::Method;

pub use crate::answer::Answer;
use crate::error::ApiError;
use crate::handlers::{
    alerts, api_keys, bot_test, broadcasts, command_requests, commands, connect_codes, dead_letters, inbound,
    inbound_webhook, integrations, payments, queues, recipients, reminders, sends, service, Credentials,
};
use crate::state::AppState;

/// One request to an operation.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub creds: Credentials,
    /// The path parameters (`{id}`), in order.
    pub params: Vec<String>,
    /// The query parameters of a `GET` (over NATS: the payload, a JSON object).
    pub query: BTreeMap<String, String>,
    pub body: Bytes,
}

impl Call {
    /// The first path parameter (every parameterised path has exactly one).
    fn id(&self) -> String {
        self.params.first().cloned().unwrap_or_default()
    }
}

type Outcome = Pin<Box<dyn Future<Output = Result<Answer, ApiError>> + Send>>;

/// An API operation and where each transport serves it.
pub struct Operation {
    /// The NATS endpoint: `nt.api.v1.<name>`, followed by `.<id>` when the
    /// REST path has a parameter.
    pub name: &'static str,
    pub method: Method,
    /// The REST path under `/api/v1/`; `{id}` is the parameter.
    pub path: &'static str,
    pub run: fn(AppState, Call) -> Outcome,
    /// Takes bodies up to `BROADCAST_MAX_BODY_BYTES` (a broadcast's
    /// recipients), not `MAX_BODY_BYTES`.
    pub large_body: bool,
}

impl Operation {
    /// The largest body this operation takes.
    pub fn body_limit(&self, config: &novij_config::Config) -> u64 {
        if self.large_body {
            config.broadcast_max_body_bytes
        } else {
            config.max_body_bytes
        }
    }

    /// Checks a body against [`Operation::body_limit`].
    pub fn check_body(&self, config: &novij_config::Config, body: &Bytes) -> Result<(), ApiError> {
        let limit = self.body_limit(config);
        if body.len() as u64 > limit {
            return Err(ApiError::new(
                warp::http::StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {limit} bytes"),
            ));
        }
        Ok(())
    }

    /// Runs the operation and counts its answer (`novij_api_requests_total`).
    pub async fn serve(&self, state: AppState, mut call: Call) -> Result<Answer, ApiError> {
        use tracing::Instrument as _;
        let span = tracing::info_span!("api", otel.name = self.name, operation = self.name);
        novij_telemetry::set_parent(&span, call.creds.traceparent.as_deref());
        // On the heap: the checks and the operation make a large future, and
        // a debug build serves it on a worker thread's 2 MiB stack.
        let outcome = Box::pin(async {
            self.check_signature(&state, &mut call).await?;
            (self.run)(state, call).await
        })
        .instrument(span)
        .await;
        let status = match &outcome {
            Ok(answer) => answer.status,
            Err(e) => e.status,
        };
        novij_metrics::api_request(self.name, status.as_u16());
        outcome
    }

    /// When signatures are required, a project key's state-changing call
    /// must be signed: the signer is recorded for the operation to check
    /// against the owner of what it acts on. The admin key and reads need none.
    /// The key's rate is counted first, so an unthrottled caller cannot make
    /// this service ask Relay and NATS at will.
    async fn check_signature(&self, state: &AppState, call: &mut Call) -> Result<(), ApiError> {
        let Some(signatures) = &state.signatures else { return Ok(()) };
        if self.method == Method::GET {
            return Ok(());
        }
        call.creds.admitted = crate::auth::Caller::admit_project_key(state, call.creds.key())?;
        if call.creds.admitted.is_none() {
            return Ok(());
        }
        let path = self.target(&call.params);
        call.creds.signer = Some(signatures.verify(&self.method, &path, &call.body, &call.creds.signature).await?);
        Ok(())
    }

    /// The REST path of a call with these parameters: what its signature covers, on either transport.
    pub fn target(&self, params: &[String]) -> String {
        let mut params = params.iter();
        let segments: Vec<&str> = self
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { params.next().map(String::as_str).unwrap_or(s) } else { s })
            .collect();
        format!("/api/v1/{}", segments.join("/"))
    }

    fn with_large_body(mut self) -> Self {
        self.large_body = true;
        self
    }
    pub fn has_param(&self) -> bool {
        self.path.contains('{')
    }

    /// The path parameters, when `segments` (the path under `/api/v1/`) is this operation's path.
    pub fn matches(&self, segments: &[&str]) -> Option<Vec<String>> {
        path_params(self.path, segments)
    }
}

/// The parameters of `segments` (a path under `/api/v1/`) when it is the
/// path `pattern` (`{id}` marks a parameter).
pub fn path_params(pattern: &str, segments: &[&str]) -> Option<Vec<String>> {
    let pattern: Vec<&str> = pattern.split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (want, got) in pattern.iter().zip(segments) {
        if want.starts_with('{') {
            params.push((*got).to_string());
        } else if want != got {
            return None;
        }
    }
    Some(params)
}

/// Every API operation. The Telegram webhook is not one: it is Telegram's
/// intake, authenticated by the bot's secret, served over HTTP only.
pub fn operations() -> Vec<Operation> {
    fn op(name: &'static str, method: Method, path: &'static str, run: fn(AppState, Call) -> Outcome) -> Operation {
        Operation { name, method, path, run, large_body: false }
    }
    vec![
        op("health", Method::GET, "health", |s, _| Box::pin(service::health(s))),
        op("version", Method::GET, "version", |_, _| Box::pin(service::version())),
        op("settings", Method::GET, "settings", |s, _| Box::pin(service::settings(s))),
        op("api_keys.create", Method::POST, "api-keys", |s, c| Box::pin(api_keys::create(s, c.creds, c.body))),
        op("api_keys.list", Method::GET, "api-keys", |s, c| Box::pin(api_keys::list(s, c.creds, c.query))),
        op("api_keys.revoke", Method::DELETE, "api-keys/{id}", |s, c| {
            let id = c.id();
            Box::pin(api_keys::revoke(s, c.creds, id))
        }),
        op("integrations.create", Method::POST, "integrations", |s, c| {
            Box::pin(integrations::create(s, c.creds, c.body))
        }),
        op("integrations.get", Method::GET, "integrations/{id}", |s, c| {
            let id = c.id();
            Box::pin(integrations::get(s, c.creds, id))
        }),
        op("integrations.webhook", Method::GET, "integrations/{id}/webhook", |s, c| {
            let id = c.id();
            Box::pin(bot_test::webhook(s, c.creds, id))
        }),
        op("integrations.webhook.sync", Method::POST, "integrations/{id}/webhook/sync", |s, c| {
            let id = c.id();
            Box::pin(bot_test::sync(s, c.creds, id, c.body))
        }),
        op("integrations.update", Method::PATCH, "integrations/{id}", |s, c| {
            let id = c.id();
            Box::pin(integrations::update(s, c.creds, id, c.body))
        }),
        op("integrations.delete", Method::DELETE, "integrations/{id}", |s, c| {
            let id = c.id();
            Box::pin(integrations::delete(s, c.creds, id))
        }),
        op("commands.manifest.set", Method::POST, "integrations/{id}/commands/manifest", |s, c| {
            let id = c.id();
            Box::pin(commands::set_manifest(s, c.creds, id, c.body))
        }),
        op("commands.manifest.get", Method::GET, "integrations/{id}/commands/manifest", |s, c| {
            let id = c.id();
            Box::pin(commands::get_manifest(s, c.creds, id))
        }),
        op("commands.poll", Method::GET, "commands/poll", |s, c| Box::pin(command_requests::poll(s, c.creds, c.query))),
        op("commands.ack", Method::POST, "commands/ack", |s, c| Box::pin(command_requests::ack(s, c.creds, c.body))),
        op("commands.reply", Method::POST, "commands/{id}/reply", |s, c| {
            let id = c.id();
            Box::pin(command_requests::reply(s, c.creds, id, c.body))
        }),
        op("integrations.inbound_secret.rotate", Method::POST, "integrations/{id}/inbound-secret", |s, c| {
            let id = c.id();
            Box::pin(inbound_webhook::rotate_secret(s, c.creds, id))
        }),
        op("inbound.dead_letters.list", Method::GET, "inbound/dead-letters", |s, c| {
            Box::pin(inbound_webhook::dead_letters(s, c.creds, c.query))
        }),
        op("inbound.dead_letters.retry", Method::POST, "inbound/dead-letters/retry", |s, c| {
            Box::pin(inbound_webhook::retry(s, c.creds, c.body))
        }),
        op("inbound.get", Method::GET, "inbound/{id}", |s, c| {
            let id = c.id();
            Box::pin(inbound::get(s, c.creds, id))
        }),
        op("inbound.reply", Method::POST, "inbound/{id}/reply", |s, c| {
            let id = c.id();
            Box::pin(inbound::reply(s, c.creds, id, c.body))
        }),
        op("integrations.recipients", Method::GET, "integrations/{id}/recipients", |s, c| {
            let id = c.id();
            Box::pin(recipients::list(s, c.creds, id, c.query))
        }),
        op("recipients.unlink", Method::DELETE, "recipients/{id}", |s, c| {
            let id = c.id();
            Box::pin(recipients::unlink(s, c.creds, id))
        }),
        op("connect_codes.create", Method::POST, "telegram/connect-codes", |s, c| {
            Box::pin(connect_codes::create(s, c.creds, c.body))
        }),
        op("sends.create", Method::POST, "send", |s, c| Box::pin(sends::create(s, c.creds, c.body))),
        op("sends.get", Method::GET, "sends/{id}", |s, c| {
            let id = c.id();
            Box::pin(sends::get(s, c.creds, id))
        }),
        op("broadcasts.create", Method::POST, "broadcasts", |s, c| Box::pin(broadcasts::create(s, c.creds, c.body)))
            .with_large_body(),
        op("broadcasts.get", Method::GET, "broadcasts/{id}", |s, c| {
            let id = c.id();
            Box::pin(broadcasts::get(s, c.creds, id))
        }),
        op("broadcasts.cancel", Method::POST, "broadcasts/{id}/cancel", |s, c| {
            let id = c.id();
            Box::pin(broadcasts::cancel(s, c.creds, id))
        }),
        // A quote may list a broadcast's recipients.
        op("payments.quote", Method::POST, "payments/quote", |s, c| Box::pin(payments::quote(s, c.creds, c.body)))
            .with_large_body(),
        op("reminders.create", Method::POST, "reminders", |s, c| Box::pin(reminders::create(s, c.creds, c.body))),
        op("reminders.get", Method::GET, "reminders/{id}", |s, c| {
            let id = c.id();
            Box::pin(reminders::get(s, c.creds, id))
        }),
        op("reminders.cancel", Method::DELETE, "reminders/{id}", |s, c| {
            let id = c.id();
            Box::pin(reminders::cancel(s, c.creds, id))
        }),
        op("alerts.list", Method::GET, "alerts", |s, c| Box::pin(alerts::list(s, c.creds, c.query))),
        op("alerts.upsert", Method::POST, "alerts/upsert", |s, c| Box::pin(alerts::upsert(s, c.creds, c.body))),
        op("alerts.update", Method::PATCH, "alerts/{id}", |s, c| {
            let id = c.id();
            Box::pin(alerts::patch(s, c.creds, id, c.body))
        }),
        op("alerts.reply", Method::POST, "alerts/{id}/reply", |s, c| {
            let id = c.id();
            Box::pin(alerts::reply(s, c.creds, id, c.body))
        }),
        op("alerts.actions.poll", Method::GET, "alerts/actions/poll", |s, c| {
            Box::pin(alerts::poll(s, c.creds, c.query))
        }),
        op("alerts.actions.ack", Method::POST, "alerts/actions/ack", |s, c| Box::pin(alerts::ack(s, c.creds, c.body))),
        op("ops.dead_letters.list", Method::GET, "ops/dead-letters", |s, c| {
            Box::pin(dead_letters::list(s, c.creds, c.query))
        }),
        op("ops.queues", Method::GET, "ops/queues", |s, c| Box::pin(queues::list(s, c.creds))),
        op("ops.dead_letters.retry", Method::POST, "ops/dead-letters/retry", |s, c| {
            Box::pin(dead_letters::retry(s, c.creds, c.body))
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_their_parameter_and_names_are_distinct() {
        let ops = operations();
        let get = ops.iter().find(|o| o.name == "integrations.get").expect("op");
        assert_eq!(get.matches(&["integrations", "int_1"]), Some(vec!["int_1".to_string()]));
        assert_eq!(get.matches(&["integrations", "int_1", "recipients"]), None);
        assert_eq!(get.matches(&["sends", "int_1"]), None);
        assert_eq!(get.target(&["int_1".to_string()]), "/api/v1/integrations/int_1");
        let names: std::collections::BTreeSet<_> = ops.iter().map(|o| o.name).collect();
        assert_eq!(names.len(), ops.len());
        let routes: std::collections::BTreeSet<_> = ops.iter().map(|o| (o.method.as_str(), o.path)).collect();
        assert_eq!(routes.len(), ops.len());
    }
}
