//! Tests of the worker actor against real PTYs running `/bin/sh` programs.

use super::pty::PortablePty;
use super::*;
use crate::outbox::{OutFrame, OutboxReceiver, outbox};
use controlroom_protocol::WorkerServerMsg;
use std::time::Duration;
use std::time::Instant;

pub(super) const DEADLINE: Duration = Duration::from_secs(15);

pub(super) fn ctx_with(config: WorkerConfig) -> WorkerContext {
    WorkerContext { config: Arc::new(config), backend: Arc::new(PortablePty), poke: Arc::new(Notify::new()) }
}

pub(super) fn ctx() -> WorkerContext {
    ctx_with(WorkerConfig::default())
}

pub(super) fn sh(script: &str) -> SpawnSpec {
    SpawnSpec {
        key: "wtest".into(),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        cwd: std::env::temp_dir(),
        env: BTreeMap::new(),
        cols: 80,
        rows: 24,
        activity: None,
        offset: 0,
    }
}

/// Polls `check` until it returns `Some`, or panics after [`DEADLINE`].
async fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the worker's status satisfies `pred`.
pub(super) async fn wait_status(
    w: &WorkerHandle,
    what: &str,
    pred: impl FnMut(&WorkerStatus) -> bool,
) -> WorkerStatus {
    let mut rx = w.status();
    let got = tokio::time::timeout(DEADLINE, rx.wait_for(pred)).await.map(|r| r.map(|s| s.clone()));
    match got {
        Ok(Ok(s)) => s,
        _ => panic!("timed out waiting for status {what}: {:?}", *w.status().borrow()),
    }
}

/// A fake WebSocket client reading its outbox.
struct TestClient {
    rx: OutboxReceiver,
    msgs: Vec<WorkerServerMsg>,
    /// Binary `output` frames, decoded: (offset, raw bytes).
    binary: Vec<(u64, Vec<u8>)>,
    close: Option<u16>,
}

impl TestClient {
    fn new(cap: usize) -> (Self, OutboxSender) {
        let (tx, rx) = outbox(cap);
        (Self { rx, msgs: Vec::new(), binary: Vec::new(), close: None }, tx)
    }

    async fn attach(w: &WorkerHandle) -> (Self, ClientId) {
        Self::attach_as(w, OutputFormat::Json).await
    }

    async fn attach_as(w: &WorkerHandle, format: OutputFormat) -> (Self, ClientId) {
        let (mut c, tx) = Self::new(64 << 20);
        let id = w.attach(tx, format).await.expect("attach");
        c.until("history", |m| !m.is_empty()).await;
        assert!(matches!(c.msgs[0], WorkerServerMsg::History { .. }), "history comes first: {:?}", c.msgs[0]);
        (c, id)
    }

    /// Reads messages until `pred` holds.
    async fn until(&mut self, what: &str, pred: impl Fn(&[WorkerServerMsg]) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !pred(&self.msgs) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => panic!("timed out waiting for {what}; got {:?}", self.msgs),
                Ok(None) => panic!("outbox closed while waiting for {what}; got {:?}", self.msgs),
                Ok(Some(OutFrame::Text(t))) => {
                    self.msgs.push(serde_json::from_str(t.as_str()).expect("json"))
                }
                Ok(Some(OutFrame::Binary(b))) => {
                    let (offset, bytes) =
                        controlroom_protocol::decode_output(&b).expect("binary output frame");
                    self.binary.push((offset, bytes.to_vec()));
                }
                Ok(Some(OutFrame::Ping)) => {}
                Ok(Some(OutFrame::Close { code, .. })) => {
                    self.close = Some(code);
                    panic!("closed with {code} while waiting for {what}");
                }
            }
        }
    }

    async fn until_output(&mut self, needle: &str) {
        self.until(needle, |m| output_text(m).contains(needle)).await;
    }

    /// Reads frames until a close frame arrives; returns its code.
    async fn until_close(&mut self) -> u16 {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => panic!("timed out waiting for a close; got {} messages", self.msgs.len()),
                Ok(None) => panic!("outbox ended without a close"),
                Ok(Some(OutFrame::Text(_) | OutFrame::Binary(_) | OutFrame::Ping)) => {}
                Ok(Some(OutFrame::Close { code, .. })) => {
                    self.close = Some(code);
                    return code;
                }
            }
        }
    }

    fn history(&self) -> (&str, u64) {
        match &self.msgs[0] {
            WorkerServerMsg::History { data, offset, .. } => (data, *offset),
            other => panic!("history expected, got {other:?}"),
        }
    }

    /// Output is contiguous: it starts at the history offset and every message follows the
    /// previous one exactly (ASCII output, so characters = bytes).
    fn assert_contiguous(&self) {
        let (_, mut next) = self.history();
        for m in &self.msgs[1..] {
            if let WorkerServerMsg::Output { data, offset } = m {
                assert_eq!(*offset, next, "output must follow on exactly");
                next += data.len() as u64;
            }
        }
    }
}

impl TestClient {
    /// The binary frames' bytes, checking that they follow on exactly from the history offset.
    fn binary_stream(&self) -> Vec<u8> {
        let (_, mut next) = self.history();
        let mut stream = Vec::new();
        for (offset, bytes) in &self.binary {
            assert_eq!(*offset, next, "binary output must follow on exactly");
            next += bytes.len() as u64;
            stream.extend_from_slice(bytes);
        }
        stream
    }

    fn has_exit(msgs: &[WorkerServerMsg]) -> bool {
        msgs.iter().any(|m| matches!(m, WorkerServerMsg::Exit { .. }))
    }
}

fn output_text(msgs: &[WorkerServerMsg]) -> String {
    msgs.iter()
        .filter_map(|m| match m {
            WorkerServerMsg::Output { data, .. } => Some(data.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn attach_gets_history_then_the_echo_of_input() {
    let w = WorkerHandle::spawn(ctx(), sh("while read l; do echo \"got:$l\"; done")).expect("spawn");
    let (mut c, id) = TestClient::attach(&w).await;
    w.input(Some(id), b"hello\r".to_vec()).await.expect("input");
    c.until_output("got:hello").await;
    c.assert_contiguous();
    w.stop().await;
    assert!(w.status().borrow().exit.is_some());
    w.shutdown(controlroom_protocol::close_code::GOING_AWAY, "bye").await;
    assert_eq!(c.until_close().await, controlroom_protocol::close_code::GOING_AWAY);
    assert!(matches!(w.input(None, b"x".to_vec()).await, Err(WorkerError::Gone)));
}

#[tokio::test]
async fn a_second_attach_gets_earlier_output_in_history_and_nothing_twice() {
    let script = "echo first-line; while read l; do echo \"next:$l\"; done";
    let w = WorkerHandle::spawn(ctx(), sh(script)).expect("spawn");
    let (mut a, a_id) = TestClient::attach(&w).await;
    a.until_output("first-line").await;
    let (mut b, _) = TestClient::attach(&w).await;
    let (b_history, b_offset) = b.history();
    assert!(b_history.contains("first-line"), "history has the earlier output: {b_history:?}");
    assert!(b_offset > 0);
    w.input(Some(a_id), b"zz\r".to_vec()).await.expect("input");
    a.until_output("next:zz").await;
    b.until_output("next:zz").await;
    a.assert_contiguous();
    b.assert_contiguous();
    // B's output is exactly A's stream from B's history offset on.
    let a_stream = output_text(&a.msgs);
    let (_, a_start) = a.history();
    let skip = usize::try_from(b_offset - a_start).expect("small");
    assert_eq!(output_text(&b.msgs), a_stream[skip..]);
    assert!(!output_text(&b.msgs).contains("first-line"), "no byte doubled");
    w.stop().await;
}

#[tokio::test]
async fn resize_is_visible_in_stty_size_and_follows_the_latest_typist() {
    let w =
        WorkerHandle::spawn(ctx(), sh("while read l; do echo \"size=$(stty size)\"; done")).expect("spawn");
    let (mut a, a_id) = TestClient::attach(&w).await;
    let (mut b, b_id) = TestClient::attach(&w).await;
    assert!(matches!(w.resize(Some(a_id), 0, 10).await, Err(WorkerError::Invalid(_))));
    assert!(matches!(w.resize(Some(a_id), 10, 1001).await, Err(WorkerError::Invalid(_))));
    w.resize(Some(a_id), 100, 30).await.expect("resize");
    let s = wait_status(&w, "100x30", |s| (s.cols, s.rows) == (100, 30)).await;
    assert!(s.exit.is_none());
    w.input(Some(a_id), b"\r".to_vec()).await.expect("input");
    a.until_output("size=30 100").await;
    w.resize(Some(b_id), 90, 20).await.expect("resize");
    w.input(Some(b_id), b"\r".to_vec()).await.expect("input");
    b.until_output("size=20 90").await;
    // A types: the PTY takes A's size again (tmux `window-size latest`).
    w.input(Some(a_id), b"\r".to_vec()).await.expect("input");
    a.until("size back to 30 100", |m| output_text(m).matches("size=30 100").count() >= 2).await;
    let screen = w.screen().await.expect("screen");
    assert_eq!((screen.cols, screen.rows), (100, 30));
    w.stop().await;
}

#[tokio::test]
async fn exit_code_arrives_as_exit_after_all_output() {
    let w = WorkerHandle::spawn(ctx(), sh("sleep 0.2; printf done; exit 3")).expect("spawn");
    let (mut c, _) = TestClient::attach(&w).await;
    c.until("exit", |m| m.iter().any(|m| matches!(m, WorkerServerMsg::Exit { .. }))).await;
    let last = c.msgs.last().expect("messages");
    assert_eq!(last, &WorkerServerMsg::Exit { exit_code: Some(3), signal: None });
    let (history, _) = c.history();
    assert!(output_text(&c.msgs).contains("done") || history.contains("done"));
    let s = wait_status(&w, "exited", |s| s.exit.is_some()).await;
    assert_eq!(s.exit, Some(ExitInfo { exit_code: Some(3), signal: None }));
    assert_eq!((s.pid, s.activity), (None, ActivityState::Exited));
    assert!(matches!(w.input(None, b"x".to_vec()).await, Err(WorkerError::Exited)));
    // A late client gets history with the output, then exit.
    let (mut late, _) = TestClient::attach(&w).await;
    late.until("exit", |m| m.len() >= 2).await;
    assert!(late.history().0.contains("done"));
    assert!(matches!(late.msgs.last(), Some(WorkerServerMsg::Exit { exit_code: Some(3), .. })));
    w.stop().await;
}

#[tokio::test]
async fn a_utf8_character_split_across_reads_arrives_whole() {
    let script = "sleep 0.3; printf 'x\\303'; sleep 0.3; printf '\\251y'; sleep 30";
    let w = WorkerHandle::spawn(ctx(), sh(script)).expect("spawn");
    let (mut c, _) = TestClient::attach(&w).await;
    c.until_output("y").await;
    let text = output_text(&c.msgs);
    assert!(text.contains("xéy"), "the character arrives whole: {text:?}");
    assert!(!text.contains('\u{FFFD}'), "no replacement characters: {text:?}");
    // Offsets count bytes: "x" then "éy" (3 bytes) follow on exactly.
    c.assert_contiguous();
    w.stop().await;
}

#[tokio::test]
async fn a_slow_client_is_dropped_while_another_keeps_receiving() {
    let w = WorkerHandle::spawn(ctx(), sh("exec yes flood")).expect("spawn");
    let (mut slow, slow_tx) = TestClient::new(16 * 1024);
    w.attach(slow_tx, OutputFormat::Json).await.expect("attach");
    let (fast_tx_client, fast_tx) = TestClient::new(256 << 20);
    let mut fast = fast_tx_client;
    w.attach(fast_tx, OutputFormat::Json).await.expect("attach");
    // The fast client keeps reading (without parsing, to keep up) until the slow one overflowed,
    // then still receives more.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut after_overflow = 0usize;
    while after_overflow < 256 * 1024 {
        match tokio::time::timeout_at(deadline, fast.rx.recv()).await {
            Ok(Some(OutFrame::Text(t))) => {
                if slow.rx.overflowed() {
                    after_overflow += t.len();
                }
            }
            other => panic!("fast client stopped receiving: {:?}", other.map(|f| f.is_some())),
        }
    }
    assert_eq!(slow.until_close().await, controlroom_protocol::close_code::SLOW_CONSUMER);
    assert!(fast.close.is_none());
    w.stop().await;
}

fn proc_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie waiting for init to reap it is dead enough.
        Ok(stat) => !stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn grandchild_pid(c: &TestClient) -> Option<u32> {
    let text = output_text(&c.msgs);
    let rest = text.split("gc=").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[tokio::test]
async fn stop_kills_the_process_group_including_a_grandchild() {
    let w = WorkerHandle::spawn(ctx(), sh("sleep 1000 & echo \"gc=$! \"; wait")).expect("spawn");
    let (mut c, _) = TestClient::attach(&w).await;
    c.until("grandchild pid", |m| output_text(m).contains("gc=") && output_text(m).ends_with(" \r\n")).await;
    let gc = grandchild_pid(&c).expect("grandchild pid");
    assert!(proc_alive(gc));
    tokio::time::timeout(DEADLINE, w.stop()).await.expect("stop resolves");
    let s = w.status().borrow().clone();
    assert_eq!(s.exit.and_then(|e| e.signal).as_deref(), Some(controlroom_protocol::WORKER_STOPPED));
    wait_until("grandchild gone", || (!proc_alive(gc)).then_some(())).await;
    c.until("exit", |m| matches!(m.last(), Some(WorkerServerMsg::Exit { .. }))).await;
}

#[tokio::test]
async fn stop_escalates_to_sigkill_after_the_grace_period() {
    let config = WorkerConfig { stop_grace: Duration::from_millis(300), ..WorkerConfig::default() };
    let script = "trap '' HUP; sleep 1000 & echo \"gc=$! \"; wait";
    let w = WorkerHandle::spawn(ctx_with(config), sh(script)).expect("spawn");
    let (mut c, _) = TestClient::attach(&w).await;
    c.until("grandchild pid", |m| output_text(m).contains("gc=") && output_text(m).ends_with(" \r\n")).await;
    let gc = grandchild_pid(&c).expect("grandchild pid");
    // The shell ignores SIGHUP: only the SIGKILL after the grace period can end it, so the stop
    // resolving at all is the escalation.
    tokio::time::timeout(DEADLINE, w.stop()).await.expect("stop resolves");
    let s = w.status().borrow().clone();
    assert_eq!(s.exit.and_then(|e| e.signal).as_deref(), Some(controlroom_protocol::WORKER_STOPPED));
    wait_until("grandchild gone", || (!proc_alive(gc)).then_some(())).await;
}

#[tokio::test]
async fn restore_rebuilds_the_screen_from_stored_history() {
    let history = HistorySnapshot {
        data: "\x1b[mhello \x1b[31mrestored\x1b[m\r\n$ ".into(),
        cols: 40,
        rows: 5,
        offset: 1234,
    };
    let exit = ExitInfo { exit_code: None, signal: Some("gateway-stopped".into()) };
    let w = WorkerHandle::restore(ctx(), &history, exit.clone(), "2026-01-01T00:00:00Z".into(), None);
    let screen = w.screen().await.expect("screen");
    assert_eq!((screen.cols, screen.rows), (40, 5));
    assert_eq!(screen.lines[0], "hello restored");
    assert_eq!(screen.lines[1], "$");
    assert_eq!(screen.cursor, [1, 2]);
    let s = w.status().borrow().clone();
    assert_eq!((s.exit, s.pid, s.activity), (Some(exit), None, ActivityState::Exited));
    let (mut c, _) = TestClient::attach(&w).await;
    c.until("exit", |m| m.len() >= 2).await;
    assert_eq!(c.history().1, 1234);
    assert!(matches!(&c.msgs[1], WorkerServerMsg::Exit { signal: Some(s), .. } if s == "gateway-stopped"));
    assert!(matches!(w.input(None, b"x".to_vec()).await, Err(WorkerError::Exited)));
    assert_eq!(w.history().await.expect("history").offset, 1234);
}

#[tokio::test]
async fn a_live_worker_history_restores_to_the_same_screen() {
    let w = WorkerHandle::spawn(ctx(), sh("printf '\\033[1mbold\\033[m plain\\n'; seq 1 40; sleep 30"))
        .expect("spawn");
    let (mut c, _) = TestClient::attach(&w).await;
    c.until("the last line", |m| output_text(m).contains("\n40") || history_has(m, "40")).await;
    let before = w.screen().await.expect("screen");
    let snap = w.history().await.expect("history");
    w.stop().await;
    let exit = ExitInfo { exit_code: None, signal: Some("gateway-stopped".into()) };
    let restored = WorkerHandle::restore(ctx(), &snap, exit, "t".into(), None);
    assert_eq!(restored.screen().await.expect("screen"), before);
    let again = restored.history().await.expect("history");
    assert!(again.data.contains("bold"), "scrollback survives a restore");
}

#[tokio::test]
async fn restart_keeps_clients_and_offsets_counting_up() {
    let w = WorkerHandle::spawn(ctx(), sh("echo one")).expect("spawn");
    let (mut c, _) = TestClient::attach(&w).await;
    c.until("exit", |m| matches!(m.last(), Some(WorkerServerMsg::Exit { .. }))).await;
    let first_pid_gone = wait_status(&w, "exited", |s| s.exit.is_some()).await;
    // The second run waits for a line, so its running state cannot come and go between two looks at
    // the status watch (a bare `echo one` could exit before the test saw it running).
    assert!(matches!(w.restart(sh("echo one; read line"), false).await, Ok(())));
    let s = wait_status(&w, "running again", |s| s.exit.is_none() && s.pid.is_some()).await;
    assert_ne!(s.started_at, "");
    assert!(first_pid_gone.pid.is_none());
    w.input(None, b"\r".to_vec()).await.expect("input");
    c.until("second exit", |m| m.iter().filter(|m| matches!(m, WorkerServerMsg::Exit { .. })).count() == 2)
        .await;
    let offsets: Vec<u64> = c
        .msgs
        .iter()
        .filter_map(|m| match m {
            WorkerServerMsg::Output { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets keep counting up: {offsets:?}");
    assert_eq!(output_text(&c.msgs).matches("one").count() + usize::from(c.history().0.contains("one")), 2);
    let running = WorkerHandle::spawn(ctx(), sh("sleep 30")).expect("spawn");
    assert!(matches!(running.restart(sh("true"), false).await, Err(WorkerError::Invalid(_))));
    running.stop().await;
}

#[tokio::test]
async fn activity_goes_idle_after_silence() {
    let rules = detect::ActivityRules::defaults(Duration::from_millis(300));
    let config = WorkerConfig { activity: Arc::new(rules), ..WorkerConfig::default() };
    // Sustained output (several chunks within the window) for two seconds, then silence. The
    // status is a watch, which keeps only the latest value: the active spell must outlast any
    // stall of this test's task on a loaded machine, or it could go by unseen.
    let script = "i=0; while [ $i -lt 40 ]; do echo tick $i; i=$((i+1)); sleep 0.05; done; sleep 30";
    let w = WorkerHandle::spawn(ctx_with(config), sh(script)).expect("spawn");
    wait_status(&w, "active", |s| s.activity == ActivityState::Active).await;
    wait_status(&w, "idle", |s| s.activity == ActivityState::Idle).await;
    w.stop().await;
    wait_status(&w, "exited", |s| s.activity == ActivityState::Exited).await;
}

#[tokio::test]
async fn spawning_a_missing_program_is_a_spawn_error() {
    let spec = SpawnSpec { command: vec!["/nonexistent/program".into()], ..sh("") };
    assert!(matches!(WorkerHandle::spawn(ctx(), spec), Err(WorkerError::Spawn { .. })));
    let bad = SpawnSpec { cols: 0, ..sh("true") };
    assert!(matches!(WorkerHandle::spawn(ctx(), bad), Err(WorkerError::Invalid(_))));
}

fn history_has(m: &[WorkerServerMsg], needle: &str) -> bool {
    matches!(m.first(), Some(WorkerServerMsg::History { data, .. }) if data.contains(needle))
}

#[tokio::test]
async fn an_osc_9_notification_makes_a_real_worker_asking_until_enter() {
    let w = WorkerHandle::spawn(
        ctx(),
        sh(r"printf 'working\n\033]9;Claude needs your permission\007'; read x; sleep 30"),
    )
    .expect("spawn");
    wait_status(&w, "asking", |s| s.activity == ActivityState::Asking).await;
    let info = w.activity().await.expect("activity");
    assert_eq!(info.evidence[0].kind, "signal");
    assert!(info.evidence[0].detail.contains("Claude needs your permission"), "{:?}", info.evidence);
    w.input(None, b"\r".to_vec()).await.expect("input");
    wait_status(&w, "idle", |s| s.activity == ActivityState::Idle).await;
    w.stop().await;
}

#[tokio::test]
async fn binary_and_json_clients_each_get_their_format_even_mid_character() {
    // 'x', an invalid byte, then the first byte of 'é'; the rest of 'é' a second later.
    let script = "sleep 0.3; printf 'x\\377\\303'; sleep 1; printf '\\251y'; exit 0";
    let w = WorkerHandle::spawn(ctx(), sh(script)).expect("spawn");
    let (mut json, _) = TestClient::attach(&w).await;
    let (mut bin, _) = TestClient::attach_as(&w, OutputFormat::Binary).await;
    json.until_output("x").await;
    // Both late clients attach while the split character is carried.
    let (mut late_json, _) = TestClient::attach(&w).await;
    let (mut late_bin, _) = TestClient::attach_as(&w, OutputFormat::Binary).await;
    for c in [&mut json, &mut bin, &mut late_json, &mut late_bin] {
        c.until("exit", TestClient::has_exit).await;
    }
    assert!(bin.msgs.iter().all(|m| !matches!(m, WorkerServerMsg::Output { .. })), "no JSON output");
    assert!(json.binary.is_empty() && late_json.binary.is_empty(), "no binary output for JSON clients");
    let written = b"x\xff\xc3\xa9y";
    let (_, bin_start) = bin.history();
    assert_eq!(bin_start, 0);
    assert_eq!(bin.binary_stream(), written, "binary clients get the raw bytes exactly");
    let (_, late_start) = late_bin.history();
    let skip = usize::try_from(late_start).expect("small");
    assert_eq!(late_bin.binary_stream(), written[skip..], "a late binary client gets the rest, raw");
    assert_eq!(output_text(&json.msgs), "x\u{FFFD}\u{e9}y");
    let late_text = output_text(&late_json.msgs);
    assert!(late_text.ends_with("\u{e9}y") && !late_text.starts_with('\u{FFFD}'), "{late_text:?}");
    // The late JSON client's output starts at its history offset and ends at the stream end.
    let Some(WorkerServerMsg::Output { offset, .. }) =
        late_json.msgs.iter().find(|m| matches!(m, WorkerServerMsg::Output { .. }))
    else {
        panic!("output expected: {:?}", late_json.msgs)
    };
    assert_eq!(*offset, late_json.history().1);
    w.stop().await;
}

/// What a client shows after replaying its `history` and then its `output` into one terminal,
/// as a client does: the scrollback, then the screen's rows (trailing blanks trimmed).
///
/// The output is fed into the same model rather than appended as text: a snapshot taken between
/// a line's `\r` and its `\n` has the cursor at column 0 of a full row, and only the terminal
/// knows that the `\n` which follows keeps that row.
fn replayed_lines(c: &TestClient) -> Vec<String> {
    let (data, _) = c.history();
    let mut model = screen::ScreenModel::new(80, 24, 1 << 24, 0);
    model.feed(data.as_bytes());
    model.feed(output_text(&c.msgs).as_bytes());
    let mut lines: Vec<String> = model.scrollback().lines().into_iter().map(|l| l.text).collect();
    lines.extend(model.plain().lines.iter().map(|l| l.trim_end().to_string()));
    lines
}

#[tokio::test]
async fn clients_attaching_mid_flood_miss_nothing_and_see_nothing_twice() {
    // The catch-up ring keeps raw output only from a pending snapshot's offset: every client
    // attaching while the program floods must still see the numbers in order, none missing or
    // doubled, from where its scrollback starts to the end.
    const LAST: u64 = 400_000;
    let config = WorkerConfig { scrollback_bytes: 64 * 1024, ..WorkerConfig::default() };
    let script = format!("read x; seq 1 {LAST}; echo flood-done; sleep 30");
    let w = WorkerHandle::spawn(ctx_with(config), sh(&script)).expect("spawn");
    let (mut first, id) = TestClient::attach(&w).await;
    w.input(Some(id), b"\r".to_vec()).await.expect("input");
    first.until_output("\n20000\r").await;
    let mut clients = vec![first];
    for _ in 0..3 {
        clients.push(TestClient::attach(&w).await.0);
    }
    for c in &mut clients {
        // A client may have attached after the end: then the history has it.
        let done = |m: &[WorkerServerMsg]| {
            output_text(m).contains("flood-done")
                || matches!(&m[0], WorkerServerMsg::History { data, .. } if data.contains("flood-done"))
        };
        c.until("flood-done", done).await;
        c.assert_contiguous();
    }
    for (i, c) in clients.iter().enumerate() {
        let numbers: Vec<u64> = replayed_lines(c).iter().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(numbers.last(), Some(&LAST), "client {i} saw the end");
        let first = numbers[0];
        for (k, n) in numbers.iter().enumerate() {
            assert_eq!(*n, first + k as u64, "client {i}: line {k} after {first}");
        }
    }
    w.stop().await;
}
