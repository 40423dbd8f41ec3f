//! Errors of the front end.

use std::path::PathBuf;

/// Everything that can go wrong in the front end, each with a short message fit for one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file did not parse; names the file and, when known, the key.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A theme did not parse or resolve.
    #[error("theme {name}: {message}")]
    Theme {
        /// The theme's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A gateway URL could not be understood.
    #[error("bad gateway URL {url:?}: {message}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it is bad.
        message: String,
    },
    /// The gateway refused the token.
    #[error("token rejected — run `controlroom token` on the gateway host")]
    Unauthorized,
    /// The gateway answered with an error status.
    #[error("{message} (HTTP {status})")]
    Http {
        /// The status code.
        status: u16,
        /// The gateway's message, or the status text.
        message: String,
    },
    /// The gateway could not be reached.
    #[error("cannot reach the gateway at {url}: {message}")]
    Connect {
        /// The address tried.
        url: String,
        /// The underlying failure.
        message: String,
    },
    /// The gateway ended the connection for good (e.g. the token expired).
    #[error("{0}")]
    Refused(String),
    /// The gateway's certificate was refused.
    #[error("cannot trust the gateway at {url}: {message}")]
    Certificate {
        /// The address tried.
        url: String,
        /// Why, in one line (e.g. "certificate not trusted — pass --tls-ca FILE").
        message: String,
    },
    /// A name given on the command line matched nothing or several things.
    #[error("{0}")]
    Name(String),
    /// A JSON body did not parse.
    #[error("unexpected answer from the gateway: {0}")]
    Json(#[from] serde_json::Error),
    /// Terminal or file I/O failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The WebSocket failed.
    #[error("websocket: {0}")]
    WebSocket(String),
}

/// Result with the front end's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
