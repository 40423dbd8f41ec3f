//! Outbound connections, shared by the gateway (webhooks, `http` session sources) and the front end
//! (its HTTP API calls and WebSockets to a gateway): TCP, an optional rustls handshake (ring
//! provider, no process-wide default) trusting the web PKI roots plus the CA files given, and a
//! hyper HTTP/1.1 client that opens one connection per request and never follows a redirect.
//!
//! Errors are typed and carry what happened, not advice: each side words a refused certificate
//! for its own flags (`--outbound-ca` on the gateway, `--tls-ca` in the front end).

mod address;
mod dial;
pub mod http;
mod trust;

pub use address::{Address, UrlError};
pub use dial::{CertificateProblem, DialError, HandshakeError, Stream, TlsClient, connect_tcp, dial};
/// The rustls the errors above carry, for callers that look inside them.
pub use tokio_rustls::rustls;
pub use trust::{Trust, TrustError};
