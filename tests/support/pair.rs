//! One program run twice for the corpus suite — in a worker of a real `controlroom serve` and in a
//! tmux pane — with the same size, TERM, environment and input, and waits until both screens
//! agree cell by cell.
#![allow(dead_code)]

use crate::screens::{Grid, differences};
use crate::support::{DEADLINE, Gateway};
use crate::tmux::Tmux;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether `program` can be run (an absolute path, or a name found on `PATH`).
pub fn installed(program: &str) -> bool {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The program and tmux are both here; else prints `skipped: … not installed`.
pub fn available(program: &str) -> bool {
    for needed in ["tmux", program] {
        let ok = if needed == "tmux" { crate::tmux::installed() } else { installed(needed) };
        if !ok {
            println!("skipped: {needed} not installed");
            return false;
        }
    }
    true
}

/// A program running under the gateway and under tmux at once.
pub struct Pair {
    pub gw: Gateway,
    pub tmux: Tmux,
    pub sid: String,
    pub wid: String,
    /// The program's `HOME` and working directory (files it writes land here).
    pub home: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pair {
    /// Starts `argv` `cols`×`rows` in both, with HOME a fresh temp dir, a UTF-8 locale and
    /// `extra_env`; `CORPUS_SIDE` is `controlroom` in the worker and `tmux` in the pane.
    pub async fn start(name: &str, argv: &[&str], cols: u16, rows: u16, extra_env: &[(&str, &str)]) -> Pair {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir(&home).expect("home");
        let home_str = home.to_str().expect("utf-8 path").to_string();
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let mut env: Vec<(&str, &str)> = vec![
            ("PATH", &path),
            ("HOME", &home_str),
            ("TERM", "xterm-256color"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C.UTF-8"),
            ("PS1", "$ "),
            ("LESS", ""),
            ("LESSHISTFILE", "-"),
        ];
        env.extend_from_slice(extra_env);
        let gw = Gateway::start_in(&dir.path().join("data"), &[]);
        // `CORPUS_SIDE` tells the two runs apart where they share a directory (files they write).
        let env_map: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .chain(&[("CORPUS_SIDE", "controlroom")])
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        let worker = json!({"command": argv, "env": env_map, "cols": cols, "rows": rows});
        let (status, body) = gw
            .http("POST", "/api/sessions", Some(json!({"title": name, "cwd": home_str, "workers": [worker]})))
            .await;
        assert_eq!(status, 201, "{body}");
        let sid = body["id"].as_str().expect("id").to_string();
        let wid = body["workers"][0]["id"].as_str().expect("wid").to_string();
        env.push(("CORPUS_SIDE", "tmux"));
        let tmux = Tmux::start(&dir.path().join("tmux.sock"), argv, &env, cols, rows, &home);
        Pair { gw, tmux, sid, wid, home, _dir: dir }
    }

    fn worker_path(&self) -> String {
        format!("/ws/session/{}/worker/{}", self.sid, self.wid)
    }

    /// Types `bytes` into both: REST `input` for the gateway, `send-keys` for tmux.
    pub async fn send(&self, bytes: &str) {
        let path = format!("/api/sessions/{}/workers/{}/input", self.sid, self.wid);
        let (status, body) = self.gw.http("POST", &path, Some(json!({ "data": bytes }))).await;
        assert_eq!(status, 204, "{body}");
        self.tmux.send(bytes.as_bytes());
    }

    /// Resizes both: the gateway's PTY through a worker socket's `resize`, tmux's window.
    pub async fn resize(&self, cols: u16, rows: u16) {
        let mut ws = self.gw.ws(&self.worker_path()).await;
        ws.send_json(json!({"type": "resize", "cols": cols, "rows": rows})).await;
        self.tmux.resize(cols, rows);
        let path = format!("/api/sessions/{}", self.sid);
        crate::support::wait_for("the worker's new size", || async {
            let (_, body) = self.gw.http("GET", &path, None).await;
            body["workers"][0]["cols"] == cols && body["workers"][0]["rows"] == rows
        })
        .await;
    }

    /// The gateway's screen, as a freshly attached client gets it (`history`).
    pub async fn ours(&self) -> Grid {
        let mut ws = self.gw.ws(&self.worker_path()).await;
        let h = ws.until(|v| v["type"] == "history").await;
        let cols = u16::try_from(h["cols"].as_u64().expect("cols")).expect("cols fit");
        let rows = u16::try_from(h["rows"].as_u64().expect("rows")).expect("rows fit");
        Grid::from_history(h["data"].as_str().expect("data"), cols, rows)
    }

    /// tmux's screen.
    pub fn theirs(&self) -> Grid {
        Grid::from_tmux(&self.tmux.capture())
    }

    /// Waits until both screens satisfy `ready` and agree cell by cell (text, colours, attributes,
    /// cursor); fails with the differences at the deadline. Returns the gateway's screen.
    pub async fn settle(&self, what: &str, ready: impl Fn(&Grid) -> bool) -> Grid {
        self.settle_rows(what, ready, None, true).await
    }

    /// Like `settle`, comparing only `rows` (all when `None`), and only the text when `styles`
    /// is false.
    pub async fn settle_rows(
        &self,
        what: &str,
        ready: impl Fn(&Grid) -> bool,
        rows: Option<std::ops::Range<u16>>,
        styles: bool,
    ) -> Grid {
        // Whole-screen programs draw in several writes; a pause between polls lets a redraw end.
        let deadline = Instant::now() + DEADLINE;
        loop {
            let theirs = self.theirs();
            let ours = self.ours().await;
            let report = if ready(&theirs) && ready(&ours) {
                let rows = rows.clone().unwrap_or(0..ours.rows);
                let diff = differences(&ours, &theirs, rows, styles);
                if diff.is_empty() {
                    return ours;
                }
                diff.join("\n")
            } else {
                format!("not ready:\nours:\n{}\ntmux:\n{}", ours.text().join("\n"), theirs.text().join("\n"))
            };
            assert!(Instant::now() < deadline, "{what}: the gateway's screen never matched tmux's\n{report}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The gateway's `/screen` (plain text and cursor), for the REST view of the same screen.
    pub async fn rest_screen(&self) -> (Vec<String>, (u16, u16)) {
        let path = format!("/api/sessions/{}/workers/{}/screen", self.sid, self.wid);
        let (status, body) = self.gw.http("GET", &path, None).await;
        assert_eq!(status, 200, "{body}");
        let lines = body["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| l.as_str().unwrap_or_default().trim_end().to_string())
            .collect();
        let n = |i: usize| u16::try_from(body["cursor"][i].as_u64().expect("cursor")).expect("fits");
        (lines, (n(0), n(1)))
    }
}
