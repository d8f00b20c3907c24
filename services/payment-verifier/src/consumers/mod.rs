//! The payment-verifier's consumers.

pub mod accepted;
