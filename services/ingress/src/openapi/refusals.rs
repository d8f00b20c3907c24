//! What the command layer adds to every operation: the wallet-signature
//! headers, and the refusals any operation may give.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Required, ResponseBuilder};
use utoipa::Modify;

use crate::signatures::{MAX_SKEW, SIGNATURE_HEADER, TIMESTAMP_HEADER, WALLET_HEADER};

/// The signature headers on every state-changing operation signed by a
/// wallet (`REQUIRE_SIGNATURES`), and the scheme that explains them.
pub struct WalletSignatures;

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
}

/// The refusals the command layer gives any operation, documented on each
/// it applies to: the key (401, 403, 429), the body (400, 413, 422) and the
/// dependencies (503).
pub struct CommonRefusals;

impl Modify for CommonRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let webhook = path.starts_with("/api/v1/telegram/webhook/");
            for op in
                [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete].into_iter().flatten()
            {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut statuses: Vec<(&str, &str)> = Vec::new();
                if secured {
                    statuses.extend([
                        ("401", "no valid API key, or (REQUIRE_SIGNATURES) a missing, stale, invalid or replayed signature"),
                        ("403", "the key does not act for this project or operation, or (REQUIRE_SIGNATURES) the signer does not own what the request acts on"),
                        ("429", "the key is over its request rate; see Retry-After"),
                        ("503", "a dependency (NATS, Postgres, the dispatcher, Relay) is unavailable; retry later"),
                    ]);
                }
                if op.request_body.is_some() || webhook {
                    statuses.extend([
                        ("400", "the body is not a JSON object"),
                        ("413", "the body is larger than the operation takes"),
                    ]);
                }
                let queried = op.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
                if op.request_body.is_some() || queried {
                    statuses.push(("422", "a field or query parameter is invalid; `field` names it"));
                }
                if webhook {
                    statuses.push(("404", "no such bot"));
                }
                for (status, description) in statuses {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| refusal(description));
                }
            }
        }
    }
}

fn refusal(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    let body = utoipa::openapi::Ref::from_schema_name("ErrorBody");
    ResponseBuilder::new()
        .description(description)
        .content("application/json", utoipa::openapi::Content::new(Some(body)))
        .build()
        .into()
}
