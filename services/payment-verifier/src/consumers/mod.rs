//! The payment-verifier's consumers.

pub mod accepted;
pub mod broadcasts;
pub mod cards;

use std::time::Duration;

use novij_bus::{AppendError, Handled};

/// A conflict means the outcome's subject already moved on (a redelivery, or a cancel).
fn settle(result: Result<novij_bus::Appended, AppendError>) -> Handled {
    match result {
        Ok(_) | Err(AppendError::Conflict) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the outcome; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
