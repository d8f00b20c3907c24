//! Bot API error answers with Telegram's exact codes and descriptions.

use serde_json::{json, Value};

/// A failed Bot API call: `{"ok":false,"error_code":..,"description":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub description: String,
    /// Sent as `parameters.retry_after` and the `Retry-After` header.
    pub retry_after: Option<u64>,
    /// Sent as `parameters.migrate_to_chat_id` when a basic group was upgraded.
    pub migrate_to_chat_id: Option<i64>,
}

impl ApiError {
    /// An error with exactly this code and description.
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self { code, description: description.into(), retry_after: None, migrate_to_chat_id: None }
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
            migrate_to_chat_id: None,
        }
    }

    /// 400 for a basic group that became a supergroup, with the new id.
    pub fn migrated(new_chat_id: i64) -> Self {
        Self {
            migrate_to_chat_id: Some(new_chat_id),
            ..Self::bad_request("group chat was upgraded to a supergroup chat")
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
        let mut parameters = serde_json::Map::new();
        if let Some(new_chat_id) = self.migrate_to_chat_id {
            parameters.insert("migrate_to_chat_id".into(), json!(new_chat_id));
        }
        if let Some(retry_after) = self.retry_after {
            parameters.insert("retry_after".into(), json!(retry_after));
        }
        if let (Some(map), false) = (body.as_object_mut(), parameters.is_empty()) {
            map.insert("parameters".into(), Value::Object(parameters));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_error_carries_the_new_chat_id() {
        assert_eq!(
            ApiError::migrated(-1_002_000_000_001).to_json(),
            json!({
                "ok": false,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -1_002_000_000_001_i64}
            })
        );
        assert_eq!(
            ApiError::forbidden("x").to_json(),
            json!({"ok": false, "error_code": 403, "description": "Forbidden: x"})
        );
    }
}
