//! A driver for instruction counts (`valgrind --tool=callgrind`): the attach view at 120×40 over
//! a shell whose screen is full of coloured `ls`-like output, one frame drawn per typed key as
//! the front end draws an echo (one character echoed at the prompt; every 60th key an Enter: a
//! new prompt line, the screen scrolls). Drawn through ratatui's crossterm backend into a sink
//! by the front end's painter, or with `whole` by ratatui's `Terminal::draw` (every cell drawn
//! and compared, as before the painter), so the draw's share per key is the inclusive cost of
//! `Painter::paint` (or `Terminal::draw`) divided by the keys.
//!
//! `cargo build --release -p controlroom-tui --example attach_frames &&
//!  valgrind --tool=callgrind target/release/examples/attach_frames [KEYS] [whole]`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{base_state, key, session, sync, worker};
use controlroom_protocol::{SessionId, WorkerId, WorkerKind, WorkerServerMsg, WorkerState};
use controlroom_tui::painter::Painter;
use controlroom_tui::state::{Mode, Msg, State, WorkerEvent};
use controlroom_tui::theme::Theme;
use crossterm::event::KeyCode;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::fmt::Write as _;

/// The front end's terminal, as in the `tui-echo` bench row.
const SIZE: (u16, u16) = (120, 40);

/// A key every this many is Enter (a new prompt line) rather than a letter.
const LINE_EVERY: usize = 60;

const PROMPT: &str = "\x1b[1;32mada@host\x1b[0m:\x1b[1;34m~/api\x1b[0m$ ";

fn output(st: &mut State, offset: &mut u64, data: &str) {
    let bytes = bytes::Bytes::from(data.as_bytes().to_vec());
    let at = *offset;
    *offset += bytes.len() as u64;
    st.update(Msg::Worker {
        session: SessionId::new("s1"),
        worker: WorkerId::new("w1"),
        event: WorkerEvent::Output { offset: at, bytes },
    });
}

/// A screen of coloured `ls -l`-like lines ending at a prompt.
fn history() -> String {
    let mut s = String::new();
    for i in 0..60 {
        let _ = write!(
            s,
            "-rw-r--r-- 1 ada ada {:6} Dec  7 02:{:02} \x1b[0{}mfile-{i}.rs\x1b[0m\r\n",
            i * 137,
            i % 60,
            if i % 3 == 0 { ";34" } else { "" }
        );
    }
    s.push_str(PROMPT);
    s
}

fn main() {
    let keys: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(200);
    let mut st = base_state();
    let workers = vec![worker("w1", "bash", WorkerKind::Shell, "/bin/bash", WorkerState::Running, None)];
    sync(&mut st, vec![session("s1", "api", "2026-11-21T09:00:00Z", None, workers)], vec![]);
    st.update(Msg::Resize { cols: SIZE.0, rows: SIZE.1 });
    st.selected_session = Some(SessionId::new("s1"));
    let data = history();
    let mut offset = data.len() as u64;
    let history = WorkerServerMsg::History { data, cols: SIZE.0, rows: SIZE.1 - 1, offset };
    st.update(Msg::Worker {
        session: SessionId::new("s1"),
        worker: WorkerId::new("w1"),
        event: WorkerEvent::Message(history),
    });
    key(&mut st, KeyCode::Enter);
    assert_eq!(st.mode, Mode::Attach, "attached to the shell");
    let area = Rect::new(0, 0, SIZE.0, SIZE.1);
    let whole = std::env::args().nth(2).is_some_and(|a| a == "whole");
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions { viewport: Viewport::Fixed(area) },
    )
    .expect("a fixed viewport");
    let mut painter = Painter::new(CrosstermBackend::new(std::io::sink()), area);
    let theme = Theme::default();
    let mut frame = |st: &State| {
        if whole {
            terminal.draw(|f| controlroom_tui::ui::draw(f, st, &theme)).map(drop)
        } else {
            painter.paint(st, &theme)
        }
    };
    frame(&st).expect("draws");
    for k in 1..=keys {
        if k % LINE_EVERY == 0 {
            output(&mut st, &mut offset, &format!("\r\n{PROMPT}"));
        } else {
            let c = char::from(b'a' + u8::try_from(k % 26).unwrap_or(0));
            output(&mut st, &mut offset, c.encode_utf8(&mut [0; 4]));
        }
        frame(&st).expect("draws");
    }
    let how = if whole { "whole frames" } else { "the painter" };
    println!("{keys} keys at {}×{}, {how}", SIZE.0, SIZE.1);
}
