//! Recorded-screen tests: realistic terminal output of agent prompts (fixtures/*.ans, composed
//! from what Claude Code, Codex, aider, apt and sudo draw: colours, box drawing, cursor moves)
//! replayed through the screen model and the detector, asserting the state a user would see.

use super::activity::ActivityTracker;
use super::detect::{ActivityRules, Observation};
use super::screen::ScreenModel;
use controlroom_protocol::ActivityState;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

fn observe(model: &ScreenModel, rules: &ActivityRules, scans: u64) -> Observation {
    let tail = model.tail(rules.scan_lines);
    Observation { scans, signals: model.signals().clone(), prompt: rules.find_prompt(&tail), tail }
}

/// Replays `fixture` as a busy program would (a burst of chunks), then lets time pass; returns
/// the tracker.
fn replay(fixture: &[u8], cols: u16, rows: u16) -> (ActivityTracker, Instant) {
    let rules = Arc::new(ActivityRules::defaults(Duration::from_secs(2)));
    let mut model = ScreenModel::new(cols, rows, 1 << 20, 0);
    let mut tracker = ActivityTracker::new(rules.clone(), ActivityState::Unknown);
    let mut t = Instant::now();
    let chunks: Vec<&[u8]> = fixture.chunks(fixture.len().div_ceil(8).max(1)).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        model.feed(chunk);
        tracker.on_output(t);
        tracker.on_observation(&observe(&model, &rules, i as u64 + 1), t);
        t += 50 * MS;
    }
    // Nothing more is drawn: the detector settles.
    for _ in 0..30 {
        t += 100 * MS;
        tracker.on_tick(t);
    }
    (tracker, t)
}

fn asking_pattern(t: &ActivityTracker) -> String {
    let (state, _, evidence, tail, _) = t.report();
    assert_eq!(state, ActivityState::Asking, "evidence: {evidence:?}\nscreen: {tail:#?}");
    assert_eq!(evidence[0].kind, "screen");
    evidence[0].detail.clone()
}

#[test]
fn claude_code_permission_menu_is_asking() {
    let (t, _) = replay(include_bytes!("fixtures/claude_permission.ans"), 80, 24);
    let detail = asking_pattern(&t);
    // The bottom-most match wins: the menu's selected line.
    assert!(detail.contains(r"❯\\s*\\d+\\.") || detail.contains("Do you want to"), "{detail}");
}

#[test]
fn claude_code_prompt_with_spaces_drawn_as_cursor_moves_still_matches() {
    let rules = ActivityRules::defaults(Duration::from_secs(2))
        .with(&crate::file_config::ActivitySection {
            replace_patterns: Some(true),
            asking_patterns: vec![r"Do you want to.*\?".into()],
            ..Default::default()
        })
        .expect("rules");
    let mut model = ScreenModel::new(80, 24, 1 << 20, 0);
    model.feed(include_bytes!("fixtures/claude_permission.ans"));
    let m = rules.find_prompt(&model.tail(rules.scan_lines)).expect("prompt found");
    assert!(m.line.contains("proceed?"), "{m:?}");
}

#[test]
fn claude_code_working_is_active_then_idle_not_asking() {
    let (t, _) = replay(include_bytes!("fixtures/claude_working.ans"), 80, 24);
    let (state, _, evidence, _, _) = t.report();
    assert_eq!(state, ActivityState::Idle, "{evidence:?}");
    assert!(evidence.iter().any(|e| e.kind == "rate"), "{evidence:?}");
}

#[test]
fn codex_approval_is_asking() {
    let (t, _) = replay(include_bytes!("fixtures/codex_approval.ans"), 100, 30);
    let detail = asking_pattern(&t);
    assert!(detail.contains("press enter") || detail.contains("Yes, proceed"), "{detail}");
}

#[test]
fn aider_confirmation_is_asking() {
    let (t, _) = replay(include_bytes!("fixtures/aider_add_file.ans"), 100, 30);
    assert!(asking_pattern(&t).contains("(Y\\\\)es"), "aider pattern");
}

#[test]
fn generic_yes_no_and_password_prompts_are_asking() {
    let (t, _) = replay(include_bytes!("fixtures/apt_confirm.ans"), 80, 24);
    // apt's line also matches Claude's "Do you want to.*\?", which is tried first.
    assert!(asking_pattern(&t).contains("continue? [Y/n]"));
    let (t, _) = replay(include_bytes!("fixtures/sudo_password.ans"), 80, 24);
    assert!(asking_pattern(&t).contains("password"));
}

#[test]
fn a_shell_prompt_is_idle_and_its_title_is_evidence() {
    let (t, _) = replay(include_bytes!("fixtures/shell_prompt.ans"), 80, 24);
    let (state, _, evidence, _, title) = t.report();
    assert_eq!(state, ActivityState::Idle, "{evidence:?}");
    assert_eq!(title.as_deref(), Some("ann@box: ~/repo"));
    assert!(evidence.iter().any(|e| e.kind == "signal" && e.detail.contains("title")), "{evidence:?}");
}

#[test]
fn answering_the_claude_menu_clears_asking_until_a_new_prompt() {
    let (mut t, now) = replay(include_bytes!("fixtures/claude_permission.ans"), 80, 24);
    assert!(t.on_input(b"\r", now));
    assert_eq!(t.state(), ActivityState::Idle);
    // Claude redraws to its working screen and streams: active, not asking.
    let rules = ActivityRules::defaults(Duration::from_secs(2));
    let mut model = ScreenModel::new(80, 24, 1 << 20, 0);
    model.feed(b"\x1b[H\x1b[2J");
    model.feed(include_bytes!("fixtures/claude_working.ans"));
    let mut at = now;
    for i in 0..10 {
        at += 100 * MS;
        t.on_output(at);
        t.on_observation(&observe(&model, &rules, 100 + i), at);
    }
    assert_eq!(t.state(), ActivityState::Active);
}
