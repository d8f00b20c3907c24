//! The connect service's consumers.

pub mod updates;
