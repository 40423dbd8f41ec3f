//! Scrollback search driven through `State::update`: which keys open, edit, run, step and close
//! it, which still reach the worker, and what scrolling and output do to it.

use super::search::{Edge, view_top};
use super::tests::{a1, a1_history, code, key, two_sessions};
use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Attached to `a1` on a 40×10 worker screen showing `lines` lines, the first one numbered 0:
/// `error N` on every tenth line from 3 on, `ok N` otherwise.
fn attached(lines: usize) -> State {
    let mut st = two_sessions();
    st.update(Msg::Resize { cols: 40, rows: 11 });
    let data: String = (0..lines)
        .map(|i| if i % 10 == 3 { format!("error {i}\r\n") } else { format!("ok {i}\r\n") })
        .collect();
    st.update(a1_history(&data, 40, 10, 0));
    st.update(code(KeyCode::Enter));
    assert_eq!(st.mode, Mode::Attach);
    st
}

/// Scrolls back five rows, half this screen (what Shift-PgUp did before it scrolled a page):
/// the searches below start from that view.
fn scroll_back_five(st: &mut State) {
    st.scroll_term(5);
}

fn shift(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::SHIFT))
}

fn typed(st: &mut State, text: &str) {
    for c in text.chars() {
        assert!(st.update(key(c)).effects.is_empty(), "typing into the prompt sends nothing");
    }
}

/// Opens the prompt, types `query` and runs it.
fn search_for(st: &mut State, query: &str) {
    st.update(key('/'));
    typed(st, query);
    st.update(code(KeyCode::Enter));
}

fn term(st: &State) -> &TermView {
    st.term.as_ref().expect("watching a worker")
}

fn prompt(st: &State) -> Option<&str> {
    term(st).search.as_ref()?.prompt.as_deref()
}

fn results(st: &State) -> &search::Results {
    term(st).search.as_ref().and_then(|s| s.results.as_ref()).expect("search results")
}

/// The text of the row the current match is on, read from what is in view (so it also checks
/// the match is visible).
fn current_row(st: &State) -> String {
    let m = results(st).current().expect("a current match");
    let screen = term(st).parser.term();
    let row = u16::try_from(m.line - view_top(screen)).expect("in view above the bottom");
    assert!(row < screen.size().0, "the current match is in view");
    let line = screen.visible_row(row).expect("a visible row");
    let mut text = String::new();
    for col in 0..line.cells().len() {
        line.push_contents(col, &mut text);
    }
    text
}

#[test]
fn slash_in_the_live_view_goes_to_the_worker() {
    let mut st = attached(60);
    let fx = st.update(key('/')).effects;
    assert_eq!(fx, vec![Effect::Input { bytes: b"/".to_vec() }]);
    assert!(term(&st).search.is_none());
}

#[test]
fn the_prompt_edits_and_escape_cancels_where_it_was() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    let scrolled = term(&st).scrolled();
    assert!(scrolled > 0);
    assert!(st.update(key('/')).effects.is_empty(), "scrolled back, `/` opens the prompt");
    assert_eq!(prompt(&st), Some(""));
    typed(&mut st, "errx");
    st.update(code(KeyCode::Backspace));
    assert_eq!(prompt(&st), Some("err"));
    let update = st.update(code(KeyCode::Left));
    assert!(update.effects.is_empty(), "other keys do nothing while typing");
    assert!(update.redraw, "the prompt is drawn");
    st.update(code(KeyCode::Esc));
    assert!(term(&st).search.is_none());
    assert_eq!(term(&st).scrolled(), scrolled, "the view stays where it was");
    // Backspace on an empty prompt closes it too; Enter on an empty one runs nothing.
    st.update(key('/'));
    st.update(code(KeyCode::Backspace));
    assert!(term(&st).search.is_none());
    st.update(key('/'));
    st.update(code(KeyCode::Enter));
    assert!(term(&st).search.is_none());
    assert_eq!(term(&st).scrolled(), scrolled);
}

#[test]
fn enter_finds_upwards_and_n_and_capital_n_step_with_the_view_following() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    search_for(&mut st, "ERROR"); // a capital: exact case, and nothing is spelt that way
    assert_eq!(results(&st).count(), 0);
    assert!(prompt(&st).is_none());
    search_for(&mut st, "error");
    assert_eq!(results(&st).count(), 6, "error 3, 13, 23, 33, 43, 53");
    // The view (5 rows back from a screen whose top line is `ok 51`) ends on `ok 55`: the
    // search starts there and goes up.
    assert_eq!(current_row(&st), "error 53");
    assert_eq!(results(&st).position(), Some(1));
    for want in ["error 43", "error 33", "error 23", "error 13", "error 3"] {
        assert!(st.update(key('n')).effects.is_empty());
        assert_eq!(current_row(&st), want, "n goes to the next older match and shows it");
    }
    assert_eq!(results(&st).position(), Some(6));
    let scrolled = term(&st).scrolled();
    st.update(key('n'));
    assert_eq!(results(&st).edge(), Some(Edge::Oldest), "no wrapping: the header says so");
    assert_eq!((term(&st).scrolled(), current_row(&st)), (scrolled, "error 3".into()), "the view stays");
    st.update(shift(KeyCode::Char('N')));
    assert_eq!(current_row(&st), "error 13", "N goes newer (shift is how N arrives)");
    assert_eq!(results(&st).edge(), None);
}

#[test]
fn other_keys_go_to_the_worker_and_end_the_search_escape_keeps_the_place() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    search_for(&mut st, "error");
    st.update(key('n'));
    let scrolled = term(&st).scrolled();
    st.update(code(KeyCode::Esc));
    assert!(term(&st).search.is_none(), "Esc closes the search");
    assert_eq!(term(&st).scrolled(), scrolled, "and keeps the scroll position");

    search_for(&mut st, "error");
    let update = st.update(key('x'));
    let fx = update.effects;
    assert_eq!(fx, vec![Effect::Input { bytes: b"x".to_vec() }]);
    assert!(term(&st).search.is_none());
    assert_eq!(term(&st).scrolled(), 0, "back to the live view");
    assert!(update.redraw, "closing the search is drawn");
}

#[test]
fn a_new_prompt_over_results_keeps_them_until_it_runs() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    search_for(&mut st, "error");
    st.update(key('n'));
    st.update(key('/'));
    typed(&mut st, "ok 4");
    assert_eq!(results(&st).query(), "error", "the old results stay shown while typing");
    st.update(code(KeyCode::Esc));
    assert_eq!((prompt(&st), current_row(&st).as_str()), (None, "error 43"), "Esc goes back to them");
    st.update(key('/'));
    st.update(Msg::Paste("ok 4\nsecond line".into()));
    assert_eq!(prompt(&st), Some("ok 4"), "a paste joins the query, first line only");
    st.update(code(KeyCode::Enter));
    assert_eq!(results(&st).query(), "ok 4");
    assert_eq!(results(&st).count(), 10, "ok 4 and ok 40..49 but error 43");
}

#[test]
fn scrolling_keeps_the_search_until_the_live_view() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    search_for(&mut st, "error");
    st.update(key('n'));
    st.update(shift(KeyCode::PageUp));
    assert!(term(&st).search.is_some(), "scrolling back keeps it");
    st.update(shift(KeyCode::PageDown));
    assert!(term(&st).search.is_some());
    for _ in 0..20 {
        st.update(shift(KeyCode::PageDown));
    }
    assert_eq!(term(&st).scrolled(), 0);
    assert!(term(&st).search.is_none(), "scrolling down to the live view ends it");
    let fx = st.update(key('n')).effects;
    assert_eq!(fx.len(), 1, "and `n` goes to the worker again");
}

#[test]
fn output_while_searching_keeps_the_current_match_in_view() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    search_for(&mut st, "error");
    st.update(key('n'));
    assert_eq!(current_row(&st), "error 43");
    let mut offset = st.term.as_ref().and_then(|t| t.next_offset).expect("live");
    for chunk in ["more 1\r\nerror late\r\n", "\x1b[Herror on top\r\n", "x\r\n"] {
        st.update(a1(WorkerEvent::Message(WorkerServerMsg::Output { data: chunk.into(), offset })));
        offset += chunk.len() as u64;
        assert_eq!(current_row(&st), "error 43", "after {chunk:?}: the same match, still in view");
    }
    // `error late` is new; `error 53`, on the screen's top row, was written over with
    // `error on top`: still one match there.
    assert_eq!(results(&st).count(), 7, "the new match counts");
    assert_eq!(results(&st).position(), Some(3), "two matches are newer");
    st.update(shift(KeyCode::Char('N')));
    assert_eq!(current_row(&st), "error on top");
    // A full-screen program taking over ends the search; so does a resize.
    st.update(a1(WorkerEvent::Message(WorkerServerMsg::Output { data: "\x1b[?1049h".into(), offset })));
    assert!(term(&st).search.is_none());
}

#[test]
fn a_resize_ends_the_search() {
    let mut st = attached(60);
    scroll_back_five(&mut st);
    search_for(&mut st, "error");
    st.update(Msg::Resize { cols: 50, rows: 12 });
    assert!(term(&st).search.is_none());
    assert_eq!(term(&st).scrolled(), 0);
}
