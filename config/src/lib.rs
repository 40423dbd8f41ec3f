//! The typed shape of `CONFIG_DIR/config.toml`, the one file both the gateway and the front end
//! read: [`ConfigFile`] holds the gateway's tables and the front end's keys side by side.
//!
//! Both sides parse the whole file with [`ConfigFile::parse`], so each knows the other's names by
//! this type's structure (never by a list kept by hand) and an unknown key anywhere is an error
//! naming the file, the line and the key. What a value means (a key spec, a pattern, a URL) is
//! checked by the side that uses it. No I/O beyond [`ConfigFile::load`] reading the file.

mod front_end;
mod gateway;

pub use front_end::{FrontEndKeys, KeyList};
pub use gateway::AnswerSection;
pub use gateway::{
    ActivitySection, CommandLine, GatewayTables, HeaderValue, NotifySection, PresetSection, SourceKind,
    SourceSection,
};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of the file inside the config dir.
pub const FILE_NAME: &str = "config.toml";

/// `config.toml` as written, split by the side that reads each part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// `[activity]`, `[[presets]]`, `[[sources]]`, `[notify]`.
    pub gateway: GatewayTables,
    /// `theme`, `detach`, `default-command`, `gateway-url`, `tls-ca`, `desktop-notify`,
    /// `scrollback-lines`, `frame-interval-ms`, `max-message-mib`, `wall-max-tiles`, `[keys]`,
    /// `copy-mode`, `chord-timeout-ms`, `clipboard-max-kib`, `ws-read-buffer-kib`,
    /// `worker-report-queue`, `worker-send-queue`, `app-send-queue`, `event-queue`.
    pub front_end: FrontEndKeys,
}

/// The file's top level exactly as it is laid out on disk (every key at the top level, the
/// gateway's tables beside the front end's keys). serde's `flatten` would group them without this
/// copy, but it buffers the document and loses the line of an error, and it cannot refuse unknown
/// keys; the conversion below is checked by the compiler, so a key added to one side's struct and
/// not here does not build.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Layout {
    theme: Option<String>,
    detach: Option<String>,
    default_command: Option<String>,
    gateway_url: Option<String>,
    tls_ca: Option<PathBuf>,
    desktop_notify: Option<String>,
    scrollback_lines: Option<usize>,
    frame_interval_ms: Option<u64>,
    max_message_mib: Option<usize>,
    wall_max_tiles: Option<usize>,
    #[serde(default)]
    keys: BTreeMap<String, KeyList>,
    copy_mode: Option<String>,
    chord_timeout_ms: Option<u64>,
    clipboard_max_kib: Option<usize>,
    ws_read_buffer_kib: Option<usize>,
    worker_report_queue: Option<usize>,
    worker_send_queue: Option<usize>,
    app_send_queue: Option<usize>,
    event_queue: Option<usize>,
    #[serde(default)]
    activity: ActivitySection,
    #[serde(default)]
    presets: Vec<PresetSection>,
    #[serde(default)]
    sources: Vec<SourceSection>,
    #[serde(default)]
    notify: NotifySection,
    worktree_dir: Option<String>,
    worktree_setup: Option<String>,
}

impl From<Layout> for ConfigFile {
    fn from(l: Layout) -> Self {
        Self {
            gateway: GatewayTables {
                activity: l.activity,
                presets: l.presets,
                sources: l.sources,
                notify: l.notify,
                worktree_dir: l.worktree_dir,
                worktree_setup: l.worktree_setup,
            },
            front_end: FrontEndKeys {
                theme: l.theme,
                detach: l.detach,
                default_command: l.default_command,
                gateway_url: l.gateway_url,
                tls_ca: l.tls_ca,
                desktop_notify: l.desktop_notify,
                scrollback_lines: l.scrollback_lines,
                frame_interval_ms: l.frame_interval_ms,
                max_message_mib: l.max_message_mib,
                wall_max_tiles: l.wall_max_tiles,
                keys: l.keys,
                copy_mode: l.copy_mode,
                chord_timeout_ms: l.chord_timeout_ms,
                clipboard_max_kib: l.clipboard_max_kib,
                ws_read_buffer_kib: l.ws_read_buffer_kib,
                worker_report_queue: l.worker_report_queue,
                worker_send_queue: l.worker_send_queue,
                app_send_queue: l.app_send_queue,
                event_queue: l.event_queue,
            },
        }
    }
}

/// A config file that could not be read or parsed; names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct ConfigFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: FileProblem,
}

/// What is wrong with a config file.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// It could not be read.
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// It is not valid TOML, or a key is unknown or has the wrong type.
    #[error("{}{message}", line.map_or_else(String::new, |l| format!("line {l}: ")))]
    Syntax {
        /// The line (1-based) of the offending key or value, when known.
        line: Option<usize>,
        /// The parser's message, naming the key.
        message: String,
    },
}

impl ConfigFile {
    /// Reads `path`; a missing file is the empty config when `optional`.
    pub fn load(path: &Path, optional: bool) -> Result<Self, ConfigFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigFileError { path: path.to_path_buf(), problem: FileProblem::Read(e) }),
        }
    }

    /// Parses config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigFileError> {
        let layout: Layout = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            // serde says "field"; the file has keys.
            let message = e.message().trim().replacen("unknown field", "unknown key", 1);
            ConfigFileError { path: path.to_path_buf(), problem: FileProblem::Syntax { line, message } }
        })?;
        Ok(layout.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigFileError> {
        ConfigFile::parse(text, Path::new("/x/config.toml"))
    }

    #[test]
    fn empty_is_default() {
        assert_eq!(parse("").expect("empty"), ConfigFile::default());
    }

    #[test]
    fn both_sides_keys_land_in_their_part() {
        let c = parse(
            "theme = \"light\"\nframe-interval-ms = 13\nmax-message-mib = 64\n[keys]\nquit = [\"q\", \"ctrl-q\"]\n[activity]\nidle-after-ms = 500\n[notify]\nwebhook = \"http://h/\"\n",
        )
        .expect("mixed file");
        assert_eq!(c.front_end.theme.as_deref(), Some("light"));
        assert_eq!(c.front_end.frame_interval_ms, Some(13));
        assert_eq!(c.front_end.max_message_mib, Some(64));
        assert_eq!(c.front_end.keys["quit"].clone().into_vec(), ["q", "ctrl-q"]);
        assert_eq!(c.gateway.activity.idle_after_ms, Some(500));
        assert_eq!(c.gateway.notify.webhook.as_deref(), Some("http://h/"));
    }

    #[test]
    fn unknown_keys_name_the_file_line_and_key() {
        let e = parse("theme = \"dark\"\ncolour = 1\n").expect_err("unknown top-level key");
        let text = e.to_string();
        assert!(text.starts_with("/x/config.toml: line 2: unknown key `colour`"), "{text}");
        let e = parse("[activity]\nidle-after = 3\n").expect_err("unknown key in a table");
        let text = e.to_string();
        assert!(text.starts_with("/x/config.toml: line 2") && text.contains("idle-after"), "{text}");
        let e = parse("scrollback-lines = \"many\"\n").expect_err("wrong type");
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn a_missing_file_is_empty_only_when_optional() {
        let path = Path::new("/nonexistent-controlroom-dir/config.toml");
        assert_eq!(ConfigFile::load(path, true).expect("optional"), ConfigFile::default());
        let e = ConfigFile::load(path, false).expect_err("required");
        assert!(matches!(e.problem, FileProblem::Read(_)), "{e}");
    }
}
