//! The gateway's HTTP + WebSocket face: the accept loop (`listener`), the guards (`middleware`),
//! the routes and their shared state and errors, request validation, the WebSocket upgrade and
//! its budget for unfinished messages (`upgrade`, `inflight`), and the per-connection WebSocket
//! tasks (`ws/`).

pub(crate) mod error;
pub(crate) mod inflight;
pub(crate) mod listener;
pub(crate) mod middleware;
pub(crate) mod reply;
pub(crate) mod routes;
pub(crate) mod state;
pub(crate) mod timed_body;
pub(crate) mod upgrade;
pub(crate) mod validate;
pub(crate) mod ws;
