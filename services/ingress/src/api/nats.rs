//! The NATS transport: the micro service `novij-telegram` (async-nats's
//! service API, discoverable with `$SRV.PING|INFO|STATS`), one endpoint per
//! operation on `nt.api.v1.<name>`, with `.<id>` appended for the operations
//! whose REST path has a parameter. Each endpoint's metadata names its REST
//! twin (`method`, `path`).
//!
//! A request carries the REST headers as NATS headers (`Authorization:
//! Bearer <key>` or `X-Api-Key`, `X-Request-Id`, `traceparent`, the
//! signature headers of `crate::signatures`) and the REST
//! body as its payload. The reply's payload is the REST body; `Novij-Status`
//! is the REST status. A failure also sets `Nats-Service-Error` (the error
//! code, e.g. `validation_failed`) and `Nats-Service-Error-Code` (the status);
//! a 429 sets `Retry-After` as over HTTP.
//! Instances share each endpoint through the service's queue group.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_nats::service::{endpoint::Endpoint, Request, ServiceExt};
use async_nats::HeaderMap;
use futures::StreamExt;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use warp::http::Method;

use super::{operations, Answer, Call, Operation};
use crate::handlers::Credentials;
use crate::signatures;
use crate::state::AppState;

pub const SERVICE: &str = "novij-telegram";
pub const PREFIX: &str = "nt.api.v1";
/// How long a stopping service waits for the requests it is answering.
const DRAIN: Duration = Duration::from_secs(10);
/// Requests one instance answers at once; more wait in NATS.
const CONCURRENCY: u32 = 1024;

/// The subject an operation is served on (`*`: its parameter).
pub fn subject(op: &Operation) -> String {
    if op.has_param() {
        format!("{PREFIX}.{}.*", op.name)
    } else {
        format!("{PREFIX}.{}", op.name)
    }
}

/// The NATS API, started: its endpoints are subscribed.
pub struct Started {
    service: async_nats::service::Service,
    endpoints: Vec<(Arc<Operation>, Endpoint)>,
}

/// Registers the service and one endpoint per operation.
pub async fn start(state: &AppState) -> anyhow::Result<Started> {
    let service = state
        .rt
        .nats
        .service_builder()
        .description("novij-telegram API: every REST operation as request/reply")
        .start(SERVICE, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the NATS service: {e}"))?;
    let mut endpoints = Vec::new();
    for op in operations() {
        let metadata = HashMap::from([
            ("method".to_string(), op.method.to_string()),
            ("path".to_string(), format!("/api/v1/{}", op.path)),
        ]);
        let endpoint = service
            .endpoint_builder()
            .name(op.name.replace('.', "-"))
            .metadata(metadata)
            .add(subject(&op))
            .await
            .map_err(|e| anyhow::anyhow!("cannot add the NATS endpoint {}: {e}", op.name))?;
        endpoints.push((Arc::new(op), endpoint));
    }
    tracing::info!(service = SERVICE, subjects = %format!("{PREFIX}.>"), "NATS API serving");
    Ok(Started { service, endpoints })
}

impl Started {
    /// Answers requests until shutdown, then lets the running ones finish.
    pub async fn serve(self, state: AppState, mut shutdown: watch::Receiver<bool>) {
        let in_flight = Arc::new(Semaphore::new(CONCURRENCY as usize));
        let mut serving = JoinSet::new();
        for (op, endpoint) in self.endpoints {
            serving.spawn(serve(state.clone(), op, endpoint, in_flight.clone()));
        }
        let _ = shutdown.wait_for(|s| *s).await;
        if let Err(e) = self.service.stop().await {
            tracing::warn!(error = %e, "stopping the NATS service");
        }
        serving.abort_all();
        if tokio::time::timeout(DRAIN, in_flight.acquire_many(CONCURRENCY)).await.is_err() {
            tracing::warn!("NATS API requests still running after the drain period");
        }
    }
}

async fn serve(state: AppState, op: Arc<Operation>, mut endpoint: Endpoint, in_flight: Arc<Semaphore>) {
    while let Some(request) = endpoint.next().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let (state, op) = (state.clone(), op.clone());
        tokio::spawn(async move {
            answer(&state, &op, request).await;
            drop(permit);
        });
    }
}

async fn answer(state: &AppState, op: &Operation, request: Request) {
    let message = &request.message;
    let call = Call {
        creds: credentials(message.headers.as_ref()),
        params: if op.has_param() {
            message.subject.rsplit('.').next().map(str::to_string).into_iter().collect()
        } else {
            Vec::new()
        },
        query: if op.method == Method::GET { query(&message.payload) } else { BTreeMap::new() },
        body: message.payload.clone(),
    };
    let result = match op.check_body(&state.rt.config, &call.body) {
        Ok(()) => op.serve(state.clone(), call).await,
        Err(e) => Err(e),
    };
    let mut headers = HeaderMap::new();
    let answer = match result {
        Ok(answer) => answer,
        Err(error) => {
            headers.insert("Nats-Service-Error", error.detail.code.as_str());
            headers.insert("Nats-Service-Error-Code", error.status.as_u16().to_string().as_str());
            Answer::from(error)
        }
    };
    headers.insert("Novij-Status", answer.status.as_u16().to_string().as_str());
    if let Some(seconds) = answer.retry_after {
        headers.insert("Retry-After", seconds.to_string().as_str());
    }
    if let Err(e) = request.respond_with_headers(Ok(answer.body), headers).await {
        tracing::warn!(endpoint = op.name, error = %e, "cannot answer a NATS API request");
    }
}

/// The REST headers, read from NATS headers (case as in HTTP, or lower case).
/// A `GET`'s query parameters, sent over NATS as a JSON object payload
/// (`{"project_id": "p1", "wait_seconds": 10}`); anything else is none.
fn query(payload: &[u8]) -> BTreeMap<String, String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(payload) else { return BTreeMap::new() };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

fn credentials(headers: Option<&HeaderMap>) -> Credentials {
    let get = |name: &str| {
        let headers = headers?;
        let value = headers.get(name).or_else(|| headers.get(name.to_ascii_lowercase().as_str()))?;
        Some(value.as_str().to_string())
    };
    Credentials {
        authorization: get("Authorization"),
        api_key: get("X-Api-Key"),
        request_id: get("X-Request-Id"),
        traceparent: get("traceparent"),
        signature: signatures::Presented {
            wallet: get(signatures::WALLET_HEADER),
            timestamp: get(signatures::TIMESTAMP_HEADER),
            signature: get(signatures::SIGNATURE_HEADER),
        },
        signer: None,
        admitted: None,
    }
}
