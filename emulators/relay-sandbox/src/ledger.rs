//! The in-memory ledger: wallets with balances, transactions, lookup counters
//! and the injected outage. Every operation first settles pending transactions
//! whose automatic confirmation is due, so reads are exact without a timer task.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use novij_events::money::Amount;

use crate::error::LedgerError;
use crate::model::{KeyAlgorithm, Transaction, TransferRequest, TxStatus, Wallet, WalletKey};
use crate::tx_hash::{is_valid_tx_hash, new_tx_hash};

/// Longest memo accepted, in characters.
pub const MAX_MEMO_CHARS: usize = 256;
/// Longest automatic confirmation delay or outage, so deadlines never overflow.
pub const MAX_DELAY_MS: u64 = 86_400_000;
const MAX_WALLET_ID_LEN: usize = 128;

/// The emulated ledger, shared by the HTTP front and in-process tests.
#[derive(Debug)]
pub struct Relay {
    asset: String,
    api_key: Option<String>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    wallets: HashMap<String, Amount>,
    /// Each wallet's Ed25519 public key (base64), for those that have one.
    public_keys: HashMap<String, String>,
    txs: HashMap<String, TxRecord>,
    lookups: HashMap<String, u64>,
    unavailable_until: Option<Instant>,
    /// Sum of all balances ever created; bounds every balance, so credits cannot overflow.
    supply: Amount,
}

#[derive(Debug)]
struct TxRecord {
    tx: Transaction,
    /// When a pending transaction confirms by itself: the monotonic deadline and its wall-clock time.
    confirm_due: Option<(Instant, DateTime<Utc>)>,
}

fn valid_wallet_id(id: &str) -> bool {
    (1..=MAX_WALLET_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// A key is the standard base64 of exactly 32 bytes.
fn check_public_key(key: &str) -> Result<(), LedgerError> {
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err(LedgerError::InvalidPublicKey),
    }
}

fn key_view(wallet_id: &str, public_key: &str) -> WalletKey {
    WalletKey { wallet_id: wallet_id.to_string(), algorithm: KeyAlgorithm::Ed25519, public_key: public_key.to_string() }
}

/// Adds to a balance; the supply bound makes the fallback unreachable.
fn credit(balance: Amount, amount: Amount) -> Amount {
    balance.checked_add(amount).unwrap_or(Amount::from_micros(u64::MAX))
}

impl State {
    fn settle(&mut self, now: Instant) {
        let State { txs, wallets, .. } = self;
        for record in txs.values_mut() {
            let Some((due, due_at)) = record.confirm_due else { continue };
            if due <= now && record.tx.status == TxStatus::Pending {
                record.confirm_due = None;
                record.tx.status = TxStatus::Confirmed;
                record.tx.confirmed_at = Some(due_at);
                let to = wallets.entry(record.tx.to_wallet_id.clone()).or_default();
                *to = credit(*to, record.tx.amount);
            }
        }
    }

    fn wallet_balance(&self, field: &'static str, wallet_id: &str) -> Result<Amount, LedgerError> {
        self.wallets
            .get(wallet_id)
            .copied()
            .ok_or_else(|| LedgerError::WalletNotFound { field, wallet_id: wallet_id.to_string() })
    }

    fn record(&mut self, tx_hash: &str) -> Result<&mut TxRecord, LedgerError> {
        if !is_valid_tx_hash(tx_hash) {
            return Err(LedgerError::InvalidTxHash);
        }
        self.txs.get_mut(tx_hash).ok_or_else(|| LedgerError::TxNotFound(tx_hash.to_string()))
    }
}

impl Relay {
    /// An empty ledger of `asset`; `api_key` guards the public API.
    pub fn new(asset: &str, api_key: Option<String>) -> Self {
        Self { asset: asset.to_string(), api_key, state: Mutex::new(State::default()) }
    }

    /// Locks the state with due confirmations applied. A panic elsewhere must not wedge the emulator.
    fn state(&self) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.settle(Instant::now());
        state
    }

    pub fn asset(&self) -> &str {
        &self.asset
    }

    /// Whether an `Authorization` header value grants access to the public API.
    pub fn authorizes(&self, authorization: Option<&str>) -> bool {
        match &self.api_key {
            None => true,
            Some(key) => authorization.and_then(|h| h.strip_prefix("Bearer ")) == Some(key.as_str()),
        }
    }

    pub fn create_wallet(&self, wallet_id: &str, balance: Amount) -> Result<Wallet, LedgerError> {
        self.create_wallet_with_key(wallet_id, balance, None)
    }

    /// A new wallet, with the Ed25519 public key its requests are signed with, if given.
    pub fn create_wallet_with_key(
        &self,
        wallet_id: &str,
        balance: Amount,
        public_key: Option<&str>,
    ) -> Result<Wallet, LedgerError> {
        if !valid_wallet_id(wallet_id) {
            return Err(LedgerError::InvalidWalletId);
        }
        if let Some(key) = public_key {
            check_public_key(key)?;
        }
        let mut state = self.state();
        if state.wallets.contains_key(wallet_id) {
            return Err(LedgerError::WalletExists(wallet_id.to_string()));
        }
        state.supply = state.supply.checked_add(balance).ok_or(LedgerError::SupplyOverflow)?;
        state.wallets.insert(wallet_id.to_string(), balance);
        if let Some(key) = public_key {
            state.public_keys.insert(wallet_id.to_string(), key.to_string());
        }
        Ok(self.wallet_view(wallet_id, balance))
    }

    /// Sets (or replaces) a wallet's public key.
    pub fn set_wallet_key(&self, wallet_id: &str, public_key: &str) -> Result<WalletKey, LedgerError> {
        check_public_key(public_key)?;
        let mut state = self.state();
        state.wallet_balance("wallet_id", wallet_id)?;
        state.public_keys.insert(wallet_id.to_string(), public_key.to_string());
        Ok(key_view(wallet_id, public_key))
    }

    pub fn wallet_key(&self, wallet_id: &str) -> Result<WalletKey, LedgerError> {
        let state = self.state();
        state.wallet_balance("wallet_id", wallet_id)?;
        let key = state.public_keys.get(wallet_id).ok_or_else(|| LedgerError::PublicKeyNotFound(wallet_id.into()))?;
        Ok(key_view(wallet_id, key))
    }

    pub fn wallet(&self, wallet_id: &str) -> Result<Wallet, LedgerError> {
        let balance = self.state().wallet_balance("wallet_id", wallet_id)?;
        Ok(self.wallet_view(wallet_id, balance))
    }

    fn wallet_view(&self, wallet_id: &str, balance: Amount) -> Wallet {
        Wallet { wallet_id: wallet_id.to_string(), asset: self.asset.clone(), balance }
    }

    /// Records a transfer and moves funds as its status demands.
    pub fn transfer(&self, request: TransferRequest) -> Result<Transaction, LedgerError> {
        let status = match (request.status, request.confirm_after_ms) {
            (None, Some(_)) => TxStatus::Pending,
            (Some(status), None) => status,
            (None, None) => TxStatus::Confirmed,
            (Some(TxStatus::Pending), Some(_)) => TxStatus::Pending,
            (Some(_), Some(_)) => {
                return Err(LedgerError::Invalid("confirm_after_ms is only allowed on pending transfers".into()))
            }
        };
        if request.confirm_after_ms.is_some_and(|ms| ms > MAX_DELAY_MS) {
            return Err(LedgerError::Invalid(format!("confirm_after_ms must be at most {MAX_DELAY_MS}")));
        }
        if request.amount == Amount::ZERO {
            return Err(LedgerError::ZeroAmount);
        }
        if request.from_wallet_id == request.to_wallet_id {
            return Err(LedgerError::Invalid("from_wallet_id and to_wallet_id must differ".into()));
        }
        if request.memo.as_ref().is_some_and(|m| m.chars().count() > MAX_MEMO_CHARS) {
            return Err(LedgerError::Invalid(format!("memo must be at most {MAX_MEMO_CHARS} characters")));
        }

        let mut state = self.state();
        let from_balance = state.wallet_balance("from_wallet_id", &request.from_wallet_id)?;
        state.wallet_balance("to_wallet_id", &request.to_wallet_id)?;
        // A failed transfer moves nothing, so the sender's balance does not matter.
        if status != TxStatus::Failed {
            let rest = from_balance.checked_sub(request.amount).ok_or_else(|| LedgerError::InsufficientFunds {
                wallet_id: request.from_wallet_id.clone(),
                balance: from_balance,
                amount: request.amount,
            })?;
            state.wallets.insert(request.from_wallet_id.clone(), rest);
        }
        if status == TxStatus::Confirmed {
            let to = state.wallets.entry(request.to_wallet_id.clone()).or_default();
            *to = credit(*to, request.amount);
        }

        let created_at = Utc::now();
        let confirm_due = request.confirm_after_ms.map(|ms| {
            let delay = Duration::from_millis(ms);
            (Instant::now() + delay, created_at + chrono::Duration::milliseconds(ms as i64))
        });
        let mut tx_hash = new_tx_hash();
        while state.txs.contains_key(&tx_hash) {
            tx_hash = new_tx_hash();
        }
        let tx = Transaction {
            tx_hash: tx_hash.clone(),
            status,
            from_wallet_id: request.from_wallet_id,
            to_wallet_id: request.to_wallet_id,
            amount: request.amount,
            asset: self.asset.clone(),
            memo: request.memo,
            created_at,
            confirmed_at: (status == TxStatus::Confirmed).then_some(created_at),
        };
        state.txs.insert(tx_hash, TxRecord { tx: tx.clone(), confirm_due });
        Ok(tx)
    }

    pub fn transaction(&self, tx_hash: &str) -> Result<Transaction, LedgerError> {
        Ok(self.state().record(tx_hash)?.tx.clone())
    }

    /// Confirms a pending transaction: the receiver is credited (the sender was debited at creation).
    pub fn confirm(&self, tx_hash: &str) -> Result<Transaction, LedgerError> {
        let mut state = self.state();
        let tx = Self::finish(&mut state, tx_hash, TxStatus::Confirmed)?;
        let to = state.wallets.entry(tx.to_wallet_id.clone()).or_default();
        *to = credit(*to, tx.amount);
        Ok(tx)
    }

    /// Fails a pending transaction: the sender gets the reserved amount back.
    pub fn fail(&self, tx_hash: &str) -> Result<Transaction, LedgerError> {
        let mut state = self.state();
        let tx = Self::finish(&mut state, tx_hash, TxStatus::Failed)?;
        let from = state.wallets.entry(tx.from_wallet_id.clone()).or_default();
        *from = credit(*from, tx.amount);
        Ok(tx)
    }

    fn finish(state: &mut State, tx_hash: &str, outcome: TxStatus) -> Result<Transaction, LedgerError> {
        let record = state.record(tx_hash)?;
        if record.tx.status != TxStatus::Pending {
            return Err(LedgerError::NotPending { tx_hash: tx_hash.to_string(), status: record.tx.status });
        }
        record.confirm_due = None;
        record.tx.status = outcome;
        if outcome == TxStatus::Confirmed {
            record.tx.confirmed_at = Some(Utc::now());
        }
        Ok(record.tx.clone())
    }

    /// Counts one public lookup of `tx_hash`, whatever it will be answered.
    pub fn record_lookup(&self, tx_hash: &str) {
        let mut state = self.state();
        *state.lookups.entry(tx_hash.to_string()).or_default() += 1;
    }

    /// How many public lookups of `tx_hash` there were; 0 for hashes never asked about.
    pub fn lookups(&self, tx_hash: &str) -> Result<u64, LedgerError> {
        if !is_valid_tx_hash(tx_hash) {
            return Err(LedgerError::InvalidTxHash);
        }
        Ok(self.state().lookups.get(tx_hash).copied().unwrap_or(0))
    }

    /// Makes the public API answer 503 for `duration` from now.
    pub fn set_unavailable_for(&self, duration: Duration) {
        self.state().unavailable_until = Some(Instant::now() + duration);
    }

    pub fn clear_faults(&self) {
        self.state().unavailable_until = None;
    }

    /// What is left of the injected outage; zero when the ledger is available.
    pub fn unavailable_for(&self) -> Duration {
        let until = self.state().unavailable_until;
        until.map(|u| u.saturating_duration_since(Instant::now())).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> Amount {
        s.parse().unwrap()
    }

    fn relay() -> Relay {
        let relay = Relay::new("NVJ", None);
        relay.create_wallet("payer", amount("10")).unwrap();
        relay.create_wallet("service", Amount::ZERO).unwrap();
        relay
    }

    #[test]
    fn pending_reserves_and_confirm_credits() {
        let relay = relay();
        let mut request = TransferRequest::new("payer", "service", amount("2.5"));
        request.status = Some(TxStatus::Pending);
        let tx = relay.transfer(request).unwrap();
        assert_eq!(relay.wallet("payer").unwrap().balance, amount("7.5"));
        assert_eq!(relay.wallet("service").unwrap().balance, Amount::ZERO);
        relay.confirm(&tx.tx_hash).unwrap();
        assert_eq!(relay.wallet("service").unwrap().balance, amount("2.5"));
        assert!(matches!(relay.fail(&tx.tx_hash), Err(LedgerError::NotPending { .. })));
    }

    #[test]
    fn wallet_ids_are_restricted() {
        let relay = relay();
        assert_eq!(relay.create_wallet("a/b", Amount::ZERO), Err(LedgerError::InvalidWalletId));
        assert_eq!(relay.create_wallet("", Amount::ZERO), Err(LedgerError::InvalidWalletId));
        assert_eq!(relay.create_wallet("payer", Amount::ZERO), Err(LedgerError::WalletExists("payer".into())));
    }

    #[test]
    fn a_wallet_key_is_32_bytes_and_found_only_when_set() {
        let relay = relay();
        let key = "A".repeat(43) + "=";
        assert_eq!(relay.wallet_key("payer"), Err(LedgerError::PublicKeyNotFound("payer".into())));
        assert_eq!(relay.set_wallet_key("payer", "AAAA"), Err(LedgerError::InvalidPublicKey));
        assert!(matches!(relay.set_wallet_key("nobody", &key), Err(LedgerError::WalletNotFound { .. })));
        assert_eq!(relay.set_wallet_key("payer", &key).unwrap().public_key, key);
        assert_eq!(relay.wallet_key("payer").unwrap().algorithm, KeyAlgorithm::Ed25519);
        assert_eq!(relay.create_wallet_with_key("w2", Amount::ZERO, Some("x")), Err(LedgerError::InvalidPublicKey));
    }

    #[test]
    fn supply_cannot_overflow() {
        let relay = relay();
        let huge = Amount::from_micros(u64::MAX - 1);
        assert_eq!(relay.create_wallet("whale", huge), Err(LedgerError::SupplyOverflow));
    }

    #[test]
    fn the_key_must_match_exactly() {
        let relay = Relay::new("NVJ", Some("k3y".into()));
        assert!(relay.authorizes(Some("Bearer k3y")));
        for bad in [None, Some("Bearer k3"), Some("bearer k3y"), Some("k3y"), Some("Bearer k3y ")] {
            assert!(!relay.authorizes(bad), "{bad:?}");
        }
        assert!(Relay::new("NVJ", None).authorizes(None));
    }
}
