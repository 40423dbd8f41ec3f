//! The scrollback a front end scrolls through, against vt100 0.18 with the same capacity: the
//! visible cells at every view offset, the offset's clamping and following, the cap.

use super::tests::{Gen, color, feed_both, nz, random_output};
use super::{Parser, Term};

/// Asserts that what `ours` shows (honouring the scrollback offset) is what `theirs` shows.
fn assert_same_view(ours: &Term<()>, theirs: &vt100::Screen, what: &str) {
    let (rows, cols) = ours.size();
    assert_eq!((nz(rows), nz(cols)), theirs.size(), "{what}: size");
    assert_eq!(ours.scrollback(), theirs.scrollback(), "{what}: offset");
    assert_eq!(ours.scrollback_len(), theirs.scrollback_len(), "{what}: scrollback length");
    assert_eq!(ours.cursor_position(), theirs.cursor_position(), "{what}: cursor");
    for r in 0..rows {
        for c in 0..cols {
            let at = format!("{what}: cell {r},{c} at offset {}", ours.scrollback());
            let mine = ours.cell(r, c).expect("our cell");
            let theirs = theirs.cell(r, c).expect("their cell");
            let mut text = String::new();
            let row = ours.visible_row(r).expect("row");
            if usize::from(c) < row.cells().len() {
                row.push_contents(usize::from(c), &mut text);
            }
            assert_eq!(text, theirs.contents(), "{at} contents");
            assert_eq!(mine.is_wide(), theirs.is_wide(), "{at} wide");
            assert_eq!(mine.is_wide_continuation(), theirs.is_wide_continuation(), "{at} continuation");
            assert_eq!(color(mine.fg()), theirs.fgcolor(), "{at} fg");
            assert_eq!(color(mine.bg()), theirs.bgcolor(), "{at} bg");
            assert_eq!(
                (mine.bold(), mine.dim(), mine.italic(), mine.underline(), mine.inverse()),
                (theirs.bold(), theirs.dim(), theirs.italic(), theirs.underline(), theirs.inverse()),
                "{at} attributes"
            );
        }
    }
    assert_eq!(ours.contents(), theirs.contents(), "{what}: contents");
    assert_eq!(ours.cell(0, cols), None, "{what}: off screen");
    assert_eq!(ours.cell(rows, 0).map(|_| ()), None, "{what}: off screen");
}

/// Feeds random output in chunks to both, scrolling the view (and resizing) between chunks.
fn run_both(input: &[u8], rows: u16, cols: u16, capacity: usize, g: &mut Gen, resize: bool) {
    let mut ours = Parser::with_scrollback(rows, cols, capacity, ());
    let mut theirs = vt100::Parser::new(nz(rows), nz(cols), capacity);
    feed_both(input, g, if resize { 5 } else { 0 }, &mut ours, &mut theirs, |ours, theirs, i, g| {
        let what = format!("after {i} bytes");
        assert_same_view(ours.term(), theirs.screen(), &what);
        // Look back some way (sometimes past the end, which clamps), compare, and sometimes
        // stay there so the next output arrives while scrolled back.
        let back = g.below(capacity as u64 + 5) as usize;
        ours.term_mut().set_scrollback(back);
        theirs.screen_mut().set_scrollback(back);
        assert_same_view(ours.term(), theirs.screen(), &format!("{what}, scrolled back {back}"));
        if g.below(2) == 0 {
            ours.term_mut().set_scrollback(0);
            theirs.screen_mut().set_scrollback(0);
        }
    });
}

#[test]
fn scrollback_view_matches_vt100_on_random_output() {
    for seed in 200..=240u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = random_output(&mut g, 3000);
        let (rows, cols) = (1 + g.below(12) as u16, 1 + g.below(45) as u16);
        let capacity = g.below(30) as usize;
        let resize = seed % 2 == 0;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_both(&input, rows, cols, capacity, &mut g, resize);
        }));
        assert!(
            result.is_ok(),
            "seed {seed} ({rows}x{cols}, {capacity} lines, resize {resize}) differs: {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

fn numbered(n: usize) -> Vec<u8> {
    (0..n).map(|i| format!("line {i}\r\n")).collect::<String>().into_bytes()
}

#[test]
fn scrolling_back_shows_history_then_the_screen() {
    let mut p = Parser::with_scrollback(3, 20, 100, ());
    let mut v = vt100::Parser::new(nz(3), nz(20), 100);
    let out = numbered(10);
    p.process(&out);
    v.process(&out);
    // Screen: line 8, line 9, empty; scrolled off: line 0..=7.
    assert_eq!(p.term().scrollback_len(), 8);
    p.term_mut().set_scrollback(2);
    v.screen_mut().set_scrollback(2);
    assert_eq!(p.term().contents(), "line 6\nline 7\nline 8");
    assert_eq!(p.term().contents(), v.screen().contents());
    p.term_mut().set_scrollback(8);
    assert_eq!(p.term().contents(), "line 0\nline 1\nline 2");
    p.term_mut().set_scrollback(1000);
    assert_eq!(p.term().scrollback(), 8, "clamped to what is stored");
    // New output while scrolled back keeps the same rows in view.
    p.term_mut().set_scrollback(2);
    p.process(b"more\r\n");
    assert_eq!(p.term().scrollback(), 3);
    assert_eq!(p.term().contents(), "line 6\nline 7\nline 8");
    assert_eq!(p.term().cursor_position(), (2, 0), "the cursor stays on the live screen");
    p.term_mut().set_scrollback(0);
    assert_eq!(p.term().contents(), "line 9\nmore");
}

#[test]
fn the_cap_is_respected_and_the_oldest_rows_go() {
    let mut p = Parser::with_scrollback(4, 10, 5, ());
    p.process(&numbered(50));
    assert_eq!(p.term().scrollback_len(), 5);
    assert_eq!(p.term().scrollback_capacity(), 5);
    p.term_mut().set_scrollback(usize::MAX);
    assert_eq!(p.term().scrollback(), 5);
    assert_eq!(p.term().contents(), "line 42\nline 43\nline 44\nline 45");
    let mut none = Parser::with_scrollback(4, 10, 0, ());
    none.process(&numbered(50));
    none.term_mut().set_scrollback(3);
    assert_eq!((none.term().scrollback_len(), none.term().scrollback()), (0, 0));
}

#[test]
fn alternate_screen_clear_and_reset_leave_the_scrollback_view() {
    let mut p = Parser::with_scrollback(3, 10, 100, ());
    p.process(&numbered(10));
    p.term_mut().set_scrollback(4);
    p.process(b"\x1b[?1049h");
    assert_eq!(p.term().scrollback(), 0, "the alternate screen has no scrollback");
    p.term_mut().set_scrollback(4);
    assert_eq!(p.term().scrollback(), 0);
    p.process(b"\x1b[?1049l");
    assert_eq!(p.term().scrollback_len(), 8, "the main screen's history is kept");
    p.process(b"\x1b[3J");
    assert_eq!(p.term().scrollback_len(), 0, "CSI 3 J drops it");
    p.process(&numbered(10));
    p.process(b"\x1bc");
    assert_eq!((p.term().scrollback_len(), p.term().scrollback_capacity()), (0, 100), "RIS empties it");
}

#[test]
fn scrollback_rows_read_oldest_first_whatever_the_view() {
    let mut p = Parser::with_scrollback(4, 10, 5, ());
    p.process(&numbered(12));
    let text = |t: &Term<()>, i| {
        let mut s = String::new();
        t.scrollback_row(i).expect("kept").write_plain(&mut s);
        s
    };
    // 12 lines and a last empty one: 9 rows left the 4-row screen, the 5 newest are kept.
    assert_eq!(p.term().scrollback_len(), 5);
    assert_eq!(text(p.term(), 0), "line 4");
    assert_eq!(text(p.term(), 4), "line 8");
    assert!(p.term().scrollback_row(5).is_none(), "past the newest");
    p.term_mut().set_scrollback(3);
    assert_eq!(text(p.term(), 0), "line 4", "the view offset does not move them");
    p.process(b"\x1b[?1049h");
    assert!(p.term().scrollback_row(0).is_none(), "the alternate screen has none");
}
