//! What an API operation answers, whatever the transport: a status and a
//! JSON body (an error's too).

use bytes::Bytes;
use warp::http::StatusCode;

use crate::error::ApiError;

/// An operation's answer: its status and JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl Answer {
    pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Answer {
        match serde_json::to_vec(body) {
            Ok(bytes) => Answer { status, body: bytes.into(), retry_after: None },
            Err(e) => Answer::from(ApiError::internal(&e)),
        }
    }
}

impl From<ApiError> for Answer {
    fn from(error: ApiError) -> Answer {
        let (status, retry_after) = (error.status, error.retry_after);
        let body = crate::error::ErrorBody { error: error.detail };
        Answer { status, body: serde_json::to_vec(&body).unwrap_or_default().into(), retry_after }
    }
}

/// JSON answer with a status.
pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Answer {
    Answer::json(status, body)
}
