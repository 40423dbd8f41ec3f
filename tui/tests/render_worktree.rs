//! Snapshot tests for worktree sessions: the new-session dialog's Worktree and Base fields, the
//! dashboard's compact git counts, the `d` diff pane (its colours checked cell by cell: the text
//! snapshot cannot show them) and the two-step delete that removes a worktree.

mod common;

use common::*;
use controlroom_protocol::{
    CreateSession, DiffResponse, Session, SessionGit, SessionId, WorkerKind, WorkerState,
};
use controlroom_tui::state::dialog::Confirm;
use controlroom_tui::state::{Done, Effect, Mode, Msg, State};
use controlroom_tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn press(st: &mut State, code: KeyCode) -> Vec<Effect> {
    st.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))).effects
}

fn type_text(st: &mut State, text: &str) {
    for c in text.chars() {
        press(st, KeyCode::Char(c));
    }
}

fn worktree_session() -> Session {
    let mut s = session(
        "s1",
        "fix-login",
        "2026-11-21T09:00:00Z",
        Some(("git@github.com:ada/api.git", "feat-x")),
        vec![worker("w1", "claude", WorkerKind::Agent, "claude", WorkerState::Running, None)],
    );
    s.cwd = "/home/ada/api.worktrees/feat-x".into();
    s.git = Some(SessionGit {
        branch: "feat-x".into(),
        worktree: true,
        ahead: 2,
        behind: 0,
        changed_files: 5,
        insertions: 120,
        deletions: 8,
    });
    s
}

fn plain_session() -> Session {
    let mut s = session(
        "s2",
        "web",
        "2026-11-21T10:30:00Z",
        Some(("https://github.com/ada/web", "main")),
        vec![worker("w2", "bash", WorkerKind::Shell, "/bin/bash", WorkerState::Running, None)],
    );
    s.git =
        Some(SessionGit { branch: "main".into(), changed_files: 1, insertions: 3, ..SessionGit::default() });
    s
}

#[test]
fn the_new_session_dialog_has_worktree_and_base_fields() {
    let mut st = base_state();
    press(&mut st, KeyCode::Char('n'));
    type_text(&mut st, "fix login");
    for _ in 0..3 {
        press(&mut st, KeyCode::Tab);
    }
    type_text(&mut st, "feat-x");
    press(&mut st, KeyCode::Tab);
    type_text(&mut st, "main");
    let screen = render(&st, 100, 28);
    insta::assert_snapshot!(screen);
    let fx = press(&mut st, KeyCode::Enter);
    let create = fx.iter().find_map(|e| match e {
        Effect::CreateSession(req) => Some(req.clone()),
        _ => None,
    });
    let CreateSession { title, worktree, .. } = create.expect("a create-session request");
    assert_eq!(title, "fix login");
    let worktree = worktree.expect("the worktree request");
    assert_eq!((worktree.branch.as_str(), worktree.base.as_deref()), ("feat-x", Some("main")));

    // A base without a branch is refused in the dialog.
    press(&mut st, KeyCode::Char('n'));
    for _ in 0..4 {
        press(&mut st, KeyCode::Tab);
    }
    type_text(&mut st, "main");
    let fx = press(&mut st, KeyCode::Enter);
    assert!(!fx.iter().any(|e| matches!(e, Effect::CreateSession(_))));
    assert_eq!(st.notice.as_ref().map(|n| n.text.as_str()), Some("a base needs a worktree branch"));
}

#[test]
fn the_dashboard_shows_each_sessions_git_counts_compactly() {
    let mut st = base_state();
    sync(&mut st, vec![worktree_session(), plain_session()], vec![]);
    let screen = render(&st, 100, 16);
    // Too narrow for the repository too: the branch and its counts.
    assert!(screen.contains("│▌ feat-x ⎇ ↑2 ↓0 +120 −8 5 files"), "{screen}");
    assert!(screen.contains("ada/web @ main ↑0 ↓0 +3 −0 1 file"), "{screen}");
    let wide = render(&st, 160, 16);
    assert!(wide.contains("ada/api @ feat-x ⎇ ↑2 ↓0 +120 −8 5 files"), "{wide}");
    insta::assert_snapshot!(screen);
}

fn sample_diff() -> DiffResponse {
    let mut diff = String::from(
        "diff --git a/src/login.rs b/src/login.rs\nindex 1111111..2222222 100644\n--- a/src/login.rs\n+++ b/src/login.rs\n@@ -1,4 +1,5 @@ fn login()\n context line\n-    let ok = false;\n+    let ok = check(user);\n+    log(ok);\n more context\n",
    );
    for i in 0..60 {
        diff.push_str(&format!("+added line {i}\n"));
    }
    DiffResponse { base: "main".into(), diff, truncated: false }
}

#[test]
fn d_shows_the_sessions_diff_coloured_and_scrollable() {
    let mut st = base_state();
    st.update(Msg::Resize { cols: 100, rows: 20 });
    sync(&mut st, vec![worktree_session()], vec![]);
    let fx = press(&mut st, KeyCode::Char('d'));
    assert!(fx.contains(&Effect::LoadDiff(SessionId::new("s1"))), "{fx:?}");
    assert!(render(&st, 100, 20).contains("loading the diff…"));
    st.update(Msg::Done(Done::Diff { session: SessionId::new("s1"), diff: sample_diff() }));
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).expect("backend");
    let theme = Theme::default();
    terminal.draw(|f| controlroom_tui::ui::draw(f, &st, &theme)).expect("draw");
    let screen = terminal.backend().to_string();
    insta::assert_snapshot!(screen);
    // Colours: the first cell of each kind of line.
    let buffer = terminal.backend().buffer().clone();
    let row_of = |needle: &str| {
        (0..20u16)
            .find(|&y| {
                let line: String = (0..100u16).map(|x| buffer[(x, y)].symbol().to_owned()).collect();
                line.starts_with(needle)
            })
            .unwrap_or_else(|| panic!("no row starts with {needle:?}"))
    };
    assert_eq!(buffer[(0, row_of("+    let ok"))].fg, theme.active, "added lines");
    assert_eq!(buffer[(0, row_of("-    let ok"))].fg, theme.error, "removed lines");
    assert_eq!(buffer[(0, row_of("@@ -1,4"))].fg, theme.accent, "hunks");
    assert!(
        buffer[(0, row_of("diff --git"))].modifier.contains(ratatui::style::Modifier::BOLD),
        "file headers"
    );

    // Scrolling: PgDn moves a page (20 rows less the pane's two border rows), G to the end.
    press(&mut st, KeyCode::PageDown);
    let Mode::Diff(view) = &st.mode else { panic!("the pane closed") };
    assert_eq!(view.scroll, 18);
    press(&mut st, KeyCode::Char('G'));
    let Mode::Diff(view) = &st.mode else { panic!("the pane closed") };
    assert_eq!(view.scroll, view.lines.len() - 18);
    assert!(render(&st, 100, 20).contains("+added line 59"));
    press(&mut st, KeyCode::Char('q'));
    assert_eq!(st.mode, Mode::Dashboard);
}

#[test]
fn a_diff_that_cannot_load_closes_the_pane_and_says_why() {
    let mut st = base_state();
    sync(&mut st, vec![worktree_session()], vec![]);
    press(&mut st, KeyCode::Char('d'));
    st.update(Msg::Done(Done::Failed("diff: gateway: git took too long".into())));
    assert_eq!(st.mode, Mode::Dashboard);
    assert!(render(&st, 100, 16).contains("diff: gateway: git took too long"));
}

#[test]
fn deleting_a_worktree_session_asks_about_the_worktree_and_twice_for_uncommitted_changes() {
    let mut st = base_state();
    sync(&mut st, vec![worktree_session()], vec![]);
    press(&mut st, KeyCode::Char('D'));
    assert!(matches!(st.mode, Mode::Confirm(Confirm::DeleteWorktreeSession { .. })));
    insta::assert_snapshot!("delete_worktree_confirm", render(&st, 100, 20));
    let fx = press(&mut st, KeyCode::Char('y'));
    let sid = SessionId::new("s1");
    assert!(fx.contains(&Effect::DeleteSessionWorktree { session: sid.clone(), force: false }), "{fx:?}");
    // The gateway refuses: uncommitted changes. The second question.
    st.update(Msg::Done(Done::WorktreeDirty {
        session: sid.clone(),
        message: "the worktree /home/ada/api.worktrees/feat-x has uncommitted changes (3 files); repeat with force=true to remove it anyway".into(),
    }));
    assert!(matches!(st.mode, Mode::Confirm(Confirm::ForceRemoveWorktree { .. })));
    let screen = render(&st, 100, 20);
    assert!(screen.contains("has uncommitted changes (3") && !screen.contains("force=true"), "{screen}");
    assert!(screen.contains("Remove it anyway? That work is lost."), "{screen}");
    let fx = press(&mut st, KeyCode::Char('y'));
    assert!(fx.contains(&Effect::DeleteSessionWorktree { session: sid.clone(), force: true }), "{fx:?}");

    // `k` keeps the worktree: a plain delete.
    press(&mut st, KeyCode::Char('D'));
    let fx = press(&mut st, KeyCode::Char('k'));
    assert!(fx.contains(&Effect::DeleteSession(sid)), "{fx:?}");
    // `n` cancels.
    press(&mut st, KeyCode::Char('D'));
    let fx = press(&mut st, KeyCode::Char('n'));
    assert!(fx.iter().all(|e| !matches!(e, Effect::DeleteSession(_) | Effect::DeleteSessionWorktree { .. })));
}

#[test]
fn unmerged_commits_are_asked_about_twice_with_their_count() {
    let mut st = base_state();
    sync(&mut st, vec![worktree_session()], vec![]);
    press(&mut st, KeyCode::Char('D'));
    let fx = press(&mut st, KeyCode::Char('y'));
    let sid = SessionId::new("s1");
    assert!(fx.contains(&Effect::DeleteSessionWorktree { session: sid.clone(), force: false }), "{fx:?}");
    // The gateway's words for a clean worktree whose branch has commits nothing else has.
    st.update(Msg::Done(Done::WorktreeDirty {
        session: sid.clone(),
        message: "the worktree /home/ada/api.worktrees/feat-x has uncommitted changes (1 file) and 2 unmerged commits (on `feat-x` only); repeat with force=true to remove it anyway".into(),
    }));
    assert!(matches!(st.mode, Mode::Confirm(Confirm::ForceRemoveWorktree { .. })));
    let screen = render(&st, 100, 20);
    insta::assert_snapshot!("delete_worktree_unmerged_commits", screen);
    assert!(
        screen.contains("and 2 unmerged commits (on `feat-x` only)") && screen.contains("y yes   n no"),
        "{screen}"
    );
    // `n` keeps everything; asked again, `y` forces.
    let fx = press(&mut st, KeyCode::Char('n'));
    assert!(fx.iter().all(|e| !matches!(e, Effect::DeleteSessionWorktree { .. })), "{fx:?}");
    assert_eq!(st.mode, Mode::Dashboard);
    press(&mut st, KeyCode::Char('D'));
    press(&mut st, KeyCode::Char('y'));
    st.update(Msg::Done(Done::WorktreeDirty {
        session: sid.clone(),
        message: "the worktree /home/ada/api.worktrees/feat-x has 1 unmerged commit (on `feat-x` only); repeat with force=true to remove it anyway".into(),
    }));
    assert!(render(&st, 100, 20).contains("has 1 unmerged commit (on `feat-x` only)"));
    let fx = press(&mut st, KeyCode::Char('y'));
    assert!(fx.contains(&Effect::DeleteSessionWorktree { session: sid, force: true }), "{fx:?}");
}
