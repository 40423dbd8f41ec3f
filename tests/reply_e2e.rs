//! Answering without attaching, end to end with the built binary: the dashboard in a real PTY
//! (`y` answers a `[y/N]` prompt, `i` types a line), `controlroom reply` from a script (which
//! prompt it answered, the errors and exit codes), and a preset's auto-answer done by the gateway
//! with no front end, shown by `controlroom explain`.

mod support;
#[path = "support/tui.rs"]
mod tui;

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::{Gateway, bin, wait_for};
use tui::Tui;

const SIZE: (u16, u16) = (160, 30);
/// How long each step of the dashboard may take.
const STEP_SECS: u64 = 30;

fn fixture(name: &str) -> String {
    format!("{}/server/src/worker/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `controlroom ARGS… --data-dir DATA`, never reading the user's files or gateway.
fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_CONFIG_DIR")
        .env("XDG_CONFIG_HOME", data.with_extension("xdg-config"))
        .output()
        .expect("run controlroom")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The worker's screen lines (`GET …/screen`).
async fn screen(gw: &Gateway, sid: &str, wid: &str) -> String {
    let (status, body) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
    assert_eq!(status, 200, "{body}");
    body["lines"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// The worker as the gateway publishes it.
async fn worker(gw: &Gateway, sid: &str, wid: &str) -> Value {
    let (_, body) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    body["workers"].as_array().and_then(|ws| ws.iter().find(|w| w["id"] == wid).cloned()).unwrap_or_default()
}

async fn wait_prompt(gw: &Gateway, sid: &str, wid: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let prompt = worker(gw, sid, wid).await["prompt"].clone();
        if !prompt.is_null() {
            return prompt;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the prompt: {}",
            screen(gw, sid, wid).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_screen(gw: &Gateway, sid: &str, wid: &str, needle: &str) {
    wait_for(needle, || async { screen(gw, sid, wid).await.contains(needle) }).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_answers_y_and_types_a_reply_line_without_attaching() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let gw = Gateway::start_in(&data, &[]);
    let yn = fixture("yn_prompt.sh");
    let (ys, yw) = gw.session_with("yn", Some(&["/bin/sh", &yn])).await;
    let (ls, lw) =
        gw.session_with("lines", Some(&["/bin/sh", "-c", "while read -r l; do echo \"got:$l\"; done"])).await;
    let prompt = wait_prompt(&gw, &ys, &yw).await;
    assert_eq!(
        prompt,
        json!({"question": "Do you want to continue? [y/N]", "answers": ["y", "n"], "enter": true})
    );

    let mut tui = Tui::spawn(&data, &config, SIZE);
    // The asking session is listed first (it needs the user) and its row shows the question.
    tui.wait_for("the asking row", STEP_SECS, |s| s.contains("“Do you want to continue? [y/N]” y/n"));
    tui.send(b"y");
    tui.wait_text("answered \"Do you want to continue? [y/N]\" with y", STEP_SECS);
    wait_screen(&gw, &ys, &yw, "answer:y").await;

    // Select the other session, open the reply line, type, Enter: the program reads the line.
    tui.send(b"j");
    tui.wait_for("the lines session selected", STEP_SECS, |s| {
        s.contains("Preview") && s.contains("while read")
    });
    tui.send(b"i");
    tui.wait_text("Reply to sh", STEP_SECS);
    tui.send(b"hello there");
    tui.wait_text("› hello there", STEP_SECS);
    tui.send(b"\r");
    tui.wait_text("sent \"hello there⏎\"", STEP_SECS);
    wait_screen(&gw, &ls, &lw, "got:hello there").await;
    // Esc cancels: nothing is typed.
    tui.send(b"i");
    tui.wait_text("Reply to sh", STEP_SECS);
    tui.send(b"never\x1b");
    tui.wait_for("the reply line closed", STEP_SECS, |s| !s.contains("Reply to sh"));
    tui.send(b"q");
    assert!(!screen(&gw, &ls, &lw).await.contains("got:never"));
}

#[tokio::test(flavor = "multi_thread")]
async fn controlroom_reply_says_which_prompt_it_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let gw = Gateway::start_in(&data, &[]);
    let menu = fixture("claude_menu.sh");
    let (ms, mw) = gw.session_with("menu", Some(&["/bin/sh", &menu])).await;
    let prompt = wait_prompt(&gw, &ms, &mw).await;
    assert_eq!(prompt["answers"], json!(["1", "2", "3"]));

    // Text a menu does not take is refused, nothing typed, exit 1.
    let out = cli(&data, &["reply", "menu", "yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("takes 1, 2, 3 (a key alone)"), "{}", text(&out.stderr));
    // The one worker of the session is answered with the digit alone.
    let out = cli(&data, &["reply", "menu", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "answered \"Do you want to proceed? ❯ 1. Yes  2. Yes, and don't ask again  \
         3. No, and tell Claude what to do differently (esc)\" with 2\n"
    );
    wait_screen(&gw, &ms, &mw, "picked:2").await;

    // A worker with no prompt gets the line and Enter; the output says there was none.
    let (cs, cw) = gw.session_with("cat", Some(&["/bin/cat"])).await;
    let out = cli(&data, &["reply", &format!("cat/{cw}"), "hello"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("sent \"hello⏎\" (no prompt on screen; the worker "), "{said}");
    assert!(!said.contains("unknown"), "said in a user's words: {said}");
    wait_screen(&gw, &cs, &cw, "hello").await;

    // Two workers and none asking: WORKER is needed, and the error lists them.
    let (status, body) =
        gw.http("POST", &format!("/api/sessions/{cs}/workers"), Some(json!({"name": "two"}))).await;
    assert_eq!(status, 201, "{body}");
    let out = cli(&data, &["reply", "cat", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("none is asking; name one: cat/WORKER (cat, two)"),
        "{}",
        text(&out.stderr)
    );
    // A usage error is 2.
    assert_eq!(cli(&data, &["reply", "cat"]).status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_presets_auto_answer_fires_with_no_front_end_and_explain_shows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let menu = fixture("claude_menu.sh");
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[[presets]]\nname = \"menu\"\ncommand = [\"/bin/sh\", \"{menu}\"]\nenv = {{ ROUNDS = \"2\", PAUSE = \"1\" }}\n\
             auto-answer = \"1\"\nauto-answer-delay-ms = 1500\n"
        ),
    )
    .expect("config");
    let gw = Gateway::start_in(&data, &["--config-dir", config.to_str().expect("utf-8")]);
    let (status, body) = gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "auto", "cwd": "/tmp", "workers": [{"preset": "menu"}]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (sid, wid) = (
        body["id"].as_str().expect("id").to_owned(),
        body["workers"][0]["id"].as_str().expect("wid").to_owned(),
    );
    let prompt = wait_prompt(&gw, &sid, &wid).await;
    assert_eq!(prompt["autoAnswer"]["answer"], "1");
    assert_eq!(prompt["autoAnswer"]["delayMs"], 1500);
    assert!(prompt["autoAnswer"]["at"].is_string(), "counting down: {prompt}");
    // Round 1 is answered by the gateway itself.
    wait_screen(&gw, &sid, &wid, "picked:1").await;
    // Round 2 asks again; switched off, it waits for the user.
    wait_for("the second round", || async {
        worker(&gw, &sid, &wid).await["prompt"]["question"]
            .as_str()
            .is_some_and(|q| q.contains("Proceed") || q.contains("proceed"))
            && screen(&gw, &sid, &wid).await.contains("round 2")
    })
    .await;
    let (status, _) = gw
        .http(
            "POST",
            &format!("/api/sessions/{sid}/workers/{wid}/auto-answer"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 204);
    wait_for("auto-answer off", || async {
        worker(&gw, &sid, &wid).await["prompt"]["autoAnswer"]["off"] == true
    })
    .await;
    let out = cli(&data, &["explain", &format!("auto/{wid}")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let explained = text(&out.stdout);
    assert!(
        explained.contains("auto-answered \"Do you want to proceed? ❯ 1. Yes")
            && explained.contains("with \"1\" after 1500 ms (preset auto-answer)"),
        "{explained}"
    );
    assert!(explained.contains("auto-answer switched off by a client"), "{explained}");
    assert!(!screen(&gw, &sid, &wid).await.contains("picked:"), "round 2 waits for the user");
}
