//! The gateway's part of `CONFIG_DIR/config.toml`: `[activity]`, `[[presets]]`, `[[sources]]` and
//! `[notify]`.
//!
//! The front end reads the same file for its own keys (`theme`, `keys`, …). Each side knows the
//! other's top-level names and skips them, and refuses anything else at the top level; inside its
//! own tables it refuses unknown keys. Errors name the file, the line and the key.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level keys owned by the front end (`controlroom-tui`'s config); the gateway skips them.
pub const FRONT_END_KEYS: &[&str] = &[
    "theme",
    "detach",
    "default-command",
    "gateway-url",
    "tls-ca",
    "desktop-notify",
    "scrollback-lines",
    "keys",
];
/// Top-level tables owned by the gateway; the front end skips them.
pub const GATEWAY_KEYS: &[&str] = &["activity", "presets", "sources", "notify"];

/// A config file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct FileConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, with the line and key when known.
    pub message: String,
}

/// The gateway's configuration file, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileConfig {
    /// Activity detection thresholds and patterns.
    #[serde(default)]
    pub activity: ActivitySection,
    /// Ways to start workers.
    #[serde(default)]
    pub presets: Vec<PresetSection>,
    /// External session sources for the poller.
    #[serde(default)]
    pub sources: Vec<SourceSection>,
    /// The webhook notifier.
    #[serde(default)]
    pub notify: NotifySection,
    /// Keys of the front end (and anything else), checked against the known names.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

/// `[activity]` (and a preset's `[presets.activity]`): every field optional; unset means default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ActivitySection {
    /// Silence (ms) after which a worker is idle.
    pub idle_after_ms: Option<u64>,
    /// Window (ms) in which `active-chunks` output chunks make a worker active.
    pub active_window_ms: Option<u64>,
    /// Output chunks within the window needed for `active`.
    pub active_chunks: Option<usize>,
    /// How long (ms) a prompt must stay on screen before the worker is `asking`.
    pub asking_after_ms: Option<u64>,
    /// Least time (ms) between two screen scans of one worker.
    pub scan_interval_ms: Option<u64>,
    /// Lines at the bottom of the screen (ending at the cursor) that patterns are tried on.
    pub scan_lines: Option<usize>,
    /// Extra prompt regexes (tried on the lines, and with spaces removed).
    #[serde(default)]
    pub asking_patterns: Vec<String>,
    /// Drop the built-in prompt patterns and use only `asking-patterns`.
    pub replace_patterns: Option<bool>,
    /// Regexes on the terminal title (OSC 0/2) that mean the program waits for the user.
    #[serde(default)]
    pub title_patterns: Vec<String>,
    /// Whether OSC 9 / OSC 777 notifications mean `asking` (default true).
    pub notifications: Option<bool>,
    /// Whether a bell (BEL) means `asking` (default true).
    pub bell: Option<bool>,
}

/// One `[[presets]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PresetSection {
    /// Name clients pass as `preset`.
    pub name: String,
    /// argv (a string is split on whitespace).
    pub command: CommandLine,
    /// `shell`, `agent` or `job` (default `agent`).
    pub kind: Option<controlroom_protocol::WorkerKind>,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Activity overrides for workers of this preset.
    #[serde(default)]
    pub activity: ActivitySection,
}

/// A command given as one string (split on whitespace) or as an argv list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    /// `"gh pr list --json number,title"`.
    Line(String),
    /// `["sh", "-c", "…"]`.
    Argv(Vec<String>),
}

impl CommandLine {
    /// The argv.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Line(l) => l.split_whitespace().map(str::to_owned).collect(),
            Self::Argv(v) => v.clone(),
        }
    }
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SourceSection {
    /// Name shown in the dashboard and in each session's `source`.
    pub name: String,
    /// `http` or `command`.
    pub kind: SourceKind,
    /// `http`: the URL to GET (`http://` or `https://`).
    pub url: Option<String>,
    /// `http`: a PEM file of CA certificates trusted for this source's `https://` URL, beside the
    /// web PKI roots and `--outbound-ca` (relative to the config file's directory).
    pub ca_file: Option<PathBuf>,
    /// `http`: request headers; a value may be `{ env = "VAR", prefix = "Bearer " }`.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    /// `command`: the program to run; it prints the JSON on stdout.
    pub command: Option<CommandLine>,
    /// Dotted path to the list in the document (`""` for the document itself), e.g. `data.items`.
    #[serde(default)]
    pub list: String,
    /// Dotted path to an item's id (default `id`).
    pub id: Option<String>,
    /// Dotted path to an item's title (default `title`).
    pub title: Option<String>,
    /// Dotted path to an item's status (default `status`; missing is fine).
    pub status: Option<String>,
    /// How long one read may take (ms).
    pub timeout_ms: Option<u64>,
    /// Time between reads (ms); default the poll interval.
    pub interval_ms: Option<u64>,
}

/// Where a source reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// GET a JSON document.
    Http,
    /// Run a command printing a JSON document.
    Command,
}

impl SourceKind {
    /// `http` or `command`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Command => "command",
        }
    }
}

/// A header value: literal, or read from an environment variable at each request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum HeaderValue {
    /// A literal value.
    Literal(String),
    /// `{ env = "API_KEY", prefix = "Bearer " }`.
    Env {
        /// The variable holding the secret.
        env: String,
        /// Text put before it.
        #[serde(default)]
        prefix: String,
    },
}

/// `[notify]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NotifySection {
    /// Webhook URL (`http://` or `https://`); `--notify-webhook` wins.
    pub webhook: Option<String>,
    /// A PEM file of CA certificates trusted for an `https://` webhook, beside the web PKI roots
    /// and `--outbound-ca` (relative to the config file's directory).
    pub ca_file: Option<PathBuf>,
    /// Events to send: `created`, `updated`, `deleted`, `asking`, `exited`, `activity`.
    pub on: Option<Vec<String>>,
    /// Per-attempt timeout (ms).
    pub timeout_ms: Option<u64>,
    /// Attempts per delivery.
    pub attempts: Option<u32>,
    /// Deliveries queued before new ones are dropped.
    pub queue: Option<usize>,
}

impl FileConfig {
    /// Reads `path`; a missing file is the empty config when `optional`.
    pub fn load(path: &Path, optional: bool) -> Result<Self, FileConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(FileConfigError { path: path.to_path_buf(), message: e.to_string() }),
        }
    }

    /// Parses config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, FileConfigError> {
        let err = |message: String| FileConfigError { path: path.to_path_buf(), message };
        let mut config: FileConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim().to_owned();
            err(match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            })
        })?;
        if let Some(key) = config.other.keys().find(|k| !FRONT_END_KEYS.contains(&k.as_str())) {
            return Err(err(format!(
                "unknown key `{key}` (the gateway reads {}; the front end reads {})",
                GATEWAY_KEYS.join(", "),
                FRONT_END_KEYS.join(", ")
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &config.presets {
            if p.name.trim().is_empty() || p.command.argv().is_empty() {
                return Err(err(format!("preset `{}`: name and command must not be empty", p.name)));
            }
            if !names.insert(p.name.clone()) {
                return Err(err(format!("preset `{}` is defined twice", p.name)));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &config.sources {
            if s.name.trim().is_empty()
                || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(err(format!("source name `{}` must be letters, digits, `-` or `_`", s.name)));
            }
            if !names.insert(s.name.clone()) {
                return Err(err(format!("source `{}` is defined twice", s.name)));
            }
            match s.kind {
                SourceKind::Http => match &s.url {
                    Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
                    Some(u) => {
                        return Err(err(format!(
                            "source `{}`: url `{u}` must start with http:// or https://",
                            s.name
                        )));
                    }
                    None => return Err(err(format!("source `{}`: kind http needs `url`", s.name))),
                },
                SourceKind::Command => {
                    if s.command.as_ref().is_none_or(|c| c.argv().is_empty()) {
                        return Err(err(format!("source `{}`: kind command needs `command`", s.name)));
                    }
                }
            }
        }
        // CA files are relative to the config file, wherever the gateway was started.
        let dir = path.parent().unwrap_or(Path::new(""));
        let resolve = |f: &mut Option<PathBuf>| {
            if let Some(p) = f.as_mut().filter(|p| p.is_relative()) {
                *p = dir.join(&*p);
            }
        };
        resolve(&mut config.notify.ca_file);
        config.sources.iter_mut().for_each(|s| resolve(&mut s.ca_file));
        Ok(config)
    }
}

/// The default config file: `CONFIG_DIR/config.toml` (e.g. `~/.config/controlroom/config.toml`).
pub fn default_config_file() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "controlroom").map(|d| d.config_dir().join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, FileConfigError> {
        FileConfig::parse(text, Path::new("/x/config.toml"))
    }

    #[test]
    fn empty_and_front_end_keys_are_fine() {
        assert_eq!(parse("").expect("empty"), FileConfig::default());
        let c = parse("theme = \"light\"\n[keys]\nquit = \"q\"\n[activity]\nidle-after-ms = 500\n")
            .expect("mixed file");
        assert_eq!(c.activity.idle_after_ms, Some(500));
    }

    #[test]
    fn unknown_keys_name_the_file_line_and_key() {
        let e = parse("[activity]\nidle-after = 3\n").expect_err("unknown key in a table");
        let text = e.to_string();
        assert!(text.starts_with("/x/config.toml: line 2"), "{text}");
        assert!(text.contains("idle-after"), "{text}");
        let e = parse("colour = 1\n").expect_err("unknown top-level key");
        assert!(e.to_string().contains("unknown key `colour`"), "{e}");
    }

    #[test]
    fn presets_sources_and_notify() {
        let c = parse(
            r#"
[[presets]]
name = "claude-yolo"
command = "claude --dangerously-skip-permissions"
env = { FOO = "1" }
[presets.activity]
asking-patterns = ["Proceed\\?"]

[[sources]]
name = "jules"
kind = "http"
url = "http://127.0.0.1:9/sessions"
headers = { Authorization = { env = "JULES_KEY", prefix = "Bearer " }, X-Static = "1" }
list = "data.sessions"
status = "state"

[[sources]]
name = "prs"
kind = "command"
command = ["gh", "pr", "list", "--json", "number,title,state"]
id = "number"

[notify]
webhook = "http://127.0.0.1:9/hook"
on = ["asking", "exited"]
"#,
        )
        .expect("full file");
        assert_eq!(c.presets[0].command.argv(), ["claude", "--dangerously-skip-permissions"]);
        assert_eq!(c.presets[0].activity.asking_patterns, ["Proceed\\?"]);
        assert_eq!(
            c.sources[0].headers["Authorization"],
            HeaderValue::Env { env: "JULES_KEY".into(), prefix: "Bearer ".into() }
        );
        assert_eq!(c.sources[1].kind, SourceKind::Command);
        assert_eq!(c.notify.on.as_deref(), Some(&["asking".to_string(), "exited".to_string()][..]));
    }

    #[test]
    fn https_urls_and_ca_files_relative_to_the_config() {
        let c = parse(
            "[[sources]]\nname = \"a\"\nkind = \"http\"\nurl = \"https://x/\"\nca-file = \"ca.pem\"\n[notify]\nwebhook = \"https://h/\"\nca-file = \"/etc/hook-ca.pem\"\n",
        )
        .expect("https is fine");
        assert_eq!(c.sources[0].ca_file, Some(PathBuf::from("/x/ca.pem")));
        assert_eq!(c.notify.ca_file, Some(PathBuf::from("/etc/hook-ca.pem")));
    }

    #[test]
    fn bad_sources_and_presets_are_refused() {
        for (text, needle) in [
            ("[[sources]]\nname = \"a\"\nkind = \"http\"\n", "needs `url`"),
            ("[[sources]]\nname = \"a\"\nkind = \"http\"\nurl = \"ftp://x\"\n", "http:// or https://"),
            ("[[sources]]\nname = \"a b\"\nkind = \"command\"\ncommand = \"x\"\n", "letters, digits"),
            ("[[sources]]\nname = \"a\"\nkind = \"ftp\"\n", "ftp"),
            ("[[presets]]\nname = \"p\"\ncommand = \"\"\n", "must not be empty"),
            (
                "[[presets]]\nname = \"p\"\ncommand = \"x\"\n[[presets]]\nname = \"p\"\ncommand = \"y\"\n",
                "twice",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
