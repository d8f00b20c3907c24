//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! - [`refusals`]: the refusals and headers the command layer adds to every operation;
//! - [`shapes`]: what annotations cannot state (merged parts, either-or bodies);
//! - [`template_vars`]: each template's variables, tied to `template`.

mod refusals;
mod shapes;
mod template_vars;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use refusals::{CommonRefusals, WalletSignatures};

use crate::handlers::{
    alerts, api_keys, bot_test, broadcasts, command_requests, commands, connect_codes, dead_letters, inbound,
    inbound_webhook, integrations, payments, queues, recipients, reminders, sends, service, uploads, webhook,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "novij-telegram", description = "Telegram delivery service: integrations, connect, sends, paid sends, reminders, live alert cards, interactive commands, inbound messages."),
    paths(
        service::health, service::version, service::settings, service::registry_health, service::manifest,
        integrations::create, integrations::get, integrations::update, integrations::delete,
        recipients::list, recipients::unlink,
        connect_codes::create, webhook::receive, sends::create, sends::get, uploads::create, bot_test::webhook, bot_test::sync,
        payments::quote, broadcasts::create, broadcasts::get, broadcasts::cancel, reminders::create, reminders::get, reminders::cancel,
        dead_letters::list, dead_letters::retry, queues::list, api_keys::create, api_keys::list, api_keys::revoke,
        alerts::list, alerts::upsert, alerts::patch, alerts::reply, alerts::poll, alerts::ack,
        commands::set_manifest, commands::get_manifest,
        command_requests::poll, command_requests::ack, command_requests::reply,
        inbound::get, inbound::reply,
        inbound_webhook::rotate_secret, inbound_webhook::dead_letters, inbound_webhook::retry,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&ApiKeyAuth, &WalletSignatures, &CommonRefusals),
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document served at `/openapi.json`: the generated one, with the
/// shapes annotations cannot state written in ([`shapes`]).
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    shapes::apply(&mut doc);
    doc
}
