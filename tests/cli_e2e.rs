//! End-to-end tests of the script commands: `new`, `ls`, `send`, `watch`, `token`, run as a user
//! would against a real `controlroom serve`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{Gateway, bin, wait_for};

fn cli(gw: &Gateway, args: &[&str]) -> std::process::Output {
    let (sub, rest) = args.split_first().expect("a subcommand");
    Command::new(bin())
        .arg(sub)
        .arg("--data-dir")
        .arg(&gw.data_dir)
        .args(rest)
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_URL")
        .output()
        .expect("run controlroom")
}

/// Kills a child process when dropped, so a failing test leaves nothing running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn new_ls_send_and_names_by_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let empty = cli(&gw, &["ls"]);
    assert!(stdout(&empty).is_empty(), "no sessions: nothing on stdout for scripts");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no sessions"), "but a hint for people");
    let out = stdout(&cli(&gw, &["new", "--title", "reviewer", "--cwd", "/tmp", "--", "sh"]));
    let (sid, wid) = out.trim().split_once('/').expect("SID/WID");
    let ls = stdout(&cli(&gw, &["ls", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&ls).expect("json");
    assert_eq!(v["sessions"][0]["id"], sid);
    assert_eq!(v["sessions"][0]["workers"][0]["id"], wid);
    assert!(stdout(&cli(&gw, &["ls"])).contains("reviewer"));

    stdout(&cli(&gw, &["send", "rev/sh", "echo sent-by-$((1+1))", "--enter"]));
    wait_for("the sent text to run", || async {
        let (_, screen) = gw.http("GET", &format!("/api/sessions/{sid}/workers/{wid}/screen"), None).await;
        screen["lines"].to_string().contains("sent-by-2")
    })
    .await;

    let missing = cli(&gw, &["send", "nobody/sh", "x"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line on stderr: {err}");
    assert!(err.contains("nobody"), "{err}");
    stdout(&cli(&gw, &["new", "--title", "reader", "--cwd", "/tmp", "--", "sh"]));
    let ambiguous = cli(&gw, &["send", "re/sh", "x"]);
    assert!(!ambiguous.status.success(), "an ambiguous prefix is refused");
    assert_eq!(stdout(&cli(&gw, &["token"])).trim(), gw.token);
}

#[tokio::test]
async fn watch_prints_each_delta_once_across_a_gateway_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{}", support::free_port());
    let mut gw = Gateway::start_on(&data, &listen, &[]);
    let mut watch = Command::new(bin())
        .args(["watch", "--data-dir"])
        .arg(&data)
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch");
    let out = watch.stdout.take().expect("stdout");
    let _watch = KillOnDrop(watch);
    let (tx, rx) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&line).expect("a JSON line"));
        }
    });
    let next =
        |rx: &mpsc::Receiver<serde_json::Value>| rx.recv_timeout(support::DEADLINE).expect("a delta line");
    wait_for("watch to connect", || async { gw.log().contains("client connected endpoint=\"app\"") }).await;
    gw.session_with("first", Some(&["sleep", "1000"])).await;
    let first = next(&rx);
    assert_eq!(first["type"], "session-created");
    let mut seqs = vec![first["seq"].as_u64().expect("seq")];

    assert_eq!(gw.stop(libc::SIGTERM), Some(0));
    let gw = Gateway::start_on(&data, &listen, &[]);
    // Made while watch is still reconnecting: it must come through the replay.
    let (missed, _) = gw.session_with("missed", Some(&["sleep", "1000"])).await;
    let mut titles = Vec::new();
    let deadline = std::time::Instant::now() + support::DEADLINE;
    while !titles.iter().any(|t| t == "live") {
        assert!(std::time::Instant::now() < deadline, "watch never printed the live session: {titles:?}");
        if let Ok(d) = rx.recv_timeout(Duration::from_millis(200)) {
            seqs.push(d["seq"].as_u64().expect("seq"));
            if d["type"] == "session-created" {
                titles.push(d["session"]["title"].as_str().expect("title").to_string());
                if d["sessionId"] == missed.as_str() {
                    gw.session_with("live", Some(&["sleep", "1000"])).await;
                }
            }
        }
    }
    assert_eq!(titles, vec!["missed", "live"]);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "every delta once, in order: {seqs:?}");
}

#[tokio::test]
async fn watch_with_an_expiring_token_exits_saying_token_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let minted = gw.token_cmd(&["--ttl", "2s"]);
    let mut watch = Command::new(bin())
        .args(["watch", "--data-dir"])
        .arg(&gw.data_dir)
        .env("CONTROLROOM_TOKEN", &minted)
        .env_remove("CONTROLROOM_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    // The gateway closes the open socket with 4001 at expiry; watch stops instead of retrying.
    let deadline = std::time::Instant::now() + support::DEADLINE;
    let status = loop {
        if let Some(status) = watch.try_wait().expect("try_wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = watch.kill();
            panic!("watch kept running after its token expired");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut watch.stderr.take().expect("stderr"), &mut err).expect("stderr");
    assert!(err.contains("token expired — mint a new one with `controlroom token --ttl ...`"), "{err}");
}
