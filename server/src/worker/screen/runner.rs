//! Where a worker's screen model runs: on the runtime's blocking pool, only while it has work.
//!
//! Messages queue here; the first one into an empty queue starts one job on the blocking pool
//! (`spawn_blocking`), which applies everything queued, in order, and ends when the queue is
//! empty. So an idle worker has no thread of its own (a thread per worker cost the gateway a
//! stack and a task each, and a thousand idle workers a thousand threads), and at most one job
//! per worker runs at a time, so the model still sees the stream in order. The prompt scan
//! runs at the end of a job once `scan_interval` has passed since the last one; a change that
//! comes sooner arms one timer (a task, not a thread) that starts a job for the scan. Cold
//! scrolled-off rows are packed (`--scrollback-pack-after`) the same way: by the job that finds
//! the queue empty once no output came for that long, or by one the timer starts then. A small
//! batch the actor applies on its own thread (`try_apply_inline`, an echoed keystroke) neither
//! scans nor packs nor arms the timer there: all three would come before the echo is written (a
//! task spawned by the actor even runs before the connection task it woke, and pushes that one
//! to another thread). It tells the actor when that work is owed instead, and the actor asks for
//! it (`owed_work`) once the echo is out (BENCHMARKS.md issue 17, branch `gwkey`).
//!
//! The model is parsed off the runtime's worker threads as before: a flood's parsing never
//! delays another worker's echo on the runtime.

use super::{ScreenModel, ScreenMsg, ScreenReply, apply, feed, scan};
use crate::worker::detect::{ActivityRules, Observation};
#[cfg(test)]
use controlroom_protocol::HistoryScope;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::debug;

/// The model and what it reports to; touched only by the one running job.
pub(crate) struct Job {
    model: ScreenModel,
    rules: Arc<ActivityRules>,
    obs_tx: watch::Sender<Observation>,
    reply_tx: tokio::sync::mpsc::Sender<ScreenReply>,
    /// Niceness the applying thread takes (0: left alone).
    nice: i32,
    /// Changed since the last scan.
    dirty: bool,
    next_scan: Instant,
    /// Cold scrolled-off rows are packed once no output came for this long (zero: never).
    pack_after: Duration,
    /// When output last changed the model.
    last_output: Instant,
    /// Packed since the last output (so a job never packs twice for one quiet spell).
    packed: bool,
}

impl Job {
    /// The job state for `model`.
    pub(crate) fn new(
        model: ScreenModel,
        rules: Arc<ActivityRules>,
        obs_tx: watch::Sender<Observation>,
        reply_tx: tokio::sync::mpsc::Sender<ScreenReply>,
        nice: i32,
        pack_after: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            model,
            rules,
            obs_tx,
            reply_tx,
            nice,
            dirty: true,
            next_scan: now,
            pack_after,
            last_output: now,
            packed: false,
        }
    }

    /// The model changed: a scan is owed, and packing waits for the next quiet spell.
    fn changed(&mut self) {
        self.dirty = true;
        self.last_output = Instant::now();
        self.packed = false;
    }

    /// When the cold rows may be packed, if there are any to pack.
    fn pack_due(&self) -> Option<Instant> {
        (!self.pack_after.is_zero() && !self.packed && self.model.scrollback_packable())
            .then(|| self.last_output + self.pack_after)
    }
}

#[derive(Default)]
struct Queue {
    msgs: VecDeque<ScreenMsg>,
    /// A job is running (or about to): it will see every message queued now.
    running: bool,
    /// A scan timer is armed.
    timer: bool,
}

struct Runner {
    queue: Mutex<Queue>,
    job: Mutex<Job>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while applying leaves a model that may be half-fed; keep serving it rather than
    // lose the worker's screen.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sending side of a worker's screen model.
#[derive(Clone)]
pub(crate) struct ScreenSender(Target);

#[derive(Clone)]
enum Target {
    Runner(Arc<Runner>),
    /// No model (a restored worker whose screen could not be started): messages are dropped.
    Missing,
    /// Tests watch the messages themselves.
    #[cfg(test)]
    Channel(std::sync::mpsc::Sender<ScreenMsg>),
}

#[cfg(test)]
impl From<std::sync::mpsc::Sender<ScreenMsg>> for ScreenSender {
    fn from(tx: std::sync::mpsc::Sender<ScreenMsg>) -> Self {
        Self(Target::Channel(tx))
    }
}

impl ScreenSender {
    pub(super) fn start(job: Job) -> Self {
        Self(Target::Runner(Arc::new(Runner { queue: Mutex::new(Queue::default()), job: Mutex::new(job) })))
    }

    pub(super) fn missing() -> Self {
        Self(Target::Missing)
    }

    /// Queues `msg` for the model, starting a job if none runs. Never waits.
    pub(crate) fn send(&self, msg: ScreenMsg) {
        match &self.0 {
            Target::Runner(runner) => {
                let start = {
                    let mut q = lock(&runner.queue);
                    q.msgs.push_back(msg);
                    !std::mem::replace(&mut q.running, true)
                };
                if start {
                    start_job(runner.clone());
                }
            }
            Target::Missing => {}
            #[cfg(test)]
            Target::Channel(tx) => {
                let _ = tx.send(msg);
            }
        }
    }
}

impl ScreenSender {
    /// Applies a small output batch at once on the caller's thread when no job runs or waits:
    /// an echoed keystroke costs a few µs of parsing here, where a job would wake a thread of
    /// the blocking pool (a context switch per key). `false` when the bytes must be sent
    /// instead (a job is busy, so they queue behind it in order).
    pub(crate) fn try_apply_inline(&self, bytes: &[u8]) -> Inline {
        match &self.0 {
            Target::Runner(runner) => {
                {
                    let mut q = lock(&runner.queue);
                    if q.running || !q.msgs.is_empty() {
                        return Inline::Refused;
                    }
                    q.running = true;
                }
                // No job is applying (`running` was clear): the lock is free or about to be,
                // held only by a job's last bookkeeping.
                let mut job = lock(&runner.job);
                let Job { model, reply_tx, .. } = &mut *job;
                feed(model, bytes, reply_tx);
                job.changed();
                // Not scanned here: before the echo is written, every keystroke typed slower
                // than `scan_interval` paid for a scan (and the first ones on a thread for the
                // regex caches too).
                Inline::Applied { owed: drain(runner, job, Scan::Later) }
            }
            Target::Missing => Inline::Applied { owed: None },
            #[cfg(test)]
            Target::Channel(_) => Inline::Refused,
        }
    }

    /// Does the work an inline apply left ([`Inline::Applied`]'s `owed`), once it is due: a
    /// scan on the caller's thread (the actor's, after the echo is out), packing in a job (it
    /// may take a while). Nothing when a job is busy or waiting: it does that work itself.
    pub(crate) fn owed_work(&self) {
        let Target::Runner(runner) = &self.0 else { return };
        {
            let mut q = lock(&runner.queue);
            if q.running || !q.msgs.is_empty() {
                return;
            }
            q.running = true;
        }
        let job = lock(&runner.job);
        if job.pack_due().is_some_and(|at| Instant::now() >= at) {
            drop(job);
            start_job(runner.clone());
            return;
        }
        drain(runner, job, Scan::Here);
    }
}

/// What [`ScreenSender::try_apply_inline`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inline {
    /// A job is busy or waiting: the bytes must be sent, behind it.
    Refused,
    /// Applied. `owed`: from when a scan or packing is owed, which no job or timer will do; the
    /// caller asks for it with [`ScreenSender::owed_work`].
    Applied { owed: Option<Instant> },
}

impl ScreenSender {
    /// Takes a snapshot at once on the caller's thread when no job runs or waits and the model
    /// is small ([`ScreenModel::snapshot_is_small`]): attaching to a new worker then wakes no
    /// thread of the blocking pool. `None` otherwise (send [`ScreenMsg::Snapshot`] instead).
    pub(crate) fn try_snapshot_inline(
        &self,
        scope: controlroom_protocol::HistoryScope,
    ) -> Option<crate::worker::HistorySnapshot> {
        let Target::Runner(runner) = &self.0 else { return None };
        {
            let mut q = lock(&runner.queue);
            if q.running || !q.msgs.is_empty() {
                return None;
            }
            q.running = true;
        }
        // No job is applying (`running` was clear), as in `try_apply_inline`.
        let job = lock(&runner.job);
        let snap = job.model.snapshot_is_small().then(|| job.model.snapshot(scope));
        drain(runner, job, Scan::Here);
        snap
    }
}

/// Runs a job on the blocking pool (or, outside a runtime, a thread of its own).
fn start_job(runner: Arc<Runner>) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(move || run(&runner));
        }
        Err(_) => {
            let spawned = std::thread::Builder::new().name("cr-screen".into()).spawn({
                let runner = runner.clone();
                move || run(&runner)
            });
            if let Err(e) = spawned {
                debug!(error = %e, "could not start a screen job; its messages wait for the next");
                lock(&runner.queue).running = false;
            }
        }
    }
}

/// A job: applies everything queued, then scans if due.
fn run(runner: &Arc<Runner>) {
    let job = lock(&runner.job);
    take_niceness(job.nice);
    drain(runner, job, Scan::Here);
}

/// Whether [`drain`] does the scan and packing owed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Scans and packs when due, arms the timer for what is owed later.
    Here,
    /// Neither, nor arms the timer (the actor's inline apply): returns when that work is owed.
    Later,
}

/// Applies everything queued, then (`Scan::Here`) scans and packs if due and arms the scan timer
/// if either is owed later; with `Scan::Later` returns when it is owed instead. Ends with the
/// queue empty and `running` cleared.
fn drain(runner: &Arc<Runner>, mut job: MutexGuard<'_, Job>, scan_at: Scan) -> Option<Instant> {
    loop {
        let msg = {
            let mut q = lock(&runner.queue);
            match q.msgs.pop_front() {
                Some(msg) => msg,
                None => {
                    let now = Instant::now();
                    if scan_at == Scan::Here && job.dirty && now >= job.next_scan {
                        // Scans outside the queue's lock; messages queued meanwhile are seen by
                        // the next turn of this loop.
                        drop(q);
                        let Job { model, rules, obs_tx, .. } = &*job;
                        scan(model, rules, obs_tx);
                        job.dirty = false;
                        job.next_scan = now + job.rules.scan_interval;
                        continue;
                    }
                    let pack_due = job.pack_due();
                    if scan_at == Scan::Here && pack_due.is_some_and(|at| now >= at) {
                        // Caught up and quiet: pack outside the queue's lock.
                        drop(q);
                        job.packed = true;
                        let saved = job.model.pack_scrollback();
                        if saved > 0 {
                            // The buffers just freed sit between live blocks: give their pages back.
                            crate::worker::heap::release_free_memory();
                        }
                        debug!(saved, "scrollback packed");
                        continue;
                    }
                    q.running = false;
                    let wake = match (job.dirty.then_some(job.next_scan), pack_due) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    if scan_at == Scan::Later {
                        return wake;
                    }
                    let arm = wake.is_some() && !std::mem::replace(&mut q.timer, true);
                    drop(q);
                    if let (true, Some(at)) = (arm, wake) {
                        arm_timer(runner.clone(), at);
                    }
                    return None;
                }
            }
        };
        let Job { model, reply_tx, .. } = &mut *job;
        if apply(model, msg, reply_tx) {
            job.changed();
        }
    }
}

/// Starts a job at `at` for a scan owed then (unless one runs already).
fn arm_timer(runner: Arc<Runner>, at: Instant) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        // Outside a runtime (tests): no timer; the next message's job scans.
        lock(&runner.queue).timer = false;
        return;
    };
    rt.spawn(async move {
        tokio::time::sleep_until(at.into()).await;
        let start = {
            let mut q = lock(&runner.queue);
            q.timer = false;
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            start_job(runner);
        }
    });
}

thread_local! {
    /// The niceness this thread was given for screen jobs (0: never changed).
    static NICE: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Gives the current thread niceness `nice` (on Linux the nice value is per thread). It is not
/// raised back after the job: an unprivileged process may not raise a priority it lowered, so a
/// blocking-pool thread that ran a screen job keeps this niceness for whatever it runs next.
fn take_niceness(nice: i32) {
    if NICE.get() == nice {
        return;
    }
    match rustix::process::setpriority_process(None, nice) {
        Ok(()) => NICE.set(nice),
        Err(e) => debug!(error = %e, nice, "could not lower the screen job's priority"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::screen::ScreenModel;

    use tokio::sync::oneshot;

    fn sender() -> (ScreenSender, watch::Receiver<Observation>) {
        let (obs_tx, obs) = watch::channel(Observation::default());
        let (reply_tx, _replies) = tokio::sync::mpsc::channel(4);
        let model = ScreenModel::new(20, 5, 1 << 16, 0);
        let rules = Arc::new(ActivityRules::defaults(Duration::from_secs(2)));
        (ScreenSender::start(Job::new(model, rules, obs_tx, reply_tx, 0, Duration::ZERO)), obs)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn messages_apply_in_order_with_no_thread_between_jobs() {
        let (tx, _obs) = sender();
        for i in 0..200 {
            tx.send(ScreenMsg::Output { bytes: format!("line {i}\r\n").into_bytes(), permit: None });
        }
        let (reply, rx) = oneshot::channel();
        tx.send(ScreenMsg::Snapshot { reply, scope: HistoryScope::Full });
        let snap =
            tokio::time::timeout(Duration::from_secs(10), rx).await.expect("in time").expect("snapshot");
        let expected: u64 = (0..200).map(|i| format!("line {i}\r\n").len() as u64).sum();
        assert_eq!(snap.offset, expected, "every batch applied before the snapshot");
        assert!(snap.data.contains("line 199"), "the last line is on the screen");
        let Target::Runner(runner) = &tx.0 else { panic!("a runner") };
        // The job ends once the queue is empty.
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&runner.queue).running {
            assert!(Instant::now() < deadline, "the job never ended");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_batch_is_applied_inline_only_when_no_job_is_busy() {
        let (tx, _obs) = sender();
        let applied = tx.try_apply_inline(b"typed");
        assert!(matches!(applied, Inline::Applied { .. }), "an idle model takes a keystroke's echo at once");
        let Target::Runner(runner) = &tx.0 else { panic!("a runner") };
        assert!(!lock(&runner.queue).running, "nothing left running");
        // A job waiting or running: the bytes must queue behind it.
        lock(&runner.queue).running = true;
        assert_eq!(tx.try_apply_inline(b"late"), Inline::Refused, "never overtakes a job");
        lock(&runner.queue).running = false;
        let (reply, rx) = oneshot::channel();
        tx.send(ScreenMsg::Snapshot { reply, scope: HistoryScope::Full });
        let snap =
            tokio::time::timeout(Duration::from_secs(10), rx).await.expect("in time").expect("snapshot");
        assert_eq!(snap.offset, 5, "the inline bytes were applied, the refused ones not");
        assert!(snap.data.contains("typed"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_inline_apply_leaves_the_scan_it_owes_to_the_caller() {
        let (tx, obs) = sender();
        let before = Instant::now();
        let Inline::Applied { owed } = tx.try_apply_inline(b"Continue? (y/n) ") else {
            panic!("an idle model takes a keystroke's echo at once");
        };
        // A new model's first scan is due at once: owed, not done on this (the actor's) thread,
        // and no timer or job started for it.
        assert!(owed.is_some_and(|at| at <= Instant::now()), "a scan owed now: {owed:?} (from {before:?})");
        assert_eq!(obs.borrow().scans, 0, "no scan before the echo is written");
        let Target::Runner(runner) = &tx.0 else { panic!("a runner") };
        assert!(!lock(&runner.queue).running && !lock(&runner.queue).timer, "no job, no timer");
        tx.owed_work();
        assert_eq!(obs.borrow().scans, 1, "the caller's owed_work scans");
        assert!(obs.borrow().tail.iter().any(|l| l.contains("Continue?")), "of the applied bytes");
        assert!(!lock(&runner.queue).running, "nothing left running");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prompt_printed_between_scans_is_observed_by_the_timers_job() {
        let (tx, mut obs) = sender();
        let mut wait_for = async |text: &str| {
            tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    if obs.borrow_and_update().tail.iter().any(|l| l.contains(text)) {
                        return;
                    }
                    obs.changed().await.expect("sender alive");
                }
            })
            .await
        };
        // The first job scans at once; a prompt printed right after is owed a scan later, which
        // only the timer's job can make (nothing else is sent).
        tx.send(ScreenMsg::Output { bytes: b"working\r\n".to_vec(), permit: None });
        assert!(wait_for("working").await.is_ok(), "the first job scanned");
        tx.send(ScreenMsg::Output { bytes: b"proceed? (y/n) ".to_vec(), permit: None });
        let seen = wait_for("proceed").await;
        assert!(seen.is_ok(), "the last lines were scanned without another message");
    }
}
