//! sea-orm entities of the projection tables.

pub mod alert_card;
pub mod broadcast;
pub mod checkpoint;
pub mod connect_code;
pub mod integration;
pub mod recipient;
pub mod send;
pub mod send_history;
