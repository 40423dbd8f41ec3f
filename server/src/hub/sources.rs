//! Session sources (`[[sources]]`): sessions read from outside the gateway, the way the Jules
//! Control Room polls the Jules API. A source GETs a JSON document (`kind = "http"`) or runs a
//! command that prints one (`kind = "command"`); a dotted path finds the list, and dotted paths
//! the id, title and status of each item.
//!
//! Reads run off the hub (one task each, bounded by the source's timeout); the hub skips a source
//! whose previous read is still running, so a slow or failing source never stalls the poller or
//! the other sources.

use crate::file_config::{HeaderValue, SourceKind, SourceSection};
use crate::outbound::http_client::{self, Target};
use bytes::Bytes;
use controlroom_protocol::SessionId;
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

/// Default per-read timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest document a source may return.
pub const MAX_DOCUMENT: usize = 8 * 1024 * 1024;
/// Most items taken from one source.
pub const MAX_ITEMS: usize = 1000;

/// One session as a source describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceItem {
    /// The source's own id for it.
    pub id: String,
    /// Title (the id when the item has none).
    pub title: String,
    /// Status, if the item has one.
    pub status: Option<String>,
}

/// The gateway's id for item `id` of source `source`: `x-SOURCE-ID`, with characters outside
/// `[A-Za-z0-9_-]` of the item id written as `.XX` (hex) so ids stay URL-safe and distinct.
pub fn session_id(source: &str, id: &str) -> SessionId {
    let mut out = format!("x-{source}-");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!(".{b:02x}"));
        }
    }
    SessionId::new(out)
}

/// Why a source read failed; its text is the source status's `error`.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The read took longer than the source's timeout.
    #[error("timed out after {ms} ms")]
    TimedOut {
        /// The timeout.
        ms: u128,
    },
    /// The document did not parse.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// An `http` source without a URL.
    #[error("no url")]
    NoUrl,
    /// The request failed (the HTTP client's own message).
    #[error("{0}")]
    Http(String),
    /// A header takes its value from an unset environment variable.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The server answered with an error status.
    #[error("GET {url} answered {status}")]
    Status {
        /// The URL read.
        url: String,
        /// What it answered.
        status: http::StatusCode,
    },
    /// A `command` source with no program.
    #[error("empty command")]
    EmptyCommand,
    /// The program could not be run, read or waited for.
    #[error("{what}: {source}")]
    Io {
        /// What was being done (`could not run gh`).
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The program exited unsuccessfully; `detail` is `: ` and its first stderr line, or empty.
    #[error("{program} failed ({status}){detail}")]
    Failed {
        /// The program.
        program: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// `: why`, or empty.
        detail: String,
    },
    /// The program printed more than a document may hold.
    #[error("{program} printed more than {MAX_DOCUMENT} bytes")]
    TooLong {
        /// The program.
        program: String,
    },
    /// The document has no list at the source's `list` path.
    #[error("no `{0}` in the document")]
    NoList(String),
    /// What is at `list` is not a list.
    #[error("`{0}` is not a list")]
    NotAList(String),
    /// An item without an id.
    #[error("item {index} has no `{path}` (string or number)")]
    NoId {
        /// The item's position.
        index: usize,
        /// The id path.
        path: String,
    },
    /// Two items with one id.
    #[error("two items have the id {0:?}")]
    DuplicateId(String),
}

/// Reads `source` once, within its timeout. `http` is the source's URL with its TLS trust, built
/// once at start (`Target::new`); without it the URL is parsed with the web PKI roots only.
pub async fn read(source: &SourceSection, http: Option<&Target>) -> Result<Vec<SourceItem>, SourceError> {
    let timeout = source.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let doc = tokio::time::timeout(timeout, fetch(source, http))
        .await
        .map_err(|_| SourceError::TimedOut { ms: timeout.as_millis() })??;
    let doc: Value = serde_json::from_slice(&doc).map_err(SourceError::NotJson)?;
    extract(source, &doc)
}

async fn fetch(source: &SourceSection, http: Option<&Target>) -> Result<Bytes, SourceError> {
    match source.kind {
        SourceKind::Http => {
            let url = source.url.as_deref().ok_or(SourceError::NoUrl)?;
            let parsed;
            let target = match http {
                Some(t) => t,
                None => {
                    parsed = Target::parse(url).map_err(|e| SourceError::Http(e.to_string()))?;
                    &parsed
                }
            };
            let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
            for (k, v) in &source.headers {
                let value = match v {
                    HeaderValue::Literal(s) => s.clone(),
                    HeaderValue::Env { env, prefix } => {
                        let secret = std::env::var(env).map_err(|_| SourceError::MissingEnv(env.clone()))?;
                        format!("{prefix}{secret}")
                    }
                };
                headers.push((k.clone(), value));
            }
            let (status, body) =
                http_client::send(target, http::Method::GET, &headers, Bytes::new(), MAX_DOCUMENT)
                    .await
                    .map_err(SourceError::Http)?;
            if !status.is_success() {
                return Err(SourceError::Status { url: url.to_owned(), status });
            }
            Ok(body)
        }
        SourceKind::Command => {
            let argv = source.command.as_ref().map(|c| c.argv()).unwrap_or_default();
            let (program, args) = argv.split_first().ok_or(SourceError::EmptyCommand)?;
            let mut command = tokio::process::Command::new(program);
            // Like workers, source commands never see the gateway's own secrets.
            for (name, _) in std::env::vars_os() {
                if name.to_str().is_some_and(crate::worker::env::is_gateway_secret) {
                    command.env_remove(&name);
                }
            }
            let mut child = command
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // A read that times out drops this future: the child goes with it.
                .kill_on_drop(true)
                .spawn()
                .map_err(|source| SourceError::Io { what: format!("could not run {program}"), source })?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let (out, err) = (child.stdout.take(), child.stderr.take());
            let read_out = async {
                if let Some(o) = out {
                    o.take(MAX_DOCUMENT as u64 + 1).read_to_end(&mut stdout).await.map(|_| ())
                } else {
                    Ok(())
                }
            };
            let read_err = async {
                if let Some(e) = err {
                    e.take(64 * 1024).read_to_end(&mut stderr).await.map(|_| ())
                } else {
                    Ok(())
                }
            };
            let (r1, r2) = tokio::join!(read_out, read_err);
            r1.and(r2)
                .map_err(|source| SourceError::Io { what: format!("reading {program}'s output"), source })?;
            let status = child
                .wait()
                .await
                .map_err(|source| SourceError::Io { what: format!("waiting for {program}"), source })?;
            if !status.success() {
                let why = String::from_utf8_lossy(&stderr);
                let why = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                return Err(SourceError::Failed {
                    program: program.clone(),
                    status,
                    detail: if why.is_empty() { String::new() } else { format!(": {why}") },
                });
            }
            if stdout.len() > MAX_DOCUMENT {
                return Err(SourceError::TooLong { program: program.clone() });
            }
            Ok(Bytes::from(stdout))
        }
    }
}

/// Follows a dotted path (`data.items`, `0.id`); `""` is the value itself.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').filter(|p| !p.is_empty()).try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The items of `doc` as `source` describes them.
pub fn extract(source: &SourceSection, doc: &Value) -> Result<Vec<SourceItem>, SourceError> {
    let list = at(doc, &source.list)
        .ok_or_else(|| SourceError::NoList(source.list.clone()))?
        .as_array()
        .ok_or_else(|| {
            let what = if source.list.is_empty() { "the document" } else { &source.list };
            SourceError::NotAList(what.to_owned())
        })?;
    let id_path = source.id.as_deref().unwrap_or("id");
    let title_path = source.title.as_deref().unwrap_or("title");
    let status_path = source.status.as_deref().unwrap_or("status");
    let mut items = Vec::with_capacity(list.len().min(MAX_ITEMS));
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in list.iter().take(MAX_ITEMS).enumerate() {
        let id = at(item, id_path)
            .and_then(scalar)
            .ok_or_else(|| SourceError::NoId { index: i, path: id_path.to_owned() })?;
        if !seen.insert(id.clone()) {
            return Err(SourceError::DuplicateId(id));
        }
        let title = at(item, title_path).and_then(scalar).unwrap_or_else(|| id.clone());
        let status = at(item, status_path).and_then(scalar);
        items.push(SourceItem { id, title, status });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_config::CommandLine;

    fn source(list: &str, id: Option<&str>) -> SourceSection {
        SourceSection {
            name: "s".into(),
            kind: SourceKind::Command,
            url: None,
            ca_file: None,
            headers: Default::default(),
            command: Some(CommandLine::Line("true".into())),
            list: list.into(),
            id: id.map(Into::into),
            title: None,
            status: Some("state.name".into()),
            timeout_ms: Some(2000),
            interval_ms: None,
        }
    }

    #[test]
    fn items_are_found_by_dotted_paths() {
        let doc = serde_json::json!({"data": {"items": [
            {"number": 12, "title": "Fix it", "state": {"name": "OPEN"}},
            {"number": 13, "state": {"name": "MERGED"}},
        ]}});
        let items = extract(&source("data.items", Some("number")), &doc).expect("items");
        assert_eq!(
            items,
            vec![
                SourceItem { id: "12".into(), title: "Fix it".into(), status: Some("OPEN".into()) },
                SourceItem { id: "13".into(), title: "13".into(), status: Some("MERGED".into()) },
            ]
        );
        assert!(
            extract(&source("data.nope", None), &doc)
                .expect_err("missing")
                .to_string()
                .contains("no `data.nope`")
        );
        assert!(
            extract(&source("data", None), &doc).expect_err("object").to_string().contains("is not a list")
        );
        assert!(
            extract(&source("data.items", None), &doc)
                .expect_err("no id")
                .to_string()
                .contains("item 0 has no `id`")
        );
    }

    #[test]
    fn ids_are_url_safe_and_distinct() {
        assert_eq!(session_id("gh", "12").as_str(), "x-gh-12");
        assert_eq!(session_id("gh", "a/b c").as_str(), "x-gh-a.2fb.20c");
        assert_ne!(session_id("gh", "a.2f"), session_id("gh", "a/"));
    }

    #[tokio::test]
    async fn commands_are_read_and_failures_explained() {
        let mut s = source("", None);
        s.command = Some(CommandLine::Argv(vec![
            "sh".into(),
            "-c".into(),
            r#"echo '[{"id":"a","title":"A"}]'"#.into(),
        ]));
        assert_eq!(read(&s, None).await.expect("read")[0].title, "A");
        s.command = Some(CommandLine::Argv(vec![
            "sh".into(),
            "-c".into(),
            "echo 'gh: not logged in' >&2; exit 3".into(),
        ]));
        let e = read(&s, None).await.expect_err("fails").to_string();
        assert!(e.contains("sh failed") && e.contains("not logged in"), "{e}");
        s.command = Some(CommandLine::Argv(vec!["sh".into(), "-c".into(), "sleep 5".into()]));
        s.timeout_ms = Some(100);
        assert!(read(&s, None).await.expect_err("slow").to_string().contains("timed out"));
        s.command = Some(CommandLine::Line("/nonexistent/prog".into()));
        assert!(read(&s, None).await.expect_err("missing").to_string().contains("could not run"));
    }
}
