//! WebSocket connections: the shared connection loop (`conn`) and the endpoints it serves,
//! `/ws/app` (`app`), `/ws/session/{id}/worker/{wid}` (`worker`) and `/ws/new` (`create`: a
//! session created, then its first worker's socket).

pub(crate) mod app;
pub(crate) mod conn;
pub(crate) mod create;
pub(crate) mod worker;
