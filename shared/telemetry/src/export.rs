//! Spans out over OTLP/HTTP with JSON bodies.
//!
//! The SDK's batch exporter runs on a thread of its own, outside Tokio; its
//! HTTP calls are handed to the service's runtime ([`ExportClient`]) and
//! made with the reqwest the workspace already builds.

use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// Longest wait for the collector to take a batch.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// A tracer provider that sends batches of spans to `endpoint`'s `/v1/traces`.
pub fn provider(endpoint: &str, service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| anyhow::anyhow!("traces: the exporter must start inside the Tokio runtime"))?;
    let http = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| anyhow::anyhow!("traces: cannot build the HTTP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(ExportClient { http, runtime })
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service_name.to_string()).build())
        .build())
}

/// Makes the exporter's requests on the service's Tokio runtime.
#[derive(Debug)]
struct ExportClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let call = async move {
            let (parts, body) = request.into_parts();
            let response =
                http.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
            let (status, headers) = (response.status(), response.headers().clone());
            let mut answer = http::Response::new(response.bytes().await?);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok::<_, reqwest::Error>(answer)
        };
        Ok(self.runtime.spawn(call).await??)
    }
}
