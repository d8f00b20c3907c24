//! What the connect service decides.

pub mod commands;
pub mod press;
pub mod project_commands;
pub mod update;
