//! WebSocket connections: the shared connection loop (`conn`) and the two endpoints it serves,
//! `/ws/app` (`app`) and `/ws/worker/{id}` (`worker`).

pub(crate) mod app;
pub(crate) mod conn;
pub(crate) mod worker;
