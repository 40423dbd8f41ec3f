//! End-to-end test of copy mode: `controlroom attach` runs in a real PTY against a real gateway;
//! keys and mouse reports are written to the PTY as a terminal would, and the raw bytes the front
//! end writes back are searched for the OSC 52 sequence that puts the copy on the clipboard.

mod support;
#[path = "support/tui.rs"]
mod tui;

use base64::Engine as _;
use std::path::Path;
use support::Gateway;
use tui::{Spawn, Tui, new_session};

const COLS: u16 = 100;
const ROWS: u16 = 30;

/// What the worker prints before it waits.
const SCRIPT: &str = "printf 'alpha beta gamma\\nsecond line here\\n'; exec cat";

/// `controlroom attach TARGET` in a PTY, its raw output kept whole; `TMUX` as given.
fn attach(data: &Path, config: &Path, target: &str, tmux: Option<&str>) -> Tui {
    Spawn::new(COLS, ROWS).before(&["attach", target]).env("TMUX", tmux).keep_raw().run(data, config)
}

/// `ESC ] 52 ; c ; BASE64 BEL` for `text`.
fn osc52(text: &str) -> Vec<u8> {
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text)).into_bytes()
}

#[test]
fn copy_mode_puts_a_selection_and_the_screen_on_the_clipboard_by_osc52() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _gateway = Gateway::start_in(data.path(), &[]);
    let target = new_session(data.path(), "copy", &["--", "sh", "-c", SCRIPT]);
    let mut tui = attach(data.path(), config.path(), &target, None);
    tui.wait_for("the worker's text", 20, |s| s.contains("second line here") && s.contains("detach"));

    // ctrl-\ [ : copy mode, the cursor where the program's is (under the two lines).
    tui.send(b"\x1c[");
    tui.wait_for("copy mode", 10, |s| s.contains("COPY") && s.contains("ln 3/"));
    // Up two lines, a word right, select to its end, copy.
    tui.send(b"kkwve");
    tui.wait_for("the selection's size", 10, |s| s.contains("sel 4 chars"));
    tui.send(b"y");
    tui.wait_bytes(&osc52("beta"), 10);
    tui.wait_for("the copy said and copy mode left", 10, |s| {
        s.contains("copied 4 chars") && !s.contains("COPY")
    });

    // Y copies the whole screen (its blank rows left out).
    tui.send(b"\x1c[");
    tui.wait_for("copy mode again", 10, |s| s.contains("COPY"));
    tui.send(b"Y");
    tui.wait_bytes(&osc52("alpha beta gamma\nsecond line here"), 10);

    // A mouse drag over a program that did not ask for the mouse selects, and its release
    // copies (SGR reports: the worker's first row is the terminal's second).
    tui.send(b"\x1b[<0;1;2M\x1b[<32;3;2M\x1b[<32;5;2M\x1b[<0;5;2m");
    tui.wait_bytes(&osc52("alpha"), 10);

    // The worker kept running all along: what is typed now reaches it.
    tui.send(b"still-here\r");
    tui.wait_for("the worker's echo", 10, |s| s.matches("still-here").count() >= 2);

    // The detach key alone still detaches (`attach` then exits).
    tui.send(b"\x1c");
    tui.wait_exit(20);
    drop(tui);
    support::kill_holders(data.path());
}

#[test]
fn inside_tmux_the_copy_is_wrapped_in_a_passthrough() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let _gateway = Gateway::start_in(data.path(), &[]);
    let target = new_session(data.path(), "copy", &["--", "sh", "-c", SCRIPT]);
    let mut tui = attach(data.path(), config.path(), &target, Some("/tmp/tmux-0/default,1,0"));
    tui.wait_for("the worker's text", 20, |s| s.contains("second line here") && s.contains("detach"));
    tui.send(b"\x1c[");
    tui.wait_for("copy mode", 10, |s| s.contains("COPY"));
    tui.send(b"kk0ve");
    tui.wait_for("the selection", 10, |s| s.contains("sel 5 chars"));
    tui.send(b"y");
    let b64 = base64::engine::general_purpose::STANDARD.encode("alpha");
    tui.wait_bytes(format!("\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\").as_bytes(), 10);
    drop(tui);
    support::kill_holders(data.path());
}
