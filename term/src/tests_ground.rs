//! The ground fast path against `vte` alone: the same bytes, cut into random chunks, through
//! `Parser::process` and straight through `vte`, must leave the same screen, modes, scrolled
//! rows and signals, including sequences that end silently, CAN/SUB, broken UTF-8, and CSI
//! sequences of every shape (the CSI fast path) cut at every byte.

use super::line::line_basic;
use super::tests::{Gen, random_output};
use super::tests_csi::{EDGE_BODIES, random_csi_body};
use super::{Parser, Row, TermSink};

/// Everything the sink sees, in order.
#[derive(Default, Debug, PartialEq)]
struct Events(Vec<String>);

impl TermSink for Events {
    fn on_scroll(&mut self, row: &Row) {
        let mut s = String::from("scroll ");
        line_basic(row, &mut s);
        self.0.push(s);
    }
    fn on_bell(&mut self) {
        self.0.push("bell".into());
    }
    fn on_title(&mut self, title: &[u8]) {
        self.0.push(format!("title {}", String::from_utf8_lossy(title)));
    }
    fn on_osc(&mut self, params: &[&[u8]]) {
        self.0.push(format!("osc {params:?}"));
    }
}

/// Byte sequences that move `vte` between states in the ways its callbacks do not show.
const AWKWARD: &[&[u8]] = &[
    b"\x1b[1;2<3mX", // CSI ignored (private marker after params): ends silently
    b"\x1b[?1$xY",   // CSI with intermediate, then a final byte
    b"\x1b[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33m",
    b"\x1b_apc string\x1b\\",   // APC: no callback until ST's ESC dispatch
    b"\x1bXsos\x07after\x1b\\", // SOS: BEL does not end it in vte, ST does
    b"\x1b^pm\x18",             // PM cancelled by CAN
    b"\x1bPq#0;2;0;0;0\x1b\\",  // DCS passthrough, ended by ESC \
    b"\x1bP1$r\x18",            // DCS cancelled by CAN
    b"\x1b]0;title\x1a",        // OSC cancelled by SUB
    b"\x1b]2;t\x1b\\",          // OSC ended by ESC \
    b"\x1b]9;done\x07",         // OSC ended by BEL
    b"\x1b[12",                 // a sequence left open (continues in the next generated piece)
    b"\x1b",
    b"\x1b[3\x18Z", // CSI cancelled by CAN, then text
    b"\x1b[1\n;4H", // a control inside a CSI
    b"\xc3",        // truncated two-byte character
    b"\xe2\x82",    // truncated three-byte character
    b"\xc3ab\x80",  // a lead byte, text, then a continuation byte: two errors, not 'À'
    b"\xe2\x82cd\xac",
    b"\xc3\xc3ab\x80",       // a lead byte ending a broken character starts another
    b"\xf0\x9f\xa6\x80",     // a four-byte character (often cut by the chunking)
    b"\xf0\x9f\x1b[1mx\xa6", // a character broken by an escape sequence
    b"\xff\xfe",             // bytes that are never UTF-8
    b"\x80\x9b",             // stray continuation / C1 bytes
    b"\xc2\x9b1m",           // C1 CSI encoded as UTF-8
    b"\x7f\x7f",             // DEL
    b"\x00\x01\x05\x0e\x0f\x1c\x1f",
    b"\x18\x1a",                 // CAN/SUB in ground
    b"\xe4\xb8\xad\xe6\x96\x87", // wide characters
    b"e\xcc\x81",                // a combining mark
];

fn awkward_output(g: &mut Gen, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < len {
        if g.below(3) == 0 {
            out.extend_from_slice(AWKWARD[g.below(AWKWARD.len() as u64) as usize]);
        } else {
            let len = 1 + g.below(60) as usize;
            out.extend(random_output(g, len));
        }
    }
    out
}

fn snapshot(p: &Parser<Events>) -> (String, (u16, u16), bool, String) {
    let t = p.term();
    let mut contents = String::new();
    t.contents_formatted(&mut contents);
    let mut modes = String::new();
    t.input_mode_formatted(&mut modes);
    (contents, t.cursor_position(), t.alternate_screen(), modes)
}

fn run(input: &[u8], rows: u16, cols: u16, g: &mut Gen) {
    let mut fast = Parser::new(rows, cols, Events::default());
    let mut reference = Parser::new(rows, cols, Events::default());
    let mut i = 0;
    while i < input.len() {
        let n = (1 + g.below(90) as usize).min(input.len() - i);
        fast.process(&input[i..i + n]);
        reference.process_through_vte(&input[i..i + n]);
        i += n;
        assert_eq!(snapshot(&fast), snapshot(&reference), "after {i} bytes");
    }
    assert_eq!(fast.term().sink(), reference.term().sink(), "sink events");
}

/// Runs [`run`] on the output `make` generates for each of `seeds` (mixed with `salt`) on a
/// random small screen; a difference names the seed, the size and the input.
fn same_as_vte_alone_on(seeds: std::ops::RangeInclusive<u64>, salt: u64, make: impl Fn(&mut Gen) -> Vec<u8>) {
    for seed in seeds {
        let mut g = Gen(seed.wrapping_mul(salt) | 1);
        let input = make(&mut g);
        let (rows, cols) = (1 + g.below(12) as u16, 1 + g.below(45) as u16);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&input, rows, cols, &mut g)));
        assert!(
            result.is_ok(),
            "seed {seed} ({rows}x{cols}) differs on {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn the_fast_path_shows_what_vte_alone_shows() {
    same_as_vte_alone_on(1..=80, 0x2545_F491_4F6C_DD1D, |g| awkward_output(g, 4000));
}

/// Output dense with CSI sequences, of the common shape and not, between bits of text.
fn csi_heavy_output(g: &mut Gen, len: usize) -> Vec<u8> {
    // The finals the screen acts on, plus a few it ignores; not `b` (repeat), whose huge counts
    // only slow the test down.
    let finals = b"@ABCDEFGHJKLMPSTXdfmhlrq`sun";
    let mut out = Vec::new();
    while out.len() < len {
        match g.below(8) {
            0..=4 => {
                out.extend_from_slice(b"\x1b[");
                out.extend(random_csi_body(g, finals));
            }
            5 => {
                out.extend_from_slice(b"\x1b[");
                out.extend_from_slice(EDGE_BODIES[g.below(EDGE_BODIES.len() as u64) as usize]);
            }
            _ => {
                let len = 1 + g.below(12) as usize;
                out.extend(random_output(g, len));
            }
        }
    }
    out
}

#[test]
fn the_csi_fast_path_shows_what_vte_alone_shows() {
    same_as_vte_alone_on(1..=60, 0x9E37_79B9_7F4A_7C15, |g| csi_heavy_output(g, 3000));
}

/// SGR sequences built from the values SGR acts on (and some it stops at): colours given as
/// `38;5;n` and `38;2;r;g;b`, cut short, out of range, followed by more parameters, sometimes
/// with a `:` (which leaves the sequence to `vte`), each followed by a letter drawn with it.
fn sgr_heavy_output(g: &mut Gen, len: usize) -> Vec<u8> {
    const VALUES: &[&str] = &[
        "",
        "0",
        "1",
        "2",
        "3",
        "4",
        "7",
        "22",
        "23",
        "24",
        "27",
        "30",
        "34",
        "37",
        "39",
        "40",
        "45",
        "47",
        "49",
        "90",
        "97",
        "100",
        "107",
        "38",
        "48",
        "38;5",
        "48;5",
        "38;2",
        "48;2",
        "5",
        "2",
        "255",
        "256",
        "300",
        "65535",
        "6",
        "8",
        "9",
        "53",
        "98",
        "108",
        "38;5;196",
        "48;2;1;2;3",
        "38;2;255;0",
    ];
    let mut out = Vec::new();
    while out.len() < len {
        out.extend_from_slice(b"\x1b[");
        for n in 0..1 + g.below(7) {
            if n > 0 {
                out.push(if g.below(30) == 0 { b':' } else { b';' });
            }
            out.extend_from_slice(VALUES[g.below(VALUES.len() as u64) as usize].as_bytes());
        }
        out.push(b'm');
        out.push(b'a' + g.below(26) as u8);
        if g.below(10) == 0 {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The CSI fast path's SGR reads plain numbers (`Term::sgr_values`), `vte`'s reads slices:
/// both must leave the same attributes on every sequence.
#[test]
fn sgr_through_the_csi_fast_path_shows_what_vte_alone_shows() {
    same_as_vte_alone_on(1..=60, 0x3C6E_F372_FE94_F82B, |g| sgr_heavy_output(g, 3000));
}

#[test]
fn a_csi_sequence_cut_at_any_byte_shows_what_vte_alone_shows() {
    for body in EDGE_BODIES {
        // Colour and text before and after, so a lost or doubled sequence shows on screen.
        let mut input = b"ab\x1b[31mc\x1b[".to_vec();
        input.extend_from_slice(body);
        input.extend_from_slice(b"de\x1b[1;44mf\x1b[2Jg");
        let mut reference = Parser::new(3, 10, Events::default());
        reference.process_through_vte(&input);
        for cut in 0..=input.len() {
            let mut fast = Parser::new(3, 10, Events::default());
            fast.process(&input[..cut]);
            fast.process(&input[cut..]);
            let shown = String::from_utf8_lossy(&input);
            assert_eq!(snapshot(&fast), snapshot(&reference), "{shown:?} cut at {cut}");
            assert_eq!(fast.term().sink(), reference.term().sink(), "{shown:?} cut at {cut}");
        }
    }
}

/// The formatted screen after feeding `chunks` one `process` call each.
fn shown(chunks: &[&[u8]]) -> String {
    let mut p = Parser::new(2, 20, Events::default());
    for chunk in chunks {
        p.process(chunk);
    }
    let mut contents = String::new();
    p.term().contents_formatted(&mut contents);
    contents
}

#[test]
fn text_after_a_silently_ended_sequence_is_printed() {
    // An ignored CSI ends without a callback; the text after it must land.
    let contents = shown(&[b"\x1b[1;2<3m", b"ab\x1b[?1;2<5hcd", b"ef"]);
    assert!(contents.contains("abcdef"), "{contents:?}");
}

#[test]
fn a_character_split_across_chunks_is_printed_once() {
    // Cut after the first byte, then after the second: carried twice before it completes.
    let contents = shown(&[b"x\xe4", b"\xb8", b"\xady"]);
    assert!(contents.contains("x中y"), "{contents:?}");
}

#[test]
fn the_printable_prefix_is_found_eight_bytes_at_a_time_exactly() {
    let naive = |b: &[u8]| b.iter().position(|c| !(0x20..=0x7e).contains(c)).unwrap_or(b.len());
    for stop in 0..=255u8 {
        for at in 0..20 {
            let mut bytes = [b'a'; 20];
            bytes[at] = stop;
            // Every length, so the stop byte lands in whole words and in the padded tail.
            for len in 0..=bytes.len() {
                let bytes = &bytes[..len];
                assert_eq!(
                    super::ground::printable_ascii_prefix(bytes),
                    naive(bytes),
                    "byte {stop:#x} at {at} of {len}"
                );
            }
        }
    }
}
