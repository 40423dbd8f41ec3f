//! The gateway's HTTP + WebSocket face: the accept loop (`listener`), the guards (`middleware`),
//! the routes and their shared state and errors, request validation, and the per-connection
//! WebSocket tasks (`ws/`).

pub(crate) mod error;
pub(crate) mod listener;
pub(crate) mod middleware;
pub(crate) mod routes;
pub(crate) mod state;
pub(crate) mod timed_body;
pub(crate) mod validate;
pub(crate) mod ws;
