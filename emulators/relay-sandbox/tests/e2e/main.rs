//! End-to-end tests of the relay-sandbox over real HTTP.

mod control;
mod faults;
mod public_api;
mod support;
mod transfers;
