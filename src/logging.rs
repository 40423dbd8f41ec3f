//! tracing set-up: human text by default, or one JSON object per line with `time`, `level`,
//! `msg`, `target` and the event's fields at the top level.

use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Targets that log message payloads (tungstenite logs every frame it reads or writes, with its
/// bytes, at trace; hyper logs parsed heads) and are never logged, whatever the filter says:
/// terminal contents and passwords typed at a no-echo prompt travel in those frames.
pub const PAYLOAD_TARGETS: [&str; 5] =
    ["tungstenite", "tokio_tungstenite", "axum::extract::ws", "hyper", "hyper_util"];

/// Whether events of `target` may carry payload bytes (the target or one of its modules).
pub fn carries_payload(target: &str) -> bool {
    PAYLOAD_TARGETS
        .iter()
        .any(|t| target.strip_prefix(t).is_some_and(|rest| rest.is_empty() || rest.starts_with("::")))
}

fn keeps(meta: &tracing::Metadata<'_>) -> bool {
    !carries_payload(meta.target())
}

/// The filter every subscriber of this binary gets on top of its `EnvFilter`.
fn no_payload_targets() -> tracing_subscriber::filter::FilterFn<fn(&tracing::Metadata<'_>) -> bool> {
    tracing_subscriber::filter::filter_fn(keeps as fn(&tracing::Metadata<'_>) -> bool)
}

/// Installs the global subscriber writing to stderr; `filter` is an `EnvFilter` directive.
pub fn init(format: LogFormat, filter: &str) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log that cannot be written (stderr on a full disk) must not take the gateway down:
        // reporting that error would `eprintln!`, which panics in whichever task logged.
        .log_internal_errors(false)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests calling main twice) is harmless; ignore it.
    let _ = match format {
        LogFormat::Text => builder.finish().with(no_payload_targets()).try_init(),
        LogFormat::Json => builder.event_format(JsonLine).finish().with(no_payload_targets()).try_init(),
    };
}

/// Installs the global subscriber appending to `file` (the front end's log; the TUI owns the
/// terminal), filtered by `CONTROLROOM_LOG` and, like [`init`], never logging payload targets.
pub fn init_file(file: std::fs::File) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_from_env("CONTROLROOM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .finish()
        .with(no_payload_targets())
        .try_init();
}

struct JsonLine;

#[derive(Default)]
struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(key(field), serde_json::Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(key(field), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(key(field), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(key(field), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(key(field), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(key(field), value.into());
    }
}

fn key(field: &Field) -> String {
    match field.name() {
        "message" => "msg".into(),
        // `r#type` fields arrive with their raw-identifier prefix.
        name => name.trim_start_matches("r#").into(),
    }
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let mut line = serde_json::Map::new();
        line.insert("time".into(), jiff::Timestamp::now().to_string().into());
        line.insert("level".into(), event.metadata().level().as_str().to_ascii_lowercase().into());
        line.insert("msg".into(), fields.0.remove("msg").unwrap_or_default());
        line.insert("target".into(), event.metadata().target().into());
        line.extend(fields.0);
        writeln!(writer, "{}", serde_json::Value::Object(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_targets_and_their_modules_are_filtered_out_but_not_lookalikes() {
        for t in [
            "tungstenite",
            "tungstenite::protocol",
            "tokio_tungstenite::compat",
            "axum::extract::ws",
            "hyper::proto::h1",
            "hyper_util::server",
        ] {
            assert!(carries_payload(t), "{t}");
        }
        for t in ["controlroom_server::api::ws::conn", "axum::routing", "hyperfine", "controlroom"] {
            assert!(!carries_payload(t), "{t}");
        }
    }
}
