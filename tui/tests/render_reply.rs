//! Answering without attaching, as the user sees it: an asking worker's row shows its question,
//! the keys that answer it and the auto-answer countdown; `i` opens a reply line; `y`/`n`/`1`-`9`
//! answer a prompt that takes them and only hint otherwise; a read-only connection says why not.

mod common;

use common::*;
use controlroom_protocol::{
    ActivityState, AutoAnswer, ReplyResponse, SessionId, Worker, WorkerId, WorkerKind, WorkerPrompt,
    WorkerState,
};
use controlroom_tui::state::{Done, Effect, Mode, Msg, Replied, State};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn menu_prompt(auto: Option<AutoAnswer>) -> WorkerPrompt {
    WorkerPrompt {
        question: "Do you want to proceed? ❯ 1. Yes  2. Yes, and don't ask again  3. No".into(),
        answers: vec!["1".into(), "2".into(), "3".into()],
        enter: false,
        auto_answer: auto,
    }
}

fn countdown(at: &str) -> AutoAnswer {
    AutoAnswer { answer: "1".into(), delay_ms: 3000, at: Some(at.into()), off: false }
}

fn asking_state(prompt: Option<WorkerPrompt>) -> State {
    let mut st = base_state();
    let claude = Worker {
        prompt: prompt.map(Box::new),
        ..worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None)
    };
    let bash = worker("w2", "bash", WorkerKind::Shell, "/bin/bash", WorkerState::Running, None);
    sync(
        &mut st,
        vec![session(
            "s1",
            "api",
            "2026-11-21T09:00:00Z",
            Some(("git@github.com:ada/api.git", "main")),
            vec![claude, bash],
        )],
        vec![activity("s1", "w1", ActivityState::Asking), activity("s1", "w2", ActivityState::Idle)],
    );
    st
}

fn press(st: &mut State, c: char) -> Vec<Effect> {
    st.update(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))).effects
}

fn replies(fx: &[Effect]) -> Vec<(String, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Reply { text, literal, .. } => Some((text.clone(), *literal)),
            _ => None,
        })
        .collect()
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen.lines().find(|l| l.contains(&format!(" {name} "))).unwrap_or_default()
}

#[test]
fn an_asking_row_shows_its_question_keys_and_the_auto_answer_countdown() {
    let mut st = asking_state(Some(menu_prompt(Some(countdown("2026-11-21T12:00:03Z")))));
    key(&mut st, KeyCode::Tab);
    let screen = render(&st, 200, 16);
    let claude = row(&screen, "claude");
    assert!(claude.contains("“Do you want to proceed? ❯ 1. Yes"), "{claude}");
    assert!(claude.contains("1/2/3 · auto-answer 1 in 3s"), "{claude}");
    insta::assert_snapshot!(screen);
    // The clock moves: the countdown follows.
    st.now = "2026-11-21T12:00:01.500Z".parse().expect("time");
    assert!(row(&render(&st, 200, 16), "claude").contains("auto-answer 1 in 2s"));
    // Switched off, the row says so.
    let off = AutoAnswer { at: None, off: true, ..countdown("") };
    let st = asking_state(Some(menu_prompt(Some(off))));
    assert!(row(&render(&st, 200, 16), "claude").contains("1/2/3 · auto-answer off"));
}

#[test]
fn the_answer_keys_answer_a_prompt_that_takes_them_and_hint_otherwise() {
    let mut st = asking_state(Some(menu_prompt(None)));
    assert_eq!(replies(&press(&mut st, '2')), [("2".to_owned(), false)]);
    let fx = press(&mut st, 'y');
    assert!(replies(&fx).is_empty(), "{fx:?}");
    let notice = st.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert_eq!(notice, "y does not answer this prompt: it takes 1/2/3");
    assert_eq!(st.mode, Mode::Dashboard);
    // `n` is still "new session" for a worker that is not asking.
    let mut st = asking_state(None);
    press(&mut st, 'n');
    assert!(matches!(st.mode, Mode::Form(_)), "{:?}", st.mode);
    // A y/N prompt: y answers.
    let yn = WorkerPrompt {
        question: "Do you want to continue? [y/N]".into(),
        answers: vec!["y".into(), "n".into()],
        enter: true,
        auto_answer: None,
    };
    let mut st = asking_state(Some(yn));
    assert_eq!(replies(&press(&mut st, 'y')), [("y".to_owned(), false)]);
    st.update(Msg::Done(Done::Replied(Box::new(Replied {
        session: SessionId::new("s1"),
        worker: WorkerId::new("w1"),
        text: "y".into(),
        response: ReplyResponse {
            question: Some("Do you want to continue? [y/N]".into()),
            sent: "y\r".into(),
            activity_state: ActivityState::Asking,
        },
    }))));
    let notice = st.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert_eq!(notice, "claude: answered \"Do you want to continue? [y/N]\" with y");
    // A is the auto-answer switch.
    let mut st = asking_state(Some(menu_prompt(Some(countdown("2026-11-21T12:00:03Z")))));
    let fx = press(&mut st, 'A');
    assert!(fx.iter().any(|e| matches!(e, Effect::AutoAnswer { enabled: false, .. })), "{fx:?}");
}

#[test]
fn i_opens_a_reply_line_enter_sends_it_and_esc_cancels() {
    let mut st = asking_state(Some(menu_prompt(None)));
    press(&mut st, 'i');
    assert!(matches!(st.mode, Mode::Reply(_)), "{:?}", st.mode);
    for c in "no, use make".chars() {
        press(&mut st, c);
    }
    let screen = render(&st, 100, 20);
    assert!(screen.contains("Reply to claude"), "{screen}");
    assert!(screen.contains("› no, use make"), "{screen}");
    insta::assert_snapshot!(screen);
    let fx = st.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))).effects;
    assert_eq!(replies(&fx), [("no, use make".to_owned(), true)]);
    assert_eq!(st.mode, Mode::Dashboard);
    // Empty line + Enter sends Enter alone; Esc sends nothing.
    press(&mut st, 'i');
    let fx = st.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))).effects;
    assert_eq!(replies(&fx), [(String::new(), true)]);
    press(&mut st, 'i');
    press(&mut st, 'x');
    let fx = st.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))).effects;
    assert!(replies(&fx).is_empty());
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn a_read_only_connection_says_why_it_cannot_reply() {
    let mut st = asking_state(Some(menu_prompt(None)));
    st.settings.read_only = true;
    let fx = press(&mut st, 'i');
    assert!(replies(&fx).is_empty());
    assert_eq!(st.mode, Mode::Dashboard);
    let notice = st.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert!(notice.starts_with("read-only connection"), "{notice}");
    let fx = press(&mut st, '1');
    assert!(replies(&fx).is_empty());
    let notice = st.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert_eq!(notice, "read-only connection: it can watch, not answer");
}
