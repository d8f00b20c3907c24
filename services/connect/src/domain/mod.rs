//! What the connect service decides.

pub mod commands;
pub mod press;
pub mod update;
