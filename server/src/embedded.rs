//! The gateway embedded in the `controlroom` front end's process, on `127.0.0.1:0`; the front end
//! still talks to it only over HTTP and WebSocket, the same path a remote client takes.

use crate::{Ready, ServeConfig, ServerError};
use tokio::sync::oneshot;

/// A running embedded gateway.
#[derive(Debug)]
pub struct EmbeddedGateway {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The owner token.
    pub token: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

/// Starts a gateway in this process with `config` on `127.0.0.1:0`.
pub async fn start(config: ServeConfig) -> Result<EmbeddedGateway, ServerError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| ServerError::Io { context: "binding 127.0.0.1:0".into(), source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready_tx, ready_rx) = oneshot::channel::<Ready>();
    let task = tokio::spawn(crate::run(
        listener,
        config,
        async move {
            let _ = stopped.await;
        },
        move |ready| {
            let _ = ready_tx.send(ready.clone());
        },
    ));
    match ready_rx.await {
        Ok(ready) => Ok(EmbeddedGateway { url: ready.url, token: ready.token, stop: Some(stop), task }),
        // The gateway ended before it was ready: its error says why.
        Err(_) => match task.await {
            Ok(Err(e)) => Err(e),
            _ => Err(ServerError::Io {
                context: "starting the embedded gateway".into(),
                source: std::io::Error::other("gateway task ended before it was ready"),
            }),
        },
    }
}

impl EmbeddedGateway {
    /// Stops the gateway: sockets close with 1001, workers stop, the store is flushed.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Io {
                context: "embedded gateway task".into(),
                source: std::io::Error::other(e),
            }),
        }
    }
}
