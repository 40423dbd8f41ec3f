//! Set-up values of the front end that do not change while it runs.

use super::attention::NotifyMode;
use super::term::SCROLLBACK_LINES;
use crate::keymap::KeyMap;

/// Set-up values that do not change while running.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Key bindings.
    pub keys: KeyMap,
    /// Leave the program on detach (`controlroom attach`).
    pub exit_on_detach: bool,
    /// The configured default command, empty for the gateway's default.
    pub default_command: String,
    /// Theme names in cycling order.
    pub themes: Vec<String>,
    /// Desktop notifications on `asking` and failed exits.
    pub notify: NotifyMode,
    /// Scrollback lines kept for the watched worker.
    pub scrollback_lines: usize,
    /// Time between frames while the screen keeps changing.
    pub frame_interval: std::time::Duration,
    /// Largest message a worker socket accepts, in bytes (`max-message-mib`).
    pub max_message: usize,
    /// The token is read-only: nothing is sent that the gateway would refuse (keys, resizes,
    /// changes), and the actions that would be refused are not offered.
    pub read_only: bool,
    /// The directory `controlroom` was started in, when the gateway runs on this machine: new
    /// sessions start there unless the user types another.
    pub start_dir: Option<String>,
    /// Most tiles on one page of the wall (`wall-max-tiles`).
    pub wall_max_tiles: usize,
    /// How long the first key of a two-key chord waits for the second (`chord-timeout-ms`).
    pub chord_timeout: std::time::Duration,
    /// Most bytes of text one copy puts on the clipboard (`clipboard-max-kib`).
    pub clipboard_max: usize,
    /// Most bytes a worker socket reads from the gateway at once (`ws-read-buffer-kib`).
    pub ws_read_buffer: usize,
    /// Bounds of the socket queues (`worker-report-queue`, `worker-send-queue`,
    /// `app-send-queue`).
    pub queues: crate::defaults::QueueLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keys: KeyMap::default(),
            exit_on_detach: false,
            default_command: String::new(),
            themes: controlroom_themes::BUILTIN.iter().map(|t| t.name.to_owned()).collect(),
            // Off unless the config (default `auto`) turns it on: tests never write to stdout.
            notify: NotifyMode::Off,
            scrollback_lines: SCROLLBACK_LINES,
            frame_interval: crate::defaults::FRAME,
            max_message: crate::defaults::WORKER_MAX_MESSAGE,
            read_only: false,
            start_dir: None,
            wall_max_tiles: super::wall::WALL_MAX_TILES,
            chord_timeout: crate::defaults::CHORD_TIMEOUT,
            clipboard_max: crate::defaults::CLIPBOARD_MAX,
            ws_read_buffer: crate::defaults::WS_READ_BUFFER,
            queues: crate::defaults::QueueLimits::default(),
        }
    }
}
