//! The controlroom gateway.

pub mod outbox;
pub mod worker;
