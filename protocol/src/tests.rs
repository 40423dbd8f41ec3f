//! Serde round trips and exact wire shapes for every message.

use super::*;
use serde_json::{Value, json};

fn sample_session() -> Session {
    Session {
        id: SessionId::new("s1"),
        title: "build".into(),
        cwd: "/tmp".into(),
        repository: Some("controlroom".into()),
        branch: None,
        created_at: "2026-11-21T00:00:00Z".into(),
        source: None,
        status: None,
        read_only: false,
        git: None,
        updated_at: "2026-11-21T00:00:01Z".into(),
        workers: vec![Worker {
            id: WorkerId::new("w1"),
            name: "sh".into(),
            kind: WorkerKind::Shell,
            command: vec!["/bin/sh".into()],
            cwd: "/tmp".into(),
            state: WorkerState::Exited,
            exit_code: Some(3),
            signal: None,
            pid: None,
            cols: 80,
            rows: 24,
            started_at: "2026-11-21T00:00:00Z".into(),
            preset: None,
            notification: None,
            prompt: None,
        }],
    }
}

fn round_trip<T>(value: &T) -> Value
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).expect("serialize");
    let back: T = serde_json::from_str(&text).expect("deserialize");
    assert_eq!(&back, value);
    serde_json::from_str(&text).expect("json")
}

#[test]
fn session_is_camel_case_and_omits_absent_fields() {
    let v = round_trip(&sample_session());
    assert_eq!(v["createdAt"], "2026-11-21T00:00:00Z");
    assert_eq!(v["workers"][0]["exitCode"], 3);
    assert_eq!(v["workers"][0]["state"], "exited");
    assert!(v.get("branch").is_none());
    assert!(v["workers"][0].get("pid").is_none());
}

#[test]
fn a_workers_notification_is_camel_case_optional_and_round_trips() {
    let mut s = sample_session();
    s.workers[0].notification = Some("build: done building".into());
    let v = round_trip(&s);
    assert_eq!(v["workers"][0]["notification"], "build: done building");
    let without = round_trip(&sample_session());
    assert!(without["workers"][0].get("notification").is_none(), "absent when there is none");
    let old: Worker = serde_json::from_value(json!({
        "id": "w1", "name": "sh", "kind": "shell", "command": [], "cwd": "/", "state": "running",
        "cols": 80, "rows": 24, "startedAt": "t"
    }))
    .expect("a worker from a gateway without the field");
    assert_eq!(old.notification, None);
}

#[test]
fn delta_has_type_beside_seq() {
    let delta = Delta {
        seq: 7,
        timestamp: "2026-11-21T00:00:02Z".into(),
        event: DeltaEvent::SessionDeleted { session_id: SessionId::new("s1"), before: sample_session() },
    };
    let v = round_trip(&delta);
    assert_eq!(v["type"], "session-deleted");
    assert_eq!(v["seq"], 7);
    assert_eq!(v["sessionId"], "s1");
    assert_eq!(v["before"]["title"], "build");
}

#[test]
fn app_server_messages_round_trip() {
    let msgs = vec![
        AppServerMsg::SessionsSync(SessionsSync {
            sessions: vec![sample_session()],
            activity_states: vec![ActivityEntry {
                session_id: SessionId::new("s1"),
                worker_id: WorkerId::new("w1"),
                activity_state: ActivityState::Idle,
            }],
            sources: vec![],
            seq: 4,
            epoch: "e".into(),
            timestamp: "t".into(),
        }),
        AppServerMsg::Replay(Replay { deltas: vec![], seq: 4 }),
        AppServerMsg::Error { code: "bad-message".into(), message: "nope".into() },
        AppServerMsg::Delta(Delta {
            seq: 5,
            timestamp: "t".into(),
            event: DeltaEvent::WorkerActivity {
                session_id: SessionId::new("s1"),
                worker_id: WorkerId::new("w1"),
                activity_state: ActivityState::Active,
            },
        }),
        AppServerMsg::Delta(Delta {
            seq: 6,
            timestamp: "t".into(),
            event: DeltaEvent::SessionUpdated {
                session_id: SessionId::new("s1"),
                session: sample_session(),
                before: sample_session(),
            },
        }),
    ];
    for m in &msgs {
        round_trip(m);
    }
    let sync = serde_json::to_value(&msgs[0]).expect("json");
    assert_eq!(sync["type"], "sessions-sync");
    assert_eq!(sync["activityStates"][0]["activityState"], "idle");
    let activity = serde_json::to_value(&msgs[3]).expect("json");
    assert_eq!(
        activity,
        json!({"type": "worker-activity", "seq": 5, "timestamp": "t", "sessionId": "s1",
               "workerId": "w1", "activityState": "active"})
    );
}

#[test]
fn app_client_messages_parse_exactly() {
    let full: AppClientMsg = serde_json::from_str(r#"{"type":"request-sync"}"#).expect("parse");
    assert_eq!(full, AppClientMsg::RequestSync { since: None });
    let since: AppClientMsg = serde_json::from_str(r#"{"type":"request-sync","since":12}"#).expect("parse");
    assert_eq!(since, AppClientMsg::RequestSync { since: Some(12) });
    assert!(serde_json::from_str::<AppClientMsg>(r#"{"type":"request-sink"}"#).is_err());
    assert!(serde_json::from_str::<AppClientMsg>(r#"{"type":"request-sync","extra":1}"#).is_err());
}

#[test]
fn worker_messages_round_trip() {
    for m in [
        WorkerServerMsg::History { data: "\u{1b}[H$ ".into(), cols: 80, rows: 24, offset: 10 },
        WorkerServerMsg::Output { data: "é".into(), offset: 10 },
        WorkerServerMsg::Exit { exit_code: Some(0), signal: None },
        WorkerServerMsg::Error { code: "invalid".into(), message: "m".into() },
        WorkerServerMsg::Gap { bytes: 4096, offset: 10 },
        WorkerServerMsg::Created { session: Box::new(sample_session()), worker_id: WorkerId::new("w1") },
    ] {
        round_trip(&m);
    }
    let created = serde_json::to_value(WorkerServerMsg::Created {
        session: Box::new(sample_session()),
        worker_id: WorkerId::new("w9"),
    })
    .expect("json");
    assert_eq!(created["type"], "created");
    assert_eq!(created["workerId"], "w9");
    assert_eq!(created["session"]["id"], sample_session().id.as_str());
    let gap = serde_json::to_value(WorkerServerMsg::Gap { bytes: 7, offset: 3 }).expect("json");
    assert_eq!(gap, json!({"type": "gap", "bytes": 7, "offset": 3}));
    let exit =
        serde_json::to_value(WorkerServerMsg::Exit { exit_code: Some(2), signal: None }).expect("json");
    assert_eq!(exit, json!({"type": "exit", "exitCode": 2}));
    for m in [
        WorkerClientMsg::Input { data: "ls\r".into() },
        WorkerClientMsg::Resize { cols: 100, rows: 30 },
        WorkerClientMsg::Image { data: "AAAA".into(), mime_type: "image/png".into() },
    ] {
        round_trip(&m);
    }
    let image: WorkerClientMsg =
        serde_json::from_str(r#"{"type":"image","data":"x","mimeType":"image/gif"}"#).expect("parse");
    assert!(matches!(image, WorkerClientMsg::Image { .. }));
    assert!(serde_json::from_str::<WorkerClientMsg>(r#"{"type":"resize","cols":-1,"rows":2}"#).is_err());
}

#[test]
fn exit_info_is_the_exit_message_on_the_wire() {
    for exit in [
        ExitInfo { exit_code: Some(2), signal: None },
        ExitInfo { exit_code: None, signal: Some("SIGKILL".into()) },
        ExitInfo::default(),
    ] {
        let fields = round_trip(&exit);
        let mut msg = serde_json::to_value(WorkerServerMsg::from(exit.clone())).expect("json");
        msg.as_object_mut().expect("object").remove("type");
        assert_eq!(fields, msg, "the exit message carries exactly these fields");
    }
    assert_eq!(ExitInfo { exit_code: Some(0), signal: None }.describe(), "exited with code 0");
    assert_eq!(ExitInfo { exit_code: None, signal: Some("SIGKILL".into()) }.describe(), "killed by SIGKILL");
    let stopped = ExitInfo { exit_code: None, signal: Some(GATEWAY_STOPPED.into()) };
    assert_eq!(stopped.describe(), "stopped with the gateway");
}

#[test]
fn http_bodies_reject_unknown_fields() {
    let ok: CreateSession =
        serde_json::from_str(r#"{"title":"t","workers":[{"command":["sh"]}]}"#).expect("parse");
    assert_eq!(ok.workers.as_ref().map(Vec::len), Some(1));
    assert!(serde_json::from_str::<CreateSession>(r#"{"title":"t","colour":1}"#).is_err());
    assert!(serde_json::from_str::<WorkerSpec>(r#"{"commandd":["sh"]}"#).is_err());
    let spec: WorkerSpec = serde_json::from_str(r#"{"kind":"agent","cols":120}"#).expect("parse");
    assert_eq!(spec.kind, Some(WorkerKind::Agent));
    let err =
        ApiErrorBody { error: ApiError { code: "not-found".into(), message: "no such session".into() } };
    assert_eq!(round_trip(&err)["error"]["code"], "not-found");
}

#[test]
fn config_shape() {
    let cfg = AppConfig {
        version: "0.1.0".into(),
        protocol: PROTOCOL_VERSION,
        epoch: "e".into(),
        ws_app: WS_APP_PATH.into(),
        ws_worker: WS_WORKER_PATH.into(),
        ws_new: Some(WS_NEW_PATH.into()),
        poll_interval_ms: 5000,
        heartbeat_ms: 30000,
    };
    let v = round_trip(&cfg);
    assert_eq!(v["wsWorker"], "/ws/session/{sessionId}/worker/{workerId}");
    assert_eq!(v["wsNew"], "/ws/new");
    // A gateway older than `/ws/new` does not name it; its config still parses.
    let mut old = v.clone();
    old.as_object_mut().expect("object").remove("wsNew");
    let parsed: AppConfig = serde_json::from_value(old).expect("parse");
    assert_eq!(parsed.ws_new, None);
    assert_eq!(v["pollIntervalMs"], 5000);
}

#[test]
fn preset_resume_args_are_optional_on_the_wire() {
    let agent = Preset {
        name: "claude".into(),
        command: vec!["claude".into()],
        kind: WorkerKind::Agent,
        origin: "builtin".into(),
        resume_args: vec!["--continue".into()],
    };
    assert_eq!(round_trip(&agent)["resumeArgs"], json!(["--continue"]));
    let shell = Preset { name: "shell".into(), command: vec![], resume_args: vec![], ..agent };
    assert!(round_trip(&shell).get("resumeArgs").is_none(), "omitted when empty");
    let old: Preset =
        serde_json::from_value(json!({"name": "x", "command": [], "kind": "shell", "origin": "config"}))
            .expect("a preset without resumeArgs still parses");
    assert!(old.resume_args.is_empty());
}

#[test]
fn delivery_modes_parse_from_their_query_values_and_nothing_else() {
    use crate::Delivery;
    for mode in [Delivery::Default, Delivery::Lossless] {
        assert_eq!(Delivery::parse(mode.as_str()), Some(mode));
    }
    assert_eq!(Delivery::default(), Delivery::Default);
    for bad in ["", "Lossless", "lossless ", "fast"] {
        assert_eq!(Delivery::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn history_scopes_parse_from_their_query_values_and_nothing_else() {
    use crate::HistoryScope;
    for scope in [HistoryScope::Full, HistoryScope::Screen] {
        assert_eq!(HistoryScope::parse(scope.as_str()), Some(scope));
    }
    assert_eq!(HistoryScope::default(), HistoryScope::Full);
    for bad in ["", "Screen", "screen ", "none"] {
        assert_eq!(HistoryScope::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn a_workers_prompt_is_camel_case_optional_and_round_trips() {
    let mut s = sample_session();
    s.workers[0].prompt = Some(Box::new(WorkerPrompt {
        question: "Do you want to proceed? ❯ 1. Yes  2. No".into(),
        answers: vec!["1".into(), "2".into()],
        enter: false,
        auto_answer: Some(AutoAnswer {
            answer: "1".into(),
            delay_ms: 3000,
            at: Some("2026-11-21T00:00:03Z".into()),
            off: false,
        }),
    }));
    let v = round_trip(&s);
    let p = &v["workers"][0]["prompt"];
    assert_eq!(p["question"], "Do you want to proceed? ❯ 1. Yes  2. No");
    assert_eq!(p["answers"], json!(["1", "2"]));
    assert!(p.get("enter").is_none(), "false is left out");
    assert_eq!(p["autoAnswer"], json!({"answer": "1", "delayMs": 3000, "at": "2026-11-21T00:00:03Z"}));
    let without = round_trip(&sample_session());
    assert!(without["workers"][0].get("prompt").is_none(), "absent while not asking");
    let old: Worker = serde_json::from_value(without["workers"][0].clone()).expect("old worker");
    assert_eq!(old.prompt, None);
    let yn: WorkerPrompt =
        serde_json::from_value(json!({"question": "Continue? [y/N]", "answers": ["y", "n"], "enter": true}))
            .expect("y/n prompt");
    assert!(yn.enter && yn.auto_answer.is_none());
}

#[test]
fn reply_bodies_round_trip_and_refuse_unknown_fields() {
    let v = round_trip(&ReplyRequest { text: "1".into(), literal: false });
    assert_eq!(v, json!({"text": "1"}));
    let v = round_trip(&ReplyRequest { text: "ls".into(), literal: true });
    assert_eq!(v, json!({"text": "ls", "literal": true}));
    assert!(serde_json::from_value::<ReplyRequest>(json!({"text": "y", "enter": true})).is_err());
    let v = round_trip(&ReplyResponse {
        question: Some("Continue? [y/N]".into()),
        sent: "y\r".into(),
        activity_state: ActivityState::Asking,
    });
    assert_eq!(v, json!({"question": "Continue? [y/N]", "sent": "y\r", "activityState": "asking"}));
    let v =
        round_trip(&ReplyResponse { question: None, sent: "\r".into(), activity_state: ActivityState::Idle });
    assert!(v.get("question").is_none());
    assert_eq!(round_trip(&AutoAnswerRequest { enabled: false }), json!({"enabled": false}));
    assert!(serde_json::from_value::<AutoAnswerRequest>(json!({})).is_err(), "enabled is required");
}

#[test]
fn a_sessions_git_object_has_the_exact_camel_case_names_and_is_optional() {
    let mut s = sample_session();
    assert!(round_trip(&s).get("git").is_none(), "absent outside a repository");
    s.git = Some(SessionGit {
        branch: "feat-x".into(),
        worktree: true,
        ahead: 2,
        behind: 0,
        changed_files: 5,
        insertions: 120,
        deletions: 8,
    });
    let v = round_trip(&s);
    assert_eq!(
        v["git"],
        json!({"branch": "feat-x", "worktree": true, "ahead": 2, "behind": 0, "changedFiles": 5,
               "insertions": 120, "deletions": 8})
    );
}

#[test]
fn create_session_takes_an_optional_worktree_and_refuses_unknown_fields() {
    let req: CreateSession =
        serde_json::from_value(json!({"title": "t", "worktree": {"branch": "feat-x", "base": "main"}}))
            .expect("parse");
    assert_eq!(req.worktree, Some(WorktreeRequest { branch: "feat-x".into(), base: Some("main".into()) }));
    let v = round_trip(&req);
    assert_eq!(v["worktree"], json!({"branch": "feat-x", "base": "main"}));
    let plain = round_trip(&CreateSession { title: "t".into(), ..CreateSession::default() });
    assert!(plain.get("worktree").is_none(), "old gateways never see the field");
    assert!(
        serde_json::from_value::<CreateSession>(json!({"title": "t", "worktree": {"branch": "b", "x": 1}}))
            .is_err()
    );
}

#[test]
fn a_diff_response_round_trips_and_says_truncated_only_when_it_is() {
    let d = DiffResponse { base: "main".into(), diff: "diff --git a/x b/x\n".into(), truncated: false };
    let v = round_trip(&d);
    assert_eq!(v, json!({"base": "main", "diff": "diff --git a/x b/x\n"}));
    let v = round_trip(&DiffResponse { truncated: true, ..d });
    assert_eq!(v["truncated"], true);
}
