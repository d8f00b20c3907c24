//! The dispatcher's durable consumers.

pub mod integrations;
pub mod queued;
