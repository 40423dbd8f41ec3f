//! Tab stops (HTS, TBC, HT, CHT, CBT) and DECAWM off, which vt100 0.18 lacks: each screen is
//! checked cell by cell against vt100 fed the same output with every tab, and every character
//! printed at the right margin with autowrap off, spelled as the explicit cursor move it
//! amounts to. Then the formatted screen must carry both to a fresh model (the front end's
//! copy, rebuilt from a `history`), which must go on to tab and overwrite the same way.

use super::Parser;
use super::tests::{assert_same, nz, replayed};

/// Ours fed `ours`, vt100 fed `theirs`; the two screens must match.
fn both(rows: u16, cols: u16, ours: &str, theirs: &str) -> Parser<()> {
    let mut p = Parser::new(rows, cols, ());
    p.process(ours.as_bytes());
    let mut v = vt100::Parser::new(nz(rows), nz(cols), 0);
    v.process(theirs.as_bytes());
    assert_same(p.term(), v.screen(), &format!("{ours:?}"));
    assert_same(p.term(), replayed(p.term()).screen(), "replayed into vt100");
    p
}

/// A fresh model fed `p`'s formatted screen and modes, as the front end builds its copy.
fn rebuilt(p: &Parser<()>) -> Parser<()> {
    let (rows, cols) = p.term().size();
    let mut out = String::new();
    p.term().contents_formatted(&mut out);
    p.term().input_mode_formatted(&mut out);
    let mut fresh = Parser::new(rows, cols, ());
    fresh.process(out.as_bytes());
    fresh
}

/// The screen and cursor as output, to compare two models of ours.
fn formatted(p: &Parser<()>) -> String {
    let mut out = String::new();
    p.term().contents_formatted(&mut out);
    p.term().input_mode_formatted(&mut out);
    out
}

/// Stops at columns 6, 15 and 31 (1-based) only; vt100 ignores all of it but the moves.
const STOPS: &str = "\x1b[3g\x1b[6G\x1bH\x1b[15G\x1bH\x1b[31G\x1bH\r";

#[test]
fn tabs_and_back_tabs_go_to_the_stops_set() {
    let ours = format!("{STOPS}a\tb\tc\td\r\n\x1b[40G\x1b[2Zx\x1b[Zy\r\n\x1b[2Iz");
    let theirs = format!("{STOPS}a\x1b[6Gb\x1b[15Gc\x1b[31Gd\r\n\x1b[40G\x1b[15Gx\x1b[15Gy\r\n\x1b[15Gz");
    let p = both(6, 40, &ours, &theirs);
    assert_eq!(p.term().tab_stops(), [5, 14, 30]);
}

#[test]
fn a_cleared_stop_is_passed_and_with_none_a_tab_goes_to_the_last_column() {
    // TBC at column 15 (`CSI g` and `CSI 0 g` alike), then every stop cleared.
    let ours = format!("{STOPS}\x1b[15G\x1b[g\r1\t2\t3\r\n\x1b[6G\x1b[0g\r4\t5\r\n\x1b[3g>\t<\x1b[Z!");
    let theirs = format!("{STOPS}\x1b[15G\r1\x1b[6G2\x1b[31G3\r\n\x1b[6G\r4\x1b[31G5\r\n>\x1b[40G<\x1b[1G!");
    let p = both(6, 40, &ours, &theirs);
    assert!(p.term().tab_stops().is_empty());
}

#[test]
fn default_stops_tab_as_vt100_does_and_reset_restores_them() {
    let bytes = "a\tb\t\tc\x1b[2Id\x1b[40G\te\x1b[3Zf";
    let theirs = "a\tb\t\tc\t\td\x1b[40G\te\x1b[17Gf";
    both(4, 40, bytes, theirs);
    let p = both(4, 40, &format!("{STOPS}\x1b[?7l\x1bc\tx"), "\x1bc\tx");
    assert_eq!(p.term().tab_stops(), [0, 8, 16, 24, 32]);
    assert!(p.term().autowrap());
}

#[test]
fn with_autowrap_off_the_last_column_is_overwritten_and_on_again_it_wraps() {
    let p = both(4, 10, "\x1b[?7l0123456789ABC\x1b[?7hDE", "0123456789\x1b[10GA\x1b[10GB\x1b[10GCDE");
    assert!(p.term().autowrap());
    // A wide character that does not fit overwrites the last two columns.
    let p = both(3, 10, "\x1b[?7labcdefghi中", "abcdefghi\x1b[9G中");
    assert!(!p.term().autowrap());
    // A run of plain text (the fast path) stops at the margin too.
    both(3, 10, "\x1b[?7l\x1b[2;5Hlong line of text\r\nnext", "\x1b[2;5Hlong l\x1b[10Gt\r\nnext");
}

#[test]
fn the_front_ends_copy_rebuilt_from_the_formatted_screen_keeps_stops_and_autowrap() {
    let mut p = Parser::new(5, 40, ());
    p.process(format!("{STOPS}x\ty\x1b[?7l").as_bytes());
    let mut copy = rebuilt(&p);
    assert_eq!(copy.term().tab_stops(), [5, 14, 30]);
    assert!(!copy.term().autowrap());
    assert_eq!(formatted(&copy), formatted(&p));
    // Live output after the history lands the same on both.
    let live = b"\r\n\tA\tB\x1b[Zc\r\n0123456789012345678901234567890123456789XYZ";
    p.process(live);
    copy.process(live);
    assert_eq!(formatted(&copy), formatted(&p));
    assert_eq!(p.term().plain_lines()[2], "012345678901234567890123456789012345678Z");
}
