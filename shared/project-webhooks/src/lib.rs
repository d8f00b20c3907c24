//! Calling a URL a project gave us (its `inbound_webhook_url`).
//!
//! - [`address`]: which URLs and resolved addresses may be called at all
//!   (https; no private, loopback or link-local address unless allowed).
//! - [`signature`]: the Standard Webhooks signature and the `whsec_` secrets.
//! - [`call`]: one signed POST to the addresses the check resolved, so what
//!   was checked is what is called.

pub mod address;
pub mod call;
pub mod signature;

pub use address::{AllowList, Refusal, Target};
pub use call::{post, Failed, Request};
pub use signature::{Secret, SecretError};
