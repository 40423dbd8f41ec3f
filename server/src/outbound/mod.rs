//! Everything the gateway sends out over the network: the HTTP client shared by session sources
//! and webhooks, and the webhook notifier.

pub(crate) mod http_client;
pub mod notify;
