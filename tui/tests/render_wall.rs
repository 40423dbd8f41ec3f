//! Snapshot tests of the wall (`g`): tiles of real program screens recorded from a PTY
//! (`tests/fixtures/*.bin`), cropped to their tiles, with titles, badges and attention marks.

mod common;

use common::*;
use controlroom_protocol::{ActivityState, SessionId, WorkerId, WorkerKind, WorkerServerMsg, WorkerState};
use controlroom_tui::state::{Mode, Msg, State, WorkerEvent};
use crossterm::event::KeyCode;

/// Feeds `data` as the `history` of the tile showing `worker` of `session`.
fn tile_history(st: &mut State, session: &str, worker: &str, data: &[u8]) {
    st.update(Msg::Worker {
        session: SessionId::new(session),
        worker: WorkerId::new(worker),
        event: WorkerEvent::Message(WorkerServerMsg::History {
            data: String::from_utf8_lossy(data).into_owned(),
            cols: 80,
            rows: 24,
            offset: data.len() as u64,
        }),
    });
}

/// Session `api` with four workers running real programs; `review` is asking.
fn four_programs() -> State {
    let mut st = base_state();
    let w = |id: &str, name: &str, cmd: &str| {
        worker(id, name, WorkerKind::Shell, cmd, WorkerState::Running, None)
    };
    sync(
        &mut st,
        vec![session(
            "s1",
            "api",
            "2026-11-21T09:00:00Z",
            Some(("git@github.com:ada/api.git", "main")),
            vec![
                w("w1", "shell", "/bin/bash"),
                w("w2", "editor", "vim"),
                w("w3", "top", "top"),
                w("w4", "review", "less"),
            ],
        )],
        vec![
            activity("s1", "w1", ActivityState::Idle),
            activity("s1", "w2", ActivityState::Active),
            activity("s1", "w3", ActivityState::Active),
            activity("s1", "w4", ActivityState::Asking),
        ],
    );
    st.update(Msg::Resize { cols: 120, rows: 40 });
    key(&mut st, KeyCode::Char('g'));
    tile_history(&mut st, "s1", "w1", include_bytes!("fixtures/shell_prompt.bin"));
    tile_history(&mut st, "s1", "w2", include_bytes!("fixtures/vim.bin"));
    tile_history(&mut st, "s1", "w3", include_bytes!("fixtures/top.bin"));
    tile_history(&mut st, "s1", "w4", include_bytes!("fixtures/less.bin"));
    st
}

#[test]
fn wall_of_four_programs_with_one_asking() {
    let st = four_programs();
    assert_eq!(st.mode, Mode::Wall);
    let screen = render(&st, 120, 40);
    assert!(screen.lines().next().is_some_and(|l| l.contains("Wall · session “api” · 4 workers")));
    assert!(screen.contains("! asking"), "the asking tile is marked");
    insta::assert_snapshot!(screen);
}

#[test]
fn wall_focus_moved_to_the_third_tile() {
    let mut st = four_programs();
    key(&mut st, KeyCode::Down);
    insta::assert_snapshot!(render(&st, 120, 40));
}

#[test]
fn wall_of_every_worker_in_a_small_screen_pages() {
    let mut st = busy_state();
    st.update(Msg::Resize { cols: 80, rows: 16 });
    key(&mut st, KeyCode::Char('g'));
    key(&mut st, KeyCode::Char('g'));
    key(&mut st, KeyCode::Char('g'));
    let fixture = include_bytes!("fixtures/shell_prompt.bin");
    for (s, w) in [("s1", "w1"), ("s1", "w2"), ("s2", "w3"), ("s3", "w4")] {
        tile_history(&mut st, s, w, fixture);
    }
    let screen = render(&st, 80, 16);
    assert!(screen.lines().next().is_some_and(|l| l.contains("all") && l.contains("page 1/2")), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn wall_of_twelve_tiles() {
    let mut st = base_state();
    let workers = (1..=12)
        .map(|i| {
            worker(
                &format!("w{i}"),
                &format!("agent-{i}"),
                WorkerKind::Agent,
                "claude",
                WorkerState::Running,
                None,
            )
        })
        .collect();
    sync(&mut st, vec![session("s1", "fleet", "2026-11-21T09:00:00Z", None, workers)], vec![]);
    st.update(Msg::Resize { cols: 160, rows: 50 });
    key(&mut st, KeyCode::Char('g'));
    for i in 1..=12 {
        let text = format!("$ claude --task {i}\r\nworking on task {i}\r\n$ ");
        tile_history(&mut st, "s1", &format!("w{i}"), text.as_bytes());
    }
    let screen = render(&st, 160, 50);
    for i in 1..=12 {
        assert!(screen.contains(&format!("working on task {i}")), "tile {i} shows its screen");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn wall_with_an_empty_scope_says_so() {
    let mut st = busy_state();
    st.update(Msg::Resize { cols: 80, rows: 20 });
    key(&mut st, KeyCode::Char('g'));
    // Nobody asks and nothing failed any more: "needs you" is empty.
    sync(
        &mut st,
        vec![session(
            "s1",
            "api",
            "2026-11-21T09:00:00Z",
            None,
            vec![worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None)],
        )],
        vec![activity("s1", "w1", ActivityState::Active)],
    );
    key(&mut st, KeyCode::Char('g'));
    let screen = render(&st, 80, 20);
    assert!(screen.contains("No worker needs you."), "{screen}");
    insta::assert_snapshot!(screen);
}

/// The README's wall (its `Wall · session “api”` text block) is this wall at 100×22, so the
/// picture there is what the front end draws, not a drawing of it.
#[test]
fn the_readme_shows_this_wall() {
    let mut st = four_programs();
    st.update(Msg::Resize { cols: 100, rows: 22 });
    let screen: Vec<String> = render(&st, 100, 22)
        .lines()
        .map(|l| {
            // `"cells"`, then ` Hidden by multi-width symbols: […]` after a wide character.
            let end = l.find("\" Hidden by multi-width symbols").unwrap_or(l.len().saturating_sub(1));
            l.get(1..end).unwrap_or_default().trim_end().to_owned()
        })
        .collect();
    let readme = include_str!("../../README.md");
    let start =
        readme.find("```text\n Wall · session “api”").expect("the README shows the wall") + "```text\n".len();
    let block: Vec<&str> = readme[start..].lines().take_while(|l| *l != "```").map(str::trim_end).collect();
    assert_eq!(block, screen, "README.md's wall differs from the render; paste the render there");
}
