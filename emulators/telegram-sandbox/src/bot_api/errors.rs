//! Bot API error answers with Telegram's exact codes and descriptions.

use serde_json::{json, Value};

/// A failed Bot API call: `{"ok":false,"error_code":..,"description":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub description: String,
    /// Sent as `parameters.retry_after` and the `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with exactly this code and description.
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self { code, description: description.into(), retry_after: None }
    }

    /// 400 "Bad Request: {detail}".
    pub fn bad_request(detail: impl AsRef<str>) -> Self {
        Self::new(400, format!("Bad Request: {}", detail.as_ref()))
    }

    /// 403 "Forbidden: {detail}".
    pub fn forbidden(detail: impl AsRef<str>) -> Self {
        Self::new(403, format!("Forbidden: {}", detail.as_ref()))
    }

    /// 409 "Conflict: {detail}".
    pub fn conflict(detail: impl AsRef<str>) -> Self {
        Self::new(409, format!("Conflict: {}", detail.as_ref()))
    }

    /// 401 "Unauthorized".
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized")
    }

    /// 404 "Not Found".
    pub fn not_found() -> Self {
        Self::new(404, "Not Found")
    }

    /// 429 "Too Many Requests: retry after N".
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }
    }

    /// The error Telegram answers with for a bare HTTP status (fault injection).
    pub fn for_status(status: u16, retry_after: Option<u64>) -> Self {
        match status {
            429 => Self::too_many_requests(retry_after.unwrap_or(1)),
            400 => Self::new(400, "Bad Request"),
            401 => Self::unauthorized(),
            403 => Self::new(403, "Forbidden"),
            404 => Self::not_found(),
            409 => Self::new(409, "Conflict"),
            500 => Self::new(500, "Internal Server Error"),
            502 => Self::new(502, "Bad Gateway"),
            503 => Self::new(503, "Service Unavailable"),
            504 => Self::new(504, "Gateway Timeout"),
            other => Self::new(
                other,
                warp::http::StatusCode::from_u16(other).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error"),
            ),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let (Some(map), Some(retry_after)) = (body.as_object_mut(), self.retry_after) {
            map.insert("parameters".into(), json!({ "retry_after": retry_after }));
        }
        body
    }
}

/// A successful call: `{"ok":true,"result":..}` (+ `description` for webhook calls).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    pub result: Value,
    pub description: Option<String>,
}

impl ApiReply {
    /// A result without description.
    pub fn new(result: Value) -> Self {
        Self { result, description: None }
    }

    /// A result with Telegram's description, e.g. "Webhook was set".
    pub fn described(result: Value, description: impl Into<String>) -> Self {
        Self { result, description: Some(description.into()) }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({ "ok": true, "result": self.result });
        if let (Some(map), Some(description)) = (body.as_object_mut(), &self.description) {
            map.insert("description".into(), Value::from(description.clone()));
        }
        body
    }
}

/// Outcome of a method handler.
pub type ApiResult = Result<ApiReply, ApiError>;
