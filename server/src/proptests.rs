//! Property tests (proptest, a bounded number of cases so they run in CI): the delta engine's
//! contract, replay from any seq, the UTF-8 chunker, and client message validation. The same
//! code is the target of the cargo-fuzz targets in `fuzz/`.

use crate::api::validate::{decode_image, parse_app_msg, parse_worker_msg};
use crate::hub::diff::{ActivityMap, SessionMap, apply, diff};
use crate::worker::size::DEFAULT_MAX_TERMINAL_SIZE as DEFAULT_MAX;
use crate::worker::utf8::{Utf8Splitter, decode};
use controlroom_protocol::{
    ActivityState, CreateSession, MAX_IMAGE_BYTES, Session, SessionId, TERMINAL_DIM_RANGE, Worker,
    WorkerClientMsg, WorkerId, WorkerKind, WorkerState,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

fn worker(id: &str, cols: u16) -> Worker {
    Worker {
        id: WorkerId::new(id),
        name: id.into(),
        kind: WorkerKind::Shell,
        command: vec!["sh".into()],
        cwd: "/".into(),
        state: WorkerState::Running,
        exit_code: None,
        signal: None,
        pid: None,
        cols,
        rows: 24,
        started_at: "t".into(),
        preset: None,
        notification: None,
        prompt: None,
    }
}

fn activity_state() -> impl Strategy<Value = ActivityState> {
    prop_oneof![
        Just(ActivityState::Unknown),
        Just(ActivityState::Active),
        Just(ActivityState::Idle),
        Just(ActivityState::Exited),
    ]
}

/// Up to 4 sessions (ids from a small set so before/after overlap), each with up to 3 workers,
/// each with an activity.
fn snapshot() -> impl Strategy<Value = (SessionMap, ActivityMap)> {
    let session = ("[a-c]{0,2}", btree_set(0u8..4, 0..3), 1u16..3);
    btree_map(0u8..5, session, 0..4).prop_flat_map(|raw| {
        let mut sessions = SessionMap::new();
        let mut keys = Vec::new();
        for (n, (title, workers, cols)) in raw {
            let id = SessionId::new(format!("s{n}"));
            let workers: Vec<Worker> = workers.iter().map(|w| worker(&format!("w{n}{w}"), cols)).collect();
            keys.extend(workers.iter().map(|w| (id.clone(), w.id.clone())));
            let s = Session {
                id: id.clone(),
                title,
                cwd: "/".into(),
                repository: None,
                branch: None,
                created_at: "c".into(),
                updated_at: "u".into(),
                source: None,
                status: None,
                read_only: false,
                git: None,
                workers,
            };
            sessions.insert(id, s);
        }
        let n = keys.len();
        // As in the hub, every worker has an activity.
        (Just(sessions), Just(keys), vec(activity_state(), n..=n)).prop_map(|(sessions, keys, states)| {
            let activity: ActivityMap = keys.into_iter().zip(states).collect();
            (sessions, activity)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn applying_the_diff_of_a_and_b_to_a_gives_b((a, act_a) in snapshot(), (b, act_b) in snapshot()) {
        let events = diff(&a, &b, &act_a, &act_b);
        let (mut sessions, mut activity) = (a.clone(), act_a.clone());
        apply(&events, &mut sessions, &mut activity);
        prop_assert_eq!(sessions, b);
        prop_assert_eq!(activity, act_b);
        prop_assert!(diff(&a, &a, &act_a, &act_a).is_empty());
    }

    #[test]
    fn utf8_chunks_decode_to_exactly_the_whole_stream(
        bytes in prop_oneof![vec(any::<u8>(), 0..64), "\\PC{0,24}".prop_map(String::into_bytes)],
        cuts in vec(0usize..64, 0..8),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let mut splitter = Utf8Splitter::default();
        let (mut joined, mut text, mut prev) = (Vec::new(), String::new(), 0);
        for cut in cuts.into_iter().chain([bytes.len()]) {
            let chunk = splitter.split(&bytes[prev..cut]);
            prev = cut;
            if std::str::from_utf8(&bytes).is_ok() {
                prop_assert!(std::str::from_utf8(&chunk).is_ok(), "every chunk of valid input is valid");
            }
            text.push_str(&decode(&chunk));
            joined.extend(chunk);
        }
        let rest = splitter.flush();
        prop_assert!(rest.len() <= 3);
        text.push_str(&decode(&rest));
        joined.extend(rest);
        prop_assert_eq!(&joined, &bytes, "no byte lost, added or reordered");
        prop_assert_eq!(text, String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,80}", raw in vec(any::<u8>(), 0..80)) {
        let _ = parse_app_msg(&text);
        let _ = parse_worker_msg(&text, DEFAULT_MAX);
        let lossy = String::from_utf8_lossy(&raw);
        let _ = parse_app_msg(&lossy);
        let _ = parse_worker_msg(&lossy, DEFAULT_MAX);
    }

    #[test]
    fn worker_messages_round_trip_and_sizes_are_checked(
        data in "\\PC{0,40}", cols in any::<u16>(), rows in any::<u16>(), mime in "[a-z/]{0,12}",
    ) {
        for msg in [
            WorkerClientMsg::Input { data: data.clone() },
            WorkerClientMsg::Resize { cols, rows },
            WorkerClientMsg::Image { data: data.clone(), mime_type: mime.clone() },
        ] {
            let text = serde_json::to_string(&msg).expect("serialize");
            let parsed = parse_worker_msg(&text, DEFAULT_MAX);
            let in_range = TERMINAL_DIM_RANGE.contains(&cols) && TERMINAL_DIM_RANGE.contains(&rows);
            match (&msg, parsed) {
                (WorkerClientMsg::Resize { .. }, Err(e)) => {
                    prop_assert!(!in_range && !e.malformed && e.code == controlroom_protocol::error_code::BAD_MESSAGE)
                }
                (_, Ok(back)) => prop_assert_eq!(back, msg),
                (_, Err(e)) => prop_assert!(false, "valid message refused: {:?}", e),
            }
        }
    }

    #[test]
    fn image_checks_never_panic_and_accept_only_real_images(
        payload in vec(any::<u8>(), 0..48),
        prefix in prop_oneof![
            Just(b"\x89PNG\r\n\x1a\n".to_vec()), Just(b"\xff\xd8\xff".to_vec()), Just(b"GIF89a".to_vec()),
            Just(b"RIFF\0\0\0\0WEBP".to_vec()), Just(Vec::new()),
        ],
        mime in prop_oneof![
            Just("image/png"), Just("image/jpeg"), Just("image/gif"), Just("image/webp"), Just("text/html"),
        ],
        garble in any::<bool>(),
    ) {
        use base64::Engine as _;
        let bytes = [prefix, payload].concat();
        let mut data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        if garble {
            data.insert(data.len() / 2, '*');
        }
        if let Ok(img) = decode_image(&data, mime) {
            prop_assert!(!garble);
            prop_assert!(img.bytes.len() <= MAX_IMAGE_BYTES);
            prop_assert_eq!(&img.bytes, &bytes);
            let expected_ext = match mime { "image/png" => "png", "image/jpeg" => "jpg", "image/gif" => "gif", _ => "webp" };
            prop_assert_eq!(img.ext, expected_ext);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create(String),
    Rename(usize, String),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        "[a-z]{0,4}".prop_map(Op::Create),
        (any::<usize>(), "[a-z ]{0,4}").prop_map(|(i, t)| Op::Rename(i, t)),
        any::<usize>().prop_map(Op::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Replaying the log from any seq onto the state at that seq gives the live state, and seqs
    /// are strictly increasing, through the real hub and store.
    #[test]
    fn replay_from_any_seq_equals_the_live_state(ops in vec(op(), 1..20)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(replay_property(ops));
    }
}

async fn replay_property(ops: Vec<Op>) {
    use crate::hub::{HubDeps, start};
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = crate::ServeConfig::new(dir.path().to_path_buf());
    config.delta_log = 1000;
    let store = crate::store::Store::open(dir.path(), config.delta_log).expect("store");
    let ctx = crate::worker::WorkerContext {
        config: Arc::new(config.worker.clone()),
        backend: Arc::new(crate::worker::pty::PortablePty),
        poke: Arc::default(),
    };
    let hub =
        start(Arc::new(config), HubDeps { store: store.clone(), ctx, notifier: None }).await.expect("hub");
    let mut snapshots = vec![hub.list(None).await.expect("list")];
    let mut ids: Vec<SessionId> = Vec::new();
    for op in ops {
        match op {
            Op::Create(title) => {
                let req = CreateSession { title, cwd: Some("/tmp".into()), workers: None, worktree: None };
                if let Ok(s) = hub.create(req).await {
                    ids.push(s.id);
                }
            }
            Op::Rename(i, title) if !ids.is_empty() => {
                let _ = hub.rename(ids[i % ids.len()].clone(), title).await;
            }
            Op::Delete(i) if !ids.is_empty() => {
                let id = ids.remove(i % ids.len());
                hub.delete(id).await.expect("delete");
            }
            _ => {}
        }
        snapshots.push(hub.list(None).await.expect("list"));
    }
    let live = hub.list(None).await.expect("list");
    let as_map =
        |sessions: &[Session]| -> SessionMap { sessions.iter().map(|s| (s.id.clone(), s.clone())).collect() };
    let all = hub.deltas(0, None).await.expect("deltas");
    assert!(all.deltas.windows(2).all(|w| w[1].seq == w[0].seq + 1), "seq strictly increasing, no gaps");
    assert_eq!(all.deltas.last().map_or(0, |d| d.seq), live.seq);
    for snap in &snapshots {
        let replay = hub.deltas(snap.seq, None).await.expect("replay");
        let events: Vec<_> = replay.deltas.iter().map(|d| d.event.clone()).collect();
        let (mut sessions, mut activity) = (as_map(&snap.sessions), ActivityMap::new());
        apply(&events, &mut sessions, &mut activity);
        assert_eq!(sessions, as_map(&live.sessions), "replay from seq {}", snap.seq);
        assert_eq!(replay.seq, live.seq);
    }
    hub.shutdown().await;
    store.close().await;
}
