//! The CSI fast path against `vte` byte for byte: for random and awkward sequences (long,
//! overflowing, empty and too many parameters, markers, intermediates, `:`, controls, DEL,
//! non-ASCII, cut short), whatever `parse_plain_csi` takes must be exactly one `csi_dispatch`
//! in `vte`, with the same parameters, intermediates and `ignore` flag, at the same byte, and
//! leave `vte` in ground; and every sequence of the common shape must be taken.

use super::csi::{PlainCsi, parse_plain_csi};
use super::tests::Gen;
use vte::{Params, Perform};

/// One `vte` callback.
#[derive(Debug, PartialEq)]
enum Event {
    Csi { params: Vec<Vec<u16>>, intermediates: Vec<u8>, ignore: bool, action: char },
    Other(String),
}

/// Every callback with the index of the byte that caused it.
#[derive(Default)]
struct Recorder {
    at: usize,
    events: Vec<(usize, Event)>,
}

impl Recorder {
    fn other(&mut self, what: String) {
        self.events.push((self.at, Event::Other(what)));
    }
}

impl Perform for Recorder {
    fn print(&mut self, c: char) {
        self.other(format!("print {c:?}"));
    }
    fn execute(&mut self, byte: u8) {
        self.other(format!("execute {byte:#x}"));
    }
    fn hook(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        self.other(format!("hook {params:?} {intermediates:?} {ignore} {action:?}"));
    }
    fn put(&mut self, byte: u8) {
        self.other(format!("put {byte:#x}"));
    }
    fn unhook(&mut self) {
        self.other("unhook".into());
    }
    fn osc_dispatch(&mut self, params: &[&[u8]], bell_terminated: bool) {
        self.other(format!("osc {params:?} {bell_terminated}"));
    }
    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        let params = params.iter().map(<[u16]>::to_vec).collect();
        let event = Event::Csi { params, intermediates: intermediates.to_vec(), ignore, action };
        self.events.push((self.at, event));
    }
    fn esc_dispatch(&mut self, intermediates: &[u8], ignore: bool, byte: u8) {
        self.other(format!("esc {intermediates:?} {ignore} {byte:#x}"));
    }
}

/// `bytes` through a fresh `vte`, one byte per call, so each callback knows its byte.
fn through_vte(bytes: &[u8]) -> Vec<(usize, Event)> {
    let mut parser = vte::Parser::new();
    let mut recorder = Recorder::default();
    for (at, byte) in bytes.iter().enumerate() {
        recorder.at = at;
        parser.advance(&mut recorder, std::slice::from_ref(byte));
    }
    recorder.events
}

/// Sequences at the edges of what the fast path takes (each after `ESC [`).
pub(super) const EDGE_BODIES: &[&[u8]] = &[
    b"m",
    b";m",
    b";;;H",
    b"?m",
    b"?;m",
    b">c",
    b"=5u",
    b"<0;12;3M",
    b"?1049h",
    b"?25l",
    b"?1;1049;2004h",
    b"0065535m",
    b"65535m",
    b"65536m",
    b"6553665536;99999999999999999999;1H",
    b"1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32m",
    b"1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;m",
    b"1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33m",
    b";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;m",
    b";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;m",
    b";;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;m",
    b"38:2:1:2:3m",
    b"38;2:1m",
    b":m",
    b"1 q",
    b"?1$p",
    b"1;2!p",
    b"??1h",
    b"1?h",
    b"1;2<3m",
    b"1\x7fm",
    b"\x7fm",
    b"1\x08m",
    b"1\x18m",
    b"1\x1a2m",
    b"1\x1b[2m",
    b"1\xc3\xa4m",
    b"1\x9cm",
    b"",
    b"?",
    b"12;",
    b"12;3",
];

/// A random CSI body: mostly the common shape, with every awkward byte now and then.
pub(super) fn random_csi_body(g: &mut Gen, finals: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if g.below(4) == 0 {
        out.push(b"<=>?"[g.below(4) as usize]);
    }
    let params = match g.below(10) {
        0 => 28 + g.below(8),
        1..=3 => 0,
        _ => 1 + g.below(5),
    };
    for n in 0..params {
        if n > 0 {
            out.push(if g.below(25) == 0 { b':' } else { b';' });
        }
        match g.below(12) {
            0 => {}
            1 => out.extend_from_slice(
                ["65535", "65536", "655350", "0000001", "99999999999"][g.below(5) as usize].as_bytes(),
            ),
            2 => out.extend(format!("{}", g.below(1_000_000)).bytes()),
            _ => out.extend(format!("{}", g.below(300)).bytes()),
        }
        if g.below(40) == 0 {
            // An intruder: a second marker, an intermediate, a control, DEL or non-ASCII.
            let intruders: &[u8] = b"<?  $!\x00\x07\x08\x0a\x18\x1a\x1b\x7f\x80\x9c\xc3\xff";
            out.push(intruders[g.below(intruders.len() as u64) as usize]);
        }
    }
    if g.below(20) == 0 {
        out.push(b" $!\""[g.below(4) as usize]);
    }
    if g.below(30) != 0 {
        out.push(finals[g.below(finals.len() as u64) as usize]);
    }
    out
}

/// Every final byte `vte` dispatches on.
fn all_finals() -> Vec<u8> {
    (0x40..=0x7e).collect()
}

/// Holds `parse_plain_csi` to `vte` for the sequence `ESC [ body` (with text after it), parsed
/// into `csi` (reused across calls, as the parser reuses its own).
fn check(body: &[u8], csi: &mut PlainCsi) {
    let mut input = b"\x1b[".to_vec();
    input.extend_from_slice(body);
    // Not ASCII: no byte of it can end or continue the sequence.
    input.extend_from_slice("é".as_bytes());
    let events = through_vte(&input);
    let shown = String::from_utf8_lossy(body);
    match parse_plain_csi(&input[2..], csi) {
        Some(used) => {
            let params = csi.values().iter().map(|v| vec![*v]).collect();
            let expected = Event::Csi {
                params,
                intermediates: csi.intermediates().to_vec(),
                ignore: false,
                action: char::from(csi.action),
            };
            // The first callback is this dispatch, on the last byte taken, and then `vte` is in
            // ground: the text after it prints (on its second byte).
            assert_eq!(events.first(), Some(&(1 + used, expected)), "{shown:?}");
            assert_eq!(events.get(1), Some(&(3 + used, Event::Other("print 'é'".into()))), "{shown:?}");
        }
        None => {
            // Left to `vte`: fine unless it was the common shape.
            let common = match events.first() {
                Some((at, Event::Csi { params, intermediates, ignore: false, .. })) => {
                    params.iter().all(|p| p.len() == 1)
                        && (intermediates.is_empty() || matches!(intermediates[..], [0x3c..=0x3f]))
                        && input[2..*at].iter().all(|b| (0x20..=0x3f).contains(b))
                }
                _ => false,
            };
            assert!(!common, "{shown:?} is the common shape but was left to vte: {events:?}");
        }
    }
}

#[test]
fn the_plain_csi_parse_dispatches_what_vte_does_at_the_edges() {
    let mut csi = PlainCsi::new();
    for body in EDGE_BODIES {
        check(body, &mut csi);
    }
}

#[test]
fn the_plain_csi_parse_dispatches_what_vte_does_on_random_sequences() {
    let finals = all_finals();
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let mut csi = PlainCsi::new();
    for _ in 0..30_000 {
        check(&random_csi_body(&mut g, &finals), &mut csi);
    }
}

#[test]
fn the_plain_csi_parse_is_exact_on_every_prefix() {
    // A sequence cut anywhere is either whole or left to `vte`, never half taken.
    let mut csi = PlainCsi::new();
    for body in EDGE_BODIES {
        for cut in 0..=body.len() {
            check(&body[..cut], &mut csi);
        }
    }
}
