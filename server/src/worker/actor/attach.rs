//! Attaching a client: the `history` snapshot from the screen thread, the output since it from
//! the ring, and `exit` when the worker has ended, queued in one actor step.

use super::{Actor, ClientId, encode};
use crate::outbox::OutFrame;
use crate::worker::HistorySnapshot;
use crate::worker::OutputFormat;
use crate::worker::screen::ScreenMsg;
use crate::worker::utf8::decode;
use controlroom_protocol::{WorkerServerMsg, encode_output};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

impl Actor {
    /// Asks the screen thread for a snapshot, pinning the ring from the offset it will have
    /// (everything sent to the screen so far: the ring's end less a split character's carried
    /// bytes) until it is answered; a small idle model's is taken at once, on this thread.
    pub(super) fn request_snapshot(&mut self, client: ClientId) {
        let Some(scope) = self.clients.by_id.get(&client).map(|c| c.history) else { return };
        let pin = self.output.ring.end() - self.output.utf8.carried_len() as u64;
        if !self.output.ring.pin(pin) {
            // Unreachable: the ring always holds more than a carried character. A missing pin
            // only costs a retry when the catch-up is gone.
            debug!(pin, ring_start = self.output.ring.start(), "catch-up offset not held");
        }
        if let Some(snap) = self.screen.snapshot_inline(scope) {
            // A new worker's (small, idle) model: no job to wait for, and so nothing emitted
            // since the pin, whose catch-up is then empty.
            self.attach_ready(client, pin, Some(snap));
            return;
        }
        let (reply, rx) = oneshot::channel();
        self.screen.send(ScreenMsg::Snapshot { reply, scope });
        self.clients.snapshots.push(Box::pin(async move { (client, pin, rx.await.ok()) }));
    }

    /// Queues `history`, the output since the snapshot and (if exited) `exit`, then subscribes
    /// the client; all within one actor step, so no output is missed or doubled.
    pub(super) fn attach_ready(&mut self, id: ClientId, pin: u64, snap: Option<HistorySnapshot>) {
        // Read the catch-up before the pin goes: the last pin lets the ring drop the bytes.
        let catch_up = match &snap {
            Some(s) if self.clients.by_id.contains_key(&id) => self.output.ring.since(s.offset),
            _ => None,
        };
        self.output.ring.unpin(pin);
        let Some(client) = self.clients.by_id.get_mut(&id) else { return };
        let Some(snap) = snap else {
            warn!("screen thread is gone; refusing attach");
            self.clients.by_id.remove(&id);
            return;
        };
        let Some(catch_up) = catch_up else {
            // The ring moved past the snapshot (only under extreme lag): take a fresh one.
            debug!(offset = snap.offset, ring_start = self.output.ring.start(), "snapshot too old; retrying");
            self.request_snapshot(id);
            return;
        };
        let mut frames = Vec::with_capacity(3);
        let history = WorkerServerMsg::History {
            data: snap.data,
            cols: snap.cols,
            rows: snap.rows,
            offset: snap.offset,
        };
        frames.extend(encode(&history).map(OutFrame::Text));
        if let Some((offset, bytes)) = self.gap {
            frames.extend(encode(&WorkerServerMsg::Gap { bytes, offset }).map(OutFrame::Text));
        }
        match client.format {
            OutputFormat::Json => {
                // The snapshot is on a character boundary (the screen is fed aligned bytes);
                // the carried tail of a split character goes out with the next output.
                let aligned = &catch_up[..catch_up.len().saturating_sub(self.output.utf8.carried_len())];
                if !aligned.is_empty() {
                    let msg = WorkerServerMsg::Output { data: decode(aligned), offset: snap.offset };
                    frames.extend(encode(&msg).map(OutFrame::Text));
                }
            }
            OutputFormat::Binary if !catch_up.is_empty() => {
                frames.push(OutFrame::Binary(encode_output(snap.offset, &catch_up).into()));
            }
            OutputFormat::Binary => {}
        }
        if let Some(exit) = &self.proc.exit {
            frames.extend(
                encode(&WorkerServerMsg::Exit { exit_code: exit.exit_code, signal: exit.signal.clone() })
                    .map(OutFrame::Text),
            );
        }
        // Attach-time frames go outside the client's `--max-client-buffer` cap: that cap is for
        // a client that stops reading live output, and a long history alone can pass it (the
        // client would be dropped on every attach, forever). They are bounded elsewhere, so the
        // worst case queued for one client is: the snapshot (`--scrollback` of formatted lines
        // plus one screen, JSON-escaped) + the ring catch-up (at most `--output-ring`) + the
        // live output after them, which is capped as usual (4008 past `--max-client-buffer`).
        let pushed = frames.into_iter().try_for_each(|f| client.outbox.push_uncapped(f));
        if let Some(reply) = client.reply.take() {
            let _ = reply.send(id);
        }
        match pushed {
            Ok(()) => {
                client.attached = true;
                info!(
                    client = id.0,
                    clientCount = self.clients.by_id.len(),
                    offset = snap.offset,
                    "client attached"
                );
            }
            Err(e) => {
                info!(client = id.0, error = %e, "client dropped while attaching");
                self.clients.by_id.remove(&id);
            }
        }
    }
}
