//! A data dir on a tiny tmpfs: a full disk mid-run (clear error, no corruption, keeps serving,
//! nothing lost once space is back) and a read-only data dir at start (clear error).
//!
//! Mounting needs root (CI runs as root); without it these tests say so and pass vacuously.

mod support;

use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Gateway, integrity_check, wait_for};

/// A tmpfs of `size` mounted on a temp dir, unmounted on drop.
struct TinyFs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TinyFs {
    fn mount(size: &str) -> Option<TinyFs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(TinyFs { _dir: dir, path })
    }

    fn remount(&self, opts: &str) {
        let status = Command::new("mount").args(["-o", &format!("remount,{opts}")]).arg(&self.path).status();
        assert!(status.is_ok_and(|s| s.success()), "remount {opts}");
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 16 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[tokio::test]
async fn full_disk_is_a_clear_error_keeps_serving_and_loses_nothing_once_space_is_back() {
    let Some(fs) = TinyFs::mount("4m") else { return };
    let data = fs.path.clone();
    let mut gw = Gateway::start_in(&data, &["--poll-interval", "200ms"]);
    let (sid, wid) = gw.session_with("before", None).await;
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let mut term = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    term.next_json().await;

    let filler = fs.path.join("filler");
    fill(&filler);
    let (status, during) =
        gw.http("POST", "/api/sessions", Some(json!({"title": "during", "cwd": "/tmp"}))).await;
    assert_eq!(status, 201, "the live state still changes: {during}");
    let created = app.until(|v| v["type"] == "session-created").await;
    assert_eq!(created["session"]["title"], "during");
    wait_for("a clear store_refused error in the log", || async {
        let log = gw.log();
        log.contains("store_refused") && log.contains("could not persist changes")
    })
    .await;
    // Keeps serving what it can: reads, terminals, new connections.
    let (status, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!((status, list["sessions"].as_array().map(Vec::len)), (200, Some(2)));
    term.send_json(json!({"type": "input", "data": "echo disk-$((5*5))\r"})).await;
    term.output_until(|o| o.contains("disk-25")).await;
    let png =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
    term.send_json(json!({"type": "image", "data": png, "mimeType": "image/png"})).await;
    let err = term.until(|v| v["type"] == "error").await;
    assert_eq!(err["code"], "internal");
    assert!(err["message"].as_str().expect("message").contains("could not save image"), "{err}");
    let mut late = gw.ws("/ws/app").await;
    assert_eq!(late.next_json().await["sessions"].as_array().map(Vec::len), Some(2));

    // Space comes back: the held-back changes are written by the next poll tick.
    std::fs::remove_file(&filler).expect("free space");
    wait_for("the store to recover", || async { gw.log().contains("the store takes writes again") }).await;
    gw.stop(libc::SIGKILL);
    assert_eq!(integrity_check(&data), "ok");
    let gw = Gateway::start_in(&data, &[]);
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    let titles: Vec<&str> =
        list["sessions"].as_array().expect("s").iter().filter_map(|s| s["title"].as_str()).collect();
    assert_eq!(titles, vec!["before", "during"]);
    let (_, deltas) = gw.http("GET", "/api/deltas?since=0", None).await;
    let seqs: Vec<u64> =
        deltas["deltas"].as_array().expect("d").iter().filter_map(|d| d["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap where the disk was full");
}

#[tokio::test]
async fn read_only_data_dir_is_a_clear_error_at_start() {
    let Some(fs) = TinyFs::mount("4m") else { return };
    let data = fs.path.clone();
    let mut gw = Gateway::start_in(&data, &["--stop-workers-on-exit"]);
    gw.session_with("kept", Some(&["true"])).await;
    assert_eq!(gw.stop(libc::SIGTERM), Some(0));
    // Its holder (which keeps its log open on this file system) ends once the exit is taken.
    wait_for("the holder to end", || async { support::holder_pids(&data).is_empty() }).await;
    fs.remount("ro");
    let out = Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("controlroom:") && err.to_lowercase().contains("read-only"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    fs.remount("rw");
    assert_eq!(integrity_check(&data), "ok");
    let gw = Gateway::start_in(&data, &[]);
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(list["sessions"][0]["title"], "kept", "nothing was lost");
}

#[tokio::test]
async fn a_log_on_the_full_disk_does_not_take_the_gateway_down() {
    let Some(fs) = TinyFs::mount("4m") else { return };
    // The data dir inside the mount puts the gateway's stderr log there too.
    let gw = Gateway::start_in(&fs.path.join("data"), &[]);
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    fill(&fs.path.join("filler"));
    for n in 0..5 {
        let (status, body) =
            gw.http("POST", "/api/sessions", Some(json!({"title": format!("t{n}"), "cwd": "/tmp"}))).await;
        assert_eq!(status, 201, "{body}");
        app.until(|v| v["type"] == "session-created").await;
    }
    let (sid, wid) = gw.session_with("shell", None).await;
    let mut term = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    term.next_json().await;
    term.send_json(json!({"type": "input", "data": "echo up-$((4*4))\r"})).await;
    term.output_until(|o| o.contains("up-16")).await;
}
