//! The plain-row summary (`Row::plain`) against the cells it summarises: plain text written
//! by the fast paths, then partly overwritten in every way the model knows (colour, wide and
//! combining characters, inserts, deletes, erases with and without colour, gaps, resizes), then
//! scrolled off. After every chunk each row's claim must hold and format exactly as the
//! cell-by-cell path does; the scrolled lines must match vt100's.

use super::line::line_basic;
use super::tests::{Gen, feed_both, nz, random_output, run_both};
use super::{Parser, Row, Term, TermSink};

/// Every way of spoiling a row of plain text that the writers must notice.
const SPOILERS: &[&str] = &[
    "\x1b[31mX\x1b[m",
    "\x1b[1mbold\x1b[22m",
    "\u{4e2d}",
    "e\u{301}",
    "\u{301}",
    "\x1b[3@",
    "\x1b[2P",
    "\x1b[4X",
    "\x1b[1K",
    "\x1b[K",
    "\x1b[2K",
    "\x1b[42m\x1b[K\x1b[m",
    "\x1b[44m\x1b[2X\x1b[m",
    "\x1b[7C",
    "\x1b[5Gz",
    "\x1b[1L",
    "\x1b[1M",
    "\x1b[42m\x1b[2K\x1b[m",
    "\t",
    "\x08\x08",
    "\x1b[999C\u{4e2d}",
    "\x1b[7m \x1b[27m",
];

/// Lines of plain text with spoilers at random columns, some coloured from the start, some
/// rewritten from the left after a carriage return.
fn plain_then_spoiled(g: &mut Gen, lines: usize) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..lines {
        let colour = g.below(4) == 0;
        if colour {
            out.push_str("\x1b[36m");
        }
        let n = 5 + g.below(70) as usize;
        out.extend((0..n).map(|i| char::from(b'!' + ((i * 7 + n) % 94) as u8)));
        if colour {
            out.push_str("\x1b[m");
        }
        for _ in 0..g.below(3) {
            out.push_str(&format!("\x1b[{}G", 1 + g.below(60)));
            out.push_str(SPOILERS[g.below(SPOILERS.len() as u64) as usize]);
            if g.below(2) == 0 {
                out.push_str("more text");
            }
        }
        if g.below(5) == 0 {
            out.push_str("\rrewritten from the left");
        }
        out.push_str(if g.below(6) == 0 { "\n" } else { "\r\n" });
    }
    out.into_bytes()
}

/// Asserts every row's claim holds and formats as the cell-by-cell path formats it.
fn assert_claims<S: TermSink>(term: &Term<S>, what: &str) {
    for (i, row) in term.rows().iter().enumerate() {
        assert!(row.plain_claim_holds(), "{what}: row {i} claims plain text it does not hold: {row:?}");
        assert!(row.narrow_claim_holds(), "{what}: row {i} claims no wide cells but has some: {row:?}");
        let (mut fast, mut slow) = (String::new(), String::new());
        line_basic(row, &mut fast);
        line_basic(&row.without_plain_claim(), &mut slow);
        assert_eq!(fast, slow, "{what}: row {i} formats differently when its claim is used");
    }
}

/// Scrolled rows, formatted both ways.
#[derive(Default)]
struct BothWays(Vec<(String, String)>);

impl TermSink for BothWays {
    fn on_scroll(&mut self, row: &Row) {
        assert!(row.plain_claim_holds(), "a row leaving the screen claims plain text it does not hold");
        assert!(row.narrow_claim_holds(), "a row leaving the screen claims no wide cells but has some");
        let (mut fast, mut slow) = (String::new(), String::new());
        line_basic(row, &mut fast);
        line_basic(&row.without_plain_claim(), &mut slow);
        self.0.push((fast, slow));
    }
}

#[test]
fn spoiled_plain_rows_never_claim_plain_text() {
    for seed in 1..=40u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut input = plain_then_spoiled(&mut g, 60);
        if seed % 4 == 0 {
            input.extend(random_output(&mut g, 1500));
            input.extend(plain_then_spoiled(&mut g, 30));
        }
        let (rows, cols) = (2 + g.below(10) as u16, 20 + g.below(60) as u16);
        let mut ours = Parser::new(rows, cols, BothWays::default());
        let mut theirs = vt100::Parser::new(nz(rows), nz(cols), 0);
        let resize_every = if seed % 3 == 0 { 9 } else { 0 };
        feed_both(&input, &mut g, resize_every, &mut ours, &mut theirs, |ours, _, i, _| {
            assert_claims(ours.term(), &format!("seed {seed}, after {i} bytes"));
        });
        let scrolled = &ours.term().sink().0;
        assert!(scrolled.len() > 10, "seed {seed}: only {} rows scrolled off", scrolled.len());
        for (n, (fast, slow)) in scrolled.iter().enumerate() {
            assert_eq!(fast, slow, "seed {seed}: scrolled row {n}");
        }
        // And what scrolled off is what vt100 formats for the same rows.
        run_both(&input, rows, cols, &mut g, seed % 3 == 0);
    }
}

/// The summary is used, not only kept: a plain row claims it, a colour written over it drops the
/// claim, and the row scrolls off with its colour, as vt100 writes it.
#[test]
fn a_plain_row_overwritten_in_colour_then_scrolled_formats_its_colour() {
    let first_row_claims = |p: &Parser<BothWays>| p.term().rows().iter().next().and_then(Row::plain_attrs);
    let mut p = Parser::new(2, 40, BothWays::default());
    p.process(b"plain text row one\r\n");
    assert!(first_row_claims(&p).is_some(), "a row of plain text claims so");
    p.process(b"\x1b[1;6H\x1b[31mRED\x1b[m");
    assert_eq!(first_row_claims(&p), None, "a colour written over plain text drops the claim");
    p.process(b"\x1b[2;1Hxyz\r\n");
    let lines: Vec<&str> = p.term().sink().0.iter().map(|(fast, _)| fast.as_str()).collect();
    assert_eq!(lines, vec!["plain\x1b[31mRED\x1b[mxt row one"]);
    let input =
        b"plain text row one\r\n\x1b[1;6H\x1b[31mRED\x1b[m\x1b[2;1Hxyz\r\n\x1b[1;1H\xe4\xb8\xad\r\n\r\n";
    run_both(input, 2, 40, &mut Gen(3), false);
}

/// The no-wide-cells summary (`Row::is_narrow`) is used, not only kept: a coloured row claims
/// it, a wide character or a combining mark drops it, ASCII written over either half of a wide
/// character then splits it as vt100 does, and clearing the row brings the claim back.
#[test]
fn wide_cells_drop_the_narrow_claim_and_ascii_over_them_matches_vt100() {
    let first_row_narrow = |p: &Parser<BothWays>| p.term().rows().iter().next().is_some_and(Row::is_narrow);
    let mut p = Parser::new(3, 40, BothWays::default());
    p.process(b"\x1b[31mred\x1b[m plain \x1b[1mbold\x1b[m");
    assert!(first_row_narrow(&p), "a coloured row of ASCII claims no wide cells");
    p.process("\u{4e2d}\u{6587}".as_bytes());
    assert!(!first_row_narrow(&p), "a wide character drops the claim");
    p.process(b"\x1b[2K\x1b[1;1Hagain");
    assert!(first_row_narrow(&p), "erasing the whole row brings the claim back");
    p.process("e\u{301}".as_bytes());
    assert!(!first_row_narrow(&p), "a combining mark drops the claim");
    let mut input = Vec::new();
    for col in 1..=8 {
        // Wide characters from column 1, then ASCII written from every column over them, in
        // colour and not, so each write starts on a first half, a second half or beside one.
        input.extend_from_slice(format!("\x1b[2K\x1b[1G\u{4e2d}\u{6587}\u{5b57}x\x1b[{col}G").as_bytes());
        input.extend_from_slice(if col % 2 == 0 { b"\x1b[32mab\x1b[m\r\n" } else { b"abc\r\n" });
    }
    run_both(&input, 3, 12, &mut Gen(0x71DE), false);
}
