//! Tests of the worker sockets' bookkeeping: which `history` each socket asks for, and that the
//! loop takes the sockets' reports in turn, so a flooding one cannot hold another back.

use super::*;
use crate::client::Trust;
use crate::client::events::WorkerReport;
use std::time::Duration;

/// How long any wait here may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

fn key(w: &str) -> ConnKey {
    (SessionId::new("s"), WorkerId::new(w))
}

/// Sockets that dial a port nothing listens on: their tasks retry, their queues stay empty.
fn conns() -> WorkerConns {
    conns_with(QueueLimits::default())
}

/// [`conns`] with its queues bounded by `queues`.
fn conns_with(queues: QueueLimits) -> WorkerConns {
    WorkerConns::new(
        WorkerDial {
            url: tokio::sync::watch::channel("http://127.0.0.1:1".to_owned()).1,
            credential: crate::client::credential::Credential::new("t".into(), None),
            trust: Trust::default(),
            max_message: 1 << 20,
            history: HistoryScope::Full,
            read_buffer: crate::defaults::WS_READ_BUFFER,
        },
        queues,
    )
}

fn output(w: &str, offset: u64, bytes: &'static [u8]) -> ClientEvent {
    ClientEvent::Worker {
        session: SessionId::new("s"),
        worker: WorkerId::new(w),
        report: WorkerReport::Output { offset, bytes: bytes::Bytes::from_static(bytes) },
    }
}

#[tokio::test]
async fn tiles_ask_for_the_screen_and_the_watched_view_for_the_full_history() {
    use HistoryScope::{Full, Screen};
    let mut c = conns();
    c.tiles(vec![key("a"), key("b")]);
    assert_eq!(c.scopes(), [(key("a"), Screen), (key("b"), Screen)]);
    // Attaching to tile a: its screen-only socket is replaced by a full one.
    c.watch(Some(key("a")));
    assert_eq!(c.scopes(), [(key("a"), Full), (key("b"), Screen)]);
    // Back on the wall: a's tile keeps the full socket it has, no reconnect.
    c.tiles(vec![key("a"), key("b")]);
    c.watch(None);
    assert_eq!(c.scopes(), [(key("a"), Full), (key("b"), Screen)]);
    // A page without a: its socket closes; watching b replaces b's with a full one.
    c.tiles(vec![key("b")]);
    assert_eq!(c.scopes(), [(key("b"), Screen)]);
    c.watch(Some(key("b")));
    assert_eq!(c.scopes(), [(key("b"), Full)]);
    // A tile of the watched worker shares its full socket.
    c.tiles(vec![key("b"), key("c")]);
    assert_eq!(c.scopes(), [(key("b"), Full), (key("c"), Screen)]);
}

#[tokio::test]
async fn a_flooding_socket_cannot_hold_back_another_sockets_report() {
    let mut c = conns();
    let flood = c.insert_fake(key("flood"));
    let calm = c.insert_fake(key("calm"));
    // The flood keeps its queue full, as a socket task reading a flood does.
    let flooding = tokio::spawn(async move {
        let mut offset = 0;
        while flood.send(output("flood", offset, b"flood-line\r\n")).await.is_ok() {
            offset += 12;
        }
    });
    let full = tokio::time::timeout(DEADLINE, async {
        while c.open[0].1.reports.len() < c.queues.worker_reports {
            tokio::task::yield_now().await;
        }
    });
    full.await.expect("the flood filled its queue");
    calm.send(output("calm", 0, b"MARK")).await.expect("queued");
    // Taken in turn: the calm socket's report comes after at most one of the flood's, however
    // many the flood has waiting (both ways of taking them).
    let mut before = 0;
    loop {
        let event = if before % 2 == 0 {
            tokio::time::timeout(DEADLINE, c.next_report()).await.expect("a report")
        } else {
            c.try_report().expect("a report waiting")
        };
        if matches!(&event, ClientEvent::Worker { worker, .. } if worker.as_str() == "calm") {
            break;
        }
        before += 1;
        assert!(before <= 1, "the calm socket's report waited behind {before} of the flood's");
    }
    // And the flood goes on being taken after it.
    let next = tokio::time::timeout(DEADLINE, c.next_report()).await.expect("a report");
    assert!(matches!(&next, ClientEvent::Worker { worker, .. } if worker.as_str() == "flood"), "{next:?}");
    flooding.abort();
}

#[tokio::test]
async fn a_full_send_queue_refuses_instead_of_growing() {
    let mut c = conns();
    let _reports = c.insert_fake(key("a"));
    c.watched = Some(key("a"));
    for _ in 0..c.queues.worker_sends {
        assert_eq!(c.send(WorkerSend::Input { bytes: b"x".to_vec() }), Ok(()));
    }
    assert_eq!(c.send(WorkerSend::Input { bytes: b"x".to_vec() }), Err(SendError::Full));
}

#[tokio::test]
async fn the_configured_queue_bounds_are_the_ones_applied() {
    let mut c = conns_with(QueueLimits { worker_reports: 2, worker_sends: 3, app_sends: 1, events: 16 });
    // A real socket task's queues are opened with the configured bounds.
    c.tiles(vec![key("real")]);
    assert_eq!(c.open[0].1.out.max_capacity(), 3);
    assert_eq!(c.open[0].1.reports.max_capacity(), 2);
    // And a socket that takes nothing refuses the fourth message typed.
    let _reports = c.insert_fake(key("a"));
    c.watched = Some(key("a"));
    for _ in 0..3 {
        assert_eq!(c.send(WorkerSend::Input { bytes: b"x".to_vec() }), Ok(()));
    }
    assert_eq!(c.send(WorkerSend::Input { bytes: b"x".to_vec() }), Err(SendError::Full));
}
