//! Tests of lossless delivery against real PTYs: a slow lossless client gets every byte in order
//! and holds the program back; default clients beside it keep their cap; a lossless client that
//! stops reading is closed with 4009 and one that leaves releases the worker.

use super::tests::{DEADLINE, ctx_with, sh};
use super::*;
use crate::outbox::{OutFrame, OutboxReceiver, outbox, outbox_lossless};
use controlroom_protocol::{WorkerServerMsg, close_code};
use std::time::Duration;

/// `seq 1 N` as the PTY delivers it (`\n` becomes `\r\n`).
fn seq_output(n: u32) -> Vec<u8> {
    (1..=n).flat_map(|i| format!("{i}\r\n").into_bytes()).collect()
}

/// Reads a binary client's frames at about `bytes_per_sec` until `exit`; returns the raw stream
/// from the history offset on (checked contiguous) and the most bytes its queue ever held.
async fn read_slowly(rx: &mut OutboxReceiver, tx: &OutboxSender, bytes_per_sec: u64) -> (Vec<u8>, usize) {
    let deadline = tokio::time::Instant::now() + DEADLINE * 4;
    let started = tokio::time::Instant::now();
    let (mut stream, mut next, mut most) = (Vec::new(), None::<u64>, 0usize);
    loop {
        most = most.max(tx.queued_bytes());
        let frame =
            tokio::time::timeout_at(deadline, rx.recv()).await.expect("a frame in time").expect("open");
        match frame {
            OutFrame::Text(t) => {
                let msg: WorkerServerMsg = serde_json::from_str(t.as_str()).expect("json");
                match msg {
                    WorkerServerMsg::History { offset, .. } => next = Some(offset),
                    WorkerServerMsg::Exit { .. } => return (stream, most),
                    other => panic!("unexpected {other:?}"),
                }
            }
            OutFrame::Binary(b) => {
                let (offset, bytes) = controlroom_protocol::decode_output(&b).expect("frame");
                assert_eq!(Some(offset), next, "output follows on exactly");
                next = Some(offset + bytes.len() as u64);
                stream.extend_from_slice(bytes);
                // Paced: never ahead of `bytes_per_sec` since the start.
                let due = started + Duration::from_secs_f64(stream.len() as f64 / bytes_per_sec as f64);
                tokio::time::sleep_until(due).await;
            }
            OutFrame::Ping => {}
            OutFrame::Close { code, .. } => panic!("a lossless client was closed with {code}"),
        }
    }
}

#[tokio::test]
async fn a_slow_lossless_client_gets_every_byte_in_order_and_holds_the_program_back() {
    const N: u32 = 150_000;
    const CAP: usize = 64 * 1024;
    let config = WorkerConfig::default();
    let batch = config.batch_bytes;
    // The program waits for the client, so every byte it prints is after the history offset.
    let w =
        WorkerHandle::spawn(ctx_with(config), sh(&format!("stty -echo; read x; seq 1 {N}"))).expect("spawn");
    let (tx, mut rx) = outbox_lossless(CAP);
    w.attach(tx.clone(), OutputFormat::Binary).await.expect("attach");
    w.input(None, b"go\n".to_vec()).await.expect("input");
    // 1 MB/s: slower than `seq` prints, even through a debug build's screen model.
    let (stream, most) = read_slowly(&mut rx, &tx, 1024 * 1024).await;
    let expected = seq_output(N);
    assert!(
        stream.ends_with(&expected),
        "every byte of seq, in order ({} bytes received, {} expected)",
        stream.len(),
        expected.len()
    );
    // Without the hold most of the 1 MB would have been queued at once.
    assert!(most <= CAP + batch + 64, "the queue stayed within the cap and one batch: {most}");
}

#[tokio::test]
async fn a_default_client_beside_a_lossless_one_still_gets_4008() {
    const N: u32 = 300_000;
    let w =
        WorkerHandle::spawn(ctx_with(WorkerConfig::default()), sh(&format!("stty -echo; read x; seq 1 {N}")))
            .expect("spawn");
    let (tx, mut rx) = outbox_lossless(256 * 1024);
    w.attach(tx.clone(), OutputFormat::Binary).await.expect("attach");
    let (watcher_tx, mut watcher_rx) = outbox(64 * 1024);
    w.attach(watcher_tx, OutputFormat::Json).await.expect("attach");
    w.input(None, b"go\n".to_vec()).await.expect("input");
    let (stream, _) = read_slowly(&mut rx, &tx, 16 * 1024 * 1024).await;
    assert!(stream.ends_with(&seq_output(N)), "the lossless client got everything");
    // The watcher read nothing: it passed its own cap and was closed, as before.
    let code = loop {
        match watcher_rx.recv().await.expect("a close before the end") {
            OutFrame::Close { code, .. } => break code,
            _ => continue,
        }
    };
    assert_eq!(code, close_code::SLOW_CONSUMER);
}

#[tokio::test]
async fn a_lossless_client_that_stops_reading_is_closed_with_4009_and_the_worker_runs_on() {
    let config =
        WorkerConfig { lossless_stall_timeout: Duration::from_millis(300), ..WorkerConfig::default() };
    let w = WorkerHandle::spawn(ctx_with(config), sh("stty -echo; read x; seq 1 100000; echo done"))
        .expect("spawn");
    let (tx, mut rx) = outbox_lossless(16 * 1024);
    w.attach(tx, OutputFormat::Json).await.expect("attach");
    w.input(None, b"go\n".to_vec()).await.expect("input");
    // Reads nothing; the worker ends anyway, once the stall timeout gave up on the client.
    let mut status = w.status();
    let exited = tokio::time::timeout(DEADLINE, status.wait_for(|s| s.exit.is_some())).await;
    assert!(exited.is_ok(), "the worker ran to its end without the stalled client");
    let mut closes = Vec::new();
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
        if let OutFrame::Close { code, .. } = frame {
            closes.push(code);
        }
        // What the connection task would do: the close replaces the frames still queued.
        if let Some(OutFrame::Close { code, .. }) = rx.close_instead(&OutFrame::Ping) {
            closes.push(code);
            break;
        }
    }
    assert_eq!(closes.first(), Some(&close_code::LOSSLESS_STALLED));
}

#[tokio::test]
async fn a_lossless_client_that_leaves_releases_the_worker_at_once() {
    // A stall timeout far beyond the test's deadline: only the client leaving can release it.
    let config =
        WorkerConfig { lossless_stall_timeout: Duration::from_secs(3600), ..WorkerConfig::default() };
    let w = WorkerHandle::spawn(ctx_with(config), sh("stty -echo; read x; seq 1 100000")).expect("spawn");
    let (tx, rx) = outbox_lossless(16 * 1024);
    let id = w.attach(tx.clone(), OutputFormat::Json).await.expect("attach");
    w.input(None, b"go\n".to_vec()).await.expect("input");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !tx.is_full() {
        assert!(tokio::time::Instant::now() < deadline, "the lossless queue never filled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(w.status().borrow().exit.is_none(), "held: the program cannot have finished");
    // The connection ends: its receiver goes first, the detach follows.
    drop(rx);
    let mut status = w.status();
    let exited = tokio::time::timeout(DEADLINE, status.wait_for(|s| s.exit.is_some())).await;
    assert!(exited.is_ok(), "released once the client was gone");
    w.detach(id).await;
}
