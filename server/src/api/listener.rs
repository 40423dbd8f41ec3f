//! The accept loop: TCP, optionally TLS (rustls with the ring provider), then HTTP/1.1 with a
//! header-read timeout, a request-body deadline (both against slowloris) and WebSocket upgrades.
//! Each request carries its peer address (`ConnectInfo`) for the failed-authentication limit.
//!
//! `axum::serve` cannot set a header timeout or terminate TLS, so this is the same loop written
//! out: one task per connection, graceful shutdown of every connection when the gateway stops.

use crate::api::timed_body::TimedBody;
use crate::config::TlsPaths;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service as _;

/// How long to wait before accepting again after an error such as EMFILE (out of descriptors).
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// How long connections get to finish their current request when the gateway stops.
const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the 503 for a connection over `--max-http-connections` may take to go out.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// rustls refused the certificate and key.
    #[error("certificate and key do not form a usable TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Builds a TLS acceptor from PEM files (rustls, ring provider, HTTP/1.1 only).
pub fn tls_acceptor(paths: &TlsPaths) -> Result<TlsAcceptor, TlsError> {
    let file_err = |path: &std::path::Path, message: String| TlsError::File {
        path: path.display().to_string(),
        message,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&paths.cert)
        .map_err(|e| file_err(&paths.cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(&paths.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_err(&paths.cert, "no PEM certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&paths.key).map_err(|e| file_err(&paths.key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// What every connection is served with.
#[derive(Clone)]
pub struct ListenOptions {
    /// Time a client has to send a request's headers (also bounds an idle keep-alive and the TLS
    /// handshake).
    pub header_timeout: Duration,
    /// Time a client has, once its headers are in, to send the whole request body.
    pub body_timeout: Duration,
    /// Connections served HTTP at once; an upgraded WebSocket no longer counts.
    pub max_http_connections: usize,
    /// TLS, when on.
    pub tls: Option<TlsAcceptor>,
}

/// Accepts until `shutdown`, then asks every connection to finish and waits (bounded).
pub async fn serve(listener: TcpListener, app: Router, opts: ListenOptions, shutdown: CancellationToken) {
    let conns = TaskTracker::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(opts.max_http_connections));
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            conns.spawn(refuse(tcp, peer, opts.tls.is_some(), opts.max_http_connections));
            continue;
        };
        let (app, opts, shutdown) = (app.clone(), opts.clone(), shutdown.clone());
        conns.spawn(async move {
            // Held while the connection is served HTTP; hyper hands an upgraded socket on and
            // returns, which frees the slot.
            let _slot = slot;
            match &opts.tls {
                None => serve_conn(tcp, peer, app, &opts, shutdown).await,
                Some(acceptor) => {
                    match tokio::time::timeout(opts.header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => serve_conn(tls, peer, app, &opts, shutdown).await,
                        Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    conns.close();
    if tokio::time::timeout(GRACEFUL_TIMEOUT, conns.wait()).await.is_err() {
        tracing::warn!("some HTTP connections did not finish in time");
    }
}

/// Answers a connection over `--max-http-connections` with 503 and closes it (a TLS connection
/// is closed unanswered: a plain-text answer would not be understood there).
async fn refuse(mut tcp: tokio::net::TcpStream, peer: SocketAddr, tls: bool, max: usize) {
    use tokio::io::AsyncWriteExt as _;
    metrics::counter!(crate::metrics::TERMINATIONS, "reason" => "max_http_connections").increment(1);
    tracing::debug!(peer = %peer, reason = "max_http_connections", max, "refused a connection");
    if tls {
        return;
    }
    let body = serde_json::json!({"error": {
        "code": controlroom_protocol::error_code::LIMIT,
        "message": format!("the gateway is serving {max} HTTP connections (--max-http-connections)"),
    }})
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, write).await;
}

async fn serve_conn<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    opts: &ListenOptions,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let body_timeout = opts.body_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(|body| TimedBody::new(body, body_timeout));
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { app.call(req).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(opts.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        if e.is_timeout() {
            tracing::info!(peer = %peer, reason = "header_timeout", "closed a connection that sent no complete headers in time");
        } else {
            tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
        }
    }
}
