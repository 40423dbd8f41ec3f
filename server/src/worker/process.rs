//! A worker's process and how its output and input move. A holder's process is a [`PtyLink`]
//! the actor drives on the runtime itself (no thread). A PTY in this process has two threads:
//! the PTY reader (blocking reads into the byte-bounded [`pipe`](super::pipe); reaps the child
//! after EOF) and the PTY writer (writes can block when the program does not read its input, so
//! they never happen on the actor).

use super::input::InputChunk;
use super::pipe::{PipeReader, PipeWriter, Taken, pipe};
use super::pty::{
    GroupSignal, LinkOutput, ProcessWaiter, PtyControl, PtyInput, PtyLink, PtyProcess, ThreadedPty,
};
use super::{SpawnSpec, WorkerContext, WorkerError};
use std::io::Read;
use tokio::sync::mpsc;
use tracing::{debug, info};

/// Bytes per PTY read.
const READ_BUF: usize = 64 * 1024;
/// Output batches the reader may buffer ahead of the actor before it waits.
const READ_AHEAD_BATCHES: usize = 2;

/// The live process.
pub(super) enum Running {
    /// A PTY in this process, with a reader and a writer thread.
    Threads {
        /// Resize and signals.
        control: Box<dyn PtyControl>,
        /// Input for the writer thread: unbounded in count because every chunk holds its share
        /// of the worker's byte budget (`input.rs`) until written.
        input: mpsc::UnboundedSender<InputChunk>,
        /// Output and the exit from the reader thread.
        output: PipeReader,
    },
    /// A holder's socket, read and written by the actor's own task.
    Link(Box<dyn PtyLink>),
}

impl Running {
    /// Resize and signals.
    pub(super) fn control(&self) -> &dyn PtyControl {
        match self {
            Running::Threads { control, .. } => control.as_ref(),
            Running::Link(link) => link.as_ref(),
        }
    }

    /// Resize and signals.
    pub(super) fn control_mut(&mut self) -> &mut dyn PtyControl {
        match self {
            Running::Threads { control, .. } => control.as_mut(),
            Running::Link(link) => link.as_mut(),
        }
    }

    /// Queues input; its share of the budget is given back once written. Fails once the
    /// process's input is closed.
    pub(super) fn send_input(&mut self, chunk: InputChunk) -> Result<(), ()> {
        match self {
            Running::Threads { input, .. } => input.send(chunk).map_err(|_| ()),
            Running::Link(link) => {
                let (bytes, share) = chunk.into_parts();
                link.queue_input(&bytes, Some(share)).map_err(|_| ())
            }
        }
    }

    /// Takes up to `max` bytes of output, or the exit once every byte was taken.
    pub(super) fn try_take(&mut self, max: usize) -> Option<Taken> {
        match self {
            Running::Threads { output, .. } => output.try_take(max),
            Running::Link(link) => link.take(max).map(|t| match t {
                LinkOutput::Data(d) => Taken::Data(d),
                LinkOutput::Exit(e) => Taken::Exit(e),
            }),
        }
    }

    /// Whether the next [`Running::try_take`] returns the exit.
    pub(super) fn at_exit(&self) -> bool {
        match self {
            Running::Threads { output, .. } => output.at_exit(),
            Running::Link(link) => link.at_exit(),
        }
    }
}

/// Spawns `spec` on the backend and starts its reader and writer threads.
pub(super) fn start_process(
    ctx: &WorkerContext,
    spec: &SpawnSpec,
) -> Result<(Running, Option<u32>), WorkerError> {
    let process = ctx.backend.spawn(spec)?;
    let running = run_process(ctx, process, &spec.command.join(" "))?;
    info!(pid = ?running.1, command = ?spec.command, "worker process started");
    Ok(running)
}

/// Starts the reader and writer threads of a process (spawned or adopted) that needs them.
pub(super) fn run_process(
    ctx: &WorkerContext,
    process: PtyProcess,
    command: &str,
) -> Result<(Running, Option<u32>), WorkerError> {
    let ThreadedPty { reader, writer, mut control, waiter } = match process {
        PtyProcess::Threads(t) => t,
        PtyProcess::Link(link) => {
            let pid = link.pid();
            return Ok((Running::Link(link), pid));
        }
    };
    let pid = control.pid();
    let (out_tx, output) =
        pipe(ctx.config.batch_bytes.max(1).saturating_mul(READ_AHEAD_BATCHES), ctx.config.batch_bytes);
    let (input, in_rx) = mpsc::unbounded_channel();
    let threads = spawn_reader(reader, waiter, out_tx).and_then(|()| spawn_writer(writer, in_rx));
    if let Err(e) = threads {
        // The process is unusable without its threads; take it down.
        let _ = control.signal_group(GroupSignal::Kill);
        return Err(WorkerError::Spawn { command: command.to_owned(), message: e.to_string() });
    }
    Ok((Running::Threads { control, input, output }, pid))
}

fn spawn_reader(
    mut reader: Box<dyn Read + Send>,
    waiter: Box<dyn ProcessWaiter>,
    tx: PipeWriter,
) -> std::io::Result<()> {
    std::thread::Builder::new().name("cr-pty-read".into()).spawn(move || {
        let mut buf = vec![0u8; READ_BUF];
        let mut forwarding = true;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    // Once the actor is gone keep draining, so the child never blocks on a full
                    // PTY, until EOF.
                    if forwarding && !tx.write(&buf[..n]) {
                        forwarding = false;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // EIO once every slave fd is closed (Linux), or a real error: the end either way.
                Err(_) => break,
            }
        }
        tx.exit(waiter.wait());
    })?;
    Ok(())
}

/// The writer thread ends when the process's side of the terminal closes or when the worker
/// lets go of its input (the actor dropped [`Running`]), even in the middle of a write the
/// program never reads: its descriptor and queued bytes go with it.
fn spawn_writer(
    mut writer: Box<dyn PtyInput>,
    mut rx: mpsc::UnboundedReceiver<InputChunk>,
) -> std::io::Result<()> {
    std::thread::Builder::new().name("cr-pty-write".into()).spawn(move || {
        // Each chunk gives its share of the budget back once written (when it is dropped).
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(e) = writer.write_all_unless(&chunk.bytes, &|| rx.is_closed()) {
                debug!(error = %e, "pty write failed; input closed");
                break;
            }
        }
    })?;
    Ok(())
}

/// Runs `work`, which blocks, without stalling the other tasks of this runtime worker: on a
/// multi-thread runtime (the gateway's) they move to another thread meanwhile
/// (`block_in_place`); on a current-thread runtime (tests) there is nowhere to move them.
pub(super) fn blocking_section<T>(work: impl FnOnce() -> T) -> T {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi { tokio::task::block_in_place(work) } else { work() }
}

#[cfg(test)]
mod tests {
    use super::blocking_section;
    use std::time::Duration;

    /// The one runtime thread blocks in the section (as a restart's holder start does); a task
    /// queued behind it on that thread still runs meanwhile. Without `block_in_place` it would
    /// wait for the section, which waits for it: the receive times out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_blocking_section_lets_the_threads_other_tasks_run() {
        let outer = tokio::spawn(async {
            let (tx, rx) = std::sync::mpsc::channel();
            tokio::spawn(async move {
                let _ = tx.send(());
            });
            blocking_section(|| rx.recv_timeout(Duration::from_secs(10)))
        });
        let got = outer.await.expect("the outer task");
        assert!(got.is_ok(), "the queued task did not run while the section blocked");
    }

    #[tokio::test]
    async fn on_a_current_thread_runtime_the_section_just_runs() {
        assert_eq!(blocking_section(|| 7), 7);
    }
}
