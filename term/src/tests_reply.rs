//! Answers to terminal queries: exact bytes for every query, through the fast paths and
//! through `vte`, split across feeds at every byte, and nothing at all unless answering is on.

use super::{MAX_PENDING_REPLY_BYTES, Palette, Parser, ReplyConfig, Rgb};

fn answering(rows: u16, cols: u16) -> Parser<()> {
    let mut p = Parser::new(rows, cols, ());
    p.answer_queries(ReplyConfig::new("controlroom 9.8.7"));
    p
}

/// What feeding `input` (in one piece) to a fresh 24×80 answering screen answers.
fn replies_to(input: &[u8]) -> String {
    let mut p = answering(24, 80);
    p.process(input);
    String::from_utf8(p.take_replies().unwrap_or_default()).expect("replies are ASCII")
}

#[test]
fn cursor_position_reports_are_one_based_from_the_live_cursor() {
    assert_eq!(replies_to(b"\x1b[6n"), "\x1b[1;1R");
    assert_eq!(replies_to(b"\x1b[5;10H\x1b[6n"), "\x1b[5;10R");
    assert_eq!(replies_to(b"abc\r\nde\x1b[6n"), "\x1b[2;3R");
    // DECXCPR adds the page.
    assert_eq!(replies_to(b"\x1b[3;4H\x1b[?6n"), "\x1b[?3;4;1R");
    // Operating status.
    assert_eq!(replies_to(b"\x1b[5n"), "\x1b[0n");
    // Unknown reports get no answer.
    assert_eq!(replies_to(b"\x1b[7n\x1b[?5n"), "");
}

#[test]
fn a_cursor_past_the_last_column_reports_the_last_column() {
    let mut p = answering(5, 10);
    p.process(b"0123456789\x1b[6n");
    assert_eq!(p.take_replies().as_deref(), Some(&b"\x1b[1;10R"[..]));
}

#[test]
fn origin_mode_reports_rows_from_the_scroll_region() {
    assert_eq!(replies_to(b"\x1b[5;20r\x1b[?6h\x1b[2;3H\x1b[6n"), "\x1b[2;3R");
    assert_eq!(replies_to(b"\x1b[5;20r\x1b[?6h\x1b[2;3H\x1b[?6l\x1b[6n"), "\x1b[1;1R");
}

#[test]
fn the_alternate_screen_reports_its_own_cursor() {
    assert_eq!(replies_to(b"\x1b[10;10H\x1b[?1049h\x1b[3;4H\x1b[6n"), "\x1b[3;4R");
    assert_eq!(replies_to(b"\x1b[10;10H\x1b[?1049h\x1b[3;4H\x1b[?1049l\x1b[6n"), "\x1b[10;10R");
}

#[test]
fn device_attributes_and_version_are_answered() {
    assert_eq!(replies_to(b"\x1b[c"), "\x1b[?1;2c");
    assert_eq!(replies_to(b"\x1b[0c"), "\x1b[?1;2c");
    assert_eq!(replies_to(b"\x1b[1c"), "", "only DA1 with 0 is a query");
    assert_eq!(replies_to(b"\x1b[>c"), "\x1b[>1;0;0c");
    assert_eq!(replies_to(b"\x1b[>0c"), "\x1b[>1;0;0c");
    assert_eq!(replies_to(b"\x1b[=c"), "\x1bP!|00000000\x1b\\");
    assert_eq!(replies_to(b"\x1b[>0q"), "\x1bP>|controlroom 9.8.7\x1b\\");
    assert_eq!(replies_to(b"\x1b[>q"), "\x1bP>|controlroom 9.8.7\x1b\\");
}

#[test]
fn window_reports_give_the_size_in_cells_and_nominal_pixels() {
    assert_eq!(replies_to(b"\x1b[18t"), "\x1b[8;24;80t");
    assert_eq!(replies_to(b"\x1b[19t"), "\x1b[9;24;80t");
    // 8 × 16 pixel cells by default.
    assert_eq!(replies_to(b"\x1b[14t"), "\x1b[4;384;640t");
    assert_eq!(replies_to(b"\x1b[16t"), "\x1b[6;16;8t");
    let mut p = Parser::new(10, 20, ());
    p.answer_queries(ReplyConfig { cell_pixels: (9, 18), ..ReplyConfig::new("x") });
    p.term_mut().resize(30, 100);
    p.process(b"\x1b[14t\x1b[18t");
    assert_eq!(p.take_replies().as_deref(), Some(&b"\x1b[4;540;900t\x1b[8;30;100t"[..]));
    // Window manipulation is not a report.
    assert_eq!(replies_to(b"\x1b[8;50;100t\x1b[22;0t"), "");
}

#[test]
fn mode_reports_follow_the_modes_the_model_tracks() {
    let report = |setup: &[u8], mode: &str| {
        let mut input = setup.to_vec();
        input.extend_from_slice(format!("\x1b[?{mode}$p").as_bytes());
        replies_to(&input)
    };
    assert_eq!(report(b"", "2004"), "\x1b[?2004;2$y");
    assert_eq!(report(b"\x1b[?2004h", "2004"), "\x1b[?2004;1$y");
    assert_eq!(report(b"", "25"), "\x1b[?25;1$y", "the cursor starts visible");
    assert_eq!(report(b"\x1b[?25l", "25"), "\x1b[?25;2$y");
    assert_eq!(report(b"\x1b[?1h", "1"), "\x1b[?1;1$y");
    assert_eq!(report(b"", "1"), "\x1b[?1;2$y");
    assert_eq!(report(b"", "7"), "\x1b[?7;1$y", "autowrap is on by default");
    assert_eq!(report(b"\x1b[?7l", "7"), "\x1b[?7;2$y", "and a program can turn it off");
    assert_eq!(report(b"\x1b[?6h", "6"), "\x1b[?6;1$y");
    assert_eq!(report(b"\x1b[?1049h", "1049"), "\x1b[?1049;1$y");
    assert_eq!(report(b"\x1b[?1049h", "47"), "\x1b[?47;1$y");
    assert_eq!(report(b"", "1049"), "\x1b[?1049;2$y");
    assert_eq!(report(b"\x1b[?1000h", "1000"), "\x1b[?1000;1$y");
    assert_eq!(report(b"\x1b[?1002h", "1000"), "\x1b[?1000;2$y");
    assert_eq!(report(b"\x1b[?1002h", "1002"), "\x1b[?1002;1$y");
    assert_eq!(report(b"\x1b[?1003h", "1003"), "\x1b[?1003;1$y");
    assert_eq!(report(b"\x1b[?9h", "9"), "\x1b[?9;1$y");
    assert_eq!(report(b"\x1b[?1006h", "1006"), "\x1b[?1006;1$y");
    assert_eq!(report(b"\x1b[?1006h", "1005"), "\x1b[?1005;2$y");
    assert_eq!(report(b"\x1b[?1005h", "1005"), "\x1b[?1005;1$y");
    assert_eq!(report(b"", "2026"), "\x1b[?2026;2$y");
    assert_eq!(report(b"\x1b[?2026h", "2026"), "\x1b[?2026;1$y", "synchronized output is tracked");
    assert_eq!(report(b"", "1047"), "\x1b[?1047;0$y", "1047 is not a mode the model follows");
    assert_eq!(report(b"", "12345"), "\x1b[?12345;0$y", "unknown modes are not recognised");
    // ANSI modes: insert mode is tracked (reset at first), newline mode is not implemented.
    assert_eq!(replies_to(b"\x1b[4$p\x1b[20$p\x1b[3$p"), "\x1b[4;2$y\x1b[20;4$y\x1b[3;0$y");
}

#[test]
fn colour_queries_echo_their_terminator() {
    assert_eq!(replies_to(b"\x1b]10;?\x07"), "\x1b]10;rgb:d0d0/d0d0/d0d0\x07");
    assert_eq!(replies_to(b"\x1b]11;?\x1b\\"), "\x1b]11;rgb:1c1c/1c1c/1c1c\x1b\\");
    assert_eq!(replies_to(b"\x1b]12;?\x07"), "\x1b]12;rgb:d0d0/d0d0/d0d0\x07");
    // One query may ask for the colours after it too.
    assert_eq!(
        replies_to(b"\x1b]10;?;?\x1b\\"),
        "\x1b]10;rgb:d0d0/d0d0/d0d0\x1b\\\x1b]11;rgb:1c1c/1c1c/1c1c\x1b\\"
    );
    // Setting a colour is not a query.
    assert_eq!(replies_to(b"\x1b]11;#000000\x07"), "");
}

#[test]
fn colour_queries_answer_from_the_configured_palette() {
    let mut p = Parser::new(5, 10, ());
    let palette = Palette {
        foreground: Rgb { r: 0x01, g: 0x02, b: 0x03 },
        background: Rgb::from_hex("#FfEe0a").expect("valid"),
        cursor: Rgb::from_hex("a0b0c0").expect("valid"),
    };
    p.answer_queries(ReplyConfig { palette, ..ReplyConfig::new("x") });
    p.process(b"\x1b]10;?\x07\x1b]11;?\x07\x1b]12;?\x07");
    let got = String::from_utf8(p.take_replies().unwrap_or_default()).expect("ASCII");
    assert_eq!(
        got,
        "\x1b]10;rgb:0101/0202/0303\x07\x1b]11;rgb:ffff/eeee/0a0a\x07\x1b]12;rgb:a0a0/b0b0/c0c0\x07"
    );
    assert_eq!(Rgb::from_hex("#12345"), None);
    assert_eq!(Rgb::from_hex("#12345g"), None);
}

#[test]
fn the_kitty_keyboard_query_is_left_unanswered_and_da1_after_it_says_so() {
    // What crossterm sends to detect the protocol: only the DA1 answer comes back.
    assert_eq!(replies_to(b"\x1b[?u\x1b[c"), "\x1b[?1;2c");
}

#[test]
fn several_queries_are_answered_in_order_with_output_between_them() {
    assert_eq!(replies_to(b"ab\x1b[6n\x1b[c\r\nxyz\x1b[6n\x1b]11;?\x07"), {
        "\x1b[1;3R\x1b[?1;2c\x1b[2;4R\x1b]11;rgb:1c1c/1c1c/1c1c\x07"
    });
}

#[test]
fn queries_split_across_feeds_are_answered_once() {
    let input: &[u8] =
        b"hi\x1b[6n\x1b[>0q\x1b[?2004$p\x1b]11;?\x1b\\\x1b[18t\x1b[?6n\x1b]10;?\x07\x1b[c\x1b[>c\x1b[=c";
    let whole = replies_to(input);
    assert!(whole.contains("\x1bP>|controlroom 9.8.7\x1b\\"), "{whole:?}");
    for cut in 1..input.len() {
        let mut p = answering(24, 80);
        p.process(&input[..cut]);
        let mut got = p.take_replies().unwrap_or_default();
        p.process(&input[cut..]);
        got.extend(p.take_replies().unwrap_or_default());
        assert_eq!(String::from_utf8(got).expect("ASCII"), whole, "cut at {cut}");
    }
    // And byte by byte.
    let mut p = answering(24, 80);
    let mut got = Vec::new();
    for b in input {
        p.process(std::slice::from_ref(b));
        got.extend(p.take_replies().unwrap_or_default());
    }
    assert_eq!(String::from_utf8(got).expect("ASCII"), whole);
}

#[test]
fn vte_alone_answers_what_the_fast_paths_answer() {
    let input: &[u8] = b"x\x1b[6n\x1b[c\x1b[>c\x1b[>0q\x1b[18t\x1b[?1049h\x1b[?1049$p\x1b[?6n";
    let mut slow = answering(24, 80);
    slow.process_through_vte(input);
    assert_eq!(String::from_utf8(slow.take_replies().unwrap_or_default()).expect("ASCII"), replies_to(input));
}

#[test]
fn replies_are_drained_once_and_queries_do_not_touch_the_screen() {
    let mut p = answering(5, 20);
    p.process(b"ab\x1b[6n\x1b[c\x1b]11;?\x07cd");
    assert!(p.take_replies().is_some());
    assert_eq!(p.take_replies(), None, "taken once");
    assert_eq!(p.term().plain_lines()[0], "abcd");
    assert_eq!(p.term().cursor_position(), (0, 4));
}

#[test]
fn a_screen_that_does_not_answer_keeps_nothing() {
    let mut p = Parser::new(5, 20, ());
    p.process(b"\x1b[6n\x1b[c\x1b[>c\x1b[18t\x1b]11;?\x07\x1b[?2004$p");
    assert_eq!(p.take_replies(), None);
}

#[test]
fn pending_replies_are_bounded_and_never_cut() {
    let mut p = answering(24, 80);
    p.process(&b"\x1b[6n".repeat(MAX_PENDING_REPLY_BYTES));
    let got = p.take_replies().expect("replies");
    assert!(got.len() <= MAX_PENDING_REPLY_BYTES);
    assert!(got.len() > MAX_PENDING_REPLY_BYTES - 6, "filled up to the cap");
    assert!(got.chunks(6).all(|r| r == b"\x1b[1;1R"), "only whole replies");
    // Draining makes room again.
    p.process(b"\x1b[6n");
    assert_eq!(p.take_replies().as_deref(), Some(&b"\x1b[1;1R"[..]));
}

#[test]
fn a_reset_keeps_answering() {
    assert_eq!(replies_to(b"\x1b[5;5H\x1bc\x1b[6n"), "\x1b[1;1R");
}

/// Insert mode (IRM, found missing by the corpus suite against tmux): printed characters push
/// the rest of the row right (the last cells fall off), on the ASCII paths too; DECRQM reports
/// it, and a client's snapshot carries it.
#[test]
fn insert_mode_pushes_the_row_right_and_is_reported() {
    let mut p = Parser::new(2, 8, ());
    p.process(b"abcdefgh\x1b[1;2H\x1b[4hXY\x1b[2;1Hxyz\x1b[2;2H\xe6\xbc\xa2");
    let text = |p: &Parser<()>, r: u16| {
        (0..8)
            .filter_map(|c| p.term().cell(r, c).filter(|c| c.has_contents()).map(|c| c.ch()))
            .collect::<String>()
    };
    assert_eq!(text(&p, 0), "aXYbcdef", "g and h fell off the margin");
    assert_eq!(text(&p, 1), "x漢yz", "a wide character pushes by two");
    assert!(p.term().insert_mode());
    let mut modes = String::new();
    p.term().input_mode_formatted(&mut modes);
    assert!(modes.ends_with("\x1b[4h"), "{modes:?}");
    assert_eq!(replies_to(b"\x1b[4h\x1b[4$p"), "\x1b[4;1$y");
    assert_eq!(replies_to(b"\x1b[4h\x1b[4l\x1b[4$p"), "\x1b[4;2$y");
    p.process(b"\x1b[4l\x1b[1;1HZ");
    assert_eq!(text(&p, 0), "ZXYbcdef", "replace mode again");
}
