//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Required, ResponseBuilder};

use crate::signatures::{MAX_SKEW, SIGNATURE_HEADER, TIMESTAMP_HEADER, WALLET_HEADER};
use utoipa::{Modify, OpenApi};

use crate::handlers::{
    alerts, api_keys, bot_test, broadcasts, command_requests, commands, connect_codes, dead_letters, inbound,
    inbound_webhook, integrations, payments, queues, recipients, reminders, sends, service, uploads, webhook,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "novij-telegram", description = "Telegram delivery service: integrations, connect, sends, paid sends, reminders, live alert cards, interactive commands, inbound messages."),
    paths(
        service::health, service::version, service::settings,
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
    modifiers(&ApiKeyAuth, &WalletSignatures),
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

/// The signature headers on every state-changing operation signed by a
/// wallet (`REQUIRE_SIGNATURES`), and the refusals they may bring.
struct WalletSignatures;

impl Modify for WalletSignatures {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let about = format!(
            "With REQUIRE_SIGNATURES=true, a project key's state-changing request carries an Ed25519 signature by \
             the wallet that owns what it acts on: {SIGNATURE_HEADER} is the standard base64 signature of the \
             lines `novij-signature-v1`, the method, the path, the {TIMESTAMP_HEADER} value (Unix seconds, within \
             {} seconds of now) and the body's SHA-256 in lowercase hex, joined by \\n; {WALLET_HEADER} names the \
             wallet. A signature is accepted once.",
            MAX_SKEW.as_secs()
        );
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "wallet_signature",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(SIGNATURE_HEADER, &about))),
            );
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            // Telegram's intake and uploads are not signed by a wallet.
            if path.starts_with("/api/v1/telegram/webhook/") || path == "/api/v1/uploads" {
                continue;
            }
            for op in [&mut item.post, &mut item.patch, &mut item.put, &mut item.delete].into_iter().flatten() {
                signed(op);
            }
        }
    }
}

fn signed(op: &mut Operation) {
    let header = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String)))
            .build()
    };
    op.parameters.get_or_insert_with(Vec::new).extend([
        header(WALLET_HEADER, "the signing wallet (REQUIRE_SIGNATURES)"),
        header(TIMESTAMP_HEADER, "Unix seconds of the signature (REQUIRE_SIGNATURES)"),
        header(SIGNATURE_HEADER, "the wallet's Ed25519 signature, base64 (REQUIRE_SIGNATURES)"),
    ]);
    let responses = &mut op.responses.responses;
    for (status, description) in [
        ("401", "no valid API key, or (REQUIRE_SIGNATURES) a missing, stale, invalid or replayed signature"),
        ("403", "the key does not act for the project, or (REQUIRE_SIGNATURES) the signer does not own it"),
    ] {
        responses.entry(status.to_string()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", utoipa::openapi::Content::new(Some(error_body())))
                .build()
                .into()
        });
    }
}

fn error_body() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::Ref::from_schema_name("ErrorBody").into()
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
