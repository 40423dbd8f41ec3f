//! Snapshot tests of copy mode: the frozen view with its selection and search matches painted
//! (read back from the cells' colours into a mask under the screen), and its status line.

mod common;

use common::*;
use controlroom_tui::state::{Msg, State};
use controlroom_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Attached (80×25, the worker 80×24) to a worker that printed `text`.
fn attached(text: &str) -> State {
    let mut st = busy_state();
    st.update(Msg::Resize { cols: 80, rows: 25 });
    feed_history(&mut st, text.as_bytes());
    key(&mut st, KeyCode::Enter);
    st
}

fn ctrl(st: &mut State, c: char) {
    st.update(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
}

fn type_str(st: &mut State, text: &str) {
    for c in text.chars() {
        key(st, KeyCode::Char(c));
    }
}

/// `ctrl-\ [`.
fn enter_copy(st: &mut State) {
    ctrl(st, '\\');
    key(st, KeyCode::Char('['));
}

/// The screen's text, then a mask of what copy mode painted: `=` selected, `#` the current
/// search match, `~` the other matches; then where the cursor is.
fn render_marked(st: &State) -> String {
    use ratatui::backend::Backend as _;
    let (cols, rows) = (80, 25);
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).expect("test backend");
    terminal.draw(|f| controlroom_tui::ui::draw(f, st, &theme)).expect("draws");
    let buf = terminal.backend().buffer().clone();
    let mut out = terminal.backend().to_string();
    out.push_str("marks:\n");
    for y in 1..rows {
        let mask: String = (0..cols)
            .map(|x| match buf[(x, y)].bg {
                bg if bg == theme.accent => '=',
                bg if bg == theme.search_current => '#',
                bg if bg == theme.search_match => '~',
                _ => ' ',
            })
            .collect();
        out.push_str(mask.trim_end());
        out.push('\n');
    }
    let at = terminal.backend_mut().get_cursor_position().expect("cursor");
    out.push_str(&format!("cursor: {},{}\n", at.x, at.y));
    out
}

fn numbered(n: usize) -> String {
    (0..n).map(|i| format!("line {i}: the quick brown fox\r\n")).collect()
}

#[test]
fn copy_mode_character_selection_across_lines() {
    let mut st = attached(&format!("{}$ ", numbered(30)));
    enter_copy(&mut st);
    // Three lines up, onto `the`, select to the end of `quick` two lines down.
    type_str(&mut st, "kkk0wwwv");
    type_str(&mut st, "jjee");
    insta::assert_snapshot!(render_marked(&st));
}

#[test]
fn copy_mode_block_selection_over_wide_characters() {
    let text = "漢字漢字 wide\r\nabcdefghij\r\n字abcdefgh\r\n$ ";
    let mut st = attached(text);
    enter_copy(&mut st);
    type_str(&mut st, "gl");
    ctrl(&mut st, 'v');
    type_str(&mut st, "jjlll");
    insta::assert_snapshot!(render_marked(&st));
}

#[test]
fn copy_mode_line_selection_in_the_scrollback() {
    let mut st = attached(&format!("{}$ ", numbered(60)));
    enter_copy(&mut st);
    key(&mut st, KeyCode::PageUp);
    type_str(&mut st, "Vkk");
    insta::assert_snapshot!(render_marked(&st));
}

#[test]
fn copy_mode_search_prompt() {
    let mut st = attached(&format!("{}$ ", numbered(10)));
    enter_copy(&mut st);
    type_str(&mut st, "?bro");
    insta::assert_snapshot!(render_marked(&st));
}

#[test]
fn copy_mode_search_result_wrapped() {
    let mut st = attached(&format!("{}$ fox", numbered(5)));
    enter_copy(&mut st);
    type_str(&mut st, "/fox");
    key(&mut st, KeyCode::Enter);
    insta::assert_snapshot!(render_marked(&st));
}

#[test]
fn the_chord_waiting_for_its_second_key_says_so() {
    let mut st = attached("$ ");
    ctrl(&mut st, '\\');
    let header = render(&st, 80, 25).lines().next().map(str::to_owned).unwrap_or_default();
    assert!(header.contains("ctrl-\\ … [ copy mode · else detach"), "{header}");
    key(&mut st, KeyCode::Char('['));
    let header = render(&st, 80, 25).lines().next().map(str::to_owned).unwrap_or_default();
    assert!(header.contains("COPY") && header.contains("ln 1/24 col 3"), "{header}");
    key(&mut st, KeyCode::Char('Y'));
    let header = render(&st, 80, 25).lines().next().map(str::to_owned).unwrap_or_default();
    assert!(header.contains("copied 1 char "), "{header}");
}
