//! The one error shape of the API: `{"error":{"code","message","field"?}}`.
//!
//! Each failure has one status. Infrastructure failures map here too: NATS or
//! Postgres unavailable → 503; anything unexpected is logged and answered 500
//! without detail.

use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable, e.g. `invalid_json`, `validation_failed`, `not_found`.
    pub code: String,
    pub message: String,
    /// The request field at fault, as a path (`template_vars.text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail { code: code.into(), message: message.into(), field: None },
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.detail.field = Some(field.into());
        self
    }

    /// A field failed validation (422).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message).with_field(field)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// A dependency (NATS, Postgres, the dispatcher) cannot be reached.
    pub fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::warn!(dependency = what, error = %error, "dependency unavailable");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", format!("{what} is unavailable; retry later"))
    }

    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    pub fn into_reply(self) -> warp::reply::Response {
        let body = ErrorBody { error: self.detail };
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

use warp::Reply as _;

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::unavailable("the projections database", &e)
    }
}

impl From<novij_bus::ReadError> for ApiError {
    fn from(e: novij_bus::ReadError) -> Self {
        match e {
            novij_bus::ReadError::Unavailable(_) => ApiError::unavailable("the event log", &e),
            novij_bus::ReadError::Decode { .. } => ApiError::internal(&e),
        }
    }
}

impl From<novij_crypto::KeyringError> for ApiError {
    fn from(e: novij_crypto::KeyringError) -> Self {
        ApiError::internal(&e)
    }
}

/// Turns warp's rejections (no route, wrong method, body limits) into the same shape.
pub async fn recover(rejection: warp::Rejection) -> Result<warp::reply::Response, std::convert::Infallible> {
    let err = if rejection.is_not_found() {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    } else if let Some(e) = rejection.find::<warp::reject::PayloadTooLarge>() {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", e.to_string())
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(StatusCode::LENGTH_REQUIRED, "length_required", "a Content-Length header is required")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this endpoint")
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string())
    } else {
        ApiError::internal(&format!("unhandled rejection: {rejection:?}"))
    };
    Ok(err.into_reply())
}
