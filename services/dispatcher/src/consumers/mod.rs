//! The dispatcher's durable consumers.

pub mod cards;
pub mod dead_letters;
pub mod integrations;
pub mod router;
