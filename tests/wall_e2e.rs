//! End-to-end test of the wall (`g`): the built binary runs in a real PTY with the gateway it
//! starts itself, its screen is read through vt100, and every step waits on a predicate with a
//! deadline.

mod support;
#[path = "support/tui.rs"]
mod tui;

use std::path::Path;
use std::time::{Duration, Instant};
use tui::{Tui, gateway_json};

const SIZE: (u16, u16) = (110, 32);

/// The background gateway's address and the `Authorization` header value for it.
fn gateway_addr_auth(data: &Path) -> (String, String) {
    let gw = gateway_json(data).expect("the background gateway's gateway.json");
    let addr = gw["url"].as_str().expect("url").trim_start_matches("http://").to_owned();
    let token = std::fs::read_to_string(data.join("token")).expect("token");
    (addr, format!("Bearer {}", token.trim()))
}

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
    let (addr, auth) = gateway_addr_auth(data.path());
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

#[test]
fn a_flooding_tile_holds_no_other_tile_back_and_attaching_from_a_tile_brings_its_scrollback() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let mut tui = Tui::spawn(data.path(), config.path(), SIZE);
    tui.wait_text("No sessions yet", 30);

    let (addr, auth) = gateway_addr_auth(data.path());
    // A flood beside a worker that printed 200 numbered lines (computed, so the command line
    // never matches) and then echoes what it is sent.
    let body = serde_json::json!({
        "title": "flood-e2e",
        "cwd": "/tmp",
        "workers": [
            {"name": "flood", "command": ["sh", "-c", "while :; do seq 1 100000; done"]},
            {"name": "calm", "command": ["sh", "-c", "seq -f 'numbered-%g' 1001 1200; exec cat"]},
        ],
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let post = |path: &str, body: serde_json::Value| {
        rt.block_on(support::http_raw(
            &addr,
            "POST",
            path,
            &[("Authorization", &auth)],
            Some(body.to_string()),
        ))
    };
    let (status, created) = post("/api/sessions", body);
    assert_eq!(status, 201, "{created}");
    let sid = created["id"].as_str().expect("id").to_owned();
    let calm = created["workers"][1]["id"].as_str().expect("calm's id").to_owned();
    tui.wait_for("the session on the dashboard", 20, |s| s.contains("flood-e2e") && s.contains("2 workers"));

    tui.send(b"g");
    tui.wait_for("both tiles, the calm one's screen on it", 20, |s| {
        s.contains("Wall · session “flood-e2e” · 2 workers") && s.contains("numbered-1200")
    });
    // While the flood tile keeps flooding, what the calm worker prints reaches its tile.
    let (status, body) = post(
        &format!("/api/sessions/{sid}/workers/{calm}/input"),
        serde_json::json!({"data": "typed-during-flood\r"}),
    );
    assert!(status < 300, "{status} {body}");
    tui.wait_for("the calm tile updated beside the flood", 15, |s| s.contains("typed-during-flood"));

    // Attaching to the calm tile: its screen at once, and its whole scrollback with it (a tile
    // only ever had the screen).
    tui.send(b"\x1b[C");
    tui.wait_for("calm focused", 10, |s| focused_title(s).is_some_and(|t| t.contains("calm")));
    tui.send(b"\r");
    tui.wait_text("flood-e2e \u{203a} calm", 10);
    let oldest = "numbered-1001";
    // Shift-PageUp until it shows (a key before the attach's history arrives scrolls the
    // tile's screen, which the history then replaces).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !tui.contents().contains(oldest) {
        assert!(Instant::now() < deadline, "never scrolled back to {oldest}; screen:\n{}", tui.contents());
        tui.send(b"\x1b[5;2~");
        std::thread::sleep(Duration::from_millis(100));
    }

    tui.send(b"\x1c");
    tui.wait_text("Wall · session", 10);
    tui.send(b"\x1b");
    tui.wait_for("the dashboard", 10, |s| !s.contains("Wall ·"));
    tui.send(b"q");
    tui.wait_exit(20);
}
