//! The worker's clients: who is attached (or attaching), their ids, and the history snapshots
//! requested for the ones attaching. The fan-out of output to them is in `fanout`.

use crate::outbox::OutboxSender;
use crate::worker::{ClientId, HistorySnapshot, OutputFormat};
use controlroom_protocol::HistoryScope;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use std::collections::HashMap;
use tokio::sync::oneshot;

/// One attached (or attaching) client.
pub(super) struct Client {
    pub(super) outbox: OutboxSender,
    /// How its `output` is framed.
    pub(super) format: OutputFormat,
    /// How much its `history` redraws (`?history=screen`: no scrollback).
    pub(super) history: HistoryScope,
    /// The client's last `resize`.
    pub(super) size: Option<(u16, u16)>,
    /// Set once `history` is queued; until then the client gets no live output.
    pub(super) attached: bool,
    /// Answers `attach` once `history` is queued.
    pub(super) reply: Option<oneshot::Sender<ClientId>>,
}

/// A snapshot requested for an attaching client, with the ring offset pinned for its catch-up.
pub(super) type SnapshotFuture = BoxFuture<'static, (ClientId, u64, Option<HistorySnapshot>)>;

/// The clients of one worker.
pub(super) struct Clients {
    pub(super) by_id: HashMap<ClientId, Client>,
    /// The id the next client gets (ids are never reused).
    next_client: u64,
    /// Snapshots requested for attaching clients, in flight to the screen thread.
    pub(super) snapshots: FuturesUnordered<SnapshotFuture>,
}

impl Default for Clients {
    fn default() -> Self {
        Self { by_id: HashMap::new(), next_client: 1, snapshots: FuturesUnordered::new() }
    }
}

impl Clients {
    /// Adds a client under a new id.
    pub(super) fn add(&mut self, client: Client) -> ClientId {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        self.by_id.insert(id, client);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{OutFrame, OutboxReceiver, outbox};
    use controlroom_protocol::WorkerServerMsg;

    fn client(format: OutputFormat, attached: bool) -> (Client, OutboxReceiver) {
        let (tx, rx) = outbox(1 << 20);
        (Client { outbox: tx, format, history: HistoryScope::Full, size: None, attached, reply: None }, rx)
    }

    async fn next(rx: &mut OutboxReceiver) -> OutFrame {
        rx.recv().await.expect("a frame")
    }

    #[test]
    fn ids_are_never_reused() {
        let mut clients = Clients::default();
        let a = clients.add(client(OutputFormat::Json, true).0);
        clients.by_id.remove(&a);
        let b = clients.add(client(OutputFormat::Json, true).0);
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn output_goes_to_attached_clients_in_their_format() {
        let mut clients = Clients::default();
        let (json, mut json_rx) = client(OutputFormat::Json, true);
        let (binary, mut binary_rx) = client(OutputFormat::Binary, true);
        let (waiting, _waiting_rx) = client(OutputFormat::Json, false);
        clients.add(json);
        clients.add(binary);
        let waiting = clients.add(waiting);
        clients.broadcast_output(Some((b"hi\xe2", 10)), b"hi", 10);
        match next(&mut json_rx).await {
            OutFrame::Text(t) => assert!(t.as_str().contains(r#""data":"hi""#), "{}", t.as_str()),
            _ => panic!("a JSON client gets text"),
        }
        assert!(matches!(next(&mut binary_rx).await, OutFrame::Binary(_)), "a binary client gets raw bytes");
        assert_eq!(
            clients.by_id[&waiting].outbox.queued_bytes(),
            0,
            "no live output before `history` is queued"
        );
        clients.broadcast(&WorkerServerMsg::Exit { exit_code: Some(0), signal: None });
        assert!(matches!(next(&mut json_rx).await, OutFrame::Text(_)));
        assert!(matches!(next(&mut binary_rx).await, OutFrame::Text(_)), "`exit` is JSON for every client");
    }
}
