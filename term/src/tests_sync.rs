//! Synchronized output (mode 2026): the open update is tracked by the model across feeds, so a
//! marker split between two reads counts, and each update gets its own number.

use super::Parser;

fn parser() -> Parser<()> {
    Parser::new(24, 80, ())
}

#[test]
fn an_update_opens_and_closes_with_its_markers() {
    let mut p = parser();
    assert!(!p.term().synchronized_output());
    assert_eq!(p.term().synchronized_update(), None);
    p.process(b"\x1b[?2026h\x1b[Hhalf");
    assert!(p.term().synchronized_output());
    assert_eq!(p.term().synchronized_update(), Some(1));
    p.process(b"more");
    assert_eq!(p.term().synchronized_update(), Some(1), "still inside it");
    p.process(b"\x1b[?2026h");
    assert_eq!(p.term().synchronized_update(), Some(1), "setting it again is the same update");
    p.process(b"done\x1b[?2026l\x1b[?2026h");
    assert_eq!(p.term().synchronized_update(), Some(2), "a new update is told apart from the last");
    p.process(b"\x1b[?2026l");
    assert_eq!(p.term().synchronized_update(), None);
    assert!(!p.term().synchronized_output());
}

#[test]
fn a_marker_split_across_feeds_counts() {
    let mut p = parser();
    p.process(b"x\x1b[?20");
    assert_eq!(p.term().synchronized_update(), None, "half a marker begins nothing");
    p.process(b"26hframe");
    assert_eq!(p.term().synchronized_update(), Some(1), "a split begin starts the update");
    p.process(b"\x1b[?20");
    assert!(p.term().synchronized_output(), "half an end marker ends nothing");
    p.process(b"26l");
    assert_eq!(p.term().synchronized_update(), None, "a split end ends it at once");
    p.process(b"\x1b");
    p.process(b"[?2026");
    p.process(b"h");
    assert_eq!(p.term().synchronized_update(), Some(2), "split three ways");
}

#[test]
fn combined_private_modes_and_reset_end_an_update() {
    let mut p = parser();
    p.process(b"\x1b[?25;2026h");
    assert_eq!(p.term().synchronized_update(), Some(1), "among other modes");
    p.process(b"\x1bc");
    assert_eq!(p.term().synchronized_update(), None, "RIS resets the mode");
    p.process(b"\x1b[?2026h");
    assert_eq!(p.term().synchronized_update(), Some(2), "numbers keep counting after RIS");
}
