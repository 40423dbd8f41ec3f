//! Copy mode's model: moves, selection geometry (wide characters, blocks, wrapped rows), search.

use super::*;
use crate::state::screen::{RowsScrolled, ScreenParser};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEventKind};

/// A `cols`×`rows` screen with 100 lines of scrollback fed `data`.
fn screen(data: &str, cols: u16, rows: u16) -> ScreenParser {
    let mut p = ScreenParser::with_scrollback(rows, cols, 100, RowsScrolled::default());
    p.process(data.as_bytes());
    p
}

fn k(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn press(m: &mut CopyMode, keys: &str) {
    for c in keys.chars() {
        m.key(&k(c));
    }
}

fn at(m: &CopyMode) -> (usize, u16) {
    (m.cursor().line, m.cursor().col)
}

#[test]
fn it_starts_at_the_programs_cursor_and_stays_frozen_while_output_arrives() {
    let mut p = screen("one\r\ntwo\r\n$ ", 20, 4);
    let m = CopyMode::enter(p.term());
    assert_eq!(at(&m), (2, 2), "the cursor where the program's was");
    p.process(b"later output\r\nmore\r\nand more\r\n");
    assert_eq!(m.screen_text(), "one\ntwo\n$", "the copy is the screen as it was");
    assert_eq!(m.len(), 4);
}

#[test]
fn it_reaches_into_the_scrollback_with_page_up_and_g() {
    let data: String = (0..30).map(|i| format!("line {i}\r\n")).collect();
    let p = screen(&data, 20, 5);
    let mut m = CopyMode::enter(p.term());
    assert_eq!(m.history(), 26, "30 lines and the cursor's empty row, 5 on screen");
    assert_eq!(m.scrolled(), 0);
    m.key(&KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    assert_eq!(m.scrolled(), 5, "a page back");
    assert!(m.cursor().line < m.top() + 5 && m.cursor().line >= m.top(), "the cursor stays in view");
    press(&mut m, "g");
    assert_eq!((at(&m), m.top()), ((0, 0), 0), "g: the oldest line");
    press(&mut m, "Y");
    assert_eq!(m.screen_text(), "line 0\nline 1\nline 2\nline 3\nline 4");
    press(&mut m, "G");
    assert_eq!(at(&m).0, m.len() - 1, "G: the last line");
    assert_eq!(m.scrolled(), 0);
}

#[test]
fn a_view_scrolled_back_when_copy_mode_starts_stays_where_it_was() {
    let data: String = (0..30).map(|i| format!("line {i}\r\n")).collect();
    let mut p = screen(&data, 20, 5);
    p.term_mut().set_scrollback(10);
    let m = CopyMode::enter(p.term());
    assert_eq!(m.scrolled(), 10);
    assert_eq!(m.screen_text(), "line 16\nline 17\nline 18\nline 19\nline 20");
    assert_eq!(at(&m), (20, 0), "bottom-left of the view");
}

#[test]
fn words_lines_and_their_ends() {
    let p = screen("foo.bar  baz\r\nqux", 20, 3);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "k0");
    assert_eq!(at(&m), (0, 0));
    let mut stops = Vec::new();
    for _ in 0..5 {
        press(&mut m, "w");
        stops.push(at(&m));
    }
    assert_eq!(stops, [(0, 3), (0, 4), (0, 9), (1, 0), (1, 0)], "foo . bar baz, the next line, no further");
    press(&mut m, "b");
    assert_eq!(at(&m), (0, 9), "b: back to baz");
    press(&mut m, "b");
    assert_eq!(at(&m), (0, 4));
    press(&mut m, "e");
    assert_eq!(at(&m), (0, 6), "e: the end of bar");
    press(&mut m, "$");
    assert_eq!(at(&m), (0, 11), "$: the last character");
    press(&mut m, "0");
    assert_eq!(at(&m), (0, 0));
    press(&mut m, "j");
    assert_eq!(at(&m), (1, 0));
}

#[test]
fn a_character_selection_copies_what_it_covers() {
    let p = screen("hello world\r\nsecond line   \r\nthird", 20, 4);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gw");
    assert_eq!(at(&m), (0, 6));
    press(&mut m, "ve");
    assert_eq!(m.selected_text(), "world");
    assert_eq!(m.selection_size().as_deref(), Some("5 chars"));
    assert_eq!(m.key(&k('y')), Outcome::Copy("world".into()));
    // Across lines: from `world` to `sec`; the rest of line one, no blank tail.
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gwvjb");
    assert_eq!(at(&m), (1, 0));
    press(&mut m, "ll");
    assert_eq!(m.selected_text(), "world\nsec");
    assert_eq!(m.selected_cols(0), Some((6, 19)));
    assert_eq!(m.selected_cols(1), Some((0, 2)));
    assert_eq!(m.selected_cols(2), None);
    // Backwards: the anchor after the cursor reads the same.
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gj$v");
    assert_eq!(at(&m), (1, 10));
    press(&mut m, "kb");
    assert_eq!(at(&m), (0, 6));
    assert_eq!(m.selected_text(), "world\nsecond line");
    press(&mut m, "v");
    assert_eq!(m.selection, None, "v again clears it");
}

#[test]
fn a_row_that_wrapped_joins_the_next_without_a_newline() {
    let p = screen("abcdefghij-wrapped\r\nnext", 10, 4);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gVj");
    assert_eq!(m.selected_text(), "abcdefghij-wrapped");
    press(&mut m, "j");
    assert_eq!(m.selected_text(), "abcdefghij-wrapped\nnext");
    assert_eq!(m.selection_size().as_deref(), Some("3 lines"));
}

#[test]
fn a_line_selection_takes_whole_rows() {
    let p = screen("alpha\r\nbeta\r\ngamma", 20, 4);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gllVj");
    assert_eq!(m.selected_text(), "alpha\nbeta");
    assert_eq!(m.selected_cols(1), Some((0, 19)));
    assert_eq!(m.selection_size().as_deref(), Some("2 lines"));
    // `y` with nothing selected copies the cursor's line.
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gj");
    assert_eq!(m.key(&k('y')), Outcome::Copy("beta".into()));
}

#[test]
fn a_block_selection_takes_the_same_columns_of_every_row() {
    let p = screen("0123456789\r\nabcdefghij\r\nABCDEFGHIJ\r\nshort", 12, 5);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gll");
    m.key(&ctrl('v'));
    press(&mut m, "jjjlll");
    assert_eq!(m.selected_text(), "2345\ncdef\nCDEF\nort");
    assert_eq!(m.selection_size().as_deref(), Some("4×4"));
    assert_eq!(m.selected_cols(3), Some((2, 5)));
    // Switching kinds keeps the anchor.
    press(&mut m, "v");
    assert_eq!(m.selected_text(), "23456789\nabcdefghij\nABCDEFGHIJ\nshort");
}

#[test]
fn wide_characters_are_selected_and_moved_over_whole() {
    let p = screen("a漢字b\r\n12345\r\nxy", 12, 4);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "g");
    press(&mut m, "l");
    assert_eq!(at(&m), (0, 1), "onto 漢");
    press(&mut m, "l");
    assert_eq!(at(&m), (0, 3), "over both its columns, onto 字");
    press(&mut m, "h");
    assert_eq!(at(&m), (0, 1), "h: a column inside a wide character is its first");
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gllhv");
    assert_eq!(at(&m), (0, 1));
    press(&mut m, "l");
    assert_eq!(m.selected_text(), "漢字");
    assert_eq!(m.selected_cols(0), Some((1, 4)), "both halves of 字");
    // A block whose edges cut wide characters takes them whole; rows below keep the columns.
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "gl");
    m.key(&ctrl('v'));
    press(&mut m, "lj");
    assert_eq!(at(&m), (1, 3));
    assert_eq!(m.selected_cols(0), Some((1, 4)));
    assert_eq!(m.selected_cols(1), Some((1, 3)));
    assert_eq!(m.selected_text(), "漢字\n234");
    // Down from a wide character's column lands on the cell there.
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "glljlk");
    assert_eq!(at(&m), (0, 3));
}

#[test]
fn search_goes_forward_and_back_wraps_and_says_so() {
    let p = screen("foo one\r\nbar\r\nfoo two\r\nend foo", 20, 5);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "g/foo");
    assert!(m.search.prompt.is_some());
    m.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(at(&m), (2, 0), "the next match after the cursor");
    assert_eq!(m.search.current, Some((Pos { line: 2, col: 0 }, 3)));
    press(&mut m, "n");
    assert_eq!(at(&m), (3, 4));
    press(&mut m, "n");
    assert_eq!(at(&m), (0, 0), "wrapped to the top");
    assert_eq!(m.search.note.as_deref(), Some("search wrapped"));
    press(&mut m, "N");
    assert_eq!(at(&m), (3, 4), "N goes back, wrapping the other way");
    press(&mut m, "?two");
    m.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(at(&m), (2, 4), "? searches backward");
    assert!(m.search.backward);
    press(&mut m, "/zzz");
    m.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(at(&m), (2, 4), "no match: the cursor stays");
    assert_eq!(m.search.note.as_deref(), Some("no match for \"zzz\""));
    assert_eq!(m.matches_on(3).len(), 0);
}

#[test]
fn search_is_smart_case_and_finds_wide_text() {
    let p = screen("Foo 漢字 foo", 20, 2);
    let mut m = CopyMode::enter(p.term());
    press(&mut m, "g/字 f");
    m.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(m.search.current, Some((Pos { line: 0, col: 6 }, 4)));
    press(&mut m, "0/Foo");
    m.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(m.matches_on(0).len(), 1, "an upper-case letter makes it case-sensitive");
}

#[test]
fn q_and_esc_leave_and_esc_first_closes_a_prompt() {
    let p = screen("x", 10, 2);
    let mut m = CopyMode::enter(p.term());
    assert_eq!(m.key(&k('q')), Outcome::Leave);
    press(&mut m, "/ab");
    assert_eq!(m.key(&KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)), Outcome::Stay(true));
    assert!(m.search.prompt.is_none());
    assert_eq!(m.key(&KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)), Outcome::Leave);
    assert_eq!(m.key(&k('Z')), Outcome::Stay(false), "not a copy-mode key");
}

#[test]
fn a_mouse_drag_selects_and_its_release_copies() {
    let p = screen("hello world\r\nsecond", 20, 3);
    let mut m = CopyMode::enter(p.term());
    assert_eq!(m.mouse(MouseEventKind::Down(MouseButton::Left), 0, 6), Outcome::Stay(true));
    assert_eq!(at(&m), (0, 6));
    assert!(m.selection.is_none(), "a click only moves the cursor");
    m.mouse(MouseEventKind::Drag(MouseButton::Left), 0, 8);
    m.mouse(MouseEventKind::Drag(MouseButton::Left), 1, 2);
    assert!(m.dragging());
    assert_eq!(m.selected_text(), "world\nsec");
    assert_eq!(m.mouse(MouseEventKind::Up(MouseButton::Left), 1, 2), Outcome::Copy("world\nsec".into()));
    // A click without a drag copies nothing.
    let mut m = CopyMode::enter(p.term());
    m.mouse(MouseEventKind::Down(MouseButton::Left), 0, 1);
    assert_eq!(m.mouse(MouseEventKind::Up(MouseButton::Left), 0, 1), Outcome::Stay(false));
}

#[test]
fn the_wheel_scrolls_the_copy_and_keeps_the_cursor_in_view() {
    let data: String = (0..30).map(|i| format!("line {i}\r\n")).collect();
    let p = screen(&data, 20, 5);
    let mut m = CopyMode::enter(p.term());
    m.mouse(MouseEventKind::ScrollUp, 2, 0);
    assert_eq!(m.scrolled(), WHEEL_ROWS);
    assert!(m.cursor().line < m.top() + 5);
    m.mouse(MouseEventKind::ScrollDown, 2, 0);
    assert_eq!(m.scrolled(), 0);
}

#[test]
fn the_alternate_screen_has_only_its_rows() {
    let p = screen("main\r\n\x1b[?1049hfull screen app", 20, 3);
    let m = CopyMode::enter(p.term());
    assert_eq!((m.len(), m.history()), (3, 0));
    assert_eq!(m.screen_text(), "full screen app");
}
