//! Unit tests of `State::update` for the daily-driver fixes: stop keeps a worker, deleting one
//! asks, restarting a running one asks, and every text field edits with the same keys.

use super::tests::{code, key, two_sessions};
use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(st: &mut State, text: &str) {
    for c in text.chars() {
        st.update(key(c));
    }
}

fn a1() -> (SessionId, WorkerId) {
    (SessionId::new("a"), WorkerId::new("a1"))
}

#[test]
fn x_stops_the_worker_and_capital_x_deletes_it_after_asking() {
    let (session, worker) = a1();
    let mut st = two_sessions();
    st.update(key('x'));
    let Mode::Confirm(c) = &st.mode else { panic!("x asks first") };
    assert!(c.question().contains("R restarts it"), "{}", c.question());
    let fx = st.update(key('y')).effects;
    assert_eq!(fx, vec![Effect::StopWorker { session: session.clone(), worker: worker.clone() }]);

    assert!(st.update(key('X')).effects.is_empty(), "X asks first");
    assert!(matches!(st.mode, Mode::Confirm(Confirm::DeleteWorker { running: true, .. })));
    assert!(st.update(key('n')).effects.is_empty(), "no deletes nothing");
    st.update(key('X'));
    assert_eq!(st.update(key('y')).effects, vec![Effect::DeleteWorker { session, worker }]);
}

#[test]
fn restarting_a_running_worker_asks_and_an_exited_one_restarts_at_once() {
    let (session, worker) = a1();
    let mut st = two_sessions();
    assert!(st.update(key('R')).effects.is_empty(), "a running worker is not restarted unasked");
    let Mode::Confirm(c) = &st.mode else { panic!("R asks while it runs") };
    assert!(c.question().starts_with("Restart worker “a1”?"), "{}", c.question());
    assert!(st.update(code(KeyCode::Esc)).effects.is_empty());
    st.update(key('R'));
    let restart = Effect::RestartWorker { session: session.clone(), worker: worker.clone() };
    assert_eq!(st.update(key('y')).effects, vec![restart.clone()]);

    let before = st.session().cloned().expect("a session");
    let mut s = before.clone();
    s.workers[0].state = controlroom_protocol::WorkerState::Exited;
    s.workers[0].exit_code = Some(0);
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::Delta(controlroom_protocol::Delta {
        seq: 11,
        timestamp: String::new(),
        event: controlroom_protocol::DeltaEvent::SessionUpdated { session_id: session, session: s, before },
    })))));
    assert_eq!(st.update(key('R')).effects, vec![restart]);
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn the_filter_edits_with_ctrl_chords_instead_of_typing_letters() {
    let mut st = two_sessions();
    st.update(key('/'));
    typed(&mut st, "title b");
    st.update(ctrl('w'));
    assert_eq!(st.filter.as_str(), "title ");
    st.update(ctrl('u'));
    assert_eq!(st.filter.as_str(), "", "ctrl-u clears; it does not insert u");
    typed(&mut st, "-b");
    st.update(ctrl('a'));
    typed(&mut st, "title");
    st.update(ctrl('e'));
    assert_eq!(st.filter.as_str(), "title-b");
    st.update(Msg::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::ALT)));
    assert_eq!(st.filter.as_str(), "title-");
    st.update(code(KeyCode::Enter));
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn form_fields_and_the_search_prompt_edit_like_the_filter() {
    let mut st = two_sessions();
    st.update(key('n'));
    typed(&mut st, "my api");
    st.update(ctrl('w'));
    st.update(ctrl('a'));
    typed(&mut st, "the ");
    let Mode::Form(form) = &st.mode else { panic!("the new-session form") };
    assert_eq!(form.value(0), "the my");
    st.update(code(KeyCode::Esc));

    // Attached and scrolled back, `/` opens the search prompt.
    st.update(super::tests::a1_history(&"line\r\n".repeat(40), 80, 24, 0));
    st.update(code(KeyCode::Enter));
    st.update(Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT)));
    st.update(key('/'));
    typed(&mut st, "no such");
    st.update(ctrl('w'));
    st.update(ctrl('u'));
    typed(&mut st, "li");
    let prompt = st.term.as_ref().and_then(|t| t.search.as_ref()).and_then(|s| s.prompt.as_deref());
    assert_eq!(prompt, Some("li"));
}

fn read_only() -> State {
    let mut st = two_sessions();
    st.settings.read_only = true;
    st
}

#[test]
fn a_read_only_connection_changes_nothing_and_says_so() {
    let mut st = read_only();
    for c in ['n', 'w', 'r', 'x', 'X', 'R', 'D'] {
        assert!(st.update(key(c)).effects.is_empty(), "{c} does nothing");
        assert_eq!(st.mode, Mode::Dashboard, "{c} opens no dialog");
        assert!(st.notice.as_ref().is_some_and(|n| n.text.starts_with("read-only")), "{c} says why");
    }
}

#[test]
fn a_read_only_connection_drops_keys_for_the_worker_and_tells_once() {
    let mut st = read_only();
    st.update(super::tests::a1_history("$ ", 80, 24, 2));
    let fx = st.update(code(KeyCode::Enter)).effects;
    assert_eq!(st.mode, Mode::Attach);
    assert!(fx.iter().all(|e| !matches!(e, Effect::Send(_))), "no resize is sent: {fx:?}");
    let first = st.update(key('l'));
    assert!(first.effects.is_empty() && first.redraw, "the first dropped key is told");
    assert!(st.notice.as_ref().is_some_and(|n| n.text.contains("read-only")));
    let second = st.update(key('s'));
    assert!(second.effects.is_empty() && !second.redraw, "later ones drop quietly");
    assert!(st.update(Msg::Paste("rm -rf /".into())).effects.is_empty());
    st.update(Msg::Key(KeyEvent::new(KeyCode::Char('\\'), KeyModifiers::CONTROL)));
    st.update(Msg::ChordTimeout);
    assert_eq!(st.mode, Mode::Dashboard, "detach still works");
}

#[test]
fn shift_page_up_scrolls_a_whole_page() {
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 80, rows: 25 });
    st.update(super::tests::a1_history(&"line\r\n".repeat(100), 80, 24, 0));
    st.update(code(KeyCode::Enter));
    let rows = st.attach_size().1;
    assert_eq!(rows, 24);
    st.update(Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT)));
    assert_eq!(st.term.as_ref().map(|t| t.scrolled()), Some(usize::from(rows)));
    st.update(Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT)));
    st.update(Msg::Key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::SHIFT)));
    assert_eq!(st.term.as_ref().map(|t| t.scrolled()), Some(usize::from(rows)));
}

#[test]
fn the_filter_matches_worker_names() {
    let mut st = two_sessions();
    st.update(key('/'));
    typed(&mut st, "B2");
    st.update(code(KeyCode::Enter));
    let visible: Vec<_> = st.store.visible(&st.filter).iter().map(|s| s.id.clone()).collect();
    assert_eq!(visible, vec![SessionId::new("b")], "only the session with worker b2");
}

#[test]
fn a_new_session_starts_in_the_start_directory_and_tab_completes_it() {
    let mut st = two_sessions();
    st.settings.start_dir = Some("/home/ada/src".into());
    st.update(key('n'));
    st.update(code(KeyCode::Tab));
    let Mode::Form(form) = &st.mode else { panic!("the form") };
    assert_eq!(form.value_of(dialog::DIRECTORY), "/home/ada/src", "prefilled");
    st.update(Msg::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::ALT)));
    typed(&mut st, "co");
    let fx = st.update(code(KeyCode::Tab)).effects;
    assert_eq!(fx, vec![Effect::CompletePath { typed: "/home/ada/co".into() }]);
    let found = |c: &[&str]| {
        Msg::Done(Done::PathCompletions {
            typed: "/home/ada/co".into(),
            candidates: c.iter().map(|s| (*s).to_owned()).collect(),
        })
    };
    st.update(found(&["/home/ada/code/", "/home/ada/controlroom/"]));
    let Mode::Form(form) = &st.mode else { panic!("the form") };
    assert_eq!(form.value_of(dialog::DIRECTORY), "/home/ada/co", "two choices share nothing more");
    assert!(st.notice.as_ref().is_some_and(|n| n.text == "code  controlroom"), "{:?}", st.notice);
    typed(&mut st, "n");
    st.update(code(KeyCode::Tab));
    st.update(Msg::Done(Done::PathCompletions {
        typed: "/home/ada/con".into(),
        candidates: vec!["/home/ada/controlroom/".into()],
    }));
    let Mode::Form(form) = &st.mode else { panic!("the form") };
    assert_eq!(form.value_of(dialog::DIRECTORY), "/home/ada/controlroom/");
    assert_eq!(form.focus, 1, "still in the directory field");
    st.update(code(KeyCode::Tab));
    st.update(Msg::Done(Done::PathCompletions {
        typed: "/home/ada/controlroom/".into(),
        candidates: vec![],
    }));
    let Mode::Form(form) = &st.mode else { panic!("the form") };
    assert_eq!(form.focus, 2, "nothing more to complete: Tab moves on");
    let fx = st.update(code(KeyCode::Enter)).effects;
    let [Effect::CreateSession(req)] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(req.cwd.as_deref(), Some("/home/ada/controlroom/"));
}

#[test]
fn r_on_a_worker_renames_it_and_on_a_session_renames_the_session() {
    let mut st = two_sessions();
    st.update(key('r'));
    let Mode::Form(form) = &st.mode else { panic!("a form") };
    assert_eq!(form.title(), "Rename session");
    st.update(code(KeyCode::Esc));
    st.update(code(KeyCode::Tab));
    assert_eq!(st.focus, Focus::Workers);
    st.update(key('r'));
    let Mode::Form(form) = &st.mode else { panic!("a form") };
    assert_eq!((form.title(), form.value(0)), ("Rename worker", "a1"));
    st.update(ctrl('u'));
    typed(&mut st, "server");
    let (session, worker) = a1();
    let fx = st.update(code(KeyCode::Enter)).effects;
    assert_eq!(fx, vec![Effect::RenameWorker { session, worker, name: "server".into() }]);
}
