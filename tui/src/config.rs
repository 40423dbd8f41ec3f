//! `CONFIG_DIR/config.toml`: theme, keys, detach chord, default command, gateway URL and the CA
//! that signs its certificate.
//!
//! The file's shape is `controlroom_config::ConfigFile`, shared with the gateway: this side takes
//! its `front_end` part and ignores the gateway's tables. Unknown keys are errors that name the
//! file, the line and the key, so a typo never silently does nothing; the values (key specs,
//! ranges, modes) are checked here.

use crate::error::{Error, Result};
use crate::keymap::{Action, KeyMap, KeySpec};
use crate::state::attention::NotifyMode;
use controlroom_config::{ConfigFile, ConfigFileError, FrontEndKeys};
use std::path::{Path, PathBuf};

/// Largest `scrollback-lines` accepted (the screen model keeps each row up to its last written
/// cell, 16 bytes a cell: at most ~3 MiB per 1,000 rows 200 columns wide).
pub const MAX_SCROLLBACK_LINES: usize = 100_000;

/// `frame-interval-ms` accepted: 1 ms (a frame per millisecond while output floods) to 1 s.
pub const FRAME_INTERVAL_MS: std::ops::RangeInclusive<u64> = 1..=1000;

/// `max-message-mib` accepted: the largest message a worker socket takes, 1 MiB to 1 GiB.
pub const MAX_MESSAGE_MIB: std::ops::RangeInclusive<usize> = 1..=1024;

/// `wall-max-tiles` accepted: tiles on one page of the wall (one worker socket each).
pub const WALL_MAX_TILES: std::ops::RangeInclusive<usize> = 1..=64;
/// `chord-timeout-ms` accepted: 10 ms to 5 s.
pub const CHORD_TIMEOUT_MS: std::ops::RangeInclusive<u64> = 10..=5000;

/// `clipboard-max-kib` accepted: 1 KiB to 64 MiB.
pub const CLIPBOARD_MAX_KIB: std::ops::RangeInclusive<usize> = 1..=65536;

/// `ws-read-buffer-kib` accepted: 1 KiB to 1 MiB.
pub const WS_READ_BUFFER_KIB: std::ops::RangeInclusive<usize> = 1..=1024;

/// `worker-report-queue` accepted: reports one worker socket may have waiting for the loop.
pub const WORKER_REPORT_QUEUE: std::ops::RangeInclusive<usize> = 1..=4096;

/// `worker-send-queue` accepted: keys, pastes and resizes waiting for the watched worker's socket.
pub const WORKER_SEND_QUEUE: std::ops::RangeInclusive<usize> = 1..=65536;

/// `app-send-queue` accepted: requests waiting for the app socket.
pub const APP_SEND_QUEUE: std::ops::RangeInclusive<usize> = 1..=4096;

/// `event-queue` accepted: reports from the sockets and requests waiting for the front end's loop.
pub const EVENT_QUEUE: std::ops::RangeInclusive<usize> = 1..=65536;

/// A front-end value outside the range it must be in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {value} is outside {start}..={end}")]
pub struct OutOfRange {
    /// The key, e.g. `scrollback-lines`.
    pub key: &'static str,
    /// The value as written.
    pub value: u64,
    /// Least value accepted.
    pub start: u64,
    /// Largest value accepted.
    pub end: u64,
}

/// `value` when `range` holds it, else the error naming `key` and the range.
fn in_range<T>(
    key: &'static str,
    value: T,
    range: &std::ops::RangeInclusive<T>,
) -> std::result::Result<T, OutOfRange>
where
    T: PartialOrd + Copy,
    u64: TryFrom<T>,
{
    if range.contains(&value) {
        return Ok(value);
    }
    // Every range here is of usize or u64, which fit a u64 on the platforms we build for.
    let wide = |v: T| u64::try_from(v).unwrap_or(u64::MAX);
    Err(OutOfRange { key, value: wide(value), start: wide(*range.start()), end: wide(*range.end()) })
}

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Theme name (`dark` by default).
    pub theme: String,
    /// Key bindings, including the detach chord.
    pub keys: KeyMap,
    /// Command line for new sessions and workers; empty for the gateway's default (`$SHELL`).
    pub default_command: String,
    /// Gateway to connect to instead of the local one.
    pub gateway_url: Option<String>,
    /// PEM file of the CA (or the self-signed certificate) an `https://` gateway is trusted by,
    /// beside the web PKI roots; relative to the config file's directory.
    pub tls_ca: Option<PathBuf>,
    /// Desktop notifications (`desktop-notify = "auto" | "osc9" | "osc777" | "bell" | "off"`).
    pub notify: NotifyMode,
    /// Lines of scrollback kept per attached or previewed worker (`scrollback-lines`).
    pub scrollback_lines: usize,
    /// Time between frames while the screen keeps changing (`frame-interval-ms`).
    pub frame_interval: std::time::Duration,
    /// Largest message a worker socket accepts, in bytes (`max-message-mib`); a worker's
    /// attach-time `history` (its whole scrollback) must fit.
    pub max_message: usize,
    /// Most tiles on one page of the wall, so most worker sockets it opens (`wall-max-tiles`).
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

/// The file's own problem (unreadable, bad TOML, unknown key) as the front end's config error.
fn file_error(e: ConfigFileError) -> Error {
    Error::Config { path: e.path, message: e.problem.to_string() }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            theme: controlroom_themes::DEFAULT_THEME.to_owned(),
            keys: KeyMap::default(),
            default_command: String::new(),
            gateway_url: None,
            tls_ca: None,
            notify: NotifyMode::Auto,
            scrollback_lines: crate::state::term::SCROLLBACK_LINES,
            frame_interval: crate::runtime::FRAME,
            max_message: crate::client::ws::WORKER_MAX_MESSAGE,
            wall_max_tiles: crate::state::wall::WALL_MAX_TILES,
            chord_timeout: crate::defaults::CHORD_TIMEOUT,
            clipboard_max: crate::defaults::CLIPBOARD_MAX,
            ws_read_buffer: crate::defaults::WS_READ_BUFFER,
            queues: crate::defaults::QueueLimits::default(),
        }
    }
}

impl Config {
    /// Reads `dir/config.toml`; a missing file is the default config.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(controlroom_config::FILE_NAME);
        let file = ConfigFile::load(&path, true).map_err(file_error)?;
        Self::from_keys(file.front_end, &path)
    }

    /// Parses config text; `path` is used in error messages and anchors a relative `tls-ca`.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let file = ConfigFile::parse(text, path).map_err(file_error)?;
        Self::from_keys(file.front_end, path)
    }

    /// Checks the front end's keys (the gateway's tables are the gateway's to check).
    fn from_keys(file: FrontEndKeys, path: &Path) -> Result<Self> {
        let err = |message: String| Error::Config { path: PathBuf::from(path), message };
        let mut config = Self::default();
        if let Some(theme) = file.theme {
            config.theme = theme;
        }
        if let Some(cmd) = file.default_command {
            config.default_command = cmd;
        }
        config.gateway_url = file.gateway_url;
        config.tls_ca = file.tls_ca.map(|ca| path.parent().map_or_else(|| ca.clone(), |dir| dir.join(&ca)));
        if let Some(mode) = file.desktop_notify {
            config.notify = NotifyMode::parse(&mode).ok_or_else(|| {
                err(format!("desktop-notify: unknown value {mode:?} (auto, osc9, osc777, bell, off)"))
            })?;
        }
        if let Some(lines) = file.scrollback_lines {
            config.scrollback_lines = in_range("scrollback-lines", lines, &(1..=MAX_SCROLLBACK_LINES))
                .map_err(|e| err(e.to_string()))?;
        }
        if let Some(ms) = file.frame_interval_ms {
            let ms = in_range("frame-interval-ms", ms, &FRAME_INTERVAL_MS).map_err(|e| err(e.to_string()))?;
            config.frame_interval = std::time::Duration::from_millis(ms);
        }
        if let Some(mib) = file.max_message_mib {
            config.max_message =
                in_range("max-message-mib", mib, &MAX_MESSAGE_MIB).map_err(|e| err(e.to_string()))? << 20;
        }
        if let Some(tiles) = file.wall_max_tiles {
            config.wall_max_tiles =
                in_range("wall-max-tiles", tiles, &WALL_MAX_TILES).map_err(|e| err(e.to_string()))?;
        }
        if let Some(detach) = file.detach {
            config.keys.detach = KeySpec::parse(&detach).map_err(|e| err(format!("detach: {e}")))?;
            // Copy mode's chord starts with the detach key unless `copy-mode` says otherwise.
            if let Some(first) = config.keys.copy_mode.first_mut() {
                *first = config.keys.detach;
            }
        }
        if let Some(chord) = file.copy_mode {
            config.keys.copy_mode =
                crate::keymap::parse_chord(&chord).map_err(|e| err(format!("copy-mode: {e}")))?;
        }
        if let Some(ms) = file.chord_timeout_ms {
            let ms = in_range("chord-timeout-ms", ms, &CHORD_TIMEOUT_MS).map_err(|e| err(e.to_string()))?;
            config.chord_timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(kib) = file.clipboard_max_kib {
            config.clipboard_max =
                in_range("clipboard-max-kib", kib, &CLIPBOARD_MAX_KIB).map_err(|e| err(e.to_string()))? << 10;
        }
        if let Some(kib) = file.ws_read_buffer_kib {
            config.ws_read_buffer = in_range("ws-read-buffer-kib", kib, &WS_READ_BUFFER_KIB)
                .map_err(|e| err(e.to_string()))?
                << 10;
        }
        if let Some(n) = file.worker_report_queue {
            config.queues.worker_reports =
                in_range("worker-report-queue", n, &WORKER_REPORT_QUEUE).map_err(|e| err(e.to_string()))?;
        }
        if let Some(n) = file.worker_send_queue {
            config.queues.worker_sends =
                in_range("worker-send-queue", n, &WORKER_SEND_QUEUE).map_err(|e| err(e.to_string()))?;
        }
        if let Some(n) = file.app_send_queue {
            config.queues.app_sends =
                in_range("app-send-queue", n, &APP_SEND_QUEUE).map_err(|e| err(e.to_string()))?;
        }
        if let Some(n) = file.event_queue {
            config.queues.events =
                in_range("event-queue", n, &EVENT_QUEUE).map_err(|e| err(e.to_string()))?;
        }
        for (name, keys) in file.keys {
            let action = Action::from_name(&name).ok_or_else(|| {
                let known: Vec<_> = Action::ALL.iter().map(|(_, n, _)| *n).collect();
                err(format!("keys.{name}: unknown action (known: {})", known.join(", ")))
            })?;
            let specs = keys
                .into_vec()
                .iter()
                .map(|k| KeySpec::parse(k).map_err(|e| err(format!("keys.{name}: {e}"))))
                .collect::<Result<Vec<_>>>()?;
            config.keys.bind(action, specs);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("/cfg/config.toml"))
    }

    #[test]
    fn scrollback_lines_is_a_checked_limit() {
        assert_eq!(parse("").expect("empty").scrollback_lines, crate::state::term::SCROLLBACK_LINES);
        assert_eq!(parse("scrollback-lines = 20000").expect("valid").scrollback_lines, 20_000);
        let err = parse("scrollback-lines = 0").expect_err("zero").to_string();
        assert!(err.contains("config.toml") && err.contains("scrollback-lines"), "{err}");
        assert!(parse("scrollback-lines = 100001").is_err());
    }

    #[test]
    fn frame_interval_is_a_checked_limit() {
        use std::time::Duration;
        assert_eq!(parse("").expect("empty").frame_interval, crate::runtime::FRAME);
        assert_eq!(parse("frame-interval-ms = 33").expect("valid").frame_interval, Duration::from_millis(33));
        let err = parse("frame-interval-ms = 0").expect_err("zero").to_string();
        assert!(err.contains("frame-interval-ms") && err.contains("1..=1000"), "{err}");
        assert!(parse("frame-interval-ms = 1001").is_err());
    }

    #[test]
    fn ws_read_buffer_is_a_checked_limit() {
        assert_eq!(parse("").expect("empty").ws_read_buffer, crate::defaults::WS_READ_BUFFER);
        assert_eq!(parse("ws-read-buffer-kib = 4").expect("valid").ws_read_buffer, 4 << 10);
        let err = parse("ws-read-buffer-kib = 0").expect_err("zero").to_string();
        assert!(err.contains("ws-read-buffer-kib") && err.contains("1..=1024"), "{err}");
        assert!(parse("ws-read-buffer-kib = 1025").is_err());
    }

    #[test]
    fn socket_queues_are_checked_limits() {
        use crate::defaults::QueueLimits;
        assert_eq!(parse("").expect("empty").queues, QueueLimits::default());
        let c =
            parse("worker-report-queue = 8\nworker-send-queue = 100\napp-send-queue = 2\nevent-queue = 32\n")
                .expect("valid");
        assert_eq!(c.queues, QueueLimits { worker_reports: 8, worker_sends: 100, app_sends: 2, events: 32 });
        for (key, range) in [
            ("worker-report-queue", "1..=4096"),
            ("worker-send-queue", "1..=65536"),
            ("app-send-queue", "1..=4096"),
            ("event-queue", "1..=65536"),
        ] {
            let err = parse(&format!("{key} = 0")).expect_err("zero").to_string();
            assert!(err.contains("config.toml") && err.contains(key) && err.contains(range), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        assert!(parse("worker-report-queue = 4097").is_err());
        assert!(parse("worker-send-queue = 65537").is_err());
        assert!(parse("app-send-queue = 4097").is_err());
    }

    #[test]
    fn copy_mode_chord_timeout_and_clipboard_cap_are_checked() {
        let c = parse("copy-mode = \"ctrl-a v\"\nchord-timeout-ms = 500\nclipboard-max-kib = 64\n")
            .expect("valid");
        assert_eq!(c.keys.copy_mode, crate::keymap::parse_chord("ctrl-a v").expect("chord"));
        assert_eq!(c.chord_timeout, std::time::Duration::from_millis(500));
        assert_eq!(c.clipboard_max, 64 << 10);
        let err = parse("copy-mode = \"a b c\"").expect_err("three keys").to_string();
        assert!(err.contains("copy-mode") && err.contains("one or two keys"), "{err}");
        let err = parse("chord-timeout-ms = 0").expect_err("zero").to_string();
        assert!(err.contains("chord-timeout-ms") && err.contains("10..=5000"), "{err}");
        assert!(parse("clipboard-max-kib = 0").is_err());
        let moved = parse("detach = \"ctrl-]\"").expect("valid");
        assert_eq!(
            moved.keys.copy_mode,
            crate::keymap::parse_chord("ctrl-] [").expect("chord"),
            "follows detach"
        );
    }

    #[test]
    fn max_message_is_a_checked_limit() {
        assert_eq!(parse("").expect("empty").max_message, crate::client::ws::WORKER_MAX_MESSAGE);
        assert_eq!(parse("max-message-mib = 100").expect("valid").max_message, 100 << 20);
        let err = parse("max-message-mib = 0").expect_err("zero").to_string();
        assert!(err.contains("max-message-mib") && err.contains("1..=1024"), "{err}");
        assert!(parse("max-message-mib = 1025").is_err());
    }

    #[test]
    fn wall_max_tiles_is_a_checked_limit() {
        assert_eq!(parse("").expect("empty").wall_max_tiles, crate::state::wall::WALL_MAX_TILES);
        assert_eq!(parse("wall-max-tiles = 9").expect("valid").wall_max_tiles, 9);
        let err = parse("wall-max-tiles = 0").expect_err("zero").to_string();
        assert!(err.contains("wall-max-tiles") && err.contains("1..=64"), "{err}");
        assert!(parse("wall-max-tiles = 65").is_err());
    }

    #[test]
    fn empty_config_is_default() {
        assert_eq!(parse("").expect("parses"), Config::default());
    }

    #[test]
    fn sets_theme_keys_and_detach() {
        let c = parse(
            "theme = \"gruvbox\"\ndetach = \"ctrl-a\"\ndefault-command = \"zsh -l\"\n[keys]\nquit = [\"Q\", \"ctrl-q\"]\nhelp = \"h\"\n",
        )
        .expect("parses");
        assert_eq!(c.theme, "gruvbox");
        assert_eq!(c.default_command, "zsh -l");
        assert!(c.keys.is_detach(&KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL)));
        assert_eq!(
            c.keys.action(&KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            Some(Action::Quit)
        );
        assert_eq!(c.keys.action(&KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        assert_eq!(c.keys.action(&KeyEvent::new(KeyCode::Char('h'), KeyModifiers::NONE)), Some(Action::Help));
    }

    #[test]
    fn gateway_url_and_ca_file() {
        let c = parse("gateway-url = \"https://gw.example:7420\"\ntls-ca = \"gw.pem\"\n").expect("parses");
        assert_eq!(c.gateway_url.as_deref(), Some("https://gw.example:7420"));
        assert_eq!(c.tls_ca, Some(PathBuf::from("/cfg/gw.pem")));
        let c = parse("tls-ca = \"/etc/ca.pem\"\n").expect("parses");
        assert_eq!(c.tls_ca, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn the_gateways_tables_are_skipped() {
        // Both sides parse the file's whole shape, so the gateway's entries must be complete here too;
        // what their values mean (patterns, URLs) is the gateway's to check.
        let c = parse("theme = \"dark\"\n[activity]\nidle-after-ms = 1\n[[presets]]\nname = \"x\"\ncommand = \"x\"\n[[sources]]\nname = \"s\"\nkind = \"http\"\n[notify]\nwebhook = \"http://h/\"\n")
            .expect("parses");
        assert_eq!(c.theme, "dark");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = parse("theme = \"dark\"\nthem = \"x\"\n").expect_err("unknown key").to_string();
        assert!(e.contains("/cfg/config.toml") && e.contains("them") && e.contains("line 2"), "{e}");
        let e = parse("[keys]\nexplode = \"x\"\n").expect_err("unknown action").to_string();
        assert!(e.contains("keys.explode"), "{e}");
        let e = parse("[keys]\nquit = \"hyper-q\"\n").expect_err("bad key").to_string();
        assert!(e.contains("keys.quit") && e.contains("hyper-q"), "{e}");
    }
}
