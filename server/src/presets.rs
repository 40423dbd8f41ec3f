//! Presets: named ways to start a worker (command, kind, env, activity patterns). Built in:
//! `shell`, and `claude`, `codex`, `aider`, listed only when the program is on the gateway's
//! `PATH`; `[[presets]]` in the config add more or replace a built-in of the same name.

use crate::file_config::PresetSection;
use crate::worker::detect::{
    AIDER_PATTERNS, ActivityRules, CLAUDE_PATTERNS, CODEX_PATTERNS, GENERIC_PATTERNS, Pattern,
};
use controlroom_protocol::{Preset, WorkerKind};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// A preset with everything the hub needs to start a worker from it.
#[derive(Debug, Clone)]
pub struct PresetDef {
    /// What clients see.
    pub preset: Preset,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Activity rules of its workers.
    pub rules: Arc<ActivityRules>,
}

/// A `[[presets]]` entry whose activity overrides were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("preset `{name}`: {message}")]
pub struct PresetError {
    /// The preset.
    pub name: String,
    /// What is wrong with its `[presets.activity]` (a pattern that does not compile).
    pub message: String,
}

/// Every preset, in listing order (built-ins first).
#[derive(Debug, Clone, Default)]
pub struct Presets {
    list: Vec<PresetDef>,
}

fn only(base: &ActivityRules, groups: &[&[&str]]) -> ActivityRules {
    let mut r = base.clone();
    r.asking = groups.concat().into_iter().filter_map(|p| Pattern::new(p).ok()).collect();
    r
}

impl Presets {
    /// The built-ins (agent presets watch only their own prompts plus the generic ones), then
    /// `sections` applied on top of `base`.
    pub fn build(base: &Arc<ActivityRules>, sections: &[PresetSection]) -> Result<Self, PresetError> {
        let builtin = |name: &str, kind, rules: ActivityRules| PresetDef {
            preset: Preset {
                name: name.into(),
                command: if name == "shell" { Vec::new() } else { vec![name.into()] },
                kind,
                origin: "builtin".into(),
                // How each agent resumes its last conversation after a reboot.
                resume_args: match name {
                    "claude" => vec!["--continue".into()],
                    "codex" => vec!["resume".into(), "--last".into()],
                    "aider" => vec!["--restore-chat-history".into()],
                    _ => Vec::new(),
                },
            },
            env: BTreeMap::new(),
            rules: Arc::new(rules),
        };
        let mut list = vec![
            builtin("shell", WorkerKind::Shell, (**base).clone()),
            builtin("claude", WorkerKind::Agent, only(base, &[CLAUDE_PATTERNS, GENERIC_PATTERNS])),
            builtin("codex", WorkerKind::Agent, only(base, &[CODEX_PATTERNS, GENERIC_PATTERNS])),
            builtin("aider", WorkerKind::Agent, only(base, &[AIDER_PATTERNS, GENERIC_PATTERNS])),
        ];
        for s in sections {
            let rules = base
                .with(&s.activity)
                .map_err(|message| PresetError { name: s.name.clone(), message: message.to_string() })?;
            let def = PresetDef {
                preset: Preset {
                    name: s.name.clone(),
                    command: s.command.argv(),
                    kind: s.kind.unwrap_or(WorkerKind::Agent),
                    origin: "config".into(),
                    resume_args: Vec::new(),
                },
                env: s.env.clone(),
                rules: Arc::new(rules),
            };
            match list.iter_mut().find(|p| p.preset.name == s.name) {
                Some(slot) => *slot = def,
                None => list.push(def),
            }
        }
        Ok(Self { list })
    }

    /// The preset called `name`.
    pub fn get(&self, name: &str) -> Option<&PresetDef> {
        self.list.iter().find(|p| p.preset.name == name)
    }

    /// What `GET /api/presets` lists: config presets, and built-ins whose program is on `path`
    /// (the value of `PATH`).
    pub fn available(&self, path: Option<&str>) -> Vec<Preset> {
        self.list
            .iter()
            .filter(|p| {
                p.preset.origin != "builtin"
                    || p.preset.command.is_empty()
                    || on_path(&p.preset.command[0], path)
            })
            .map(|p| p.preset.clone())
            .collect()
    }
}

/// Whether `program` is an executable file in one of `path`'s directories.
fn on_path(program: &str, path: Option<&str>) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(path) = path else { return false };
    std::env::split_paths(path).any(|dir| {
        let file = Path::new(&dir).join(program);
        std::fs::metadata(&file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_config::{ActivitySection, CommandLine};
    use std::time::Duration;

    #[test]
    fn builtins_appear_only_when_on_path_and_config_presets_replace_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let claude = dir.path().join("claude");
        std::fs::write(&claude, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let base = Arc::new(ActivityRules::defaults(Duration::from_secs(2)));
        let presets = Presets::build(&base, &[]).expect("presets");
        let names = |p: &Presets| -> Vec<String> {
            p.available(dir.path().to_str()).into_iter().map(|p| p.name).collect()
        };
        assert_eq!(names(&presets), ["shell", "claude"]);
        assert!(presets.get("claude").expect("claude").rules.find_prompt(&["❯ 1. Yes".into()]).is_some());
        assert!(
            presets.get("claude").expect("claude").rules.find_prompt(&["Allow command?".into()]).is_none()
        );
        let section = PresetSection {
            name: "codex".into(),
            command: CommandLine::Line("sh -c codex".into()),
            kind: None,
            env: BTreeMap::from([("A".into(), "1".into())]),
            activity: ActivitySection { asking_patterns: vec!["^go\\?$".into()], ..Default::default() },
        };
        let presets = Presets::build(&base, &[section]).expect("presets");
        assert_eq!(names(&presets), ["shell", "claude", "codex"]);
        let codex = presets.get("codex").expect("codex");
        assert_eq!((codex.preset.origin.as_str(), codex.preset.command.len()), ("config", 3));
        assert!(codex.rules.find_prompt(&["go?".into()]).is_some());
    }
}
