//! Classification of Bot API failures into what the caller should do.

/// Why Telegram refused with 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenReason {
    BotBlocked,
    UserDeactivated,
    BotKicked,
    CannotInitiate,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotApiErrorKind {
    /// 401/404 on the token: the bot token is not valid.
    Unauthorized,
    /// 429: wait this many seconds before calling again.
    RetryAfter(u64),
    /// 403: the recipient cannot be reached by this bot.
    Forbidden(ForbiddenReason),
    /// 400 chat not found.
    ChatNotFound,
    /// 400 with `migrate_to_chat_id`: the group became a supergroup.
    ChatMigrated(i64),
    /// 400 "message is not modified": an edit to what the message already shows.
    NotModified,
    /// 400 "message to edit not found": the message was deleted.
    MessageToEditNotFound,
    /// Other 400s: the request itself is wrong; retrying will not help.
    BadRequest,
    /// 409: getUpdates while a webhook is set, or while another getUpdates runs.
    Conflict,
    /// 5xx from Telegram.
    ServerError(u16),
    /// Could not reach Telegram.
    Network,
    Timeout,
    /// Telegram answered something that is not the Bot API's shape.
    Decode,
}

impl BotApiErrorKind {
    /// The kind's name, without what it carries (a metric's label).
    pub fn label(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::RetryAfter(_) => "too_many_requests",
            Self::Forbidden(_) => "forbidden",
            Self::ChatNotFound => "chat_not_found",
            Self::ChatMigrated(_) => "chat_migrated",
            Self::NotModified => "not_modified",
            Self::MessageToEditNotFound => "message_to_edit_not_found",
            Self::BadRequest => "bad_request",
            Self::Conflict => "conflict",
            Self::ServerError(_) => "server_error",
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Decode => "decode",
        }
    }

    /// Worth trying again later (with backoff, or after `retry_after`).
    pub fn is_transient(self) -> bool {
        matches!(self, Self::RetryAfter(_) | Self::ServerError(_) | Self::Network | Self::Timeout)
    }
}

/// A failed Bot API call: the kind to branch on and Telegram's description.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{description}")]
pub struct BotApiError {
    kind: BotApiErrorKind,
    description: String,
}

impl BotApiError {
    pub fn new(kind: BotApiErrorKind, description: impl Into<String>) -> Self {
        Self { kind, description: description.into() }
    }

    pub fn kind(&self) -> BotApiErrorKind {
        self.kind
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// For sendMediaGroup: Telegram's "failed to send message #N with the
    /// error message ..." names the item (1-based) that failed; the items
    /// before it were sent, so a retry of the whole album would repeat them.
    pub fn album_failed_item(&self) -> Option<usize> {
        const MARKER: &str = "failed to send message #";
        let lower = self.description.to_ascii_lowercase();
        let rest = &lower[lower.find(MARKER)? + MARKER.len()..];
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        rest[..digits].parse::<usize>().ok().filter(|&n| n > 0)
    }
}

pub(crate) fn classify(
    status: u16,
    description: String,
    retry_after: Option<u64>,
    migrate_to: Option<i64>,
) -> BotApiError {
    let lower = description.to_ascii_lowercase();
    let kind = match status {
        401 | 404 => BotApiErrorKind::Unauthorized,
        429 => BotApiErrorKind::RetryAfter(retry_after.unwrap_or(1).max(1)),
        403 => BotApiErrorKind::Forbidden(if lower.contains("blocked") {
            ForbiddenReason::BotBlocked
        } else if lower.contains("deactivated") {
            ForbiddenReason::UserDeactivated
        } else if lower.contains("kicked") {
            ForbiddenReason::BotKicked
        } else if lower.contains("initiate") {
            ForbiddenReason::CannotInitiate
        } else {
            ForbiddenReason::Other
        }),
        400 if migrate_to.is_some() => BotApiErrorKind::ChatMigrated(migrate_to.unwrap_or_default()),
        400 if lower.contains("chat not found") => BotApiErrorKind::ChatNotFound,
        400 if lower.contains("message is not modified") => BotApiErrorKind::NotModified,
        400 if lower.contains("message to edit not found") => BotApiErrorKind::MessageToEditNotFound,
        400 => BotApiErrorKind::BadRequest,
        409 => BotApiErrorKind::Conflict,
        s if s >= 500 => BotApiErrorKind::ServerError(s),
        _ => BotApiErrorKind::Decode,
    };
    BotApiError::new(kind, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_answers_are_classified() {
        let c = |s, d: &str, r, m| classify(s, d.to_string(), r, m).kind();
        assert_eq!(c(401, "Unauthorized", None, None), BotApiErrorKind::Unauthorized);
        let terminated =
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
        assert_eq!(c(409, terminated, None, None), BotApiErrorKind::Conflict);
        assert_eq!(c(429, "Too Many Requests: retry after 7", Some(7), None), BotApiErrorKind::RetryAfter(7));
        assert_eq!(
            c(403, "Forbidden: bot was blocked by the user", None, None),
            BotApiErrorKind::Forbidden(ForbiddenReason::BotBlocked)
        );
        assert_eq!(
            c(403, "Forbidden: user is deactivated", None, None),
            BotApiErrorKind::Forbidden(ForbiddenReason::UserDeactivated)
        );
        assert_eq!(
            c(403, "Forbidden: bot was kicked from the group chat", None, None),
            BotApiErrorKind::Forbidden(ForbiddenReason::BotKicked)
        );
        assert_eq!(c(400, "Bad Request: chat not found", None, None), BotApiErrorKind::ChatNotFound);
        assert_eq!(
            c(400, "Bad Request: group chat was upgraded to a supergroup chat", None, Some(-100123)),
            BotApiErrorKind::ChatMigrated(-100123)
        );
        assert_eq!(c(400, "Bad Request: message is too long", None, None), BotApiErrorKind::BadRequest);
        assert_eq!(
            c(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", None, None),
            BotApiErrorKind::NotModified
        );
        assert_eq!(
            c(400, "Bad Request: message to edit not found", None, None),
            BotApiErrorKind::MessageToEditNotFound
        );
        assert_eq!(c(502, "Bad Gateway", None, None), BotApiErrorKind::ServerError(502));
        assert!(BotApiErrorKind::ServerError(500).is_transient());
        assert!(!BotApiErrorKind::ChatNotFound.is_transient());
    }

    #[test]
    fn the_failed_item_of_an_album_is_read_from_the_description() {
        let item = |d: &str| BotApiError::new(BotApiErrorKind::BadRequest, d).album_failed_item();
        assert_eq!(
            item("Bad Request: failed to send message #2 with the error message \"Wrong file identifier/HTTP URL specified\""),
            Some(2)
        );
        assert_eq!(item("Bad Request: Failed to send message #10 with the error message \"x\""), Some(10));
        assert_eq!(item("Bad Request: failed to send message #1"), Some(1));
        assert_eq!(item("Bad Request: failed to send message #0 with the error message \"x\""), None);
        assert_eq!(item("Bad Request: failed to send message # with the error message \"x\""), None);
        assert_eq!(item("Bad Request: failed to send message #99999999999999999999999"), None);
        assert_eq!(item("Bad Request: document can't be mixed with other media types"), None);
        assert_eq!(item(""), None);
    }
}
