//! The gateway's part of `CONFIG_DIR/config.toml`: `[activity]`, `[[presets]]`, `[[sources]]` and
//! `[notify]`.
//!
//! The file's shape is `controlroom_config::ConfigFile`, which the front end parses too: each side
//! takes its own part and ignores the other's by that type's structure. Here the gateway checks
//! what its tables say (names, URLs, counts) and makes CA files relative to the file. Errors name
//! the file, and the line and the key when the file does not parse.

pub use controlroom_config::AnswerSection;
pub use controlroom_config::{
    ActivitySection, CommandLine, ConfigFile, ConfigFileError, HeaderValue, NotifySection, PresetSection,
    SourceKind, SourceSection,
};
use std::path::{Path, PathBuf};

/// The gateway's tables of the config file, checked.
pub type FileConfig = controlroom_config::GatewayTables;

/// A config file the gateway cannot use.
#[derive(Debug, thiserror::Error)]
pub enum FileConfigError {
    /// It could not be read or parsed.
    #[error(transparent)]
    File(#[from] ConfigFileError),
    /// It parsed, but one of the gateway's tables says something the gateway refuses.
    #[error("{}: {problem}", path.display())]
    Tables {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: TableProblem,
    },
}

/// What the gateway refuses in its tables.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableProblem {
    /// A preset without a name or a command.
    #[error("preset `{name}`: name and command must not be empty")]
    EmptyPreset {
        /// The preset's name.
        name: String,
    },
    /// Two presets of one name.
    #[error("preset `{name}` is defined twice")]
    DuplicatePreset {
        /// The name.
        name: String,
    },
    /// A source name that is not letters, digits, `-` or `_`.
    #[error("source name `{name}` must be letters, digits, `-` or `_`")]
    SourceName {
        /// The name.
        name: String,
    },
    /// Two sources of one name.
    #[error("source `{name}` is defined twice")]
    DuplicateSource {
        /// The name.
        name: String,
    },
    /// An http source whose URL is not `http://` or `https://`.
    #[error("source `{name}`: url `{url}` must start with http:// or https://")]
    SourceUrl {
        /// The source.
        name: String,
        /// The URL as written.
        url: String,
    },
    /// An http source without a URL.
    #[error("source `{name}`: kind http needs `url`")]
    MissingUrl {
        /// The source.
        name: String,
    },
    /// A command source without a command.
    #[error("source `{name}`: kind command needs `command`")]
    MissingCommand {
        /// The source.
        name: String,
    },
    /// A count that must be at least one was zero.
    #[error("{key}: 0 is outside 1..")]
    Zero {
        /// Where, e.g. `[activity] scan-lines`.
        key: String,
    },
}

/// Reads the gateway's tables from `path`; a missing file is the empty config when `optional`.
pub fn load(path: &Path, optional: bool) -> Result<FileConfig, FileConfigError> {
    let file = ConfigFile::load(path, optional)?;
    checked(file.gateway, path)
}

/// Parses config text and takes the gateway's tables; `path` names the file in errors and anchors
/// relative CA files.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, FileConfigError> {
    let file = ConfigFile::parse(text, path)?;
    checked(file.gateway, path)
}

/// The tables after the gateway's checks, with CA files relative to the file's directory.
fn checked(mut config: FileConfig, path: &Path) -> Result<FileConfig, FileConfigError> {
    check(&config).map_err(|problem| FileConfigError::Tables { path: path.to_path_buf(), problem })?;
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

fn check(config: &FileConfig) -> Result<(), TableProblem> {
    check_activity("[activity]", &config.activity)?;
    let mut names = std::collections::BTreeSet::new();
    for p in &config.presets {
        if p.name.trim().is_empty() || p.command.argv().is_empty() {
            return Err(TableProblem::EmptyPreset { name: p.name.clone() });
        }
        if !names.insert(p.name.clone()) {
            return Err(TableProblem::DuplicatePreset { name: p.name.clone() });
        }
        check_activity(&format!("[presets.activity] of `{}`", p.name), &p.activity)?;
    }
    let mut names = std::collections::BTreeSet::new();
    for s in &config.sources {
        let name = || s.name.clone();
        if s.name.trim().is_empty()
            || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(TableProblem::SourceName { name: name() });
        }
        if !names.insert(s.name.clone()) {
            return Err(TableProblem::DuplicateSource { name: name() });
        }
        match s.kind {
            SourceKind::Http => match &s.url {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
                Some(u) => return Err(TableProblem::SourceUrl { name: name(), url: u.clone() }),
                None => return Err(TableProblem::MissingUrl { name: name() }),
            },
            SourceKind::Command => {
                if s.command.as_ref().is_none_or(|c| c.argv().is_empty()) {
                    return Err(TableProblem::MissingCommand { name: name() });
                }
            }
        }
    }
    let n = &config.notify;
    nonzero("[notify] timeout-ms", n.timeout_ms)?;
    nonzero("[notify] attempts", n.attempts.map(u64::from))?;
    nonzero("[notify] queue", n.queue.map(|v| v as u64))
}

/// Counts of `[activity]` that a zero would break are refused rather than raised to one.
fn check_activity(table: &str, a: &ActivitySection) -> Result<(), TableProblem> {
    nonzero(&format!("{table} active-chunks"), a.active_chunks.map(|v| v as u64))?;
    nonzero(&format!("{table} scan-lines"), a.scan_lines.map(|v| v as u64))
}

fn nonzero(key: &str, value: Option<u64>) -> Result<(), TableProblem> {
    match value {
        Some(0) => Err(TableProblem::Zero { key: key.to_owned() }),
        _ => Ok(()),
    }
}

/// The default config dir, e.g. `~/.config/controlroom`.
pub fn default_config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "controlroom").map(|d| d.config_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, FileConfigError> {
        super::parse(text, Path::new("/x/config.toml"))
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
            ("[activity]\nscan-lines = 0\n", "[activity] scan-lines: 0 is outside 1.."),
            ("[notify]\nattempts = 0\n", "[notify] attempts"),
            (
                "[[presets]]\nname = \"p\"\ncommand = \"x\"\n[presets.activity]\nactive-chunks = 0\n",
                "active-chunks",
            ),
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
