//! What the activity detector looks at, kept behind a small interface so the screen model can be
//! replaced: the program's own signals (bell, OSC 9/777 notifications, title changes), counted by
//! the screen model as it parses, and the last lines of the rendered screen, scanned for prompts.
//!
//! Nothing here runs on the output path: the screen thread scans at most every
//! `scan_interval` and publishes an [`Observation`]; the worker's `ActivityTracker` decides.

use super::answers::{AnswerRule, Question, builtin_rules};
pub use super::pattern::{Pattern, PatternError};
use crate::file_config::ActivitySection;
use std::time::Duration;

/// Prompts of Claude Code (permission menus).
pub const CLAUDE_PATTERNS: &[&str] =
    &[r"Do you want to.*\?", r"❯\s*\d+\.", r"Enter to select.*Esc to cancel"];
/// Prompts of OpenAI Codex CLI (approval requests).
pub const CODEX_PATTERNS: &[&str] = &[
    r"Would you like to (run|make|apply) the following",
    r"Yes, proceed",
    r"(?i)press enter to confirm or esc to cancel",
    r"Allow command\?",
];
/// Prompts of aider (`Add file to the chat? (Y)es/(N)o/… [Yes]:`).
pub const AIDER_PATTERNS: &[&str] = &[r"\(Y\)es/\(N\)o.*\[(Yes|No)\]:\s*$"];
/// Generic prompts. `[y/N]` and `(yes/no)` must end the line, so an echoed answer (`[y/N] y`)
/// no longer matches.
pub const GENERIC_PATTERNS: &[&str] = &[
    r"(?i)\[y/n\]\s*[:?]?\s*$",
    r"(?i)\(yes/no(/\[fingerprint\])?\)\s*[:?]?\s*$",
    r"(?i)press enter",
    r"(?i)password( for [^:]*)?:\s*$",
];

/// Default of `scan-lines`.
pub const DEFAULT_SCAN_LINES: usize = 8;
/// Default of `scan-interval-ms`.
pub const DEFAULT_SCAN_INTERVAL: Duration = Duration::from_millis(50);
/// Default of `active-window-ms`.
pub const DEFAULT_ACTIVE_WINDOW: Duration = Duration::from_secs(2);
/// Default of `active-chunks`: a clock redraw or a blinking cursor stays below it.
pub const DEFAULT_ACTIVE_CHUNKS: usize = 6;
/// Default of `asking-after-ms`: how long a prompt must stay (or stay gone) before it counts.
pub const DEFAULT_ASKING_AFTER: Duration = Duration::from_millis(300);

/// Thresholds and patterns for one worker (the `[activity]` defaults, maybe a preset's overrides).
#[derive(Debug, Clone)]
pub struct ActivityRules {
    /// Silence after which a worker is idle.
    pub idle_after: Duration,
    /// Window for counting output chunks.
    pub active_window: Duration,
    /// Chunks within the window that make a worker active.
    pub active_chunks: usize,
    /// How long a prompt must stay (or stay gone) before it counts.
    pub asking_after: Duration,
    /// Least time between scans.
    pub scan_interval: Duration,
    /// Bottom lines scanned.
    pub scan_lines: usize,
    /// Prompt patterns.
    pub asking: Vec<Pattern>,
    /// Title patterns meaning "waiting for you".
    pub titles: Vec<Pattern>,
    /// OSC 9/777 notifications mean asking.
    pub notifications: bool,
    /// BEL means asking.
    pub bell: bool,
    /// Which answers a matched prompt takes (a preset's rules first, then the built-in ones).
    pub answers: Vec<AnswerRule>,
    /// The preset's `auto-answer`: sent by itself to a prompt that takes it.
    pub auto_answer: Option<String>,
    /// How long the auto-answer counts down first (`auto-answer-delay-ms`).
    pub auto_answer_delay: Duration,
}

impl ActivityRules {
    /// The built-in rules with `idle_after`.
    pub fn defaults(idle_after: Duration) -> Self {
        let asking = [CLAUDE_PATTERNS, CODEX_PATTERNS, AIDER_PATTERNS, GENERIC_PATTERNS]
            .concat()
            .into_iter()
            // The built-in patterns are tested to compile (see tests); skip rather than panic.
            .filter_map(|p| Pattern::new(p).ok())
            .collect();
        Self {
            idle_after,
            active_window: DEFAULT_ACTIVE_WINDOW,
            active_chunks: DEFAULT_ACTIVE_CHUNKS,
            asking_after: DEFAULT_ASKING_AFTER,
            scan_interval: DEFAULT_SCAN_INTERVAL,
            scan_lines: DEFAULT_SCAN_LINES,
            asking,
            titles: Vec::new(),
            notifications: true,
            bell: true,
            answers: builtin_rules(),
            auto_answer: None,
            auto_answer_delay: super::answers::DEFAULT_AUTO_ANSWER_DELAY,
        }
    }

    /// These rules with `section`'s settings applied on top (extra patterns are added, or replace
    /// the current ones with `replace-patterns`).
    pub fn with(&self, section: &ActivitySection) -> Result<Self, PatternError> {
        let ms = Duration::from_millis;
        let mut r = self.clone();
        if let Some(v) = section.idle_after_ms {
            r.idle_after = ms(v);
        }
        if let Some(v) = section.active_window_ms {
            r.active_window = ms(v);
        }
        if let Some(v) = section.active_chunks {
            r.active_chunks = v.max(1);
        }
        if let Some(v) = section.asking_after_ms {
            r.asking_after = ms(v);
        }
        if let Some(v) = section.scan_interval_ms {
            r.scan_interval = ms(v);
        }
        if let Some(v) = section.scan_lines {
            r.scan_lines = v.max(1);
        }
        if section.replace_patterns == Some(true) {
            r.asking.clear();
        }
        for p in &section.asking_patterns {
            r.asking.push(Pattern::new(p)?);
        }
        for p in &section.title_patterns {
            r.titles.push(Pattern::new(p)?);
        }
        if let Some(v) = section.notifications {
            r.notifications = v;
        }
        if let Some(v) = section.bell {
            r.bell = v;
        }
        Ok(r)
    }

    /// The first pattern matching one of `lines`, searching from the bottom, with the question
    /// it asks and the answers it takes.
    pub fn find_prompt(&self, lines: &[String]) -> Option<PromptMatch> {
        let mut m = find(&self.asking, lines)?;
        m.question = super::answers::question(&self.answers, lines, &m.line);
        Some(m)
    }

    /// The first title pattern matching `title`.
    pub fn title_match(&self, title: &str) -> Option<PromptMatch> {
        find(&self.titles, std::slice::from_ref(&title.to_owned()))
    }
}

fn find(patterns: &[Pattern], lines: &[String]) -> Option<PromptMatch> {
    for line in lines.iter().rev() {
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(p) = patterns.iter().find(|p| p.matches(line, &squeezed)) {
            return Some(PromptMatch {
                pattern: p.source().to_owned(),
                line: line.clone(),
                question: Question::default(),
            });
        }
    }
    None
}

/// A pattern and the line it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptMatch {
    /// The regex as written.
    pub pattern: String,
    /// The screen line (or title).
    pub line: String,
    /// What it asks and the answers it takes (prompts on screen only).
    pub question: Question,
}

/// Program signals counted since the worker's screen model started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// BEL characters outside escape sequences.
    pub bells: u64,
    /// OSC 9 and OSC 777 `notify` notifications.
    pub notifications: u64,
    /// Text of the last notification.
    pub last_notification: Option<String>,
    /// Title changes (OSC 0/2).
    pub title_changes: u64,
    /// The current title.
    pub title: Option<String>,
}

impl Signals {
    /// Records an OSC sequence vt100 does not handle itself: OSC 9 (`9;message`) and OSC 777
    /// (`777;notify;title;body`) are notifications.
    pub fn on_osc(&mut self, params: &[&[u8]]) {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let message = match params {
            // OSC 9;4 is ConEmu's progress report, not a notification.
            [b"9", b"4", ..] => return,
            [b"9", rest @ ..] if !rest.is_empty() => {
                rest.iter().map(|p| text(p)).collect::<Vec<_>>().join(";")
            }
            [b"777", b"notify", rest @ ..] => rest.iter().map(|p| text(p)).collect::<Vec<_>>().join(": "),
            _ => return,
        };
        self.notifications += 1;
        self.last_notification = Some(message);
    }

    /// Records a bell.
    pub fn on_bell(&mut self) {
        self.bells += 1;
    }

    /// Records a title change.
    pub fn on_title(&mut self, title: &[u8]) {
        self.title_changes += 1;
        self.title = Some(String::from_utf8_lossy(title).into_owned());
    }
}

/// What the screen thread saw at its last scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// Scans so far (changes on every publish).
    pub scans: u64,
    /// Signals so far.
    pub signals: Signals,
    /// The prompt on screen, if any.
    pub prompt: Option<PromptMatch>,
    /// The last lines scanned, for `explain`.
    pub tail: Vec<String>,
}

/// The last `n` non-blank lines of `rows` up to and including the cursor row or the last
/// non-blank row, whichever is lower; trailing blanks trimmed.
pub fn tail_lines(rows: impl Iterator<Item = String>, cursor_row: usize, n: usize) -> Vec<String> {
    let rows: Vec<String> = rows.map(|r| r.trim_end().to_owned()).collect();
    let last_text = rows.iter().rposition(|r| !r.is_empty()).unwrap_or(0);
    let end = cursor_row.max(last_text).min(rows.len().saturating_sub(1));
    let mut out: Vec<String> =
        rows.iter().take(end + 1).rev().filter(|r| !r.trim().is_empty()).take(n).cloned().collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn built_in_patterns_compile() {
        let all = [CLAUDE_PATTERNS, CODEX_PATTERNS, AIDER_PATTERNS, GENERIC_PATTERNS].concat();
        for p in &all {
            Pattern::new(p).expect("built-in pattern");
        }
        assert_eq!(ActivityRules::defaults(Duration::from_secs(2)).asking.len(), all.len());
    }

    #[test]
    fn prompts_match_with_and_without_spaces() {
        let r = ActivityRules::defaults(Duration::from_secs(2));
        let m = r.find_prompt(&lines(&["", " Do you want to proceed?"])).expect("claude");
        assert_eq!(m.pattern, r"Do you want to.*\?");
        let m = r.find_prompt(&lines(&["Doyouwanttomakethisedittomain.rs?"])).expect("squeezed");
        assert_eq!(m.pattern, r"Do you want to.*\?");
        assert!(r.find_prompt(&lines(&["Continue? [y/N] "])).is_some());
        assert!(r.find_prompt(&lines(&["Continue? [y/N] y"])).is_none(), "answered prompt");
        assert!(r.find_prompt(&lines(&["[sudo] password for ann: "])).is_some());
        assert!(r.find_prompt(&lines(&["$ ls", "Cargo.toml  src"])).is_none());
    }

    #[test]
    fn sections_add_or_replace_patterns_and_refuse_bad_regexes() {
        let base = ActivityRules::defaults(Duration::from_secs(2));
        let section = ActivitySection {
            asking_patterns: vec!["^ready>$".into()],
            replace_patterns: Some(true),
            active_chunks: Some(0),
            ..ActivitySection::default()
        };
        let r = base.with(&section).expect("valid");
        assert_eq!(r.asking.len(), 1);
        assert_eq!(r.active_chunks, 1);
        assert!(r.find_prompt(&lines(&["ready>"])).is_some());
        assert!(r.find_prompt(&lines(&["Continue? [y/N]"])).is_none());
        let bad = ActivitySection { asking_patterns: vec!["(".into()], ..ActivitySection::default() };
        assert!(base.with(&bad).expect_err("bad regex").to_string().contains("bad pattern `(`"));
    }

    #[test]
    fn osc_notifications_are_recognised() {
        let mut s = Signals::default();
        s.on_osc(&[b"9", b"Claude needs your permission"]);
        s.on_osc(&[b"9", b"4", b"1", b"50"]);
        s.on_osc(&[b"777", b"notify", b"Codex", b"Approval requested"]);
        s.on_osc(&[b"8", b"", b"http://x"]);
        assert_eq!(s.notifications, 2);
        assert_eq!(s.last_notification.as_deref(), Some("Codex: Approval requested"));
    }

    #[test]
    fn tail_ends_at_the_cursor_or_last_text() {
        let rows = ["a", "", "b", "c", "", "", ""].iter().map(|s| (*s).to_owned());
        assert_eq!(tail_lines(rows.clone(), 0, 2), lines(&["b", "c"]));
        assert_eq!(tail_lines(rows, 6, 8), lines(&["a", "b", "c"]));
    }
}
