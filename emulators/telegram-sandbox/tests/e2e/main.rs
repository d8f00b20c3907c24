//! End-to-end tests of the sandbox over real HTTP.

mod bot_api;
mod bot_media;
mod commands;
mod control;
mod faults;
mod files;
mod groups;
mod media;
mod page;
mod rate_limits;
mod support;
mod webhooks;
