//! The worker is its program's terminal: queries get answers from the screen model with no
//! client attached, exactly once, through the program's input.

use super::tests::{DEADLINE, ctx, ctx_with, sh};
use super::*;
use controlroom_term::Rgb;
use std::time::Duration;
use std::time::Instant;

/// `script` under bash with echo off from the start: an answer can arrive before `read -s` turns
/// echo off (as in any terminal), and the echoed answer would then show on the screen.
fn bash(script: &str) -> SpawnSpec {
    let script = format!("stty -echo; {script}");
    SpawnSpec { command: vec!["bash".into(), "-c".into(), script], ..sh("") }
}

/// Polls the worker's screen until a line contains `needle`; returns that line.
async fn screen_line(w: &WorkerHandle, needle: &str) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let screen = w.screen().await.expect("screen");
        if let Some(line) = screen.lines.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {needle:?}; screen: {:?}", screen.lines);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_cursor_position_query_is_answered_with_no_client_attached() {
    let w = WorkerHandle::spawn(ctx(), bash(r#"printf '\e[6n'; IFS= read -rsd R r; echo "got:${r#*[}""#))
        .expect("spawn");
    assert_eq!(screen_line(&w, "got:").await, "got:1;1");
    w.stop().await;
}

#[tokio::test]
async fn the_cursor_report_is_where_the_program_left_the_cursor() {
    let script = r#"printf 'abc\r\nxy\e[6n'; IFS= read -rsd R r; printf '\r\n'; echo "got:${r#*[}""#;
    let w = WorkerHandle::spawn(ctx(), bash(script)).expect("spawn");
    assert_eq!(screen_line(&w, "got:").await, "got:2;3");
    w.stop().await;
}

#[tokio::test]
async fn device_attributes_are_answered() {
    let script = r#"printf '\e[c'; IFS= read -rsd c a; printf '\e[>c'; IFS= read -rsd c b; echo "da1:${a#*[} da2:${b#*[}""#;
    let w = WorkerHandle::spawn(ctx(), bash(script)).expect("spawn");
    assert_eq!(screen_line(&w, "da1:").await, "da1:?1;2 da2:>1;0;0");
    w.stop().await;
}

#[tokio::test]
async fn each_query_is_answered_exactly_once_in_order() {
    // Were the position answered twice, the second read would start with a stray report.
    let script = concat!(
        r#"printf '\e[6n'; IFS= read -rsd R a; printf '\e[5n'; IFS= read -rsd n b; "#,
        r#"echo "a:${a//$'\e'/E} b:${b//$'\e'/E}""#
    );
    let w = WorkerHandle::spawn(ctx(), bash(script)).expect("spawn");
    assert_eq!(screen_line(&w, "a:").await, "a:E[1;1 b:E[0");
    w.stop().await;
}

#[tokio::test]
async fn colour_queries_are_answered_from_the_configured_palette() {
    let config = WorkerConfig {
        terminal_foreground: Rgb { r: 0x11, g: 0x22, b: 0x33 },
        terminal_background: Rgb { r: 0xfe, g: 0xdc, b: 0xba },
        ..WorkerConfig::default()
    };
    assert_eq!(
        config.replies().palette.cursor,
        config.terminal_foreground,
        "the cursor takes the foreground"
    );
    let script = r#"printf '\e]11;?\a'; IFS= read -rsd $'\a' r; echo "bg:${r#*;}""#;
    let w = WorkerHandle::spawn(ctx_with(config), bash(script)).expect("spawn");
    assert_eq!(screen_line(&w, "bg:").await, "bg:rgb:fefe/dcdc/baba");
    w.stop().await;
}
