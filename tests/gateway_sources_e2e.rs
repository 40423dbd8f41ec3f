//! End-to-end tests of session sources through the real binary: an http source served by the
//! test (with an API key from the environment) whose items are added, changed and removed, and a
//! command source that fails without holding up the other.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use support::Gateway;

/// The document the test's "API" serves; the test edits it.
type Doc = Arc<Mutex<Value>>;

async fn api(State(doc): State<Doc>, headers: HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer k-123") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body = doc.lock().map(|d| d.clone()).unwrap_or_default();
    axum::Json(body).into_response()
}

fn set(doc: &Doc, v: Value) {
    *doc.lock().expect("doc lock") = v;
}

#[tokio::test]
async fn http_source_items_become_read_only_sessions_and_a_failing_source_reports_its_error() {
    let doc: Doc = Arc::new(Mutex::new(json!({"data": {"sessions": [
        {"id": "a1", "title": "Refactor the parser", "state": "RUNNING"},
    ]}})));
    let app = axum::Router::new().route("/v1/sessions", axum::routing::get(api)).with_state(doc.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[sources]]
name = "jules"
kind = "http"
url = "http://{addr}/v1/sessions"
headers = {{ Authorization = {{ env = "TEST_JULES_KEY", prefix = "Bearer " }} }}
list = "data.sessions"
status = "state"
timeout-ms = 2000

[[sources]]
name = "prs"
kind = "command"
command = ["sh", "-c", "echo 'gh: authentication required' >&2; exit 4"]
"#
        ),
    )
    .expect("config");
    let gw = Gateway::start_with(
        &dir.path().join("data"),
        "127.0.0.1:0",
        &["--config", config.to_str().expect("utf-8"), "--poll-interval", "150ms"],
        &[("TEST_JULES_KEY", "k-123")],
    );
    let mut ws = gw.ws("/ws/app").await;
    let sync = ws.next_json().await;

    // Both sources report (in either order): jules's item arrives, prs's failure shows.
    // The sources are read as the gateway starts: what they said may already be in the sync.
    let mut created = sync["sessions"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["source"] == "jules"))
        .map(|s| json!({"sessionId": s["id"], "session": s}));
    let mut failed = sync["sources"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["name"] == "prs" && s["error"].is_string()))
        .map(|s| json!({"source": s}));
    let deadline = std::time::Instant::now() + support::DEADLINE;
    while created.is_none() || failed.is_none() {
        assert!(std::time::Instant::now() < deadline, "sources never reported");
        let v = ws.next_json().await;
        if v["type"] == "session-created" && v["session"]["source"] == "jules" {
            created = Some(v);
        } else if v["type"] == "source-updated" && v["name"] == "prs" && v["source"]["error"].is_string() {
            failed = Some(v);
        }
    }
    let (created, failed) = (created.expect("created"), failed.expect("failed"));
    let session = &created["session"];
    assert_eq!(session["title"], "Refactor the parser");
    assert_eq!((session["status"].as_str(), session["readOnly"].as_bool()), (Some("RUNNING"), Some(true)));
    let sid = created["sessionId"].as_str().expect("id").to_owned();
    assert_eq!(sid, "x-jules-a1");
    assert_eq!(failed["source"]["ok"], false);
    let error = failed["source"]["error"].as_str().expect("error");
    assert!(error.contains("exit status: 4") && error.contains("authentication required"), "{error}");
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    let jules = list["sources"].as_array().expect("sources").iter().find(|s| s["name"] == "jules").cloned();
    let jules = jules.expect("jules status");
    assert_eq!((jules["ok"].as_bool(), jules["sessionCount"].as_u64()), (Some(true), Some(1)), "{jules}");
    assert!(jules["lastSuccess"].as_str().is_some_and(|t| t.ends_with('Z')));

    // Read-only: no renames, deletes or workers.
    for (method, path, body) in [
        ("PATCH", format!("/api/sessions/{sid}"), Some(json!({"title": "x"}))),
        ("DELETE", format!("/api/sessions/{sid}"), None),
        ("POST", format!("/api/sessions/{sid}/workers"), Some(json!({}))),
    ] {
        let (status, err) = gw.http(method, &path, body).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (403, Some("read-only")),
            "{method} {path}: {err}"
        );
    }

    // Changed, added, removed: the same deltas as local sessions.
    set(
        &doc,
        json!({"data": {"sessions": [
            {"id": "a1", "title": "Refactor the parser", "state": "COMPLETED"},
            {"id": "b/2", "title": "Add tests"},
        ]}}),
    );
    let updated = ws.until(|v| v["type"] == "session-updated" && v["sessionId"] == sid.as_str()).await;
    assert_eq!(
        (updated["before"]["status"].as_str(), updated["session"]["status"].as_str()),
        (Some("RUNNING"), Some("COMPLETED"))
    );
    let added = ws.until(|v| v["type"] == "session-created" && v["session"]["source"] == "jules").await;
    assert_eq!(
        (added["sessionId"].as_str(), added["session"]["title"].as_str()),
        (Some("x-jules-b.2f2"), Some("Add tests"))
    );
    set(&doc, json!({"data": {"sessions": [{"id": "b/2", "title": "Add tests"}]}}));
    ws.until(|v| v["type"] == "session-deleted" && v["sessionId"] == sid.as_str()).await;

    // The API starts failing: the error shows, the sessions stay as last seen.
    set(&doc, json!({"oops": true}));
    let broken = ws
        .until(|v| v["type"] == "source-updated" && v["name"] == "jules" && v["source"]["ok"] == false)
        .await;
    assert!(broken["source"]["error"].as_str().is_some_and(|e| e.contains("data.sessions")), "{broken}");
    assert!(broken["source"]["lastSuccess"].is_string());
    let (_, list) = gw.http("GET", "/api/sessions", None).await;
    assert!(list["sessions"].as_array().expect("list").iter().any(|s| s["id"] == "x-jules-b.2f2"));
}
