//! Unit tests of the scrollback search: what it finds, in which order, and how its matches
//! stay in place while output arrives.

use super::*;
use crate::state::screen::{RowsScrolled, ScreenParser};

/// A 10×5 screen with `cap` rows of scrollback, fed `data`.
fn screen(cap: usize, data: &str) -> ScreenParser {
    let mut p = ScreenParser::with_scrollback(5, 10, cap, RowsScrolled::default());
    p.process(data.as_bytes());
    p
}

/// The text of the cells a match covers.
fn text_of(s: &Screen, m: Match) -> String {
    let row = row_at(s, m.line).expect("the match's row is kept");
    let mut out = String::new();
    for col in usize::from(m.col)..usize::from(m.col + m.width) {
        if col < row.cells().len() {
            row.push_contents(col, &mut out);
        }
    }
    out
}

/// `(line, col)` of every match, oldest first.
fn keys(r: &Results) -> Vec<(u64, u16)> {
    r.on_lines(0, u64::MAX).map(|m| (m.line, m.col)).collect()
}

#[test]
fn finds_matches_in_the_scrollback_and_on_the_screen() {
    // 12 lines on a 5-row screen: lines 0..=7 scroll off, 8..=11 and an empty row stay.
    let data: String =
        (0..12).map(|i| format!("{} l{i}\r\n", if i % 3 == 0 { "foo" } else { "bar" })).collect();
    let p = screen(100, &data);
    let s = p.term();
    assert_eq!(s.scrollback_len(), 8);
    let r = Results::run("foo", s);
    assert_eq!(keys(&r), [(0, 0), (3, 0), (6, 0), (9, 0)], "rows 0, 3, 6 in the scrollback, 9 on screen");
    assert_eq!(r.count(), 4);
    for m in r.on_lines(0, u64::MAX) {
        assert_eq!(text_of(s, *m), "foo");
    }
    let many = Results::run("l1", s);
    assert_eq!(keys(&many), [(1, 4), (10, 4), (11, 4)], "l1, l10, l11");
}

#[test]
fn smart_case_ignores_case_unless_the_query_has_a_capital() {
    let p = screen(100, "Foo fOO\r\nFOO\r\n");
    let s = p.term();
    assert_eq!(keys(&Results::run("foo", s)), [(0, 0), (0, 4), (1, 0)]);
    assert_eq!(keys(&Results::run("Foo", s)), [(0, 0)]);
    assert_eq!(keys(&Results::run("FOO", s)), [(1, 0)]);
    assert_eq!(keys(&Results::run("fOO", s)), [(0, 4)]);
    assert_eq!(Results::run("fOo", s).count(), 0, "one capital makes it exact");
}

#[test]
fn no_match_has_no_current_and_does_not_move() {
    let p = screen(100, "alpha\r\nbeta\r\n");
    let mut r = Results::run("gamma", p.term());
    assert_eq!(r.count(), 0);
    assert_eq!(r.start(p.term()), None);
    assert_eq!((r.current(), r.position()), (None, None));
    assert_eq!(r.step(true), None);
    assert_eq!(r.edge(), None, "no edge is claimed without a current match");
}

#[test]
fn n_walks_older_and_capital_n_newer_without_wrapping() {
    let data: String = (0..30).map(|i| format!("{}{i}\r\n", if i % 5 == 0 { "hit" } else { "x" })).collect();
    let mut p = screen(100, &data);
    // Look at the history with the view's bottom row on line 17 (line 15 is in view).
    let count = p.term().sink().0;
    p.term_mut().set_scrollback(usize::try_from(count - 13).expect("small"));
    assert_eq!(view_top(p.term()), 13);
    let s = p.term();
    let mut r = Results::run("hit", s);
    assert_eq!(r.count(), 6, "lines 0, 5, 10, 15, 20, 25");
    let line = |m: Option<Match>| m.map(|m| m.line);
    assert_eq!(line(r.start(s)), Some(15), "the newest match at or above the view's bottom");
    assert_eq!(r.position(), Some(3), "15 is the third counting from the newest");
    assert_eq!(line(r.step(true)), Some(10));
    assert_eq!(line(r.step(true)), Some(5));
    assert_eq!(line(r.step(false)), Some(10), "N goes back to newer");
    assert_eq!(line(r.step(true)), Some(5));
    assert_eq!(line(r.step(true)), Some(0));
    assert_eq!(r.position(), Some(6));
    assert_eq!(line(r.step(true)), None, "nothing older than the oldest");
    assert_eq!(r.edge(), Some(Edge::Oldest));
    assert_eq!(line(r.current()), Some(0), "the current match stays");
    for want in [5, 10, 15, 20, 25] {
        assert_eq!(line(r.step(false)), Some(want));
        assert_eq!(r.edge(), None);
    }
    assert_eq!(line(r.step(false)), None, "no wrap past the newest");
    assert_eq!((r.edge(), r.position()), (Some(Edge::Newest), Some(1)));
}

#[test]
fn two_matches_on_one_row_are_ordered_by_column() {
    let p = screen(100, "ab ab\r\nab\r\n");
    let mut r = Results::run("ab", p.term());
    assert_eq!(keys(&r), [(0, 0), (0, 3), (1, 0)]);
    assert_eq!(r.start(p.term()).map(|m| m.key()), Some((1, 0)));
    assert_eq!(r.step(true).map(|m| m.key()), Some((0, 3)), "older is leftward on the same row");
    assert_eq!(r.step(true).map(|m| m.key()), Some((0, 0)));
}

#[test]
fn start_takes_the_oldest_match_below_when_none_is_above() {
    let data: String = (0..20).map(|i| format!("{}\r\n", if i == 18 { "late" } else { "-" })).collect();
    let mut p = screen(100, &data);
    p.term_mut().set_scrollback(10);
    let mut r = Results::run("late", p.term());
    assert_eq!(r.start(p.term()).map(|m| m.line), Some(18));
}

#[test]
fn matching_at_the_oldest_line_kept() {
    // Capacity 3: of the 11 rows that scrolled off only lines 8, 9, 10 are kept.
    let data: String = (0..15).map(|i| format!("row{i}\r\n")).collect();
    let mut p = screen(3, &data);
    p.term_mut().set_scrollback(3);
    let s = p.term();
    assert_eq!(first_line(s), 8);
    let mut r = Results::run("row", s);
    assert_eq!(r.on_lines(0, u64::MAX).next().map(|m| m.line), Some(8), "row0..row7 are gone");
    assert_eq!(r.count(), 7, "row8..row14");
    let m = r.start(s).expect("a match");
    assert_eq!(text_of(s, m), "row");
    while r.step(true).is_some() {}
    assert_eq!(r.current().map(|m| m.line), Some(8));
    assert_eq!(r.edge(), Some(Edge::Oldest));
}

#[test]
fn wide_and_combining_characters_before_a_match_keep_its_columns() {
    let p = screen(100, "漢字 foo\r\ne\u{301}foo\r\n漢foo漢\r\n");
    let s = p.term();
    let r = Results::run("foo", s);
    let found: Vec<(u64, u16, u16)> = r.on_lines(0, 9).map(|m| (m.line, m.col, m.width)).collect();
    assert_eq!(found, [(0, 5, 3), (1, 1, 3), (2, 2, 3)]);
    for m in r.on_lines(0, 9) {
        assert_eq!(text_of(s, *m), "foo");
    }
    let wide = Results::run("字 f", s);
    assert_eq!(wide.on_lines(0, 9).map(|m| (m.col, m.width)).collect::<Vec<_>>(), [(2, 4)]);
    let accent = Results::run("e\u{301}f", s);
    assert_eq!(accent.on_lines(0, 9).map(|m| (m.col, m.width)).collect::<Vec<_>>(), [(0, 2)]);
}

#[test]
fn output_mid_search_keeps_the_current_match_and_agrees_with_a_fresh_search() {
    let data: String = (0..20).map(|i| format!("{}{i}\r\n", if i % 4 == 0 { "key" } else { "--" })).collect();
    let mut p = screen(12, &data);
    p.term_mut().set_scrollback(6);
    let mut r = Results::run("key", p.term());
    let m = r.start(p.term()).expect("a match");
    let (text, line) = (text_of(p.term(), m), m.line);
    let chunks = [
        "key20\r\n--21\r\n",
        "\x1b[Hkey on the screen top\r\n",
        "\x1b[2Jcleared\r\nkey22\r\n",
        "--\r\n--\r\n--\r\nkey23\r\n",
        "\x1b[3Jafter 3J\r\nkey24\r\n",
    ];
    for (i, chunk) in chunks.iter().enumerate() {
        p.process(chunk.as_bytes());
        r.refresh(p.term());
        let fresh = Results::run("key", p.term());
        assert_eq!(keys(&r), keys(&fresh), "after chunk {i}: incremental = fresh search");
        if i < 2 {
            let cur = r.current().expect("still there");
            assert_eq!((cur.line, text_of(p.term(), cur)), (line, text.clone()), "same row after {i}");
        }
    }
    assert!(r.current().is_none(), "3J dropped the scrollback the current match was on");
    assert_eq!(r.step(true), None, "nothing is older than a match that fell off");
    assert!(r.step(false).is_some(), "newer ones remain");
}

#[test]
fn output_scrolling_matches_off_the_capacity_drops_them() {
    let data: String = (0..10).map(|i| format!("a{i}\r\n")).collect();
    let mut p = screen(4, &data);
    let mut r = Results::run("a", p.term());
    assert_eq!(r.count(), 8, "four kept, four on screen, the cursor row empty");
    let _ = r.start(p.term());
    while r.step(true).is_some() {}
    let oldest = r.current().expect("current");
    p.process("b\r\n".repeat(3).as_bytes());
    r.refresh(p.term());
    assert_eq!(r.count(), 8 - 3);
    assert_eq!(r.current(), None, "its row fell off the scrollback");
    assert!(first_line(p.term()) > oldest.line);
}

#[test]
fn reveal_scrolls_only_when_the_line_is_out_of_view() {
    let data: String = (0..40).map(|i| format!("{i}\r\n")).collect();
    let mut p = screen(100, &data);
    p.term_mut().set_scrollback(10);
    let top = view_top(p.term());
    reveal(p.term_mut(), top + 2);
    assert_eq!(view_top(p.term()), top, "in view: no scrolling");
    reveal(p.term_mut(), 5);
    assert_eq!(view_top(p.term()), 3, "out of view: in the middle");
    reveal(p.term_mut(), 0);
    assert_eq!(view_top(p.term()), 0, "clamped at the oldest row");
    let last = p.term().sink().0 + 4;
    reveal(p.term_mut(), last);
    assert_eq!(p.term().scrollback(), 0, "the screen's last row: the live view");
}
