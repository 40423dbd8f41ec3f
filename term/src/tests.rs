//! Differential tests: the lean model against vt100 0.18 on generated and fixed terminal output,
//! cell by cell, and our formatted screen replayed into a fresh vt100.

use super::line::line_basic;
use super::{MouseEncoding, MouseMode, Parser, Row, Term, TermSink};
use std::num::NonZeroU16;
use vt100::capture::{BasicFormattedCaptureState, RowContents};

#[derive(Default)]
struct Lines(Vec<(String, bool)>);

impl TermSink for Lines {
    fn on_scroll(&mut self, row: &Row) {
        let mut s = String::new();
        line_basic(row, &mut s);
        self.0.push((s, row.wrapped));
    }
}

/// vt100 callbacks capturing scrolled rows the way the worker did before.
#[derive(Default)]
struct TheirLines(Vec<(String, bool)>);

#[derive(Default)]
struct Probe(bool);
impl std::fmt::Write for Probe {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = s.starts_with('\n');
        Err(std::fmt::Error)
    }
}

impl vt100::Callbacks for TheirLines {
    fn on_scroll(&mut self, contents: RowContents<'_>, alternate: bool) {
        if alternate {
            return;
        }
        let mut text = String::new();
        let mut state = BasicFormattedCaptureState::new();
        let _ = contents.write_formatted_basic(&mut text, &mut state);
        let mut probe = Probe::default();
        let _ = contents.write_formatted_basic(&mut probe, &mut state);
        self.0.push((text, !probe.0));
    }
}

pub(super) fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero")
}

pub(super) fn color(c: super::cell::Color) -> vt100::Color {
    match c {
        super::cell::Color::Default => vt100::Color::Default,
        super::cell::Color::Idx(i) => vt100::Color::Idx(i),
        super::cell::Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
    }
}

/// Asserts that `ours` shows what `theirs` shows, cell by cell.
pub(super) fn assert_same<S: TermSink>(ours: &Term<S>, theirs: &vt100::Screen, what: &str) {
    let (rows, cols) = ours.size();
    assert_eq!((nz(rows), nz(cols)), theirs.size(), "{what}: size");
    assert_eq!(ours.cursor_position(), theirs.cursor_position(), "{what}: cursor");
    assert_eq!(ours.alternate_screen(), theirs.alternate_screen(), "{what}: alternate screen");
    assert_eq!(ours.hide_cursor(), theirs.hide_cursor(), "{what}: hide cursor");
    assert_eq!(ours.application_cursor(), theirs.application_cursor(), "{what}: app cursor");
    assert_eq!(ours.application_keypad(), theirs.application_keypad(), "{what}: app keypad");
    assert_eq!(ours.bracketed_paste(), theirs.bracketed_paste(), "{what}: bracketed paste");
    let mouse = match ours.mouse_mode() {
        MouseMode::None => vt100::MouseProtocolMode::None,
        MouseMode::Press => vt100::MouseProtocolMode::Press,
        MouseMode::PressRelease => vt100::MouseProtocolMode::PressRelease,
        MouseMode::ButtonMotion => vt100::MouseProtocolMode::ButtonMotion,
        MouseMode::AnyMotion => vt100::MouseProtocolMode::AnyMotion,
    };
    assert_eq!(mouse, theirs.mouse_protocol_mode(), "{what}: mouse mode");
    let enc = match ours.mouse_encoding() {
        MouseEncoding::Default => vt100::MouseProtocolEncoding::Default,
        MouseEncoding::Utf8 => vt100::MouseProtocolEncoding::Utf8,
        MouseEncoding::Sgr => vt100::MouseProtocolEncoding::Sgr,
    };
    assert_eq!(enc, theirs.mouse_protocol_encoding(), "{what}: mouse encoding");
    let their_rows: Vec<String> = theirs.rows(0, cols).map(|r| r.trim_end().to_owned()).collect();
    assert_eq!(ours.plain_lines(), their_rows, "{what}: text");
    for (r, row) in ours.rows().iter().enumerate() {
        let r16 = u16::try_from(r).expect("row");
        assert_eq!(row.wrapped(), theirs.row_wrapped(r16), "{what}: row {r} wrapped");
        assert!(row.stored_within_width(), "{what}: row {r} stored past its width");
        assert_eq!(row.cols(), cols, "{what}: row {r} width");
        for c in 0..usize::from(cols) {
            let cell = row.cell(c);
            let theirs = theirs.cell(r16, u16::try_from(c).expect("col")).expect("cell");
            let mut text = String::new();
            row.push_contents(c, &mut text);
            let at = format!("{what}: cell {r},{c}");
            assert_eq!(text, theirs.contents(), "{at} contents");
            assert_eq!(cell.is_wide(), theirs.is_wide(), "{at} wide");
            assert_eq!(cell.is_wide_continuation(), theirs.is_wide_continuation(), "{at} wide continuation");
            let a = cell.attrs();
            assert_eq!(color(a.fg.get()), theirs.fgcolor(), "{at} fg");
            assert_eq!(color(a.bg.get()), theirs.bgcolor(), "{at} bg");
            assert_eq!(a.mode & super::cell::BOLD != 0, theirs.bold(), "{at} bold");
            assert_eq!(a.mode & super::cell::DIM != 0, theirs.dim(), "{at} dim");
            assert_eq!(a.mode & super::cell::ITALIC != 0, theirs.italic(), "{at} italic");
            assert_eq!(a.mode & super::cell::UNDERLINE != 0, theirs.underline(), "{at} underline");
            assert_eq!(a.mode & super::cell::INVERSE != 0, theirs.inverse(), "{at} inverse");
        }
    }
}

/// Our formatted screen, replayed into a fresh vt100 of the same size.
pub(super) fn replayed<S: TermSink>(ours: &Term<S>) -> vt100::Parser {
    let (rows, cols) = ours.size();
    let mut out = String::new();
    if ours.alternate_screen() {
        out.push_str("\x1b[?1049h");
    }
    ours.contents_formatted(&mut out);
    ours.input_mode_formatted(&mut out);
    let mut fresh = vt100::Parser::new(nz(rows), nz(cols), 0);
    fresh.process(out.as_bytes());
    fresh
}

/// A small deterministic generator (xorshift), so failures reproduce.
pub(super) struct Gen(pub(super) u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Random terminal output exercising every sequence the model handles.
pub(super) fn random_output(g: &mut Gen, len: usize) -> Vec<u8> {
    let mut out = String::new();
    while out.len() < len {
        match g.below(20) {
            0..=5 => {
                let n = g.below(30) as usize;
                for _ in 0..n {
                    out.push(char::from(b' ' + g.below(95) as u8));
                }
            }
            6 => out.push_str(g.pick(&["\r\n", "\n", "\r", "\x08", "\t", "\x07", "\x0b"])),
            7 => out.push_str(g.pick(&[
                "中",
                "🦀",
                "e\u{301}",
                "\u{301}",
                "☺\u{fe0f}",
                "日本語",
                "ä",
                "\u{200b}",
            ])),
            8 => {
                let n = g.below(40);
                out.push_str(&format!("\x1b[{n}m"));
            }
            9 => out.push_str(g.pick(&[
                "\x1b[1;31m",
                "\x1b[38;5;208m",
                "\x1b[48;2;10;20;30m",
                "\x1b[38:2:1:2:3m",
                "\x1b[0m",
                "\x1b[m",
                "\x1b[2;4;7m",
                "\x1b[22;23;24;27m",
                "\x1b[39;49m",
                "\x1b[94;105m",
                "\x1b[38;2;300;1;1m",
            ])),
            10 => {
                let (a, b) = (g.below(30), g.below(90));
                let cmd = g.pick(&[
                    "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "P", "S", "T", "X", "@", "b",
                    "d", "`", "f",
                ]);
                out.push_str(&format!("\x1b[{a};{b}{cmd}"));
            }
            11 => {
                let n = g.below(4);
                let cmd = g.pick(&["J", "K"]);
                out.push_str(&format!("\x1b[{n}{cmd}"));
            }
            12 => out.push_str(g.pick(&[
                "\x1b[?1049h",
                "\x1b[?1049l",
                "\x1b[?47h",
                "\x1b[?47l",
                "\x1b[?25l",
                "\x1b[?25h",
                "\x1b[?1h",
                "\x1b[?1l",
                "\x1b[?2004h",
                "\x1b[?2004l",
                "\x1b[?1000h",
                "\x1b[?1002h",
                "\x1b[?1003l",
                "\x1b[?1006h",
                "\x1b[?1005h",
                "\x1b[?1006l",
                "\x1b[?9h",
                "\x1b[?6h",
                "\x1b[?6l",
                "\x1b[?2J",
                "\x1b[?1K",
            ])),
            13 => out.push_str(
                g.pick(&["\x1b7", "\x1b8", "\x1bM", "\x1b=", "\x1b>", "\x1b(B", "\x1b[3 q", "\x1b[0 q"]),
            ),
            14 => {
                let (t, b) = (g.below(12), g.below(14));
                out.push_str(&format!("\x1b[{t};{b}r"));
            }
            15 => out.push_str(g.pick(&[
                "\x1b]0;title\x07",
                "\x1b]2;t\x1b\\",
                "\x1b]9;done\x07",
                "\x1bP1$r\x1b\\",
            ])),
            16 => {
                let (r, c) = (g.below(14), g.below(50));
                out.push_str(&format!("\x1b[{r};{c}H"));
            }
            17 => {
                // Fill to the last column, so wrapping and pending-wrap cursors happen often.
                out.push_str("\x1b[999C");
                out.push(char::from(b'a' + g.below(26) as u8));
                if g.below(2) == 0 {
                    out.push('Z');
                }
            }
            18 => out.push_str("\x1bc"),
            _ => out.push_str(g.pick(&["\x1b[r", "\x1b[5S", "\x1b[2T", "\x1b[3L", "\x1b[2M"])),
        }
    }
    out.into_bytes()
}

/// Feeds `input` to both parsers in random chunks of 1–200 bytes, resizes both every
/// `resize_every` chunks (0: never), and after each chunk calls `after` with the bytes fed so far.
/// Returns false if vt100 itself panicked (it does on some corner cases, such as a wide cell on
/// a one-column screen): nothing left to compare against, though ours must not have panicked.
pub(super) fn feed_both<S: TermSink, C: vt100::Callbacks>(
    input: &[u8],
    g: &mut Gen,
    resize_every: usize,
    ours: &mut Parser<S>,
    theirs: &mut vt100::Parser<C>,
    mut after: impl FnMut(&mut Parser<S>, &mut vt100::Parser<C>, usize, &mut Gen),
) -> bool {
    let mut i = 0;
    let mut step = 0;
    while i < input.len() {
        let n = (1 + g.below(200) as usize).min(input.len() - i);
        let chunk = &input[i..i + n];
        ours.process(chunk);
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| theirs.process(chunk))).is_err() {
            return false;
        }
        i += n;
        step += 1;
        if resize_every != 0 && step % resize_every == 0 {
            let (r, c) = (1 + g.below(14) as u16, 1 + g.below(50) as u16);
            ours.term_mut().resize(r, c);
            theirs.set_size(nz(r), nz(c));
        }
        after(ours, theirs, i, g);
    }
    true
}

pub(super) fn run_both(input: &[u8], rows: u16, cols: u16, g: &mut Gen, resize: bool) {
    let mut ours = Parser::new(rows, cols, Lines::default());
    let mut theirs = vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, TheirLines::default());
    let whole =
        feed_both(input, g, if resize { 7 } else { 0 }, &mut ours, &mut theirs, |ours, theirs, i, _| {
            assert_same(ours.term(), theirs.screen(), &format!("after {i} bytes"));
        });
    if !whole {
        return;
    }
    assert_eq!(ours.term().sink().0, theirs.callbacks().0, "scrolled lines");
    let fresh = replayed(ours.term());
    assert_same(ours.term(), fresh.screen(), "replayed into vt100");
}

#[test]
fn matches_vt100_on_random_output() {
    for seed in 1..=60u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = random_output(&mut g, 3000);
        let (rows, cols) = (1 + g.below(12) as u16, 1 + g.below(45) as u16);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_both(&input, rows, cols, &mut g, false);
        }));
        assert!(result.is_ok(), "seed {seed} ({rows}x{cols}) differs: {:?}", String::from_utf8_lossy(&input));
    }
}

#[test]
fn matches_vt100_across_resizes() {
    for seed in 100..=130u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = random_output(&mut g, 3000);
        run_both(&input, 10, 30, &mut g, true);
    }
}

#[test]
fn matches_vt100_on_a_coloured_log_with_status_redraws() {
    let mut log = String::new();
    for i in 0..400 {
        log.push_str(&format!(
            "\x1b[32m{i:05}\x1b[0m \x1b[1;34mINFO\x1b[0m request handled in \x1b[33m{}ms\x1b[0m path=/api/v1/items/{i}\r\n",
            i % 97
        ));
        if i % 10 == 0 {
            log.push_str(&format!("\x1b7\x1b[1;1H\x1b[7m status: {i} done \x1b[K\x1b[0m\x1b8"));
        }
    }
    let mut g = Gen(7);
    run_both(log.as_bytes(), 24, 80, &mut g, false);
}

/// Records what the program signals.
#[derive(Default)]
struct Signals(Vec<String>);

impl TermSink for Signals {
    fn on_scroll(&mut self, _row: &Row) {}
    fn on_bell(&mut self) {
        self.0.push("bell".into());
    }
    fn on_title(&mut self, title: &[u8]) {
        self.0.push(format!("title {}", String::from_utf8_lossy(title)));
    }
    fn on_osc(&mut self, params: &[&[u8]]) {
        let parts: Vec<String> = params.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
        self.0.push(format!("osc {}", parts.join(";")));
    }
}

#[test]
fn signals_bell_title_and_notifications() {
    let mut p = Parser::new(5, 20, Signals::default());
    p.process(
        b"a\x07\x1b]0;build\x07\x1b]1;icon\x07\x1b]9;tests passed\x1b\\\x1b]777;notify;CI;all green\x07",
    );
    assert_eq!(
        p.term().sink().0,
        vec!["bell", "title build", "osc 9;tests passed", "osc 777;notify;CI;all green"]
    );
    assert_eq!(p.term().plain_lines()[0], "a");
}

/// The compact scrollback format, pinned byte for byte: colours of every kind, intensity and mode
/// changes, blanks inside a line, a wide character, a coloured blank and a wrapped row.
#[test]
fn scrolled_rows_are_formatted_exactly_so() {
    let mut p = Parser::new(2, 30, Lines::default());
    p.process(b"\x1b[2m2026\x1b[0m \x1b[32mINFO\x1b[0m \x1b[1mk\x1b[22m=\x1b[35m42\x1b[39m end\r\n");
    p.process(b"\x1b[38;5;200ma\x1b[48;5;9mb\x1b[38;2;1;22;255mc\x1b[m   \x1b[7;3;4mx\x1b[27;23;24my\r\n");
    p.process("\x1b[44m \x1b[m wide \u{4e2d}\u{6587}!\x1b[91;102mz\x1b[m   \r\n".as_bytes());
    p.process(b"0123456789012345678901234567890123\r\n\r\n\r\n");
    let got: Vec<(&str, bool)> = p.term().sink().0.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    assert_eq!(
        got,
        vec![
            ("\x1b[2m2026\x1b[m \x1b[32mINFO\x1b[m \x1b[1mk\x1b[m=\x1b[35m42\x1b[m end", false),
            ("\x1b[38;5;200ma\x1b[101mb\x1b[38;2;1;22;255mc\x1b[m   \x1b[3;4;7mx\x1b[my", false),
            ("\x1b[44m \x1b[m wide \u{4e2d}\u{6587}!\x1b[91;102mz\x1b[m   ", false),
            ("012345678901234567890123456789", true),
            ("0123", false),
            ("", false),
        ]
    );
}

/// Rows with long runs of plain text (longer than the formatter's copy chunk), cut by colour
/// changes, blanks, wide characters and combining marks, scroll off exactly as vt100 formats them.
#[test]
fn long_plain_runs_scroll_off_as_vt100_formats_them() {
    let long = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(5);
    let mut input = String::new();
    for i in 0..6 {
        input.push_str(&format!(
            "{long}\x1b[3{i}m{long}\x1b[m  {}\u{4e2d}e\u{301}{long}\r\n",
            &long[..i * 13]
        ));
        input.push_str(&format!("\x1b[44m{long}\x1b[K\x1b[m\r\n{}\r\n", &long[..70 + i]));
    }
    let mut g = Gen(0x5EED);
    run_both(input.as_bytes(), 4, 150, &mut g, false);
    run_both(input.as_bytes(), 3, 64, &mut g, false);
}

/// Rows whose formatted text is several times the line buffer (a colour change on every cell,
/// 24-bit and indexed, with wide characters, combining marks and coloured blanks between) scroll
/// off exactly as vt100 formats them.
#[test]
fn rows_longer_than_the_line_buffer_scroll_off_as_vt100_formats_them() {
    let mut input = String::new();
    for line in 0..4u32 {
        for col in 0..190u32 {
            let (r, g, b) = ((col * 7 + line) % 256, (col * 13) % 256, (255 - col) % 256);
            input.push_str(&format!("\x1b[38;2;{r};{g};{b};48;5;{}m", (col + line) % 256));
            input.push_str(match (col + line) % 23 {
                0 => "\u{4e2d}",
                5 => "e\u{301}",
                9 => "\x1b[m ",
                17 => "\x1b[1;3;4;7m~",
                _ => "x",
            });
        }
        input.push_str("\x1b[m\r\n");
    }
    // Long runs and gaps of blank cells crossing the buffer's end at every few bytes.
    for prefix in 14..40u32 {
        for col in 0..prefix {
            input.push_str(&format!("\x1b[38;2;{col};{prefix};7mx"));
        }
        input.push_str(&format!("\x1b[32m{}\x1b[m\x1b[{}C!\r\n", "y".repeat(60), prefix * 3));
    }
    let mut g = Gen(0x11FE);
    run_both(input.as_bytes(), 3, 200, &mut g, false);
}

/// Every parameter value an SGR diff writes (each 256-colour index and 24-bit component, the
/// 16 base colours, every mode on and off) scrolls off exactly as vt100 formats it: each value
/// has its own entry in the formatter's digit table.
#[test]
fn every_sgr_parameter_value_scrolls_off_as_vt100_formats_it() {
    let mut input = String::new();
    for n in 0..=255u32 {
        input.push_str(&format!(
            "\x1b[38;5;{n}ma\x1b[48;5;{n}mb\x1b[38;2;{n};{};{}mc\x1b[48;2;{};{n};7md\x1b[m",
            255 - n,
            n / 3,
            (n * 7) % 256
        ));
        let (base, bright) = (n % 8, n % 16);
        input.push_str(&format!("\x1b[3{base};4{}me\x1b[9{base};10{}mf\x1b[39;49mg", 7 - base, bright % 8));
        input.push_str(match n % 4 {
            0 => "\x1b[1;3mh\x1b[22;4mi\x1b[2;7mj\x1b[23;24;27mk\r\n",
            1 => "\x1b[2;3;4;7ml\x1b[1mm\x1b[22mn\r\n",
            2 => "\x1b[7mo\x1b[3mp\x1b[m\r\n",
            _ => "\r\n",
        });
    }
    let mut g = Gen(0x5C12);
    run_both(input.as_bytes(), 3, 40, &mut g, false);
}

/// An SGR parameter the model does not keep (blink, conceal, strike, overline, a `4:3` curly
/// underline) is skipped and the parameters after it still apply, as in vt100 (and xterm, tmux):
/// the corpus suite found `ESC[1;2;3;4;5;7;8;9m` losing its inverse.
#[test]
fn unknown_sgr_parameters_are_skipped_not_the_end_of_the_sequence() {
    let input =
        "\x1b[5;31ma\x1b[0;1;5;7mb\x1b[m\x1b[9;53;44mc\x1b[m\x1b[4:3;32md\x1b[m\x1b[1;2;3;4;5;7;8;9me\r\n";
    let mut ours = Parser::new(3, 20, ());
    ours.process(input.as_bytes());
    let cell = |c: u16| *ours.term().cell(0, c).expect("cell");
    assert_eq!(cell(0).fg(), super::Color::Idx(1), "red after blink");
    assert!(cell(1).bold() && cell(1).inverse(), "bold and inverse around blink");
    assert_eq!(cell(2).bg(), super::Color::Idx(4), "blue after strike and overline");
    assert_eq!(cell(3).fg(), super::Color::Idx(2), "green after a curly underline");
    assert!(cell(4).inverse() && cell(4).italic(), "inverse after blink");
    let mut g = Gen(0x5E1);
    run_both(input.as_bytes(), 3, 20, &mut g, false);
}

/// IND (`ESC D`) moves down a row and NEL (`ESC E`) to the start of the next, both scrolling at
/// the bottom, as in xterm and tmux (vt100 ignores them; the corpus suite found the difference).
#[test]
fn index_and_next_line_move_down_and_scroll() {
    let mut ours = Parser::new(4, 10, ());
    ours.process(b"top\x1b[3;1Hab\x1bDc\x1bDd\x1bEe");
    let text = |r: u16| {
        let cell = |c: u16| ours.term().cell(r, c).filter(|c| c.has_contents()).map_or(' ', |c| c.ch());
        (0..10).map(cell).collect::<String>().trim_end().to_string()
    };
    // Two scrolls (the second IND and the NEL): `top` and the blank row above `ab` are gone.
    assert_eq!([text(0), text(1), text(2), text(3)], ["ab", "  c", "   d", "e"]);
}
