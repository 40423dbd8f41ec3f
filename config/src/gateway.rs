//! The gateway's tables of `config.toml`: `[activity]`, `[[presets]]`, `[[sources]]` and
//! `[notify]`, as written. The gateway checks their values (patterns, URLs, names).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The gateway's part of the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayTables {
    /// Activity detection thresholds and patterns (`[activity]`).
    pub activity: ActivitySection,
    /// Ways to start workers (`[[presets]]`).
    pub presets: Vec<PresetSection>,
    /// External session sources for the poller (`[[sources]]`).
    pub sources: Vec<SourceSection>,
    /// The webhook notifier (`[notify]`).
    pub notify: NotifySection,
    /// `worktree-dir`: where a session's worktree is made (`{repo}`, `{name}`, `{branch}`).
    pub worktree_dir: Option<String>,
    /// `worktree-setup`: a command run with `sh -c` in each new worktree (e.g. `npm ci`).
    pub worktree_setup: Option<String>,
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
    /// An answer (`"1"`, `"y"`) the gateway sends by itself to a prompt that takes it, after
    /// `auto-answer-delay-ms`.
    pub auto_answer: Option<String>,
    /// How long (ms) the auto-answer counts down first (default 3000).
    pub auto_answer_delay_ms: Option<u64>,
    /// Which answers this preset's prompts take (`[[presets.answers]]`), tried before the
    /// built-in ones (Claude Code's numbered menu, `[y/N]`, `(yes/no)`).
    #[serde(default)]
    pub answers: Vec<AnswerSection>,
}

/// One `[[presets.answers]]` entry: prompts matching `pattern` take `keys` (or, with
/// `menu = true`, the numbers of the menu on screen).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AnswerSection {
    /// Regex on the prompt line (for a menu: on the menu's cursor line).
    pub pattern: String,
    /// The answers, e.g. `["y", "n"]`.
    #[serde(default)]
    pub keys: Vec<String>,
    /// The answers are the digits of the numbered menu on screen.
    pub menu: Option<bool>,
    /// Whether an answer is followed by Enter (default: true for `keys`, false for a menu).
    pub enter: Option<bool>,
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
