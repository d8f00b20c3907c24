//! The catalogue of every event type: decoding with upcasting, and schemas.

use schemars::Schema;

use crate::api_key::{ApiKeyCreated, ApiKeyRevoked};
use crate::broadcast::{BroadcastCancelled, BroadcastCleared, BroadcastCreated, BroadcastQueued, BroadcastRefused};
use crate::commands::{
    CommandAcked, CommandExpired, CommandPressed, CommandPressesAcked, CommandReplied, CommandRequested,
    CommandsPushFailed, CommandsPushed, CommandsSet,
};
use crate::connect::{ConnectCodeIssued, ConnectCodeRedeemed};
use crate::inbound::{
    InboundDeadLettered, InboundDelivered, InboundDeliveryFailed, InboundReceived, InboundRedeliveryRequested,
};
use crate::incident::{
    ActionPressed, ActionsAcked, CardCleared, CardFailed, CardOpened, CardRefused, CardShown, CardUpdated,
};
use crate::integration::{
    IntegrationBotUnauthorized, IntegrationCreated, IntegrationDeleted, IntegrationInboundSecretRotated,
    IntegrationUpdated, IntegrationWebhookFailed, IntegrationWebhookSet,
};
use crate::payment::TxClaimed;
use crate::recipient::{
    RecipientBound, RecipientChatMigrated, RecipientDisabled, RecipientUnlinked, RecipientUnreachable,
};
use crate::send::{MessageSent, SendAccepted, SendCancelled, SendDeadLettered, SendFailed, SendQueued, SendScheduled};
use crate::upload::{UploadClaimed, UploadFileIdLearned, UploadRemoved, UploadStored};
use crate::{upcast, Envelope, Event, RawEnvelope};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("envelope is not valid JSON: {0}")]
    Envelope(serde_json::Error),
    #[error("unknown event type {0}")]
    UnknownType(String),
    #[error("{found} where {expected} was expected")]
    WrongType { expected: String, found: String },
    #[error("no upcaster for {0} version {1}")]
    UnknownVersion(String, u16),
    #[error("{event_type} version {version} was written by a newer release (this one reads up to version {known})")]
    NewerVersion { event_type: String, version: u16, known: u16 },
    #[error("{event_type} version {version} cannot be upcast: {detail}")]
    Upcast { event_type: String, version: u16, detail: String },
    #[error("payload of {0} does not match its schema: {1}")]
    Payload(String, serde_json::Error),
}

impl DecodeError {
    /// The event comes from a newer release: a reader must stop and wait for
    /// its upgrade instead of skipping it.
    pub fn written_by_newer_release(&self) -> bool {
        matches!(self, DecodeError::NewerVersion { .. } | DecodeError::UnknownType(_))
    }
}

/// Decodes an envelope of one known type, upcasting an older payload version.
pub fn decode_as<E: Event>(raw: RawEnvelope) -> Result<Envelope<E>, DecodeError> {
    let event_type = E::event_type();
    if raw.event_type != event_type {
        return Err(DecodeError::WrongType { expected: event_type, found: raw.event_type });
    }
    let payload = upcast::upcast(&event_type, raw.version, E::VERSION, raw.payload.clone())?;
    let typed: E = serde_json::from_value(payload).map_err(|e| DecodeError::Payload(event_type, e))?;
    let mut env = raw.map(typed);
    env.version = E::VERSION;
    Ok(env)
}

/// [`decode_as`] from the raw bytes of a log message.
pub fn decode_slice_as<E: Event>(bytes: &[u8]) -> Result<Envelope<E>, DecodeError> {
    decode_as(serde_json::from_slice(bytes).map_err(DecodeError::Envelope)?)
}

macro_rules! catalogue {
    ($($variant:ident),* $(,)?) => {
        /// Any event of the catalogue, decoded.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnyEvent {
            $($variant(Envelope<$variant>)),*
        }

        impl AnyEvent {
            /// Decodes an envelope, upcasting older payload versions first.
            pub fn decode(raw: RawEnvelope) -> Result<Self, DecodeError> {
                $(
                    if raw.event_type == <$variant as Event>::event_type() {
                        return decode_as::<$variant>(raw).map(AnyEvent::$variant);
                    }
                )*
                Err(DecodeError::UnknownType(raw.event_type))
            }

            pub fn event_type(&self) -> &str {
                match self {
                    $(AnyEvent::$variant(e) => &e.event_type),*
                }
            }

            /// The envelope without its payload.
            pub fn head(&self) -> Envelope<()> {
                match self {
                    $(AnyEvent::$variant(e) => Envelope {
                        event_id: e.event_id,
                        event_type: e.event_type.clone(),
                        version: e.version,
                        aggregate_type: e.aggregate_type.clone(),
                        aggregate_id: e.aggregate_id.clone(),
                        occurred_at: e.occurred_at,
                        correlation_id: e.correlation_id.clone(),
                        causation_id: e.causation_id.clone(),
                        trace: e.trace.clone(),
                        payload: (),
                    }),*
                }
            }
        }

        /// `(file stem, schema)` of every event payload, for `schemas/events/`.
        pub fn event_schemas() -> Vec<(String, Schema)> {
            vec![$((
                format!("{}.v{}", <$variant as Event>::event_type(), <$variant as Event>::VERSION),
                schemars::schema_for!(Envelope<$variant>),
            )),*]
        }
    };
}

catalogue!(
    IntegrationCreated,
    IntegrationWebhookSet,
    IntegrationWebhookFailed,
    IntegrationBotUnauthorized,
    IntegrationUpdated,
    IntegrationDeleted,
    CommandsSet,
    CommandsPushed,
    CommandsPushFailed,
    ConnectCodeIssued,
    ConnectCodeRedeemed,
    RecipientBound,
    RecipientDisabled,
    RecipientUnreachable,
    RecipientChatMigrated,
    RecipientUnlinked,
    SendAccepted,
    SendQueued,
    MessageSent,
    SendFailed,
    SendDeadLettered,
    SendScheduled,
    SendCancelled,
    TxClaimed,
    CardOpened,
    CardUpdated,
    CardCleared,
    CardRefused,
    CardShown,
    CardFailed,
    ActionPressed,
    ActionsAcked,
    CommandRequested,
    CommandAcked,
    CommandReplied,
    CommandExpired,
    CommandPressed,
    CommandPressesAcked,
    InboundReceived,
    InboundDelivered,
    InboundDeliveryFailed,
    InboundDeadLettered,
    InboundRedeliveryRequested,
    IntegrationInboundSecretRotated,
    BroadcastCreated,
    BroadcastCleared,
    BroadcastRefused,
    BroadcastQueued,
    BroadcastCancelled,
    UploadStored,
    UploadClaimed,
    UploadFileIdLearned,
    UploadRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
);

impl AnyEvent {
    /// Decodes the raw bytes of a log message.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(DecodeError::Envelope)?;
        Self::decode(raw)
    }
}

/// `(file stem, schema)` of every message on a non-event subject.
pub fn subject_schemas() -> Vec<(String, Schema)> {
    use crate::rpc::{
        BotSyncRequest, BotTestReply, BotTestRequest, BotVerifyReply, BotVerifyRequest, CallbackAnswerReply,
        CallbackAnswerRequest, CallsQuery, CallsReply,
    };
    use crate::update::UpdateReceived;
    vec![
        ("nt.dlq.send".to_string(), schemars::schema_for!(crate::send::DeadLetter)),
        ("nt.dlq.inbound".to_string(), schemars::schema_for!(crate::inbound::InboundDeadLetter)),
        ("inbound-webhook".to_string(), schemars::schema_for!(crate::inbound::InboundWebhookBody)),
        ("nt.dispatch".to_string(), schemars::schema_for!(crate::dispatch::DispatchWork)),
        ("nt.feed".to_string(), schemars::schema_for!(crate::feed::FeedMessage)),
        ("nt.cmd".to_string(), schemars::schema_for!(crate::commands::ExecutorCommand)),
        ("nt.tg.update".to_string(), schemars::schema_for!(UpdateReceived)),
        ("nt.rpc.dispatcher.bot.verify.request".to_string(), schemars::schema_for!(BotVerifyRequest)),
        ("nt.rpc.dispatcher.bot.verify.reply".to_string(), schemars::schema_for!(BotVerifyReply)),
        ("nt.rpc.dispatcher.bot.test.request".to_string(), schemars::schema_for!(BotTestRequest)),
        ("nt.rpc.dispatcher.bot.test.reply".to_string(), schemars::schema_for!(BotTestReply)),
        ("nt.rpc.dispatcher.bot.sync.request".to_string(), schemars::schema_for!(BotSyncRequest)),
        ("nt.rpc.dispatcher.member.calls.request".to_string(), schemars::schema_for!(CallsQuery)),
        ("nt.rpc.dispatcher.member.calls.reply".to_string(), schemars::schema_for!(CallsReply)),
        ("nt.rpc.dispatcher.callback.answer.request".to_string(), schemars::schema_for!(CallbackAnswerRequest)),
        ("nt.rpc.dispatcher.callback.answer.reply".to_string(), schemars::schema_for!(CallbackAnswerReply)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::EventMeta;
    use crate::send::{FailureReason, SendFailed};

    #[test]
    fn round_trip_through_bytes() {
        let env = Envelope::new(
            SendFailed {
                send_id: "snd_1".into(),
                reason: FailureReason::ChatNotFound,
                detail: "x".into(),
                attempts: 1,
            },
            EventMeta::new("req-1"),
        );
        let bytes = serde_json::to_vec(&env).unwrap();
        match AnyEvent::from_slice(&bytes).unwrap() {
            AnyEvent::SendFailed(decoded) => assert_eq!(decoded, env),
            other => panic!("decoded as {}", other.event_type()),
        }
    }

    #[test]
    fn unknown_type_and_version_are_named() {
        let env = Envelope::new(
            SendFailed { send_id: "snd_1".into(), reason: FailureReason::Forbidden, detail: "d".into(), attempts: 1 },
            EventMeta::new("c"),
        );
        let mut raw: RawEnvelope = serde_json::from_value(serde_json::to_value(&env).unwrap()).unwrap();
        raw.version = 7;
        assert!(matches!(
            AnyEvent::decode(raw.clone()),
            Err(DecodeError::NewerVersion { event_type, version: 7, known: 2 }) if event_type == "send.failed"
        ));
        raw.version = 2;
        raw.event_type = "send.teleported".into();
        assert!(matches!(AnyEvent::decode(raw), Err(DecodeError::UnknownType(t)) if t == "send.teleported"));
    }

    #[test]
    fn every_event_has_a_distinct_schema_name() {
        let schemas = event_schemas();
        let names: std::collections::BTreeSet<_> = schemas.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), schemas.len());
        assert!(names.contains("send.accepted.v1") && names.contains("integration.updated.v1"), "{names:?}");
    }
}
