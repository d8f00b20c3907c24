//! What the connect service decides.

pub mod command_press;
pub mod commands;
pub mod inbound;
pub mod lifecycle;
pub mod press;
pub mod project_commands;
pub mod sender;
pub mod update;
