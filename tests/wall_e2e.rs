//! End-to-end test of the wall (`g`): the built binary runs in a real PTY with the gateway it
//! starts itself, its screen is read through vt100, and every step waits on a predicate with a
//! deadline.

mod support;
#[path = "support/tui.rs"]
mod tui;

use tui::{Tui, gateway_json};

const SIZE: (u16, u16) = (110, 32);

/// The screen row holding the focused (thick-bordered) tile's title.
fn focused_title(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains('┏'))?;
    let start = line.find('┏')?;
    let end = line[start..].find('┓').map_or(line.len(), |e| start + e);
    Some(line[start..end].to_owned())
}

#[test]
fn the_wall_shows_every_workers_screen_moves_focus_attaches_and_returns() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = Tui::spawn(data.path(), config.path(), SIZE);
    tui.wait_text("No sessions yet", 30);

    // Three workers printing known text (computed, so the command line never matches), then
    // echoing what they are sent.
    let gw = gateway_json(data.path()).expect("the background gateway's gateway.json");
    let addr = gw["url"].as_str().expect("url").trim_start_matches("http://").to_owned();
    let token = std::fs::read_to_string(data.path().join("token")).expect("token");
    let worker = |name: &str, n: u32| {
        serde_json::json!({
            "name": name,
            "command": ["sh", "-c", format!("echo {name}-$(({n}+1))-ok; exec cat")],
        })
    };
    let body = serde_json::json!({
        "title": "wall-e2e",
        "cwd": "/tmp",
        "workers": [worker("alpha", 41), worker("beta", 42), worker("gamma", 43)],
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let auth = format!("Bearer {}", token.trim());
    let (status, created) = rt.block_on(support::http_raw(
        &addr,
        "POST",
        "/api/sessions",
        &[("Authorization", &auth)],
        Some(body.to_string()),
    ));
    assert_eq!(status, 201, "{created}");
    tui.wait_for("the session on the dashboard", 20, |s| s.contains("wall-e2e") && s.contains("3 workers"));

    // g: the wall of the selected session, each tile its worker's live screen and name.
    tui.send(b"g");
    tui.wait_for("three tiles with their screens", 20, |s| {
        s.contains("Wall · session “wall-e2e” · 3 workers")
            && ["alpha-42-ok", "beta-43-ok", "gamma-44-ok"].iter().all(|t| s.contains(t))
            && ["alpha", "beta", "gamma"].iter().all(|n| s.lines().nth(1).is_some_and(|l| l.contains(n)))
    });
    let screen = tui.contents();
    assert!(focused_title(&screen).is_some_and(|t| t.contains("alpha")), "alpha is focused first:\n{screen}");

    // → moves the focus to beta; l to gamma; h back to beta.
    tui.send(b"\x1b[C");
    tui.wait_for("beta focused", 10, |s| focused_title(s).is_some_and(|t| t.contains("beta")));
    tui.send(b"l");
    tui.wait_for("gamma focused", 10, |s| focused_title(s).is_some_and(|t| t.contains("gamma")));
    tui.send(b"h");
    tui.wait_for("beta focused again", 10, |s| focused_title(s).is_some_and(|t| t.contains("beta")));

    // Enter attaches to beta: its header, its screen, and what is typed reaches beta.
    tui.send(b"\r");
    tui.wait_text("wall-e2e \u{203a} beta", 10);
    tui.wait_text("beta-43-ok", 10);
    tui.send(b"typed-into-beta\r");
    tui.wait_for("beta echoing the typed line", 10, |s| s.matches("typed-into-beta").count() >= 2);

    // Detaching returns to the wall, where beta's tile shows the typed line; the others do not.
    tui.send(b"\x1c");
    tui.wait_for("the wall again, beta's tile updated", 10, |s| {
        s.contains("Wall · session") && s.contains("typed-into-beta") && s.contains("alpha-42-ok")
    });
    assert!(focused_title(&tui.contents()).is_some_and(|t| t.contains("beta")), "beta is still focused");

    // g cycles the scope: nobody needs the user, and the wall says so.
    tui.send(b"g");
    tui.wait_text("No worker needs you.", 10);
    tui.send(b"g");
    tui.wait_for("every worker", 10, |s| s.contains("Wall · all · 3 workers") && s.contains("gamma-44-ok"));

    // Esc leaves for the dashboard; q quits.
    tui.send(b"\x1b");
    tui.wait_for("the dashboard", 10, |s| s.contains("Sessions 1") && !s.contains("Wall ·"));
    tui.send(b"q");
    tui.wait_exit(20);
}
