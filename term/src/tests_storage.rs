//! Rows store only the cells written (issue 17: an idle worker's screen must not cost 30 KiB of
//! blank cells): what a blank screen, a prompt, a full row, an erase and a scroll leave stored,
//! and that every read past the stored cells sees the blanks vt100 has there, coloured erases
//! included.

use super::cell::Color;
use super::tests::{Gen, random_output, run_both};
use super::{Parser, Row};

fn fed(rows: u16, cols: u16, input: &str) -> Parser<()> {
    let mut p = Parser::new(rows, cols, ());
    p.process(input.as_bytes());
    p
}

fn capacities(p: &Parser<()>) -> Vec<usize> {
    p.term().rows().iter().map(Row::stored_capacity).collect()
}

#[test]
fn a_blank_screen_stores_no_cells() {
    let p = fed(24, 80, "");
    assert_eq!(capacities(&p), vec![0; 24]);
    assert!(p.term().rows().iter().all(|r| r.cells().is_empty() && r.cols() == 80));
}

#[test]
fn a_prompt_stores_its_own_cells_and_no_other_row_any() {
    let prompt = "\x1b[1;32muser@host\x1b[m:\x1b[1;34m~/src\x1b[m$ ";
    let p = fed(24, 80, prompt);
    let rows = p.term().rows();
    let text_len = "user@host:~/src$ ".len();
    assert_eq!(rows[0].cells().len(), text_len);
    let cap = rows[0].stored_capacity();
    assert!((text_len..2 * text_len).contains(&cap), "a prompt of {text_len} cells holds {cap}");
    assert_eq!(&capacities(&p)[1..], &[0; 23][..]);
    assert_eq!(p.term().cursor_position(), (0, 17));
}

#[test]
fn a_row_written_a_cell_at_a_time_holds_exactly_its_width() {
    let mut p = Parser::new(3, 80, ());
    for i in 0..80u8 {
        p.process(&[b'a' + i % 26]);
    }
    let row = &p.term().rows()[0];
    assert_eq!((row.cells().len(), row.stored_capacity()), (80, 80));
}

#[test]
fn erasing_the_screen_gives_the_buffers_back() {
    let mut text = String::new();
    for i in 0..24 {
        text.push_str(&format!("\x1b[{};1Hline {i} of the screen", i + 1));
    }
    let mut p = fed(24, 80, &text);
    assert!(capacities(&p).iter().all(|&c| c > 0));
    p.process(b"\x1b[H\x1b[2J");
    assert_eq!(capacities(&p), vec![0; 24]);
}

#[test]
fn a_coloured_erase_stores_coloured_blanks_to_the_edge() {
    // The whole screen, the rest of a line and the start of one, each in its own colour.
    let p = fed(4, 30, "\x1b[44m\x1b[2J\x1b[m\x1b[2;5Habc\x1b[41m\x1b[K\x1b[3;8H\x1b[42m\x1b[1K\x1b[m");
    let bg = |r: usize, c: usize| p.term().rows()[r].cell(c).bg();
    assert!((0..30).all(|c| bg(0, c) == Color::Idx(4)));
    assert!((0..4).all(|c| bg(1, c) == Color::Idx(4)));
    assert!((4..7).all(|c| bg(1, c) == Color::Default && p.term().rows()[1].cell(c).has_contents()));
    assert!((7..30).all(|c| bg(1, c) == Color::Idx(1)));
    assert!((0..8).all(|c| bg(2, c) == Color::Idx(2)));
    assert!((8..30).all(|c| bg(2, c) == Color::Idx(4)));
    assert!(p.term().rows().iter().all(|r| r.stored_capacity() == 30), "{:?}", capacities(&p));
}

#[test]
fn rows_that_scroll_off_keep_their_buffers_for_the_next_line() {
    let mut text = String::new();
    for i in 0..48 {
        text.push_str(&format!("{i:040}\r\n"));
    }
    let p = fed(24, 80, &text);
    assert!(capacities(&p).iter().all(|&c| c >= 40), "{:?}", capacities(&p));
}

#[test]
fn short_rows_on_a_wide_screen_match_vt100() {
    // Edits at and past the end of what a row stores: inserts, deletes, erases with and
    // without colour, wide characters at the edge, resizes.
    let input = concat!(
        "abc\x1b[10G\x1b[3@x\x1b[1;2H\x1b[5P\x1b[2;20H\x1b[4X\x1b[45m\x1b[3X\x1b[m",
        "\x1b[3;1Hhello\x1b[3;3H\x1b[2@\x1b[3;70H\x1b[43m\x1b[1K\x1b[m\x1b[4;79H中\x1b[4;1H\x1b[2P",
        "\x1b[5;60H\x1b[41m\x1b[K\x1b[5;1Hxy\x1b[5;3H\x1b[90@\x1b[m\x1b[6;1H中文\x1b[6;2H\x1b[1@",
    );
    for (rows, cols) in [(8, 80), (8, 120), (3, 7)] {
        run_both(input.as_bytes(), rows, cols, &mut Gen(11), false);
        run_both(input.as_bytes(), rows, cols, &mut Gen(12), true);
    }
    for seed in 1..=20u64 {
        let mut g = Gen(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
        let input = random_output(&mut g, 3000);
        run_both(&input, 14, 120, &mut g, seed % 2 == 0);
    }
}

#[test]
fn rows_with_the_same_cells_and_marks_compare_equal_and_any_change_tells_them_apart() {
    let a = fed(3, 20, "ab\x1b[31mc\x1b[me\u{301}\r\n漢x");
    let b = fed(3, 20, "ab\x1b[31mc\x1b[me\u{301}\r\n漢x");
    let rows = |p: &Parser<()>| p.term().rows().iter().cloned().collect::<Vec<_>>();
    let (ra, rb) = (rows(&a), rows(&b));
    for (x, y) in ra.iter().zip(&rb) {
        assert!(x.same_cells(y), "the same bytes give the same rows");
    }
    for other in [
        "ab\x1b[32mc\x1b[me\u{301}",
        "ab\x1b[31mc\x1b[me\u{300}",
        "ab\x1b[31mc\x1b[me",
        "ab\x1b[31mc\x1b[mf\u{301}",
    ] {
        let c = fed(3, 20, other);
        assert!(!ra[0].same_cells(&c.term().rows()[0]), "{other:?} differs from the first row");
    }
    assert!(!ra[1].same_cells(&ra[2]), "a written row is not a blank one");
    assert!(ra[2].same_cells(&Row::new(20)), "blank rows are alike");
}
