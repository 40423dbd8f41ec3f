//! End-to-end: an OSC 9 notification's text reaches clients on the worker (`notification`), and a
//! client attaching to look at it (its first `resize`) ends the `asking` it raised.

mod support;

use serde_json::Value;
use support::Gateway;

fn notification_of(v: &Value, wid: &str) -> Option<Option<String>> {
    if v["type"] != "session-updated" {
        return None;
    }
    let workers = v["session"]["workers"].as_array()?;
    let w = workers.iter().find(|w| w["id"] == wid)?;
    Some(w["notification"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn a_notification_is_shown_on_the_worker_and_attaching_to_look_answers_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gateway::start_in(dir.path(), &[]);
    let mut app = gw.ws("/ws/app").await;
    app.next_json().await;
    let command = ["sh", "-c", r"sleep 0.3; printf '\033]9;done building\007'; exec sleep 30"];
    let (sid, wid) = gw.session_with("build", Some(&command)).await;

    app.until(|v| notification_of(v, &wid) == Some(Some("done building".into()))).await;
    let (_, sessions) = gw.http("GET", "/api/sessions", None).await;
    let worker = &sessions["sessions"][0]["workers"][0];
    assert_eq!(worker["notification"], "done building", "{sessions}");

    let mut attached = gw.ws(&format!("/ws/session/{sid}/worker/{wid}")).await;
    attached.until(|v| v["type"] == "history").await;
    attached.send_json(serde_json::json!({"type": "resize", "cols": 100, "rows": 30})).await;
    app.until(|v| notification_of(v, &wid) == Some(None)).await;
    app.until(|v| {
        v["type"] == "worker-activity" && v["workerId"] == wid.as_str() && v["activityState"] == "idle"
    })
    .await;
}
