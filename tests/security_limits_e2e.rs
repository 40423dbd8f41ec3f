//! End-to-end tests of two limits from the second security round (issue 15): a FIFO where a
//! repository file should be never hangs the hub or piles up threads, and the gateway-wide
//! budget for partially received WebSocket messages (`--max-inflight-messages`).

mod support;

use serde_json::json;
use support::{DEADLINE, Gateway, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[allow(unsafe_code)]
fn mkfifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads line")
}

/// How many poll ticks the hub has run, from `/metrics`.
async fn polls(gw: &Gateway) -> u64 {
    let (status, body) = gw.http("GET", "/metrics", None).await;
    assert_eq!(status, 200);
    let text = body.as_str().unwrap_or_default().to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("controlroom_poll_duration_seconds_count "))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

#[tokio::test]
async fn a_fifo_as_git_head_never_hangs_the_hub_or_piles_up_threads() {
    let dir = temp();
    let shared = dir.path().join("shared-tmp");
    std::fs::create_dir_all(shared.join(".git")).expect("mkdir");
    mkfifo(&shared.join(".git/HEAD"));
    mkfifo(&shared.join(".git/config"));
    let cwd = shared.join("work");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    let gw = Gateway::start_in(&dir.path().join("data"), &["--poll-interval", "50ms"]);

    // Creating the session reads its cwd's repository: it answers, without a branch.
    let (status, session) = gw
        .http("POST", "/api/sessions", Some(json!({"title": "fifo", "cwd": cwd.display().to_string()})))
        .await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["branch"], serde_json::Value::Null);
    assert_eq!(session["repository"], "shared-tmp", "the directory name stands in for an origin");

    let pid = gw.child.id();
    let start = polls(&gw).await;
    let threads_before = threads_of(pid);
    wait_for("40 more poll ticks", || async { polls(&gw).await >= start + 40 }).await;
    let (status, list) = gw.http("GET", "/api/sessions", None).await;
    assert_eq!(status, 200, "the API still answers: {list}");
    let threads_after = threads_of(pid);
    // Each poll used to leave a thread blocked on the FIFO (40 here); now reads never block and
    // at most a couple run at once. Some slack for the runtime's blocking pool.
    assert!(
        threads_after <= threads_before + 4,
        "threads grew from {threads_before} to {threads_after} over 40 polls"
    );
}

/// A raw WebSocket client on `/ws/app`, to send fragments by hand.
struct RawWs {
    stream: TcpStream,
}

impl RawWs {
    async fn open(gw: &Gateway) -> RawWs {
        let mut stream = TcpStream::connect(&gw.addr).await.expect("connect");
        let req = format!(
            "GET /ws/app HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: controlroom.v1\r\nAuthorization: Bearer {}\r\n\r\n",
            gw.addr, gw.token
        );
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).await.expect("read head");
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        RawWs { stream }
    }

    /// Sends one masked client frame.
    async fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n @ 0..=125 => f.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x11, 0x22, 0x33, 0x44];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&f).await.expect("write frame");
    }

    /// Reads server frames until one with `opcode` or a close; returns (opcode, payload).
    async fn until(&mut self, opcode: u8) -> (u8, Vec<u8>) {
        let read = async {
            loop {
                let mut h = [0u8; 2];
                if self.stream.read_exact(&mut h).await.is_err() {
                    return (0xff, Vec::new());
                }
                let len = match h[1] & 0x7f {
                    126 => {
                        let mut b = [0u8; 2];
                        self.stream.read_exact(&mut b).await.expect("len");
                        u64::from(u16::from_be_bytes(b))
                    }
                    127 => {
                        let mut b = [0u8; 8];
                        self.stream.read_exact(&mut b).await.expect("len");
                        u64::from_be_bytes(b)
                    }
                    n => u64::from(n),
                };
                let mut payload = vec![0u8; usize::try_from(len).expect("len")];
                self.stream.read_exact(&mut payload).await.expect("payload");
                let op = h[0] & 0x0f;
                if op == opcode || op == 0x8 {
                    return (op, payload);
                }
            }
        };
        tokio::time::timeout(DEADLINE, read).await.expect("no frame before the deadline")
    }

    /// Whether the gateway is still reading this socket: a ping gets its pong (not a close).
    async fn answers_ping(&mut self) -> bool {
        self.frame(true, 0x9, b"p").await;
        self.until(0xA).await.0 == 0xA
    }

    /// Reads until the gateway closes the TCP connection.
    async fn until_hung_up(&mut self) {
        let mut sink = Vec::new();
        tokio::time::timeout(DEADLINE, self.stream.read_to_end(&mut sink))
            .await
            .expect("the gateway did not hang up")
            .ok();
    }

    /// The close code, once the gateway closes.
    async fn close_code(&mut self) -> Option<u16> {
        let (op, payload) = self.until(0x8).await;
        (op == 0x8 && payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
    }
}

#[tokio::test]
async fn unfinished_messages_past_the_gateway_wide_budget_close_their_socket_with_1009() {
    let dir = temp();
    let gw = Gateway::start_in(&dir.path().join("data"), &["--max-inflight-messages", "512KiB"]);
    // Each socket starts a valid message (trailing spaces are JSON whitespace) and stops.
    const PART: usize = 60_000;
    let mut first_part = br#"{"type":"request-sync"}"#.to_vec();
    first_part.resize(PART, b' ');
    let fit = 512 * 1024 / PART; // 8 unfinished messages fit, the 9th does not
    let mut open = Vec::new();
    for _ in 0..fit {
        let mut ws = RawWs::open(&gw).await;
        ws.frame(false, 0x1, &first_part).await;
        assert!(ws.answers_ping().await, "within the budget the socket stays open");
        open.push(ws);
    }
    for _ in 0..3 {
        let mut ws = RawWs::open(&gw).await;
        ws.frame(false, 0x1, &first_part).await;
        assert_eq!(ws.close_code().await, Some(1009), "past the budget the socket is closed");
        // The connection is gone (and its bytes given back) once the gateway hangs up.
        ws.until_hung_up().await;
    }
    for ws in &mut open {
        assert!(ws.answers_ping().await, "sockets within the budget are untouched");
    }
    // Finishing a message gives its bytes back: it is answered, and another socket fits.
    open[0].frame(true, 0x0, b" ").await;
    let (op, reply) = open[0].until(0x1).await;
    assert_eq!(op, 0x1);
    assert!(String::from_utf8_lossy(&reply).contains("sessions-sync"), "the finished message was served");
    let mut late = RawWs::open(&gw).await;
    late.frame(false, 0x1, &first_part).await;
    assert!(late.answers_ping().await, "the finished message's bytes were given back");
    let mut over = RawWs::open(&gw).await;
    over.frame(false, 0x1, &first_part).await;
    assert_eq!(over.close_code().await, Some(1009), "and the budget holds again");
    wait_for("a max_inflight_messages log line", || async { gw.log().contains("max_inflight_messages") })
        .await;
}
