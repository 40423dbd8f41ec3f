//! Unit tests of the wall: tiling math, cropping, focus, scopes, pages and which sockets it asks
//! for.

use super::*;
use crate::state::{AppEvent, Msg, Settings};
use controlroom_protocol::{
    ActivityEntry, ActivityState, AppServerMsg, Session, SessionsSync, Worker, WorkerKind, WorkerState,
};

fn worker(id: &str, state: WorkerState, exit: Option<i32>) -> Worker {
    Worker {
        id: WorkerId::new(id),
        name: id.into(),
        kind: WorkerKind::Shell,
        command: vec!["bash".into()],
        cwd: "/tmp".into(),
        state,
        exit_code: exit,
        signal: None,
        pid: None,
        cols: 80,
        rows: 24,
        started_at: "2026-01-01T00:00:00Z".into(),
        preset: None,
        notification: None,
        prompt: None,
    }
}

fn session(id: &str, created: &str, workers: Vec<Worker>) -> Session {
    Session {
        id: SessionId::new(id),
        title: format!("title-{id}"),
        cwd: "/tmp".into(),
        repository: None,
        branch: None,
        created_at: created.into(),
        source: None,
        status: None,
        read_only: false,
        updated_at: created.into(),
        workers,
        git: None,
    }
}

/// Session `a` with `n` running workers `a0..`, session `b` with one asking (`b0`) and one
/// failed (`b1`), at `cols`×`rows`.
fn state(n: usize, cols: u16, rows: u16) -> State {
    let mut st = State::new(Settings::default(), "http://x", "dark");
    st.update(Msg::Resize { cols, rows });
    let a: Vec<Worker> = (0..n).map(|i| worker(&format!("a{i}"), WorkerState::Running, None)).collect();
    let b = vec![worker("b0", WorkerState::Running, None), worker("b1", WorkerState::Exited, Some(2))];
    st.update(Msg::App(AppEvent::Message(Box::new(AppServerMsg::SessionsSync(SessionsSync {
        sessions: vec![session("a", "2026-01-02T00:00:00Z", a), session("b", "2026-01-01T00:00:00Z", b)],
        activity_states: vec![ActivityEntry {
            session_id: SessionId::new("b"),
            worker_id: WorkerId::new("b0"),
            activity_state: ActivityState::Asking,
        }],
        sources: vec![],
        seq: 1,
        epoch: "e".into(),
        timestamp: String::new(),
    })))));
    // `b` needs the user, so the dashboard lists it first: select `a`.
    st.selected_session = Some(SessionId::new("a"));
    st.selected_worker = None;
    st.update(Msg::Tick { now: st.now, instant: st.instant });
    st
}

fn press(st: &mut State, code: KeyCode) -> Vec<Effect> {
    st.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))).effects
}

fn focused(st: &State) -> String {
    st.wall.selected_worker().map(|(_, w)| w.as_str().to_owned()).unwrap_or_default()
}

fn tiles_of(fx: &[Effect]) -> Option<Vec<String>> {
    fx.iter().rev().find_map(|e| match e {
        Effect::WatchTiles(t) => Some(t.iter().map(|(_, w)| w.as_str().to_owned()).collect()),
        _ => None,
    })
}

#[test]
fn grids_for_one_to_twenty_tiles_hold_them_and_keep_every_tile_usable() {
    for (w, h) in [(120, 38), (80, 22), (200, 60), (101, 37), (61, 17)] {
        for n in 1..=20 {
            let g = page_grid(n, w, h, 20).expect("a tile fits");
            let per = g.capacity();
            assert!(per >= n.min(per), "{n} tiles in {w}×{h}: {g:?}");
            assert!(fits(g, w, h), "{n} tiles in {w}×{h}: {g:?} leaves a tile under the minimum");
            // Never a whole empty row or column of tiles.
            let shown = n.min(per);
            assert!(usize::from(g.cols) * (usize::from(g.rows) - 1) < shown, "{n} in {w}×{h}: {g:?}");
            // The tiles cover the area exactly and do not overlap.
            let area = Rect::new(0, 1, w, h);
            let rects: Vec<Rect> = (0..per).map(|i| g.tile(area, i)).collect();
            let cells: u32 = rects.iter().map(|r| u32::from(r.width) * u32::from(r.height)).sum();
            assert_eq!(cells, u32::from(w) * u32::from(h), "{n} in {w}×{h}");
            for (i, a) in rects.iter().enumerate() {
                assert!(rects[i + 1..].iter().all(|b| a.intersection(*b).is_empty()), "{n} in {w}×{h}");
            }
        }
    }
}

#[test]
fn the_grid_follows_the_count_and_the_screens_shape() {
    let grid = |n, w, h| page_grid(n, w, h, 16).map(|g| (g.cols, g.rows));
    assert_eq!(grid(1, 120, 38), Some((1, 1)));
    assert_eq!(grid(4, 120, 38), Some((2, 2)));
    assert_eq!(grid(6, 120, 38), Some((3, 2)));
    assert_eq!(grid(12, 120, 38), Some((4, 3)));
    // A tall narrow screen stacks; a short wide one lines them up.
    assert_eq!(grid(3, 80, 60), Some((1, 3)));
    assert_eq!(grid(3, 240, 20), Some((3, 1)));
    // Too small for even one tile.
    assert_eq!(grid(1, 10, 4), None);
}

#[test]
fn more_tiles_than_fit_make_pages_and_the_cap_bounds_a_page() {
    // 80×22: tiles need 22 columns and 5 rows, so at most 3×4 on a page.
    let g = page_grid(20, 80, 22, 64).expect("fits");
    assert!(g.capacity() < 20 && fits(g, 80, 22), "{g:?}");
    assert_eq!(page_grid(20, 300, 100, 6).map(Grid::capacity), Some(6), "wall-max-tiles caps a page");
    let mut st = state(20, 80, 24);
    press(&mut st, KeyCode::Char('g'));
    let page = st.wall_page();
    assert_eq!((page.page, page.pages), (0, 20usize.div_ceil(page.per_page())));
    assert_eq!(st.wall.views.len(), page.per_page(), "only the page's tiles are watched");
    let fx = press(&mut st, KeyCode::PageDown);
    assert_eq!(st.wall_page().page, 1);
    let on_page_two = tiles_of(&fx).expect("the tiles change with the page");
    assert_eq!(on_page_two.first().map(String::as_str), Some(format!("a{}", page.per_page()).as_str()));
    assert_eq!(focused(&st), format!("a{}", page.per_page()), "the same place on the next page");
    press(&mut st, KeyCode::PageUp);
    assert_eq!((st.wall_page().page, focused(&st).as_str()), (0, "a0"));
}

#[test]
fn a_tile_crops_its_screen_from_the_top_so_the_cursor_line_shows() {
    assert_eq!(crop_top(24, 3, 10), 0, "the cursor's line fits: from the top");
    assert_eq!(crop_top(24, 23, 10), 14, "a cursor at the bottom: the last ten rows");
    assert_eq!(crop_top(24, 12, 10), 3, "the cursor's line is the tile's last");
    assert_eq!(crop_top(24, 40, 10), 14, "never past the screen's end");
    assert_eq!(crop_top(5, 4, 10), 0, "a screen smaller than the tile");
    assert_eq!(crop_top(24, 10, 0), 0);
}

#[test]
fn arrows_and_hjkl_move_the_focus_in_the_grid_and_stop_at_the_edges() {
    let mut st = state(6, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.mode, Mode::Wall);
    assert_eq!(st.wall_page().grid, Some(Grid { cols: 3, rows: 2 }));
    assert_eq!(focused(&st), "a0");
    press(&mut st, KeyCode::Right);
    press(&mut st, KeyCode::Char('l'));
    assert_eq!(focused(&st), "a2");
    press(&mut st, KeyCode::Char('j'));
    assert_eq!(focused(&st), "a5", "down a row is three places on");
    press(&mut st, KeyCode::Down);
    press(&mut st, KeyCode::Right);
    assert_eq!(focused(&st), "a5", "clamped at the last tile");
    press(&mut st, KeyCode::Up);
    press(&mut st, KeyCode::Char('h'));
    assert_eq!(focused(&st), "a1");
    press(&mut st, KeyCode::Char('k'));
    press(&mut st, KeyCode::Left);
    press(&mut st, KeyCode::Left);
    assert_eq!(focused(&st), "a0", "clamped at the first");
}

#[test]
fn g_cycles_session_then_needs_you_then_all() {
    let mut st = state(2, 120, 40);
    let fx = press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.wall.scope, WallScope::Session);
    assert_eq!(tiles_of(&fx), Some(vec!["a0".into(), "a1".into()]));
    let fx = press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.wall.scope, WallScope::Attention);
    assert_eq!(tiles_of(&fx), Some(vec!["b0".into(), "b1".into()]), "asking first, then failed");
    assert_eq!(focused(&st), "b0");
    let fx = press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.wall.scope, WallScope::All);
    // In dashboard order: the session that needs the user first.
    assert_eq!(tiles_of(&fx), Some(vec!["b0".into(), "b1".into(), "a0".into(), "a1".into()]));
    assert_eq!(focused(&st), "b0", "the focused worker stays focused when the new scope has it");
    press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.wall.scope, WallScope::Session);
}

#[test]
fn an_empty_scope_watches_nothing() {
    let mut st = state(0, 120, 40);
    let fx = press(&mut st, KeyCode::Char('g'));
    assert!(st.wall_keys().is_empty());
    assert!(st.wall.views.is_empty());
    assert!(!fx.iter().any(|e| matches!(e, Effect::WatchTiles(t) if !t.is_empty())));
}

#[test]
fn the_wall_replaces_the_preview_socket_and_esc_gives_it_back() {
    let mut st = state(3, 120, 40);
    // The dashboard previews a0.
    assert!(st.term.as_ref().is_some_and(|t| t.worker.as_str() == "a0"));
    let fx = press(&mut st, KeyCode::Char('g'));
    // The preview's screen and socket became a0's tile: the tiles first, then the preview lets
    // go (so the runtime keeps the socket).
    let at = |f: fn(&Effect) -> bool| fx.iter().position(f);
    let tiles = at(|e| matches!(e, Effect::WatchTiles(_))).expect("tiles watched");
    let unwatch = at(|e| matches!(e, Effect::Watch(None))).expect("the preview let go");
    assert!(tiles < unwatch, "{fx:?}");
    assert!(st.term.is_none());
    assert_eq!(st.wall.views.len(), 3);
    press(&mut st, KeyCode::Right);
    let fx = press(&mut st, KeyCode::Esc);
    assert_eq!(st.mode, Mode::Dashboard);
    assert_eq!(st.selected_worker.as_ref().map(WorkerId::as_str), Some("a1"), "the focused tile is selected");
    assert!(st.term.as_ref().is_some_and(|t| t.worker.as_str() == "a1"));
    let watch = fx.iter().position(|e| matches!(e, Effect::Watch(Some(_)))).expect("a1 previewed");
    let none =
        fx.iter().position(|e| matches!(e, Effect::WatchTiles(t) if t.is_empty())).expect("tiles closed");
    assert!(watch < none, "the preview takes a1's socket before the tiles let go: {fx:?}");
    assert!(st.wall.views.is_empty());
}

#[test]
fn enter_attaches_to_the_focused_tile_and_detaching_returns_to_the_wall() {
    let mut st = state(4, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    press(&mut st, KeyCode::Down);
    assert_eq!(focused(&st), "a2");
    // a2's tile gets its history; attaching keeps that screen.
    st.update(Msg::Worker {
        session: SessionId::new("a"),
        worker: WorkerId::new("a2"),
        event: WorkerEvent::Message(WorkerServerMsg::History {
            data: "hello from a2".into(),
            cols: 80,
            rows: 24,
            offset: 13,
        }),
    });
    let fx = press(&mut st, KeyCode::Enter);
    assert_eq!(st.mode, Mode::Attach);
    let term = st.term.as_ref().expect("attached view");
    assert_eq!(term.worker.as_str(), "a2");
    assert!(term.parser.term().contents().starts_with("hello from a2"), "the tile's screen, not a blank");
    assert!(fx.contains(&Effect::Watch(Some((SessionId::new("a"), WorkerId::new("a2"))))));
    assert_eq!(tiles_of(&fx), Some(vec![]), "attached: no tile is on screen, so none is watched");
    // Detach: back on the wall with every tile, a2 still focused.
    let detach = KeyEvent::new(KeyCode::Char('\\'), KeyModifiers::CONTROL);
    st.update(Msg::Key(detach));
    // The detach key alone waits for a chord's second key (copy mode) until the timeout.
    let fx = st.update(Msg::ChordTimeout).effects;
    assert_eq!(st.mode, Mode::Wall);
    assert_eq!(focused(&st), "a2");
    assert_eq!(tiles_of(&fx), Some(vec!["a0".into(), "a1".into(), "a2".into(), "a3".into()]));
    assert!(
        st.wall.view(&(SessionId::new("a"), WorkerId::new("a2"))).is_some_and(|v| v.next_offset == Some(13))
    );
    // Enter on the dashboard still attaches there, and detaching returns to the dashboard.
    press(&mut st, KeyCode::Esc);
    press(&mut st, KeyCode::Enter);
    st.update(Msg::Key(detach));
    st.update(Msg::ChordTimeout);
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn a_tile_keeps_no_scrollback_but_attaching_from_it_keeps_the_full_historys() {
    let mut st = state(2, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    // a1: a0 was the dashboard's preview, whose screen (and full socket) the wall took over.
    press(&mut st, KeyCode::Right);
    let key = (SessionId::new("a"), WorkerId::new("a1"));
    let lines: String = (0..100).map(|i| format!("numbered line {i}\r\n")).collect();
    let history = |offset| Msg::Worker {
        session: key.0.clone(),
        worker: key.1.clone(),
        event: WorkerEvent::Message(WorkerServerMsg::History {
            data: lines.clone(),
            cols: 80,
            rows: 24,
            offset,
        }),
    };
    st.update(history(10));
    let tile = st.wall.view(&key).expect("a1's tile");
    assert_eq!(tile.scrolled(), 0);
    assert_eq!(tile.parser.term().scrollback_len(), 0, "a tile shows the screen only");
    // Enter: the tile's screen shows at once; the attach's own (full) history brings the rest.
    let fx = press(&mut st, KeyCode::Enter);
    assert!(fx.contains(&Effect::Watch(Some(key.clone()))), "a socket with the full history: {fx:?}");
    let term = st.term.as_ref().expect("attached view");
    assert!(term.parser.term().contents().contains("numbered line 99"), "the tile's screen, not a blank");
    assert_eq!(term.scrollback_lines(), st.settings.scrollback_lines);
    st.update(history(20));
    let term = st.term.as_mut().expect("attached view");
    term.scroll_by(isize::MAX / 2);
    assert!(term.scrolled() > 50, "scrolled back {} rows", term.scrolled());
    let top = term.parser.term().contents();
    assert!(top.starts_with("numbered line 0\n"), "the oldest line is in the scrollback:\n{top}");
}

#[test]
fn a_click_focuses_a_tile_and_a_click_on_the_focused_one_attaches() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut st = state(4, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    let page = st.wall_page();
    let r = page.tile(3).expect("fourth tile");
    let click = |st: &mut State| {
        let event = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: r.x + 3,
            row: r.y + 2,
            modifiers: KeyModifiers::NONE,
        };
        st.update(Msg::Mouse { event, at: st.instant })
    };
    click(&mut st);
    assert_eq!((st.mode.clone(), focused(&st)), (Mode::Wall, "a3".to_owned()));
    click(&mut st);
    assert_eq!(st.mode, Mode::Attach);
    assert_eq!(st.term.as_ref().map(|t| t.worker.as_str().to_owned()), Some("a3".into()));
}

#[test]
fn a_resize_retiles_and_output_reaches_only_its_tile() {
    let mut st = state(6, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.wall_page().grid, Some(Grid { cols: 3, rows: 2 }));
    st.update(Msg::Resize { cols: 60, rows: 60 });
    let g = st.wall_page().grid.expect("fits");
    assert!(g.cols < 3, "a narrow screen has fewer columns: {g:?}");
    let out = |w: &str, text: &str, offset| Msg::Worker {
        session: SessionId::new("a"),
        worker: WorkerId::new(w),
        event: WorkerEvent::Message(WorkerServerMsg::History {
            data: text.into(),
            cols: 40,
            rows: 10,
            offset,
        }),
    };
    st.update(out("a1", "one", 3));
    st.update(out("a4", "four", 4));
    let text = |w: &str| {
        st.wall
            .view(&(SessionId::new("a"), WorkerId::new(w)))
            .map(|v| v.parser.term().contents())
            .unwrap_or_default()
    };
    assert_eq!((text("a1").as_str(), text("a4").as_str(), text("a0").as_str()), ("one", "four", ""));
    assert_eq!(
        st.wall.view(&(SessionId::new("a"), WorkerId::new("a1"))).map(|v| v.parser.term().size()),
        Some((10, 40)),
        "a tile keeps the worker's own size"
    );
    // The tiles never resize the worker, whatever the wall does.
    let fx = st.update(Msg::Resize { cols: 100, rows: 30 }).effects;
    assert!(!fx.iter().any(|e| matches!(e, Effect::Send(_))), "{fx:?}");
}

#[test]
fn after_a_detach_the_other_tiles_take_their_fresh_history() {
    let mut st = state(3, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    press(&mut st, KeyCode::Right);
    press(&mut st, KeyCode::Enter);
    st.update(Msg::Key(KeyEvent::new(KeyCode::Char('\\'), KeyModifiers::CONTROL)));
    st.update(Msg::ChordTimeout);
    assert_eq!(st.mode, Mode::Wall);
    let history =
        WorkerEvent::Message(WorkerServerMsg::History { data: "back".into(), cols: 80, rows: 24, offset: 4 });
    st.update(Msg::Worker { session: SessionId::new("a"), worker: WorkerId::new("a0"), event: history });
    let view = st.wall.view(&(SessionId::new("a"), WorkerId::new("a0"))).expect("a0's tile");
    assert_eq!((view.link.clone(), view.parser.term().contents()), (WorkerLink::Live, "back".to_owned()));
}

#[test]
fn output_after_an_exit_is_a_restarted_program_on_the_same_socket() {
    let mut st = state(1, 120, 40);
    press(&mut st, KeyCode::Char('g'));
    let ev = |event| Msg::Worker { session: SessionId::new("a"), worker: WorkerId::new("a0"), event };
    st.update(ev(WorkerEvent::Message(WorkerServerMsg::History {
        data: "$ ".into(),
        cols: 80,
        rows: 24,
        offset: 2,
    })));
    st.update(ev(WorkerEvent::Message(WorkerServerMsg::Exit { exit_code: Some(1), signal: None })));
    let tile =
        |st: &State| st.wall.view(&(SessionId::new("a"), WorkerId::new("a0"))).map(|v| v.exit.is_some());
    assert_eq!(tile(&st), Some(true));
    st.update(ev(WorkerEvent::Output { offset: 2, bytes: bytes::Bytes::from_static(b"again") }));
    assert_eq!(tile(&st), Some(false), "the restarted program's output clears the exit");
}

#[test]
fn i_on_the_wall_replies_to_the_focused_tile_and_enter_returns_to_the_wall() {
    let mut st = state(2, 120, 38);
    press(&mut st, KeyCode::Char('g'));
    assert_eq!(st.mode, Mode::Wall);
    let target = focused(&st);
    assert!(!target.is_empty(), "a tile has the focus");
    press(&mut st, KeyCode::Char('i'));
    let Mode::Reply(line) = &st.mode else { panic!("i opens the reply line, not {:?}", st.mode) };
    assert_eq!(line.worker.as_str(), target, "the reply goes to the focused tile");
    for c in "make".chars() {
        press(&mut st, KeyCode::Char(c));
    }
    let fx = press(&mut st, KeyCode::Enter);
    assert_eq!(st.mode, Mode::Wall, "Enter sends and goes back to the wall");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Reply { worker, text, literal: true, .. }
            if worker.as_str() == target && text == "make")),
        "{fx:?}"
    );
    press(&mut st, KeyCode::Char('i'));
    press(&mut st, KeyCode::Esc);
    assert_eq!(st.mode, Mode::Wall, "Esc cancels back to the wall");
}
