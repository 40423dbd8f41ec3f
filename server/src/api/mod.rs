//! The gateway's HTTP + WebSocket face: the accept loop, the routes and their shared state, request
//! validation, and the per-connection WebSocket tasks (`ws/`).

pub mod listener;
pub(crate) mod routes;
pub(crate) mod timed_body;
pub mod validate;
pub(crate) mod ws;
