//! The front end's keys of `config.toml` (`theme`, `detach`, `[keys]`, …), as written. The front
//! end checks their values (key specs, ranges, notification modes).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The front end's part of the config file; every key optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontEndKeys {
    /// Theme name (`theme`).
    pub theme: Option<String>,
    /// The detach chord (`detach`).
    pub detach: Option<String>,
    /// Command line for new sessions and workers (`default-command`).
    pub default_command: Option<String>,
    /// Gateway to connect to instead of the local one (`gateway-url`).
    pub gateway_url: Option<String>,
    /// CA file for an `https://` gateway, as written (`tls-ca`, relative to the file).
    pub tls_ca: Option<PathBuf>,
    /// Desktop notifications mode (`desktop-notify`).
    pub desktop_notify: Option<String>,
    /// Lines of scrollback per watched worker (`scrollback-lines`).
    pub scrollback_lines: Option<usize>,
    /// Time between frames while the screen keeps changing (`frame-interval-ms`).
    pub frame_interval_ms: Option<u64>,
    /// Largest worker message in MiB (`max-message-mib`).
    pub max_message_mib: Option<usize>,
    /// Most tiles on one page of the wall (`wall-max-tiles`).
    pub wall_max_tiles: Option<usize>,
    /// Key bindings by action name (`[keys]`).
    pub keys: BTreeMap<String, KeyList>,
    /// The chord that enters copy mode while attached (`copy-mode`).
    pub copy_mode: Option<String>,
    /// How long the first key of a two-key chord waits for the second (`chord-timeout-ms`).
    pub chord_timeout_ms: Option<u64>,
    /// Largest text one copy puts on the clipboard, in KiB (`clipboard-max-kib`).
    pub clipboard_max_kib: Option<usize>,
    /// Most bytes a worker socket reads from the gateway at once, in KiB (`ws-read-buffer-kib`).
    pub ws_read_buffer_kib: Option<usize>,
    /// Reports one worker socket may have waiting for the front end's loop (`worker-report-queue`).
    pub worker_report_queue: Option<usize>,
    /// Keys, pastes and resizes waiting for the watched worker's socket (`worker-send-queue`).
    pub worker_send_queue: Option<usize>,
    /// Requests waiting for the app socket (`app-send-queue`).
    pub app_send_queue: Option<usize>,
    /// Reports from the sockets and requests waiting for the front end's loop (`event-queue`).
    pub event_queue: Option<usize>,
}

/// A binding: one key or a list of keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    /// `quit = "q"`.
    One(String),
    /// `quit = ["q", "ctrl-q"]`.
    Many(Vec<String>),
}

impl KeyList {
    /// The keys, in order.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(k) => vec![k],
            Self::Many(ks) => ks,
        }
    }
}
