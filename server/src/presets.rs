//! Presets: named ways to start a worker (command, kind, env, activity patterns). Built in:
//! `shell`, and `claude`, `codex`, `aider`, listed only when the program is on the gateway's
//! `PATH`; `[[presets]]` in the config add more or replace a built-in of the same name.

use crate::file_config::{AnswerSection, PresetSection};
use crate::worker::answers::{AnswerKeys, AnswerRule};
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
            let refused = |message: String| PresetError { name: s.name.clone(), message };
            let mut rules = base.with(&s.activity).map_err(|e| refused(e.to_string()))?;
            apply_answers(&mut rules, s).map_err(refused)?;
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

/// A preset's `[[presets.answers]]` (before the built-in rules), `auto-answer` and
/// `auto-answer-delay-ms`; the error says which key is wrong.
fn apply_answers(rules: &mut ActivityRules, s: &PresetSection) -> Result<(), String> {
    let mut own = Vec::with_capacity(s.answers.len());
    for a in &s.answers {
        own.push(answer_rule(a)?);
    }
    own.append(&mut rules.answers);
    rules.answers = own;
    if let Some(answer) = &s.auto_answer {
        if answer.is_empty() || answer.chars().any(char::is_control) {
            return Err(format!("auto-answer {answer:?} must be a non-empty answer such as \"1\" or \"y\""));
        }
        rules.auto_answer = Some(answer.clone());
    }
    if let Some(ms) = s.auto_answer_delay_ms {
        rules.auto_answer_delay = std::time::Duration::from_millis(ms);
    }
    Ok(())
}

/// One `[[presets.answers]]` entry as a rule.
fn answer_rule(a: &AnswerSection) -> Result<AnswerRule, String> {
    let menu = a.menu == Some(true);
    let keys = match (menu, a.keys.is_empty()) {
        (true, true) => AnswerKeys::Menu,
        (false, false) => AnswerKeys::Fixed(a.keys.clone()),
        (true, false) => {
            return Err(format!("answers `{}`: give `keys` or `menu = true`, not both", a.pattern));
        }
        (false, true) => {
            return Err(format!(
                "answers `{}`: needs `keys` (e.g. [\"y\", \"n\"]) or `menu = true`",
                a.pattern
            ));
        }
    };
    if a.keys.iter().any(|k| k.is_empty() || k.chars().any(char::is_control)) {
        return Err(format!("answers `{}`: every key must be non-empty text", a.pattern));
    }
    AnswerRule::new(&a.pattern, keys, a.enter.unwrap_or(!menu)).map_err(|e| format!("answers: {e}"))
}

/// Whether `program` is found in `path`'s directories as a worker's start would find it (the
/// same search: an executable file, not a directory).
fn on_path(program: &str, path: Option<&str>) -> bool {
    let Some(path) = path else { return false };
    let cwd = std::env::current_dir().unwrap_or_else(|_| Path::new("/").to_path_buf());
    crate::worker::pty::resolve(Path::new(program), &cwd, Some(std::ffi::OsStr::new(path))).is_ok()
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
            auto_answer: None,
            auto_answer_delay_ms: None,
            answers: Vec::new(),
        };
        let presets = Presets::build(&base, &[section]).expect("presets");
        assert_eq!(names(&presets), ["shell", "claude", "codex"]);
        let codex = presets.get("codex").expect("codex");
        assert_eq!((codex.preset.origin.as_str(), codex.preset.command.len()), ("config", 3));
        assert!(codex.rules.find_prompt(&["go?".into()]).is_some());
    }
}

#[cfg(test)]
mod answer_tests {
    use super::*;
    use crate::file_config::{ActivitySection, CommandLine};
    use std::time::Duration;

    fn section(answers: Vec<AnswerSection>, auto: Option<&str>) -> PresetSection {
        PresetSection {
            name: "deploy".into(),
            command: CommandLine::Line("./deploy.sh".into()),
            kind: None,
            env: BTreeMap::new(),
            activity: ActivitySection { asking_patterns: vec![r"Ship it\?".into()], ..Default::default() },
            auto_answer: auto.map(str::to_owned),
            auto_answer_delay_ms: Some(500),
            answers,
        }
    }

    fn answers(pattern: &str, keys: &[&str], menu: Option<bool>) -> AnswerSection {
        AnswerSection {
            pattern: pattern.into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            menu,
            enter: None,
        }
    }

    #[test]
    fn a_presets_answers_and_auto_answer_apply_and_bad_ones_are_refused() {
        let base = Arc::new(ActivityRules::defaults(Duration::from_secs(2)));
        let s = section(vec![answers(r"Ship it\?", &["ok", "no"], None)], Some("ok"));
        let presets = Presets::build(&base, &[s]).expect("presets");
        let rules = &presets.get("deploy").expect("deploy").rules;
        let m = rules.find_prompt(&["Ship it? (ok/no)".into()]).expect("asks");
        assert_eq!((m.question.answers.clone(), m.question.enter), (vec!["ok".into(), "no".into()], true));
        assert_eq!(rules.auto_answer.as_deref(), Some("ok"));
        assert_eq!(rules.auto_answer_delay, Duration::from_millis(500));
        // The built-in rules still follow.
        let m = rules.find_prompt(&["Continue? [y/N]".into()]).expect("generic");
        assert_eq!(m.question.answers, ["y", "n"]);
        let built_in = presets.get("claude").expect("claude");
        assert_eq!(built_in.rules.auto_answer, None, "no built-in answers by itself");

        let err = |s: PresetSection| Presets::build(&base, &[s]).expect_err("refused").to_string();
        assert!(err(section(vec![answers("x", &[], None)], None)).contains("needs `keys`"));
        assert!(err(section(vec![answers("x", &["1"], Some(true))], None)).contains("not both"));
        assert!(err(section(vec![answers("(", &["y"], None)], None)).contains("bad pattern `(`"));
        assert!(err(section(Vec::new(), Some(""))).starts_with("preset `deploy`: auto-answer"));
    }
}
