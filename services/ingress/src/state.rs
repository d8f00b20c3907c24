//! What every handler can reach.

use novij_aggregates::incident::Incident;
use novij_aggregates::integration::Integration;
use novij_aggregates::recipient::Recipient;
use novij_bus::cache::AggregateCache;
use novij_runtime::connected::ConnectedRecipients;
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::api_keys::ApiKeys;
use crate::pending_commands::PendingCommands;
use crate::presses::Presses;
use crate::quotas::Quotas;
use crate::rate::KeyRates;
use crate::signatures::Signatures;

/// The runtime and the state this ingress keeps from the log, so a send is
/// decided without a database round trip.
#[derive(Clone)]
pub struct AppState {
    pub rt: Runtime,
    pub integrations: AggregateCache<Integration>,
    pub recipients: AggregateCache<Recipient>,
    /// Incidents with live alert cards, loaded on first use.
    pub incidents: AggregateCache<Incident>,
    /// Button presses not yet acked.
    pub presses: Presses,
    /// Command requests no executor took yet.
    pub pending_commands: PendingCommands,
    pub quotas: Quotas,
    /// Every connected recipient, by integration (a broadcast's recipients).
    pub connected: ConnectedRecipients,
    /// Each project API key's request rate.
    pub key_rates: KeyRates,
    /// Project API keys made at run time.
    pub api_keys: ApiKeys,
    /// `Some` when state-changing project requests must be signed.
    pub signatures: Option<Signatures>,
}

impl AppState {
    /// Starts following the log for the caches and the quota counts.
    pub async fn start(rt: Runtime, shutdown: &watch::Receiver<bool>) -> anyhow::Result<AppState> {
        let (log, js) = (rt.log.clone(), rt.jetstream.clone());
        let integrations = AggregateCache::start(log.clone(), js.clone(), shutdown.clone()).await;
        let recipients = AggregateCache::start(log.clone(), js.clone(), shutdown.clone()).await;
        let incidents = AggregateCache::start(log, js.clone(), shutdown.clone()).await;
        let presses = Presses::start(js.clone(), shutdown.clone());
        let pending_commands = PendingCommands::start(js.clone(), shutdown.clone());
        let quotas = Quotas::start(js, rt.config.quotas, rt.config.retention.reminder_max_ahead_days, shutdown.clone());
        let connected = ConnectedRecipients::start(&rt, shutdown.clone());
        let key_rates = KeyRates::new(rt.config.api_rate);
        let api_keys = ApiKeys::start(rt.jetstream.clone(), shutdown.clone());
        let signatures = match novij_runtime::relay_client(&rt.config)? {
            Some(relay) if rt.config.require_signatures => {
                Some(Signatures::start(relay, &rt.jetstream, rt.config.nats_stream_replicas).await?)
            }
            // `config-check` refuses REQUIRE_SIGNATURES without a Relay API.
            _ => None,
        };
        Ok(AppState {
            rt,
            integrations,
            recipients,
            incidents,
            presses,
            pending_commands,
            quotas,
            connected,
            key_rates,
            api_keys,
            signatures,
        })
    }
}
