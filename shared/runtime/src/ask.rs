//! Asking the dispatcher (core NATS request/reply, queue group `dispatcher`).

use std::time::Duration;

use crate::Runtime;

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// No dispatcher answered in time, or NATS could not carry the request.
    #[error("the dispatcher did not answer: {0}")]
    Unavailable(String),
    /// The request or the answer is not what the contract says.
    #[error("the dispatcher's answer cannot be read: {0}")]
    Malformed(String),
}

/// Sends `request` on `subject` and reads the reply as `R`.
pub async fn ask_dispatcher<R: serde::de::DeserializeOwned>(
    rt: &Runtime,
    subject: &'static str,
    request: &impl serde::Serialize,
    within: Duration,
) -> Result<R, AskError> {
    let payload = serde_json::to_vec(request).map_err(|e| AskError::Malformed(e.to_string()))?;
    let reply = tokio::time::timeout(within, rt.nats.request(subject, payload.into()))
        .await
        .map_err(|_| AskError::Unavailable("no answer in time".into()))?
        .map_err(|e| AskError::Unavailable(e.to_string()))?;
    serde_json::from_slice(&reply.payload).map_err(|e| AskError::Malformed(e.to_string()))
}
