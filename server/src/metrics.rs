//! Prometheus metrics (`GET /metrics`, token required), recorded with the `metrics` facade and
//! rendered by `metrics-exporter-prometheus` from an axum route (no listener of its own).
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder): a process running
//! several gateways, as some tests do, reports their sum.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// WebSocket connections accepted, by `endpoint` (`app`, `worker`).
pub const CONNECTIONS: &str = "controlroom_connections_total";
/// WebSocket connections open now, by `endpoint`.
pub const CONNECTIONS_OPEN: &str = "controlroom_connections_open";
/// Connections the gateway ended, by `reason` (`heartbeat_timeout`, `backpressure_limit`).
pub const TERMINATIONS: &str = "controlroom_connection_terminations_total";
/// Deltas produced, by `type`.
pub const DELTAS: &str = "controlroom_deltas_total";
/// Bytes of deltas pushed to `/ws/app` clients (one count per client).
pub const BROADCAST_BYTES: &str = "controlroom_broadcast_bytes_total";
/// Seconds one poll tick took to start (git reads and sources run off the hub and are timed in
/// `controlroom_poll_read_seconds`).
pub const POLL_SECONDS: &str = "controlroom_poll_duration_seconds";
/// Seconds the off-hub reads of one poll took (git state of every cwd).
pub const POLL_READ_SECONDS: &str = "controlroom_poll_read_seconds";
/// Seconds one source read took, by `source`.
pub const SOURCE_READ_SECONDS: &str = "controlroom_source_read_seconds";
/// Seconds spent diffing state into deltas.
pub const DELTA_COMPUTE_SECONDS: &str = "controlroom_delta_compute_seconds";
/// Workers by `state` (`running`, `exited`).
pub const WORKERS: &str = "controlroom_workers";
/// Workers by `activity` state.
pub const WORKER_ACTIVITY: &str = "controlroom_worker_activity";
/// PTY bytes, by `direction` (`in`: typed into workers, `out`: read from them).
pub const PTY_BYTES: &str = "controlroom_pty_bytes_total";
/// Webhook deliveries that succeeded.
pub const WEBHOOK_DELIVERIES: &str = "controlroom_webhook_deliveries_total";
/// Webhook attempts that failed (each retry counts).
pub const WEBHOOK_FAILURES: &str = "controlroom_webhook_failures_total";
/// Webhook deliveries dropped (queue full, or every attempt failed).
pub const WEBHOOK_DROPS: &str = "controlroom_webhook_dropped_total";

/// Histogram buckets (seconds) for the timing metrics.
const BUCKETS: &[f64] = &[0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The two [`PTY_BYTES`] counters, looked up once the recorder is installed: `counter!` hashes
/// its name and labels into the registry on every call, twice per echoed keystroke.
struct PtyCounters {
    input: metrics::Counter,
    output: metrics::Counter,
}

static PTY: OnceLock<PtyCounters> = OnceLock::new();

/// Counts `n` bytes typed into a worker's PTY ([`PTY_BYTES`], `direction="in"`).
pub fn pty_bytes_in(n: u64) {
    match PTY.get() {
        Some(c) => c.input.increment(n),
        // Before `handle` (tests, library use without the route): whatever recorder there is.
        None => metrics::counter!(PTY_BYTES, "direction" => "in").increment(n),
    }
}

/// Counts `n` bytes read from a worker's PTY ([`PTY_BYTES`], `direction="out"`).
pub fn pty_bytes_out(n: u64) {
    match PTY.get() {
        Some(c) => c.output.increment(n),
        None => metrics::counter!(PTY_BYTES, "direction" => "out").increment(n),
    }
}

/// Installs the process-wide recorder on first use; returns the handle that renders it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder =
            PrometheusBuilder::new().set_buckets(BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        describe();
        // After the recorder: a counter taken before it would count nowhere.
        let _ = PTY.set(PtyCounters {
            input: metrics::counter!(PTY_BYTES, "direction" => "in"),
            output: metrics::counter!(PTY_BYTES, "direction" => "out"),
        });
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(CONNECTIONS, "WebSocket connections accepted, by endpoint");
    describe_gauge!(CONNECTIONS_OPEN, "WebSocket connections open, by endpoint");
    describe_counter!(TERMINATIONS, "Connections ended by the gateway, by reason");
    describe_counter!(DELTAS, "Deltas produced, by type");
    describe_counter!(BROADCAST_BYTES, Unit::Bytes, "Delta bytes queued to /ws/app clients");
    describe_histogram!(POLL_SECONDS, Unit::Seconds, "Time the hub spent in one poll tick");
    describe_histogram!(POLL_READ_SECONDS, Unit::Seconds, "Time the off-hub git reads of one poll took");
    describe_histogram!(SOURCE_READ_SECONDS, Unit::Seconds, "Time one session-source read took");
    describe_histogram!(DELTA_COMPUTE_SECONDS, Unit::Seconds, "Time spent diffing state into deltas");
    describe_gauge!(WORKERS, "Workers by process state");
    describe_gauge!(WORKER_ACTIVITY, "Workers by activity state");
    describe_counter!(PTY_BYTES, Unit::Bytes, "PTY bytes by direction");
    describe_counter!(WEBHOOK_DELIVERIES, "Webhook deliveries that succeeded");
    describe_counter!(WEBHOOK_FAILURES, "Webhook attempts that failed");
    describe_counter!(WEBHOOK_DROPS, "Webhook deliveries dropped");
}
