//! End-to-end tests of the second security round (issue 15): what workers inherit, replacing the
//! owner token, the write-token warning, payload-free trace logs, the data dir's modes, and the
//! checks on worker specs' environments.

mod support;

use serde_json::json;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use support::{Ended, Gateway};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Output of a worker socket until `marker` shows up.
async fn worker_output_until(gw: &Gateway, sid: &str, wid: &str, marker: &str) -> String {
    let mut term = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    term.output_until(|all| all.contains(marker)).await
}

#[tokio::test]
async fn workers_never_see_the_gateways_secret_variables() {
    let dir = temp();
    let data = dir.path().join("data");
    // The owner token comes from the environment; the file holds the same, so the test harness
    // (which reads the file) talks with the right token.
    let token = "owner-token-from-the-environment-0123456789";
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::write(data.join("token"), token).expect("token file");
    std::fs::set_permissions(data.join("token"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let envs = [
        ("CONTROLROOM_TOKEN", token),
        ("CONTROLROOM_WEBHOOK_SECRET", "webhook-secret-value-77"),
        ("CONTROLROOM_SOME_PASSWORD", "password-value-88"),
        ("CONTROLROOM_HARMLESS_SETTING", "harmless-value-99"),
    ];
    let gw = Gateway::start_with(&data, "127.0.0.1:0", &[], &envs);
    assert_eq!(gw.token, token);
    let (sid, wid) = gw.session_with("env", Some(&["sh", "-c", "env; echo END-OF-ENV; read x"])).await;
    let out = worker_output_until(&gw, &sid, &wid, "END-OF-ENV").await;
    assert!(out.contains("harmless-value-99"), "the worker's environment was printed: {out}");
    for secret in [token, "webhook-secret-value-77", "password-value-88"] {
        assert!(!out.contains(secret), "{secret} reached the worker: {out}");
    }
    assert!(!out.contains("CONTROLROOM_TOKEN"), "{out}");
}

#[tokio::test]
async fn rotating_the_owner_token_refuses_the_old_one_and_closes_its_sockets_with_4001() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let old = gw.token.clone();
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;

    let out = Command::new(support::bin())
        .args(["token", "--rotate", "--owner", "--data-dir"])
        .arg(&gw.data_dir)
        .output()
        .expect("run controlroom token");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let new = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    assert_eq!(new.lines().count(), 1, "the new owner token is the only stdout line");
    assert_ne!(new, old);
    assert_eq!(std::fs::read_to_string(gw.data_dir.join("token")).expect("token").trim(), new);
    assert_eq!(mode(&gw.data_dir.join("token")), 0o600);

    assert_eq!(app.ended().await, Ended::Close(4001), "a socket of the old token closes with 4001");
    let (status, _) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 401, "the old owner token is refused");
    assert_eq!(gw.ws_as(&old, "/ws/app").await.err(), Some(401));
    let (status, _) = gw.http_as(&new, "GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "the new owner token works");
    let mut fresh = gw.ws_as(&new, "/ws/app").await.expect("new token connects");
    assert_eq!(fresh.next_json().await["type"], "sessions-sync");
}

#[tokio::test]
async fn minting_a_write_token_warns_on_stderr_and_prints_only_the_token() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let run = |args: &[&str]| {
        Command::new(support::bin())
            .args(["token", "--data-dir"])
            .arg(&gw.data_dir)
            .args(args)
            .output()
            .expect("run controlroom token")
    };
    let out = run(&["--ttl", "1h", "--session", "s1"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(stdout.trim().split('.').count(), 3, "the token is the stdout line: {stdout}");
    assert!(stderr.contains("run as you") && stderr.contains("Share only --read-only"), "{stderr}");
    let out = run(&["--ttl", "1h", "--session", "s1", "--read-only"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "read-only tokens are safe to share");
}

/// `text` as the lowercase hex tungstenite prints frame payloads in.
fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_trace_log_holds_no_typed_or_printed_terminal_contents() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--log-level", "trace"]);
    let (sid, wid) = gw
        .session_with(
            "secret",
            Some(&["sh", "-c", "stty -echo; read x; echo printed-$((6*7))-secret; read y"]),
        )
        .await;
    let mut term = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    term.next_json().await;
    term.send_json(json!({"type": "input", "data": "typed-password-31337\r"})).await;
    term.output_until(|all| all.contains("printed-42-secret")).await;
    // The app socket carries JSON too; open one so its frames would be logged as well.
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let log = gw.log();
    assert!(log.contains("TRACE") || log.contains("trace"), "the gateway logged at trace level");
    for secret in ["typed-password-31337", "printed-42-secret"] {
        assert!(!log.contains(secret), "{secret} is in the log");
        assert!(!log.contains(&hex(secret)), "{secret} is in the log as hex");
    }
}

#[tokio::test]
async fn an_existing_open_data_dir_is_made_private_with_private_files() {
    let dir = temp();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
    // A database left by an older gateway with a wide umask.
    std::fs::write(data.join("controlroom.db"), b"").expect("db");
    std::fs::set_permissions(data.join("controlroom.db"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod 644");
    let gw = Gateway::start_in(&data, &[]);
    gw.session_with("kept", Some(&["true"])).await;
    assert_eq!(mode(&data), 0o700, "the data dir");
    for name in ["controlroom.db", "gateway.json", "token", "token-secret"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    for name in ["controlroom.db-wal", "controlroom.db-shm"] {
        if data.join(name).exists() {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
    }
}

#[tokio::test]
async fn worker_env_keys_are_checked_and_loader_variables_need_the_owner() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let writer = gw.token_cmd(&["--ttl", "1h"]);
    let session = |env: serde_json::Value| json!({"title": "env", "cwd": "/tmp", "workers": [{"command": ["true"], "env": env}]});
    for bad in [json!({"A=B": "x"}), json!({"": "x"}), json!({"A\u{0}B": "x"}), json!({"A": "x\u{0}y"})] {
        for token in [gw.token.as_str(), writer.as_str()] {
            let (status, body) = gw.http_as(token, "POST", "/api/sessions", Some(session(bad.clone()))).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
    }
    for loader in ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"] {
        let env = json!({ loader: "" });
        let (status, body) = gw.http_as(&writer, "POST", "/api/sessions", Some(session(env.clone()))).await;
        assert_eq!(status, 403, "{loader} from a scoped write token: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
    }
    let (status, body) =
        gw.http_as(&writer, "POST", "/api/sessions", Some(session(json!({"PLAIN_VAR": "a=b"})))).await;
    assert_eq!(status, 201, "ordinary variables are fine: {body}");
    let sid = body["id"].as_str().expect("id").to_string();
    let add = format!("/api/sessions/{sid}/workers");
    let (status, _) = gw
        .http_as(&writer, "POST", &add, Some(json!({"command": ["true"], "env": {"LD_PRELOAD": ""}})))
        .await;
    assert_eq!(status, 403, "adding a worker is checked the same way");
    let (status, _) =
        gw.http_as(&writer, "POST", &add, Some(json!({"command": ["true"], "env": {"X=Y": ""}}))).await;
    assert_eq!(status, 400);
    let (status, body) = gw
        .http(
            "POST",
            &add,
            Some(json!({"command": ["true"], "env": {"LD_PRELOAD": "", "LD_LIBRARY_PATH": "/opt"}})),
        )
        .await;
    assert_eq!(status, 201, "the owner token may set loader variables: {body}");
}

#[tokio::test]
async fn ls_prints_control_characters_in_titles_and_names_escaped() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let title = "innocent\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let body =
        json!({"title": title, "cwd": "/tmp", "workers": [{"command": ["true"], "name": "w\u{1b}[31m"}]});
    let (status, _) = gw.http("POST", "/api/sessions", Some(body)).await;
    assert_eq!(status, 201);
    let out = Command::new(support::bin())
        .args(["ls", "--data-dir"])
        .arg(&gw.data_dir)
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_URL")
        .output()
        .expect("run controlroom ls");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "raw escapes reach the terminal: {text:?}");
    assert!(text.contains("innocent\\u{1b}]0;pwned"), "{text}");
}

#[tokio::test]
async fn sessions_larger_than_the_client_buffer_still_reach_a_new_dashboard() {
    // Found by the probe pass: sessions whose sync outgrew --max-client-buffer closed every
    // /ws/app client with 4008 on connect. Titles are bounded now, and the first sync is queued
    // outside the cap like a worker's history.
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-client-buffer", "4KiB"]);
    let cwd = dir.path().display().to_string();
    let (status, body) =
        gw.http("POST", "/api/sessions", Some(json!({"title": "t".repeat(1025), "cwd": cwd}))).await;
    assert_eq!(status, 400, "an over-long title is refused: {body}");
    assert!(body.to_string().contains("at most 1024"), "{body}");
    for i in 0..8 {
        let title = format!("{i}{}", "x".repeat(1000));
        let (status, body) =
            gw.http("POST", "/api/sessions", Some(json!({"title": title, "cwd": cwd}))).await;
        assert_eq!(status, 201, "{body}");
    }
    let mut app = gw.ws("/ws/app").await;
    let sync = app.until(|m| m["type"] == "sessions-sync").await;
    assert_eq!(sync["sessions"].as_array().map(Vec::len), Some(8), "every session arrives: {sync}");
}

#[tokio::test]
async fn field_limits_follow_their_flags() {
    // The bounds on client-set text fields are flags, not only constants: a gateway started
    // with small ones refuses what the defaults accept, naming the field and the bound.
    let dir = temp();
    let gw = Gateway::start_in(
        &dir.path().join("data"),
        &["--max-title-bytes", "8", "--max-command-bytes", "16", "--max-worker-name-bytes", "4"],
    );
    let cwd = dir.path().display().to_string();
    let (status, body) =
        gw.http("POST", "/api/sessions", Some(json!({"title": "123456789", "cwd": cwd}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("at most 8"), "{body}");
    let (status, body) =
        gw.http("POST", "/api/sessions", Some(json!({"title": "12345678", "cwd": cwd}))).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("session id").to_owned();
    let path = format!("/api/sessions/{id}/workers");
    let (status, body) =
        gw.http("POST", &path, Some(json!({"command": ["sh", "-c", "sleep 1000; true"]}))).await;
    assert_eq!(status, 400, "a 20-byte command passes --max-command-bytes 16: {body}");
    assert!(body.to_string().contains("at most 16"), "{body}");
    let (status, body) =
        gw.http("POST", &path, Some(json!({"command": ["sleep", "9"], "name": "named"}))).await;
    assert_eq!(status, 400, "a 5-byte name passes --max-worker-name-bytes 4: {body}");
    assert!(body.to_string().contains("at most 4"), "{body}");
    let zero = std::process::Command::new(env!("CARGO_BIN_EXE_controlroom"))
        .args(["serve", "--max-cwd-bytes", "0", "--data-dir"])
        .arg(dir.path().join("zero"))
        .output()
        .expect("run serve");
    assert_eq!(zero.status.code(), Some(2), "a zero bound is a usage error");
}

#[tokio::test]
async fn a_program_that_cannot_start_is_named_in_one_line_without_the_gateways_path() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let cwd = dir.path().display().to_string();
    let (status, body) = gw
        .http(
            "POST",
            "/api/sessions",
            Some(json!({"title": "t", "cwd": cwd, "workers": [{"command": ["no-such-program-here"]}]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().expect("an error message");
    assert_eq!(message, "could not start no-such-program-here: not found in PATH", "{body}");
}
