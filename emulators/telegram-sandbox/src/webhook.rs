//! Webhook URL rules and the per-bot worker that delivers updates in order,
//! retrying failures with exponential backoff.

use std::net::IpAddr;
use std::sync::Weak;
use std::time::Duration;

use serde_json::{json, Value};

use crate::bot_api::errors::ApiError;
use crate::state::{now_stamp, now_unix, Bot, DeliveryRecord, Sandbox};

/// Longest pause between two delivery attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Ports Telegram delivers webhooks to.
const ALLOWED_PORTS: [u16; 4] = [443, 80, 88, 8443];

fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => {
            domain.eq_ignore_ascii_case("localhost") || domain.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn reserved_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    let reserved = match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_multicast(),
    };
    reserved.then_some(ip)
}

/// Checks a webhook URL as Telegram does (or, with `allow_insecure`, also
/// accepts http on loopback hosts with any port).
pub fn validate_url(raw: &str, allow_insecure: bool) -> Result<(), ApiError> {
    let url = reqwest::Url::parse(raw).map_err(|_| ApiError::bad_request("invalid webhook URL specified"))?;
    if url.host().is_none() {
        return Err(ApiError::bad_request("invalid webhook URL specified"));
    }
    if allow_insecure && is_loopback_host(&url) && (url.scheme() == "http" || url.scheme() == "https") {
        return Ok(());
    }
    if url.scheme() != "https" {
        return Err(ApiError::bad_request("bad webhook: An HTTPS URL must be provided for webhook"));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    if !ALLOWED_PORTS.contains(&port) {
        return Err(ApiError::bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"));
    }
    if let Some(ip) = reserved_ip(&url) {
        return Err(ApiError::bad_request(format!("bad webhook: IP address {ip} is reserved")));
    }
    Ok(())
}

struct Job {
    url: String,
    secret: Option<String>,
    update_id: i64,
    kind: &'static str,
    body: Value,
    bot_username: String,
}

/// How one attempt went: the webhook's HTTP status when it answered, and the
/// error `getWebhookInfo` reports when it failed.
struct Attempt {
    http_status: Option<u16>,
    result: Result<(), String>,
}

/// The `last_error_message` Telegram shows for a failed request.
fn describe_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "Read timeout expired".into();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
                std::io::ErrorKind::ConnectionReset => "Connection reset by peer".into(),
                std::io::ErrorKind::TimedOut => "Connection timed out".into(),
                _ => format!("Connection error: {io}"),
            };
        }
        let text = current.to_string().to_ascii_lowercase();
        if text.contains("dns") || text.contains("resolve") {
            return "Failed to resolve host: Name or service not known".into();
        }
        source = current.source();
    }
    if error.is_connect() {
        "Connection refused".into()
    } else {
        "Connection error".into()
    }
}

async fn deliver(http: &reqwest::Client, job: &Job) -> Attempt {
    let body = match serde_json::to_vec(&job.body) {
        Ok(body) => body,
        Err(e) => return Attempt { http_status: None, result: Err(e.to_string()) },
    };
    let mut request = http.post(&job.url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
    if let Some(secret) = &job.secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            Attempt { http_status: Some(response.status().as_u16()), result: Ok(()) }
        }
        Ok(response) => {
            let status = response.status();
            let reason = status.canonical_reason().unwrap_or("");
            let message =
                format!("Wrong response from the webhook: {} {reason}", status.as_u16()).trim_end().to_string();
            Attempt { http_status: Some(status.as_u16()), result: Err(message) }
        }
        Err(error) => Attempt { http_status: None, result: Err(describe_error(&error)) },
    }
}

/// The delivery log's record of one attempt.
fn record(bot: &mut Bot, job: &Job, attempt: &Attempt, latency: Duration) {
    let (at, at_ms) = now_stamp();
    let record = DeliveryRecord {
        update_id: job.update_id,
        kind: job.kind.to_string(),
        via: "webhook",
        ok: attempt.result.is_ok(),
        http_status: attempt.http_status,
        error: attempt.result.clone().err(),
        attempt: bot.deliveries.attempts_at(job.update_id) + 1,
        latency_ms: latency.as_millis() as u64,
        at,
        at_ms,
    };
    bot.deliveries.push(record);
}

/// Delivers the updates of one bot to its webhook, strictly one after another.
pub async fn run_delivery_worker(sandbox: Weak<Sandbox>, bot_id: i64) {
    let mut delay: Option<Duration> = None;
    loop {
        let Some(shared) = sandbox.upgrade() else {
            return;
        };
        let base = shared.config.webhook_retry_base;
        let http = shared.http.clone();
        let (job, mut updates_rx, mut webhook_rx) = {
            let mut world = shared.world();
            let Some(bot) = world.bots.get_mut(&bot_id) else {
                return;
            };
            let updates_rx = bot.updates_tx.subscribe();
            let webhook_rx = bot.webhook_tx.subscribe();
            bot.drop_disallowed_front();
            let job = match (&bot.webhook, bot.updates.front()) {
                (Some(hook), Some(update)) => Some(Job {
                    url: hook.url.clone(),
                    secret: hook.secret.clone(),
                    update_id: update.update_id,
                    kind: update.kind,
                    body: update.to_json(),
                    bot_username: bot.username.clone(),
                }),
                _ => None,
            };
            (job, updates_rx, webhook_rx)
        };
        drop(shared);

        let Some(job) = job else {
            if updates_rx.changed().await.is_err() {
                return;
            }
            continue;
        };

        let started = std::time::Instant::now();
        let attempt = deliver(&http, &job).await;
        let latency = started.elapsed();
        let Some(shared) = sandbox.upgrade() else {
            return;
        };
        let failed = {
            let mut world = shared.world();
            let Some(bot) = world.bots.get_mut(&bot_id) else {
                return;
            };
            record(bot, &job, &attempt, latency);
            match attempt.result {
                Ok(()) => {
                    tracing::debug!(bot = %job.bot_username, update_id = job.update_id, "webhook delivered");
                    if bot.updates.front().map(|u| u.update_id) == Some(job.update_id) {
                        bot.updates.pop_front();
                        bot.notify_updates();
                    }
                    false
                }
                Err(message) => {
                    tracing::warn!(bot = %job.bot_username, update_id = job.update_id, error = %message, "webhook delivery failed");
                    let same_hook = bot.webhook.as_ref().is_some_and(|h| h.url == job.url && h.secret == job.secret);
                    if same_hook {
                        bot.webhook_error = Some((now_unix(), message));
                    }
                    true
                }
            }
        };
        shared.publish(json!({"type": "delivery", "bot": job.bot_username}));
        drop(shared);

        if failed {
            let wait = match delay {
                Some(previous) => (previous * 2).min(MAX_RETRY_DELAY),
                None => base.min(MAX_RETRY_DELAY),
            };
            delay = Some(wait);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                changed = webhook_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    delay = None;
                }
            }
        } else {
            delay = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(result: Result<(), ApiError>) -> String {
        result.err().map(|e| e.description).unwrap_or_default()
    }

    #[test]
    fn real_rules_require_https_and_known_ports() {
        assert!(validate_url("https://example.com/hook", false).is_ok());
        assert!(validate_url("https://example.com:8443/hook", false).is_ok());
        assert_eq!(
            description(validate_url("http://example.com/hook", false)),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        );
        assert_eq!(
            description(validate_url("https://example.com:3000/hook", false)),
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        );
        assert_eq!(
            description(validate_url("http://127.0.0.1:3000/hook", false)),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        );
        assert_eq!(
            description(validate_url("https://127.0.0.1/hook", false)),
            "Bad Request: bad webhook: IP address 127.0.0.1 is reserved"
        );
    }

    #[test]
    fn insecure_mode_only_opens_loopback() {
        assert!(validate_url("http://127.0.0.1:3000/hook", true).is_ok());
        assert!(validate_url("http://localhost:3000/hook", true).is_ok());
        assert!(validate_url("http://[::1]:3000/hook", true).is_ok());
        assert!(validate_url("http://example.com:3000/hook", true).is_err());
        assert!(validate_url("ftp://127.0.0.1/hook", true).is_err());
    }
}
