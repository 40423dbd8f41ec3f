//! A restart and the exit it supersedes: a holder keeps a worker's exit until the store has
//! it, so a restart tells the holder (which then forgets the exit and ends) only once its caller
//! has committed the exit — never before, or a crash in between would lose it.

use super::pty::{GroupSignal, PortablePty, PtyBackend, PtyControl, PtyProcess};
use super::tests::{sh, wait_status};
use super::*;

/// What happened, in order: `spawn`, `ack`.
type Events = Arc<std::sync::Mutex<Vec<&'static str>>>;

/// In-process PTYs whose control acts like a holder's: it outlives the gateway and records
/// when the exit is acknowledged.
struct HolderLike(Events);

struct Control(Box<dyn PtyControl>, Events);

impl PtyControl for Control {
    fn pid(&self) -> Option<u32> {
        self.0.pid()
    }
    fn resize(&mut self, cols: u16, rows: u16) -> std::io::Result<()> {
        self.0.resize(cols, rows)
    }
    fn signal_group(&mut self, signal: GroupSignal) -> std::io::Result<()> {
        self.0.signal_group(signal)
    }
    fn outlives_gateway(&self) -> bool {
        true
    }
    fn ack_exit(&mut self) -> std::io::Result<()> {
        self.1.lock().expect("events").push("ack");
        Ok(())
    }
}

impl PtyBackend for HolderLike {
    fn spawn(&self, spec: &SpawnSpec) -> Result<PtyProcess, WorkerError> {
        self.0.lock().expect("events").push("spawn");
        match PortablePty.spawn(spec)? {
            PtyProcess::Threads(mut t) => {
                t.control = Box::new(Control(t.control, self.0.clone()));
                Ok(PtyProcess::Threads(t))
            }
            link => Ok(link),
        }
    }
}

#[tokio::test]
async fn a_restart_acknowledges_the_old_exit_only_once_it_is_recorded() {
    let events = Events::default();
    let ctx = WorkerContext {
        config: Arc::new(WorkerConfig::default()),
        backend: Arc::new(HolderLike(events.clone())),
        poke: Arc::new(Notify::new()),
    };
    let w = WorkerHandle::spawn(ctx, sh("exit 3")).expect("spawn");
    wait_status(&w, "the exit, unacknowledged", |s| s.exit.is_some() && s.exit_unacked).await;
    let seen = || events.lock().expect("events").clone();

    // Not recorded yet: refused, and the holder is not told.
    let refused = w.restart(sh("sleep 30"), false).await;
    assert!(matches!(refused, Err(WorkerError::Invalid(ref m)) if m.contains("not recorded")), "{refused:?}");
    assert_eq!(seen(), ["spawn"], "no acknowledgement before the exit is recorded");
    assert!(w.status().borrow().exit_unacked, "the exit still waits");

    // Recorded: the old exit is acknowledged first, then the new process starts.
    w.restart(sh("sleep 30"), true).await.expect("restart");
    assert_eq!(seen(), ["spawn", "ack", "spawn"]);
    wait_status(&w, "running again", |s| s.exit.is_none() && !s.exit_unacked).await;
    w.stop().await;
}
