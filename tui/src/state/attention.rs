//! Attention: which workers need the user (asking, or exited with a failure), the key that jumps
//! to the next one, and desktop notifications when one starts needing them.

use super::sessions::failed;
use super::{Effect, Focus, Notice, State};
use controlroom_protocol::{ActivityState, Delta, DeltaEvent, SessionId, WorkerId, WorkerState};
use std::time::Duration;

/// Least time between two notifications about the same worker.
pub const NOTIFY_DEBOUNCE: Duration = Duration::from_secs(10);

/// How desktop notifications are sent (`notify = "…"` in config.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyMode {
    /// OSC 9 where the terminal is known to show it, OSC 777 on rxvt-style terminals, else BEL.
    #[default]
    Auto,
    /// Always OSC 9.
    Osc9,
    /// Always OSC 777 (`notify;title;body`).
    Osc777,
    /// The bell only.
    Bell,
    /// Nothing.
    Off,
}

impl NotifyMode {
    /// Parses the config value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "osc9" => Self::Osc9,
            "osc777" => Self::Osc777,
            "bell" => Self::Bell,
            "off" => Self::Off,
            _ => return None,
        })
    }

    /// `Auto` decided from the environment (`TERM_PROGRAM`, `TERM`, `WT_SESSION`). Inside tmux
    /// (`TERM_PROGRAM=tmux`) the outer terminal is unknown: OSC 9 through tmux's passthrough,
    /// which reaches it where tmux allows (`set -g allow-passthrough on`), and the bell that
    /// always follows for where it does not.
    pub fn resolve(self, term_program: Option<&str>, term: Option<&str>, windows_terminal: bool) -> Self {
        if self != Self::Auto {
            return self;
        }
        let osc9 = ["iTerm.app", "WezTerm", "ghostty", "kitty", "vscode", "tmux"];
        if windows_terminal || term_program.is_some_and(|p| osc9.contains(&p)) || term == Some("xterm-kitty")
        {
            Self::Osc9
        } else if term.is_some_and(|t| t.starts_with("rxvt") || t.starts_with("foot")) {
            Self::Osc777
        } else {
            Self::Bell
        }
    }
}

/// The bytes that raise a notification in `mode`; inside tmux the OSC is wrapped in a DCS
/// passthrough (`ESC P tmux; … ESC \`, with every ESC doubled) so it reaches the outer terminal.
/// A bell follows every OSC as the fallback for terminals that ignore it.
pub fn notification_bytes(mode: NotifyMode, in_tmux: bool, title: &str, body: &str) -> Vec<u8> {
    let clean = |s: &str| s.chars().filter(|c| !c.is_control() && *c != ';').collect::<String>();
    let osc = match mode {
        NotifyMode::Osc9 | NotifyMode::Auto => format!("\x1b]9;{}: {}\x07", clean(title), clean(body)),
        NotifyMode::Osc777 => format!("\x1b]777;notify;{};{}\x07", clean(title), clean(body)),
        NotifyMode::Bell => return b"\x07".to_vec(),
        NotifyMode::Off => return Vec::new(),
    };
    let mut out = if in_tmux { format!("\x1bPtmux;{}\x1b\\", osc.replace('\x1b', "\x1b\x1b")) } else { osc };
    out.push('\x07');
    out.into_bytes()
}

impl State {
    /// Workers that need the user, in dashboard order: every asking one first, then every one
    /// that exited with a failure.
    pub fn attention(&self) -> Vec<(SessionId, WorkerId)> {
        let sessions = self.store.visible(&self.filter);
        let mut asking = Vec::new();
        let mut failing = Vec::new();
        for s in sessions {
            for w in &s.workers {
                if self.store.activity(&s.id, w) == ActivityState::Asking {
                    asking.push((s.id.clone(), w.id.clone()));
                } else if failed(w) {
                    failing.push((s.id.clone(), w.id.clone()));
                }
            }
        }
        asking.extend(failing);
        asking
    }

    /// Selects the next worker needing the user after the current selection (wrapping).
    pub(super) fn next_attention(&mut self) {
        let list = self.attention();
        if list.is_empty() {
            self.notice = Some(Notice { text: "no worker needs you".into(), error: false });
            return;
        }
        let current = self.selected_session.clone().zip(self.selected_worker.clone());
        let at = current.and_then(|c| list.iter().position(|x| *x == c));
        let (s, w) = list[at.map_or(0, |i| (i + 1) % list.len())].clone();
        self.selected_session = Some(s);
        self.selected_worker = Some(w);
        self.focus = Focus::Workers;
    }

    /// Raises a notification for a live delta that makes a worker need the user.
    pub(super) fn notify_on(&mut self, delta: &Delta, fx: &mut Vec<Effect>) {
        if self.settings.notify == NotifyMode::Off {
            return;
        }
        let mut hits = Vec::new();
        match &delta.event {
            DeltaEvent::WorkerActivity { session_id, worker_id, activity_state: ActivityState::Asking } => {
                let before =
                    self.store.worker(session_id, worker_id).map(|w| self.store.activity(session_id, w));
                if before != Some(ActivityState::Asking) {
                    hits.push((session_id.clone(), worker_id.clone(), "is waiting for you".to_owned()));
                }
            }
            DeltaEvent::SessionUpdated { session_id, session, before } => {
                for w in &session.workers {
                    let was_running =
                        before.workers.iter().any(|b| b.id == w.id && b.state == WorkerState::Running);
                    if was_running && failed(w) {
                        let how = match (&w.exit_code, &w.signal) {
                            (Some(code), _) => format!("exited with code {code}"),
                            (None, Some(sig)) => format!("was killed ({sig})"),
                            _ => "failed".to_owned(),
                        };
                        hits.push((session_id.clone(), w.id.clone(), how));
                    }
                }
            }
            _ => {}
        }
        for (sid, wid, what) in hits {
            let attached_here = self.mode == super::Mode::Attach
                && self.selected_session.as_ref() == Some(&sid)
                && self.selected_worker.as_ref() == Some(&wid);
            if attached_here {
                continue;
            }
            let key = (sid.clone(), wid.clone());
            if self.notified.get(&key).is_some_and(|t| self.instant.duration_since(*t) < NOTIFY_DEBOUNCE) {
                continue;
            }
            self.notified.insert(key, self.instant);
            let name = match (self.store.get(&sid), self.store.worker(&sid, &wid)) {
                (Some(s), Some(w)) => format!("{}/{}", s.title, w.name),
                _ => format!("{sid}/{wid}"),
            };
            fx.push(Effect::Notify { title: "controlroom".into(), body: format!("{name} {what}") });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_wrapped_for_tmux_and_fall_back_to_the_bell() {
        assert_eq!(
            notification_bytes(NotifyMode::Osc9, false, "cr", "a/b is waiting"),
            b"\x1b]9;cr: a/b is waiting\x07\x07"
        );
        assert_eq!(
            notification_bytes(NotifyMode::Osc777, true, "cr", "x;y"),
            b"\x1bPtmux;\x1b\x1b]777;notify;cr;xy\x07\x1b\\\x07"
        );
        assert_eq!(notification_bytes(NotifyMode::Bell, true, "cr", "x"), b"\x07");
        assert!(notification_bytes(NotifyMode::Off, false, "cr", "x").is_empty());
        assert_eq!(NotifyMode::Auto.resolve(Some("WezTerm"), None, false), NotifyMode::Osc9);
        assert_eq!(NotifyMode::Auto.resolve(None, Some("rxvt-unicode-256color"), false), NotifyMode::Osc777);
        assert_eq!(NotifyMode::Auto.resolve(None, Some("xterm-256color"), false), NotifyMode::Bell);
        assert_eq!(NotifyMode::Off.resolve(Some("WezTerm"), None, true), NotifyMode::Off);
    }

    #[test]
    fn inside_tmux_auto_goes_through_the_passthrough_not_only_the_bell() {
        let mode = NotifyMode::Auto.resolve(Some("tmux"), Some("tmux-256color"), false);
        assert_eq!(mode, NotifyMode::Osc9);
        assert_eq!(
            notification_bytes(mode, true, "cr", "done"),
            b"\x1bPtmux;\x1b\x1b]9;cr: done\x07\x1b\\\x07",
            "wrapped for tmux, the bell after it for where tmux does not pass it on"
        );
    }
}
