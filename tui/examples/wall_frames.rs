//! A driver for instruction counts (`valgrind --tool=callgrind`): the wall (`g`) of twelve busy
//! tiles at 160×50, six `top`-like (the whole screen redrawn in place, one tick of it every third
//! frame) and six floods (new lines every frame), drawn `FRAMES` times through ratatui's
//! crossterm backend into a sink, as the front end draws them. Output is fed between frames, so
//! before/after counts compare the same work; read the draw's share as the inclusive cost of
//! `Terminal::draw` (or `ui::draw`) divided by the frames.
//!
//! With `painter`, frames go through the front end's painter (`Painter::paint` inclusive) rather
//! than ratatui's `Terminal::draw`.
//!
//! `cargo build --release -p controlroom-tui --example wall_frames &&
//!  valgrind --tool=callgrind target/release/examples/wall_frames [FRAMES] [painter]`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{base_state, key, session, sync, worker};
use controlroom_protocol::{SessionId, WorkerId, WorkerKind, WorkerServerMsg, WorkerState};
use controlroom_tui::painter::Painter;
use controlroom_tui::state::{Msg, State, WorkerEvent};
use controlroom_tui::theme::Theme;
use crossterm::event::KeyCode;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::fmt::Write as _;

/// Tiles on the wall, as in the `tui-wall` bench row.
const TILES: usize = 12;

/// The front end's terminal.
const SIZE: (u16, u16) = (160, 50);

fn tile_event(st: &mut State, i: usize, event: WorkerEvent) {
    st.update(Msg::Worker { session: SessionId::new("s1"), worker: WorkerId::new(format!("w{i}")), event });
}

/// One screen of a `top`-like program: every row rewritten in place, with colour.
fn top_tick(tick: usize) -> String {
    let mut s = String::from("\x1b[H\x1b[1;37;44m  PID USER      %CPU  COMMAND\x1b[K\x1b[m\r\n");
    for r in 1..23 {
        let _ = write!(
            s,
            "\x1b[32m{:5}\x1b[m ada     {:3}.{} \x1b[1mproc-{r}-{tick}\x1b[m\x1b[K\r\n",
            100 + r,
            (tick * r) % 97,
            r % 10
        );
    }
    s
}

/// A few lines of a flood.
fn flood_lines(n: &mut usize) -> String {
    let mut s = String::new();
    for _ in 0..40 {
        *n += 1;
        let _ = write!(s, "flood-line {n}\r\n");
    }
    s
}

fn main() {
    let frames: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut st = base_state();
    let workers = (0..TILES)
        .map(|i| {
            let name = if i % 2 == 0 { "top" } else { "flood" };
            worker(&format!("w{i}"), name, WorkerKind::Shell, "sh", WorkerState::Running, None)
        })
        .collect();
    sync(&mut st, vec![session("s1", "wall", "2026-11-21T09:00:00Z", None, workers)], vec![]);
    st.update(Msg::Resize { cols: SIZE.0, rows: SIZE.1 });
    st.selected_session = Some(SessionId::new("s1"));
    key(&mut st, KeyCode::Char('g'));
    let mut offsets = [0u64; TILES];
    for (i, offset) in offsets.iter_mut().enumerate() {
        let data = if i % 2 == 0 { top_tick(0) } else { String::new() };
        *offset = data.len() as u64;
        let history = WorkerServerMsg::History { data, cols: 80, rows: 24, offset: *offset };
        tile_event(&mut st, i, WorkerEvent::Message(history));
    }
    let area = Rect::new(0, 0, SIZE.0, SIZE.1);
    let painted = std::env::args().nth(2).is_some_and(|a| a == "painter");
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions { viewport: Viewport::Fixed(area) },
    )
    .expect("a fixed viewport");
    let mut painter = Painter::new(CrosstermBackend::new(std::io::sink()), area);
    let theme = Theme::default();
    let mut flooded = 0;
    for frame in 0..frames {
        for (i, offset) in offsets.iter_mut().enumerate() {
            // The `top`-likes tick at 20 Hz against ~60 frames a second.
            let data = match i % 2 {
                0 if frame % 3 == 0 => top_tick(frame),
                0 => continue,
                _ => flood_lines(&mut flooded),
            };
            let bytes = bytes::Bytes::from(data.into_bytes());
            let at = *offset;
            *offset += bytes.len() as u64;
            tile_event(&mut st, i, WorkerEvent::Output { offset: at, bytes });
        }
        if painted {
            painter.paint(&st, &theme).expect("paints");
        } else {
            terminal.draw(|f| controlroom_tui::ui::draw(f, &st, &theme)).expect("draws");
        }
    }
    println!("{frames} frames of {TILES} tiles, {flooded} flood lines");
}
