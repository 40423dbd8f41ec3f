//! Answering without attaching, against real PTY programs: a `[y/N]` prompt and a Claude-like
//! numbered menu (fixtures/*.sh) are detected, their question and answers published in the
//! worker's status, answered by input, and a preset's auto-answer fires after its countdown,
//! logged in the evidence `explain` prints.

use super::detect::{ActivityRules, Observation};
use super::screen::ScreenModel;
use super::tests::{DEADLINE, ctx};
use super::*;
use std::time::Duration;
use std::time::Instant;

const MENU: &str = include_str!("fixtures/claude_menu.sh");
const YES_NO: &str = include_str!("fixtures/yn_prompt.sh");

fn script(body: &str, env: &[(&str, &str)], rules: Option<ActivityRules>) -> SpawnSpec {
    SpawnSpec {
        key: "wprompt".into(),
        command: vec!["/bin/sh".into(), "-c".into(), body.into()],
        cwd: std::env::temp_dir(),
        env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        cols: 80,
        rows: 24,
        activity: rules.map(Arc::new),
        offset: 0,
    }
}

fn auto(answer: &str, delay: Duration) -> ActivityRules {
    let mut r = ActivityRules::defaults(Duration::from_secs(2));
    r.auto_answer = Some(answer.into());
    r.auto_answer_delay = delay;
    r
}

async fn wait_status(w: &WorkerHandle, what: &str, pred: impl FnMut(&WorkerStatus) -> bool) -> WorkerStatus {
    let mut rx = w.status();
    match tokio::time::timeout(DEADLINE, rx.wait_for(pred)).await {
        Ok(Ok(s)) => s.clone(),
        _ => panic!("timed out waiting for {what}: {:?}", *w.status().borrow()),
    }
}

async fn wait_screen(w: &WorkerHandle, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let lines = w.screen().await.expect("screen").lines;
        if lines.iter().any(|l| l.contains(needle)) {
            return lines;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {needle:?} on screen: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_yes_no_prompt_publishes_its_question_and_y_enter_answers_it() {
    let w = WorkerHandle::spawn(ctx(), script(YES_NO, &[], None)).expect("spawn");
    let st = wait_status(&w, "a prompt", |s| s.prompt.is_some()).await;
    assert_eq!(st.activity, ActivityState::Asking);
    let p = st.prompt.expect("prompt");
    assert_eq!(p.question, "Do you want to continue? [y/N]");
    assert_eq!((p.answers, p.enter, p.auto_answer), (vec!["y".to_owned(), "n".to_owned()], true, None));
    w.input(None, b"y\r".to_vec()).await.expect("input");
    wait_screen(&w, "answer:y").await;
    let st = wait_status(&w, "answered", |s| s.activity != ActivityState::Asking).await;
    assert_eq!(st.prompt, None, "no prompt once answered");
    w.stop().await;
}

#[tokio::test]
async fn a_claude_menu_is_answered_by_the_digit_alone() {
    let w = WorkerHandle::spawn(ctx(), script(MENU, &[], None)).expect("spawn");
    let st = wait_status(&w, "a menu", |s| s.prompt.is_some()).await;
    let p = st.prompt.expect("prompt");
    assert!(p.question.starts_with("Do you want to proceed? ❯ 1. Yes  2. Yes, and don't ask again"), "{p:?}");
    assert_eq!((p.answers.join(","), p.enter), ("1,2,3".to_owned(), false));
    w.input(None, b"2".to_vec()).await.expect("input");
    wait_screen(&w, "picked:2").await;
    wait_status(&w, "answered", |s| s.activity != ActivityState::Asking && s.prompt.is_none()).await;
    let info = w.activity().await.expect("activity");
    assert!(
        info.evidence.iter().any(|e| e.detail == "a client answered the menu with \"2\""),
        "{:?}",
        info.evidence
    );
    w.stop().await;
}

#[tokio::test]
async fn auto_answer_counts_down_then_answers_by_itself_and_is_logged() {
    let rules = auto("1", Duration::from_millis(600));
    let w = WorkerHandle::spawn(ctx(), script(MENU, &[], Some(rules))).expect("spawn");
    let st = wait_status(&w, "a countdown", |s| {
        s.prompt.as_ref().and_then(|p| p.auto_answer.as_ref()).is_some_and(|a| a.at.is_some())
    })
    .await;
    let a = st.prompt.and_then(|p| p.auto_answer).expect("auto-answer");
    assert_eq!((a.answer.as_str(), a.delay_ms, a.off), ("1", 600, false));
    // Nobody types: the gateway answers.
    wait_screen(&w, "picked:1").await;
    wait_status(&w, "answered", |s| s.prompt.is_none()).await;
    let info = w.activity().await.expect("activity");
    let logged = info.evidence.iter().find(|e| e.detail.starts_with("auto-answered")).expect("logged");
    assert_eq!(logged.kind, "input");
    assert!(
        logged.detail.contains("\"Do you want to proceed? ❯ 1. Yes")
            && logged.detail.ends_with("with \"1\" after 600 ms (preset auto-answer)"),
        "{}",
        logged.detail
    );
    w.stop().await;
}

#[tokio::test]
async fn switching_auto_answer_off_or_typing_stops_the_countdown() {
    let rules = auto("1", Duration::from_secs(600));
    let w = WorkerHandle::spawn(ctx(), script(MENU, &[], Some(rules))).expect("spawn");
    let counting = |s: &WorkerStatus| {
        s.prompt.as_ref().and_then(|p| p.auto_answer.as_ref()).is_some_and(|a| a.at.is_some() && !a.off)
    };
    wait_status(&w, "a countdown", counting).await;
    w.set_auto_answer(false).await.expect("off");
    wait_status(&w, "off", |s| {
        s.prompt.as_ref().and_then(|p| p.auto_answer.as_ref()).is_some_and(|a| a.off && a.at.is_none())
    })
    .await;
    w.set_auto_answer(true).await.expect("on");
    wait_status(&w, "counting again", counting).await;
    w.input(None, b"3".to_vec()).await.expect("input");
    wait_screen(&w, "picked:3").await;
    let info = w.activity().await.expect("activity");
    let details: Vec<&str> = info.evidence.iter().map(|e| e.detail.as_str()).collect();
    assert!(details.contains(&"auto-answer cancelled: a client typed"), "{details:?}");
    assert!(details.contains(&"auto-answer switched off by a client"), "{details:?}");
    assert!(!details.iter().any(|d| d.starts_with("auto-answered")), "{details:?}");
    w.stop().await;
}

#[test]
fn the_recorded_claude_menu_publishes_its_question_and_digits() {
    let rules = ActivityRules::defaults(Duration::from_secs(2));
    let mut model = ScreenModel::new(80, 24, 1 << 20, 0);
    model.feed(include_bytes!("fixtures/claude_permission.ans"));
    let tail = model.tail(rules.scan_lines);
    let obs =
        Observation { scans: 1, signals: model.signals().clone(), prompt: rules.find_prompt(&tail), tail };
    let q = obs.prompt.expect("prompt").question;
    assert_eq!(q.answers, ["1", "2", "3"]);
    assert!(q.text.starts_with("Do you want to proceed? ❯ 1. Yes  2. Yes, and don't ask again"), "{q:?}");
    assert!(!q.enter);
}
