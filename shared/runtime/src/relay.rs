//! The Relay API client of a configuration: the payment-verifier checks
//! transactions with it, ingress fetches wallets' public keys.

use std::time::Duration;

use anyhow::Context as _;
use novij_relay_client::RelayClient;

/// How long one ledger call may take.
const RELAY_TIMEOUT: Duration = Duration::from_secs(10);

/// The Relay client, if `RELAY_API_BASE_URL` is set.
pub fn relay_client(config: &novij_config::Config) -> anyhow::Result<Option<RelayClient>> {
    let payments = &config.payments;
    payments
        .relay_api_base_url
        .as_deref()
        .map(|url| RelayClient::new(url, payments.relay_api_key.clone(), RELAY_TIMEOUT))
        .transpose()
        .context("building the Relay API client")
}
