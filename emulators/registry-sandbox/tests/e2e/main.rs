//! End-to-end tests of the registry-sandbox over real HTTP.

mod control;
mod public_api;
mod services;
mod support;
mod verify;
