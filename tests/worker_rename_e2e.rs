//! End-to-end: `PATCH /api/sessions/{id}/workers/{wid}` renames a worker; clients see it in a
//! `session-updated` delta; an empty name or one another worker of the session has is refused.

mod support;

use serde_json::json;
use support::Gateway;

#[tokio::test]
async fn a_worker_is_renamed_once_and_names_stay_unique() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(dir.path(), &[]);
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let (sid, wid) = gw.session_with("api", Some(&["sleep", "30"])).await;
    let (status, second) = gw
        .http(
            "POST",
            &format!("/api/sessions/{sid}/workers"),
            Some(json!({"command": ["sleep", "30"], "name": "tests"})),
        )
        .await;
    assert_eq!(status, 201, "{second}");

    let path = format!("/api/sessions/{sid}/workers/{wid}");
    let (status, worker) = gw.http("PATCH", &path, Some(json!({"name": " server "}))).await;
    assert_eq!((status, worker["name"].as_str()), (200, Some("server")), "{worker}");
    app.until(|v| {
        v["type"] == "session-updated"
            && v["session"]["workers"]
                .as_array()
                .is_some_and(|ws| ws.iter().any(|w| w["id"] == wid.as_str() && w["name"] == "server"))
    })
    .await;

    for name in ["", "tests"] {
        let (status, body) = gw.http("PATCH", &path, Some(json!({ "name": name }))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid")), "{name:?}: {body}");
    }
    let (_, session) = gw.http("GET", &format!("/api/sessions/{sid}"), None).await;
    assert_eq!(session["workers"][0]["name"], "server", "{session}");
}
