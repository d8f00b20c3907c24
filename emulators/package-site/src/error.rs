//! Refusals of the package site, each with the HTTP status and JSON body it
//! is answered with (docs/PACKAGES.md). Public refusals carry exactly the
//! documented fields; control refusals add a `message` for whoever reads a
//! failing test.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error("no such route")]
    NotFound,
    #[error("{method} is not allowed here; use {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("a valid control key is required as Authorization: Bearer <key>")]
    Unauthorized,
    #[error("invalid channel name")]
    InvalidChannel,
    #[error("no channel {0:?}")]
    ChannelNotFound(String),
    /// The `{file}` of `/pool/{file}` cannot be a published file's name.
    #[error("invalid file name")]
    InvalidFile,
    #[error("no such file")]
    FileNotFound,
    /// A control parameter (or the body) is missing, unknown or out of its rules.
    #[error("{message}")]
    InvalidParameter { field: String, message: String },
    #[error("channel {channel:?} already publishes {file}")]
    ReleaseExists { channel: String, file: String },
    /// Another channel publishes a file of this name with other bytes.
    #[error("{0} is already published with other bytes; reset first")]
    FileConflict(String),
    #[error("the package is larger than {0} bytes")]
    BodyTooLarge(u64),
    #[error("{0}")]
    Internal(String),
}

impl SiteError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidParameter { field: field.to_string(), message: message.into() }
    }

    pub(crate) fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {e}"))
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidChannel | Self::InvalidFile | Self::InvalidParameter { .. } => 400,
            Self::Unauthorized => 401,
            Self::NotFound | Self::ChannelNotFound(_) | Self::FileNotFound => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::ReleaseExists { .. } | Self::FileConflict(_) => 409,
            Self::BodyTooLarge(_) => 413,
            Self::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Unauthorized => "unauthorized",
            Self::InvalidChannel => "invalid_channel",
            Self::ChannelNotFound(_) => "channel_not_found",
            Self::InvalidFile => "invalid_file",
            Self::FileNotFound => "file_not_found",
            Self::InvalidParameter { .. } => "invalid_parameter",
            Self::ReleaseExists { .. } => "release_exists",
            Self::FileConflict(_) => "file_conflict",
            Self::BodyTooLarge(_) => "body_too_large",
            Self::Internal(_) => "internal",
        }
    }

    /// The `Allow` header of a 405.
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            Self::MethodNotAllowed { allow, .. } => Some(allow),
            _ => None,
        }
    }

    /// The JSON body this refusal is answered with.
    pub fn body(&self) -> Value {
        let code = self.code();
        match self {
            Self::NotFound
            | Self::MethodNotAllowed { .. }
            | Self::InvalidChannel
            | Self::InvalidFile
            | Self::FileNotFound => json!({"error": code}),
            Self::ChannelNotFound(channel) => json!({"error": code, "channel": channel}),
            Self::InvalidParameter { field, message } => json!({"error": code, "field": field, "message": message}),
            Self::Unauthorized
            | Self::ReleaseExists { .. }
            | Self::FileConflict(_)
            | Self::BodyTooLarge(_)
            | Self::Internal(_) => json!({"error": code, "message": self.to_string()}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_refusals_carry_exactly_the_documented_fields() {
        assert_eq!(
            SiteError::ChannelNotFound("beta".into()).body(),
            json!({"error": "channel_not_found", "channel": "beta"})
        );
        assert_eq!(SiteError::InvalidChannel.body(), json!({"error": "invalid_channel"}));
        assert_eq!(SiteError::FileNotFound.body(), json!({"error": "file_not_found"}));
        let e = SiteError::MethodNotAllowed { method: "PUT".into(), allow: "GET, HEAD" };
        assert_eq!((e.status(), e.allow(), e.body()), (405, Some("GET, HEAD"), json!({"error": "method_not_allowed"})));
    }

    #[test]
    fn control_refusals_name_their_field() {
        let e = SiteError::invalid("version", "bad");
        assert_eq!(
            (e.status(), e.body()),
            (400, json!({"error": "invalid_parameter", "field": "version", "message": "bad"}))
        );
    }
}
