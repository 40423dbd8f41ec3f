//! Key bindings: parsing `ctrl-\`-style specs and mapping dashboard keys to actions.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// A dashboard command a key can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Switch focus between the sessions and workers lists.
    Focus,
    /// Attach to the selected worker.
    Attach,
    /// Open the new-session dialog.
    NewSession,
    /// Open the new-worker dialog.
    NewWorker,
    /// Rename the selected session, or the selected worker while the workers list has focus.
    Rename,
    /// Stop the selected worker (confirms); it stays, exited, for `Restart`.
    Stop,
    /// Restart the selected worker (confirms while it runs).
    Restart,
    /// Delete the selected worker (confirms).
    DeleteWorker,
    /// Delete the selected session (confirms).
    Delete,
    /// Filter the sessions list.
    Filter,
    /// Switch to the next theme.
    NextTheme,
    /// Jump to the next worker that is asking, then the next one that failed.
    NextAttention,
    /// Show the help overlay.
    Help,
    /// Quit.
    Quit,
    /// Open a one-line reply to the selected worker (sent with Enter, without attaching).
    Reply,
    /// Switch the selected worker's auto-answer off (or on again).
    AutoAnswer,
    /// Open the wall of live terminals; on the wall, cycle its scope.
    Wall,
    /// Show the selected session's diff against its base.
    Diff,
}

impl Action {
    /// Every action with its config name and help text, in help-overlay order.
    pub const ALL: [(Action, &'static str, &'static str); 20] = [
        (Action::Up, "up", "move up"),
        (Action::Down, "down", "move down"),
        (Action::Focus, "focus", "sessions ⇄ workers"),
        (Action::Attach, "attach", "attach to the worker"),
        (Action::NewSession, "new-session", "new session"),
        (Action::NewWorker, "new-worker", "new worker in the session"),
        (Action::Rename, "rename", "rename the session or the worker"),
        (Action::Stop, "stop", "stop the worker (R restarts it)"),
        (Action::Restart, "restart", "restart the worker"),
        (Action::DeleteWorker, "delete-worker", "delete the worker"),
        (Action::Delete, "delete", "delete the session"),
        (Action::Filter, "filter", "filter sessions"),
        (Action::NextTheme, "theme", "next theme"),
        (Action::NextAttention, "next-attention", "next worker that needs you"),
        (Action::Help, "help", "this help"),
        (Action::Quit, "quit", "quit"),
        (Action::Reply, "reply", "reply; y/n/1-9 answer its prompt"),
        (Action::AutoAnswer, "auto-answer", "auto-answer off/on"),
        (Action::Wall, "wall", "wall of live terminals (again: scope)"),
        (Action::Diff, "diff", "the session's git diff"),
    ];

    /// Whether the action changes something on the gateway (refused to a read-only token).
    pub fn changes(self) -> bool {
        matches!(
            self,
            Action::NewSession
                | Action::NewWorker
                | Action::Rename
                | Action::Stop
                | Action::Restart
                | Action::DeleteWorker
                | Action::Delete
                | Action::Reply
                | Action::AutoAnswer
        )
    }

    /// The action called `name` in the config's `[keys]` table.
    pub fn from_name(name: &str) -> Option<Action> {
        Self::ALL.iter().find(|(_, n, _)| *n == name).map(|(a, _, _)| *a)
    }
}

/// One key with modifiers, normalised so it compares equal however the terminal reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt and (for non-character keys) Shift.
    pub mods: KeyModifiers,
}

/// A key spec that names no key (`hyper-x`, `f13`); says `unknown key "hyper-x"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key {0:?}")]
pub struct UnknownKey(pub String);

impl KeySpec {
    /// Normalises a terminal key event: Shift is folded into the character, and legacy control
    /// codes (`Ctrl-4` for `Ctrl-\`) map to the key people name.
    pub fn from_event(ev: &KeyEvent) -> Self {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let mut code = ev.code;
        if let KeyCode::Char(c) = code {
            mods.remove(KeyModifiers::SHIFT);
            if mods.contains(KeyModifiers::CONTROL) {
                code = KeyCode::Char(match c {
                    '4' => '\\',
                    '5' => ']',
                    '6' => '^',
                    '7' => '_',
                    c => c.to_ascii_lowercase(),
                });
            }
        }
        Self { code, mods }
    }

    /// Parses `q`, `R`, `?`, `enter`, `ctrl-\`, `alt-x`, `shift-pageup`, `f5`.
    pub fn parse(spec: &str) -> Result<Self, UnknownKey> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = spec;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            if rest.len() == len {
                break;
            }
            mods |= m;
            rest = &rest[len..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                "insert" => KeyCode::Insert,
                "delete" => KeyCode::Delete,
                f if f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => return Err(UnknownKey(spec.to_owned())),
            },
        };
        Ok(Self::from_event(&KeyEvent::new(code, mods)))
    }

    /// The key as a user would write it (`ctrl-\`), for hints and help.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("shift-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            other => s.push_str(&format!("{other}").to_ascii_lowercase()),
        }
        s
    }
}

/// A `copy-mode` value that is not one or two keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChordError {
    /// Nothing, or more than two keys.
    #[error("{0:?} is not one or two keys (e.g. \"ctrl-\\ [\" or \"f2\")")]
    Length(String),
    /// A key that names no key.
    #[error(transparent)]
    Key(#[from] UnknownKey),
}

/// Parses a chord of one or two keys separated by a space: `ctrl-\ [`, `f2`.
pub fn parse_chord(spec: &str) -> Result<Vec<KeySpec>, ChordError> {
    let keys: Vec<&str> = spec.split_whitespace().collect();
    if keys.is_empty() || keys.len() > 2 {
        return Err(ChordError::Length(spec.to_owned()));
    }
    Ok(keys.into_iter().map(KeySpec::parse).collect::<Result<_, _>>()?)
}

/// A chord's keys as a user would write them (`ctrl-\ [`).
pub fn chord_label(keys: &[KeySpec]) -> String {
    keys.iter().map(KeySpec::label).collect::<Vec<_>>().join(" ")
}

/// Dashboard bindings plus the detach chord.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    bindings: BTreeMap<Action, Vec<KeySpec>>,
    /// Leaves an attached worker (default `ctrl-\`).
    pub detach: KeySpec,
    /// Enters copy mode while attached (`copy-mode`, default `ctrl-\ [`): one key, or two
    /// pressed one after the other. When its first key is the detach key, that key detaches
    /// only once the next key is not the second (or none came within `chord-timeout-ms`).
    pub copy_mode: Vec<KeySpec>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let defaults: [(Action, &[&str]); 20] = [
            (Action::Up, &["up", "k"]),
            (Action::Down, &["down", "j"]),
            (Action::Focus, &["tab", "left", "right"]),
            (Action::Attach, &["enter"]),
            (Action::NewSession, &["n"]),
            (Action::NewWorker, &["w"]),
            (Action::Rename, &["r"]),
            (Action::Stop, &["x"]),
            (Action::Restart, &["R"]),
            (Action::DeleteWorker, &["X"]),
            (Action::Delete, &["D"]),
            (Action::Filter, &["/"]),
            (Action::NextTheme, &["t"]),
            (Action::NextAttention, &["a"]),
            (Action::Help, &["?"]),
            (Action::Quit, &["q"]),
            (Action::Reply, &["i"]),
            (Action::AutoAnswer, &["A"]),
            (Action::Wall, &["g"]),
            (Action::Diff, &["d"]),
        ];
        let bindings = defaults
            .iter()
            .map(|(a, keys)| (*a, keys.iter().filter_map(|k| KeySpec::parse(k).ok()).collect()))
            .collect();
        let detach = KeySpec { code: KeyCode::Char('\\'), mods: KeyModifiers::CONTROL };
        let copy_mode = vec![detach, KeySpec { code: KeyCode::Char('['), mods: KeyModifiers::NONE }];
        Self { bindings, detach, copy_mode }
    }
}

impl KeyMap {
    /// Replaces the keys of `action`.
    pub fn bind(&mut self, action: Action, keys: Vec<KeySpec>) {
        self.bindings.insert(action, keys);
    }

    /// The action bound to a key event, if any.
    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        let key = KeySpec::from_event(ev);
        self.bindings.iter().find(|(_, keys)| keys.contains(&key)).map(|(a, _)| *a)
    }

    /// Whether the key event is the detach chord.
    pub fn is_detach(&self, ev: &KeyEvent) -> bool {
        KeySpec::from_event(ev) == self.detach
    }

    /// The keys of `action` as labels (`k/↑`), for the help overlay and hints.
    pub fn labels(&self, action: Action) -> String {
        self.bindings
            .get(&action)
            .map(|keys| keys.iter().map(KeySpec::label).collect::<Vec<_>>().join("/"))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_specs() {
        let k = KeySpec::parse("ctrl-\\").expect("parses");
        assert_eq!(k, KeySpec { code: KeyCode::Char('\\'), mods: KeyModifiers::CONTROL });
        assert_eq!(KeySpec::parse("shift-pageup").expect("ok").mods, KeyModifiers::SHIFT);
        assert_eq!(KeySpec::parse("F5").expect("ok").code, KeyCode::F(5));
        assert_eq!(KeySpec::parse("ctrl--").expect("ok").code, KeyCode::Char('-'));
        assert!(KeySpec::parse("hyper-x").is_err());
        assert!(KeySpec::parse("f13").is_err());
    }

    #[test]
    fn legacy_ctrl_backslash_is_detach() {
        let map = KeyMap::default();
        assert!(map.is_detach(&ev(KeyCode::Char('4'), KeyModifiers::CONTROL)));
        assert!(map.is_detach(&ev(KeyCode::Char('\\'), KeyModifiers::CONTROL)));
        assert!(!map.is_detach(&ev(KeyCode::Char('\\'), KeyModifiers::NONE)));
    }

    #[test]
    fn copy_mode_chords_are_one_or_two_keys() {
        let chord = parse_chord("ctrl-\\ [").expect("two keys");
        assert_eq!(chord, KeyMap::default().copy_mode);
        assert_eq!(chord_label(&chord), "ctrl-\\ [");
        assert_eq!(parse_chord("f2").expect("one key").len(), 1);
        assert!(matches!(parse_chord("  "), Err(ChordError::Length(_))));
        assert!(matches!(parse_chord("a b c"), Err(ChordError::Length(_))));
        let err = parse_chord("ctrl-\\ hyper-x").expect_err("unknown key");
        assert_eq!(err.to_string(), "unknown key \"hyper-x\"");
    }

    #[test]
    fn shifted_letters_match_uppercase_bindings() {
        let map = KeyMap::default();
        assert_eq!(map.action(&ev(KeyCode::Char('R'), KeyModifiers::SHIFT)), Some(Action::Restart));
        assert_eq!(map.action(&ev(KeyCode::Char('r'), KeyModifiers::NONE)), Some(Action::Rename));
        assert_eq!(map.action(&ev(KeyCode::Char('?'), KeyModifiers::SHIFT)), Some(Action::Help));
        assert_eq!(map.labels(Action::Up), "↑/k");
    }
}
