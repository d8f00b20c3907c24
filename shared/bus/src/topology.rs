//! The JetStream topology declared in `nats/` (streams and durable consumers),
//! compiled in so every service applies the same version when it starts.

use async_nats::jetstream::{self, consumer::pull, stream};
use serde::Deserialize;

const STREAMS: &[(&str, &str)] = &[
    ("EVENTS", include_str!("../../../nats/streams/EVENTS.json")),
    ("TG_UPDATES", include_str!("../../../nats/streams/TG_UPDATES.json")),
    ("DEAD_LETTERS", include_str!("../../../nats/streams/DEAD_LETTERS.json")),
    ("DISPATCH", include_str!("../../../nats/streams/DISPATCH.json")),
    ("FEED", include_str!("../../../nats/streams/FEED.json")),
    ("KV_payload_keys", include_str!("../../../nats/streams/KV_payload_keys.json")),
];

const CONSUMERS: &[(&str, &str)] = &[
    ("payment-verifier-accepted", include_str!("../../../nats/consumers/payment-verifier-accepted.json")),
    ("payment-verifier-cards", include_str!("../../../nats/consumers/payment-verifier-cards.json")),
    ("payment-verifier-broadcasts", include_str!("../../../nats/consumers/payment-verifier-broadcasts.json")),
    ("scheduler-broadcasts", include_str!("../../../nats/consumers/scheduler-broadcasts.json")),
    ("dispatcher-router", include_str!("../../../nats/consumers/dispatcher-router.json")),
    ("dispatcher-cards", include_str!("../../../nats/consumers/dispatcher-cards.json")),
    ("dispatcher-integrations", include_str!("../../../nats/consumers/dispatcher-integrations.json")),
    ("connect-updates", include_str!("../../../nats/consumers/connect-updates.json")),
    ("connect-callbacks", include_str!("../../../nats/consumers/connect-callbacks.json")),
    ("connect-inbound-webhooks", include_str!("../../../nats/consumers/connect-inbound-webhooks.json")),
    ("dispatcher-dead-letters", include_str!("../../../nats/consumers/dispatcher-dead-letters.json")),
    ("feed", include_str!("../../../nats/consumers/feed.json")),
    ("ingress-command-queue", include_str!("../../../nats/consumers/ingress-command-queue.json")),
    ("scheduler-commands", include_str!("../../../nats/consumers/scheduler-commands.json")),
    ("scheduler-integration-deleted", include_str!("../../../nats/consumers/scheduler-integration-deleted.json")),
];

/// Durable consumers of earlier releases `(stream, name)`, deleted where found.
/// `projector`: the projector now follows the log with an ordered consumer.
const RETIRED: &[(&str, &str)] = &[("EVENTS", "projector")];

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("nats/{file} is not a valid definition: {source}")]
    Definition { file: String, source: serde_json::Error },
    #[error("applying stream {name}: {message}")]
    Stream { name: String, message: String },
    #[error("applying consumer {name}: {message}")]
    Consumer { name: String, message: String },
}

#[derive(Deserialize)]
struct ConsumerFile {
    stream: String,
    config: pull::Config,
}

/// Stream definitions, with replicas overridden (1 in development, 3 in a cluster).
pub fn streams(replicas: usize) -> Result<Vec<stream::Config>, TopologyError> {
    STREAMS
        .iter()
        .map(|(name, json)| {
            let mut config: stream::Config = serde_json::from_str(json)
                .map_err(|source| TopologyError::Definition { file: format!("streams/{name}.json"), source })?;
            config.num_replicas = replicas;
            Ok(config)
        })
        .collect()
}

/// A consumer definition (`{stream, config}`) from its file's JSON.
pub fn parse_consumer(file: &str, json: &str) -> Result<(String, pull::Config), TopologyError> {
    let parsed: ConsumerFile =
        serde_json::from_str(json).map_err(|source| TopologyError::Definition { file: file.to_string(), source })?;
    Ok((parsed.stream, parsed.config))
}

/// Consumer definitions as `(stream, config)`. The dispatcher's partition
/// consumers are its own (`services/dispatcher/src/partitioning.rs`).
pub fn consumers() -> Result<Vec<(String, pull::Config)>, TopologyError> {
    CONSUMERS.iter().map(|(name, json)| parse_consumer(&format!("consumers/{name}.json"), json)).collect()
}

/// The names of the durable consumers declared on `stream`.
pub fn durable_consumers(stream: &str) -> Vec<String> {
    // Compiled in, and every definition's parse is tested.
    consumers()
        .expect("the topology of nats/ parses")
        .into_iter()
        .filter(|(on, _)| on == stream)
        .filter_map(|(_, config)| config.durable_name)
        .collect()
}

/// Creates or updates every stream and consumer. Safe to run from every
/// instance at every start.
pub async fn apply(js: &jetstream::Context, replicas: usize) -> Result<(), TopologyError> {
    for config in streams(replicas)? {
        let name = config.name.clone();
        create_or_update_stream(js, config).await.map_err(|message| TopologyError::Stream { name, message })?;
    }
    apply_consumers(js, consumers()?).await?;
    for (stream_name, name) in RETIRED {
        let err =
            |e: &dyn std::fmt::Display| TopologyError::Consumer { name: name.to_string(), message: e.to_string() };
        let stream = js.get_stream(*stream_name).await.map_err(|e| err(&e))?;
        if stream.consumer_info(*name).await.is_ok() {
            stream.delete_consumer(name).await.map_err(|e| err(&e))?;
        }
    }
    Ok(())
}

/// Creates the stream, or updates it if it exists with another configuration.
///
/// Create first, not update first as `Context::create_or_update_stream`
/// does: on a cluster, nats-server (2.14) never answers an update that
/// arrives while another instance's create of the same stream is still
/// being proposed, so services started together each waited out the request
/// timeout once per stream. Concurrent identical creates are all answered,
/// and a create of an existing stream with the same configuration returns it.
async fn create_or_update_stream(js: &jetstream::Context, config: stream::Config) -> Result<(), String> {
    use async_nats::jetstream::{context::CreateStreamErrorKind, ErrorCode};
    match js.create_stream(config.clone()).await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), CreateStreamErrorKind::JetStream(err) if err.error_code() == ErrorCode::STREAM_NAME_EXIST) => {
            js.update_stream(&config).await.map(drop).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `apply` until JetStream takes it ([`crate::startup`]). A definition
/// that does not parse is returned at once.
pub async fn until_applied<F, Fut>(apply: F) -> Result<(), TopologyError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), TopologyError>>,
{
    crate::startup::until_answered("the topology", apply, |e| !matches!(e, TopologyError::Definition { .. })).await
}

/// Creates or updates durable consumers, each on its stream.
pub async fn apply_consumers(
    js: &jetstream::Context,
    consumers: Vec<(String, pull::Config)>,
) -> Result<(), TopologyError> {
    for (stream_name, config) in consumers {
        let name = config.durable_name.clone().unwrap_or_default();
        let err = |e: &dyn std::fmt::Display| TopologyError::Consumer { name: name.clone(), message: e.to_string() };
        let stream = js.get_stream(&stream_name).await.map_err(|e| err(&e))?;
        if stream.consumer_info(&name).await.is_ok() {
            stream.update_consumer(config).await.map_err(|e| err(&e))?;
        } else {
            stream.create_consumer(config).await.map_err(|e| err(&e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_parses_and_consumers_name_known_streams() {
        let streams = streams(3).unwrap();
        assert!(streams.iter().all(|s| s.num_replicas == 3));
        let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
        let consumers = consumers().unwrap();
        let durables: std::collections::BTreeSet<_> = consumers.iter().map(|(_, c)| c.durable_name.clone()).collect();
        assert_eq!(durables.len(), consumers.len(), "durable names are unique");
        for (stream, config) in consumers {
            assert!(names.contains(&stream.as_str()), "consumer on unknown stream {stream}");
            assert!(config.durable_name.is_some());
            let filters: Vec<&String> = std::iter::once(&config.filter_subject)
                .filter(|s| !s.is_empty())
                .chain(config.filter_subjects.iter())
                .collect();
            assert!(!filters.is_empty() && filters.iter().all(|s| s.starts_with("nt.")), "{filters:?}");
        }
    }
}
