//! The event loop: terminal events, socket reports and finished requests become [`Msg`]s; the
//! state's [`Effect`]s become requests and socket sends; frames are drawn on a capped tick.
//!
//! Generic over the backend and the input stream (as in helix and gitui), so tests can drive the
//! real loop with scripted keys into a `TestBackend`.

use crate::client::credential::Credential;
use crate::client::events::{AppReport, ClientEvent, WorkerReport, WorkerSend};
use crate::client::http::Gateway;
use crate::client::tasks::{Target, WorkerDial, app_task};
use crate::conns::WorkerConns;
use crate::error::Result;
use crate::pacer::{FramePacer, SyncHold};
use crate::painter::Painter;
use crate::remembered::Remembered;
use crate::state::{AppEvent, Done, Effect, Mode, Msg, Notice, Replied, Settings, State, WorkerEvent};
use crate::theme::{Theme, ThemeSet};
use controlroom_protocol::{AppClientMsg, SessionId, WorkerId};
use crossterm::event::{Event, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::backend::Backend;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

pub use crate::defaults::FRAME;

/// Frames that may be drawn back to back after a quiet moment (so a typed key's echo is not
/// held for a frame slot) before [`FRAME`] applies.
const FRAME_BURST: u32 = 3;

/// Most queued socket messages applied before the loop looks at the keyboard again.
const MAX_BATCH: usize = 512;

/// Longest a frame waits for a program's synchronized update (`CSI ? 2026 h … l`) to finish, as
/// terminals that support the mode do, so a program that never closes one cannot freeze us.
const SYNC_TIMEOUT: Duration = Duration::from_millis(150);

/// Most time spent applying queued socket messages in one go, so keys and frames are never
/// starved by a flooding worker (parsing its output is the costly part).
const BATCH_BUDGET: Duration = Duration::from_millis(8);

/// Everything the front end needs to start.
#[derive(Debug)]
pub struct Options {
    /// Gateway base URL.
    pub url: String,
    /// Owner token.
    pub token: String,
    /// The file the token was read from, re-read once when the gateway refuses it (a rotated
    /// token); `None` when it came from the environment.
    pub token_file: Option<PathBuf>,
    /// Certificates accepted for an `https://` gateway.
    pub trust: crate::client::Trust,
    /// Re-read on every reconnect when the gateway was found through it.
    pub gateway_json: Option<PathBuf>,
    /// Keys, default command, theme names.
    pub settings: Settings,
    /// All themes.
    pub themes: ThemeSet,
    /// The theme to start with.
    pub theme: String,
    /// Warnings from loading config and themes, shown at start.
    pub warnings: Vec<String>,
    /// Attach to this worker as soon as it is known (`controlroom attach`).
    pub attach: Option<(SessionId, WorkerId)>,
    /// Where choices are remembered between runs (the theme chosen with `t`); `None` remembers
    /// nothing.
    pub state_file: Option<PathBuf>,
}

/// How the cursor shape of the attached program is applied to the real terminal.
pub type CursorShapeSink = Box<dyn FnMut(controlroom_term::CursorStyle) + Send>;

/// Called once a frame is drawn: writes the frame out (see [`FrameBuffer`]).
pub type FrameDone = Box<dyn FnMut() -> std::io::Result<()> + Send>;

/// Where the real terminal's frames are written: everything ratatui writes for a frame gathers
/// here and goes to the terminal in one write once the frame is drawn. Written straight to
/// stdout, a frame went out as several writes: ratatui flushes after each cursor command, and
/// stdout's own buffer holds 1 KiB; a terminal could show half a frame, and each write is a
/// system call on the way to the next frame.
#[derive(Debug, Clone, Default)]
pub struct FrameBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl FrameBuffer {
    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // Only this thread writes and drains it; a panic while holding it leaves bytes that are
        // still worth writing.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes what was gathered to stdout, in one write, and empties the buffer.
    pub fn write_out(&self) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut bytes = self.bytes();
        if bytes.is_empty() {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        let written = out.write_all(&bytes).and_then(|()| out.flush());
        bytes.clear();
        written
    }
}

impl std::io::Write for FrameBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Gathers only: the frame goes out whole from [`FrameBuffer::write_out`].
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A socket task's report as a state message: `client/` reports in its own terms and knows
/// nothing of the state.
impl From<ClientEvent> for Msg {
    fn from(event: ClientEvent) -> Self {
        match event {
            ClientEvent::App(report) => Msg::App(match report {
                AppReport::Connected { url } => AppEvent::Connected { url },
                AppReport::Message(msg) => AppEvent::Message(msg),
                AppReport::Rtt(rtt) => AppEvent::Rtt(rtt),
                AppReport::Disconnected { reason, attempt, retry_at } => {
                    AppEvent::Disconnected { reason, attempt, retry_at }
                }
                AppReport::AuthFailed(reason) => AppEvent::AuthFailed(reason),
            }),
            ClientEvent::Worker { session, worker, report } => Msg::Worker {
                session,
                worker,
                event: match report {
                    WorkerReport::Message(msg) => WorkerEvent::Message(msg),
                    WorkerReport::Output { offset, bytes } => WorkerEvent::Output { offset, bytes },
                    WorkerReport::Lost(reason) => WorkerEvent::Lost(reason),
                    WorkerReport::Gone(reason) => WorkerEvent::Gone(reason),
                },
            },
        }
    }
}

/// Runs the front end on `painter`'s terminal with input from `events` until the user quits.
pub async fn run_loop<B, S>(
    painter: &mut Painter<B>,
    mut events: S,
    opts: Options,
    mut cursor_shape: Option<CursorShapeSink>,
    mut frame_done: Option<FrameDone>,
) -> Result<()>
where
    B: Backend,
    S: Stream<Item = std::io::Result<Event>> + Unpin,
    std::io::Error: From<B::Error>,
{
    let (tx, mut rx) = mpsc::channel::<Msg>(opts.settings.queues.events);
    let (url_tx, url_rx) = watch::channel(opts.url.clone());
    let (app_out, app_out_rx) = mpsc::channel::<AppClientMsg>(opts.settings.queues.app_sends);
    let credential = Credential::new(opts.token.clone(), opts.token_file.clone());
    let target = Target {
        url: url_tx,
        credential: credential.clone(),
        trust: opts.trust.clone(),
        gateway_json: opts.gateway_json.clone(),
    };
    let app = tokio::spawn(app_task(target, tx.clone(), app_out_rx));

    let mut warnings = opts.warnings;
    let mut remembered = match &opts.state_file {
        Some(path) => Remembered::load(path).await,
        None => Remembered::default(),
    };
    // The theme last chosen with `t` wins over the configured one, while it still exists.
    let start_theme = remembered
        .theme
        .clone()
        .filter(|t| opts.themes.names().iter().any(|n| n == t))
        .unwrap_or_else(|| opts.theme.clone());
    let mut theme: Theme = opts.themes.resolve_or_default(&start_theme, &mut warnings);
    let mut state = State::new(opts.settings, opts.url.clone(), theme.name.clone());
    state.pending_attach = opts.attach;
    if !warnings.is_empty() {
        state.notice = Some(Notice { text: warnings.join("; "), error: true });
    }
    let size = painter.area();
    let mut worker = WorkerConns::new(
        WorkerDial {
            url: url_rx.clone(),
            credential: credential.clone(),
            trust: opts.trust.clone(),
            max_message: state.settings.max_message,
            read_buffer: state.settings.ws_read_buffer,
            history: controlroom_protocol::HistoryScope::Full,
        },
        state.settings.queues,
    );
    let mut last_shape = None;
    let mut fx = state.update(Msg::Resize { cols: size.width, rows: size.height }).effects;
    fx.extend(state.update(tick()).effects);
    // A change after a quiet moment is drawn at once (an echo shows without waiting for a
    // slot); while changes keep coming, frames come at the frame rate, not per message.
    let mut pacer = FramePacer::new(state.settings.frame_interval, FRAME_BURST, Instant::now());
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    // The watched program's open synchronized update (tracked by its screen model), timed here.
    let mut sync = SyncHold::new(SYNC_TIMEOUT);
    // When the first key of a two-key chord stops waiting for its second.
    let mut chord_deadline: Option<Instant> = None;

    loop {
        // Whether this turn queued something for a worker's socket (a typed key).
        let mut sent = false;
        for effect in fx.drain(..) {
            let themes = &opts.themes;
            let ctx = EffectCtx {
                tx: &tx,
                url: &url_rx,
                credential: &credential,
                trust: &opts.trust,
                app_out: &app_out,
            };
            if let Effect::Theme(name) = &effect {
                let mut w = Vec::new();
                theme = themes.resolve_or_default(name, &mut w);
                if !w.is_empty() {
                    state.notice = Some(Notice { text: w.join("; "), error: true });
                }
                if let Some(path) = opts.state_file.clone() {
                    remembered.theme = Some(theme.name.clone());
                    let save = remembered.clone();
                    tokio::spawn(async move {
                        if let Err(e) = save.save(&path).await {
                            tracing::warn!(error = %e, path = %path.display(), "could not remember the theme");
                        }
                    });
                }
                continue;
            }
            if let Effect::Clipboard { text } = &effect {
                // Like a notification: bytes for the outer terminal, written beside the frames.
                let bytes = crate::state::clipboard_bytes(text, std::env::var_os("TMUX").is_some());
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush()) {
                    tracing::warn!(error = %e, "could not write the copy to the terminal");
                }
                continue;
            }
            if let Effect::Notify { title, body } = &effect {
                // Escape sequences that draw nothing: written beside ratatui's frames.
                let in_tmux = std::env::var_os("TMUX").is_some();
                let bytes =
                    crate::state::attention::notification_bytes(state.settings.notify, in_tmux, title, body);
                if !bytes.is_empty() {
                    use std::io::Write as _;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&bytes).and_then(|()| out.flush());
                }
                continue;
            }
            sent |= matches!(effect, Effect::Send(_) | Effect::Input { .. });
            run_effect(effect, &ctx, &mut worker);
        }
        if sent {
            // The socket task runs only when this loop yields: let it write the key now, before
            // the loop asks crossterm for another event (a system call) or draws a frame.
            tokio::task::yield_now().await;
        }
        if state.quit {
            break;
        }
        chord_deadline = match (state.chord_pending(), chord_deadline) {
            (true, None) => Some(Instant::now() + state.settings.chord_timeout),
            (true, armed) => armed,
            (false, _) => None,
        };
        tokio::select! {
            biased;
            ev = events.next() => {
                match ev {
                    Some(Ok(ev)) => if let Some(msg) = event_msg(ev) {
                        if let Msg::Resize { cols, rows } = msg {
                            // The terminal's viewport follows the resize events rather than asking
                            // the terminal its size before every frame (see `run`).
                            painter
                                .resize(ratatui::layout::Rect::new(0, 0, cols, rows))
                                .map_err(std::io::Error::from)?;
                        }
                        let update = state.update(msg);
                        fx = update.effects;
                        dirty |= update.redraw;
                    },
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                }
            }
            // Before socket messages: with a flooding worker there is always a message waiting,
            // and a biased select would otherwise never draw.
            () = frame_due(pacer.next()), if dirty => {
                let now = Instant::now();
                sync.observe(state.term.as_ref().and_then(|t| t.synchronized_update()), now);
                pacer.drew(now);
                if sync.holds(now) {
                    // Keep `dirty`: the frame is drawn once the update ends (or times out).
                    continue;
                }
                painter.paint(&state, &theme).map_err(std::io::Error::from)?;
                if let Some(done) = frame_done.as_mut() {
                    done()?;
                }
                dirty = false;
                if let (Some(sink), Some(term), Mode::Attach) = (cursor_shape.as_mut(), &state.term, &state.mode) {
                    let shape = term.parser.term().cursor_style();
                    if last_shape != Some(shape) {
                        sink(shape);
                        last_shape = Some(shape);
                    }
                } else if last_shape.take().is_some()
                    && let Some(sink) = cursor_shape.as_mut()
                {
                    sink(controlroom_term::CursorStyle::Default);
                }
            }
            () = tokio::time::sleep_until(chord_deadline.unwrap_or_else(Instant::now).into()), if chord_deadline.is_some() => {
                chord_deadline = None;
                let update = state.update(Msg::ChordTimeout);
                fx = update.effects;
                dirty |= update.redraw;
            }
            _ = clock.tick() => {
                fx = state.update(tick()).effects;
                dirty = true;
            }
            msg = rx.recv() => {
                // `tx` lives in this function, so the channel never closes while we loop.
                let Some(msg) = msg else { break };
                fx = apply_batch(&mut state, msg, &mut rx, &mut worker, pacer.next(), &mut dirty);
                // The update's timeout starts when its first bytes are applied, not at the next
                // frame slot.
                sync.observe(state.term.as_ref().and_then(|t| t.synchronized_update()), Instant::now());
            }
            event = worker.next_report() => {
                fx = apply_batch(&mut state, event.into(), &mut rx, &mut worker, pacer.next(), &mut dirty);
                sync.observe(state.term.as_ref().and_then(|t| t.synchronized_update()), Instant::now());
            }
        }
    }
    app.abort();
    drop(worker);
    Ok(())
}

/// Applies `first` and then what else is queued, the app socket's messages and each worker
/// socket's reports in turn (so a flooding worker's backlog never holds another's update), until
/// [`BATCH_BUDGET`] is spent or the next frame (`frame_at`) is due, whichever is first: a frame
/// is never held back by a flood's queued output. Returns the effects; sets `dirty` when the
/// screen changed.
fn apply_batch(
    state: &mut State,
    first: Msg,
    rx: &mut mpsc::Receiver<Msg>,
    worker: &mut WorkerConns,
    frame_at: Instant,
    dirty: &mut bool,
) -> Vec<Effect> {
    let started = Instant::now();
    let stop = (started + BATCH_BUDGET).min(frame_at.max(started));
    let update = state.update(first);
    let mut fx = update.effects;
    *dirty |= update.redraw;
    for _ in 0..MAX_BATCH {
        if Instant::now() >= stop {
            break;
        }
        let Some(msg) = rx.try_recv().ok().or_else(|| worker.try_report().map(Msg::from)) else { break };
        let update = state.update(msg);
        fx.extend(update.effects);
        *dirty |= update.redraw;
    }
    fx
}

/// Resolves when a frame due at `at` may be drawn: at once when it is already due. A timer is
/// set only for a frame in the future: tokio rounds a deadline up to its next millisecond tick, so
/// even a deadline just passed could hold an echo's frame for up to a millisecond.
async fn frame_due(at: Instant) {
    if at > Instant::now() {
        tokio::time::sleep_until(at.into()).await;
    }
}

fn tick() -> Msg {
    Msg::Tick { now: jiff::Timestamp::now(), instant: Instant::now() }
}

/// Turns a terminal event into a message (key releases are dropped).
fn event_msg(ev: Event) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Mouse(m) => Some(Msg::Mouse { event: m, at: Instant::now() }),
        Event::Resize(cols, rows) => Some(Msg::Resize { cols, rows }),
        _ => None,
    }
}

struct EffectCtx<'a> {
    tx: &'a mpsc::Sender<Msg>,
    url: &'a watch::Receiver<String>,
    credential: &'a Credential,
    trust: &'a crate::client::Trust,
    app_out: &'a mpsc::Sender<AppClientMsg>,
}

impl EffectCtx<'_> {
    /// Runs a request off the loop and reports its result as a message.
    fn request<F, Fut>(&self, f: F)
    where
        F: FnOnce(Gateway) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Done> + Send,
    {
        let tx = self.tx.clone();
        let gateway = Gateway::new(&self.url.borrow(), self.credential.token(), self.trust.clone());
        tokio::spawn(async move {
            let done = match gateway {
                Ok(g) => f(g).await,
                Err(e) => Done::Failed(e.to_string()),
            };
            let _ = tx.send(Msg::Done(done)).await;
        });
    }
}

fn failed(what: &str, e: crate::Error) -> Done {
    Done::Failed(format!("{what}: {e}"))
}

/// Queues something for the watched worker; when its socket's queue is full the user is told
/// what was not sent, never left guessing.
fn send(ctx: &EffectCtx<'_>, worker: &WorkerConns, msg: WorkerSend) {
    if worker.send(msg).is_err() {
        let why = "the worker's socket is not keeping up: input dropped".to_owned();
        let _ = ctx.tx.try_send(Msg::Done(Done::Failed(why)));
    }
}

fn run_effect(effect: Effect, ctx: &EffectCtx<'_>, worker: &mut WorkerConns) {
    match effect {
        Effect::CreateSession(req) => ctx.request(move |g| async move {
            g.create_session(&req).await.map_or_else(|e| failed("create session", e), Done::SessionCreated)
        }),
        Effect::CreateWorker { session, spec } => ctx.request(move |g| async move {
            match g.create_worker(session.as_str(), &spec).await {
                Ok(worker) => Done::WorkerStarted { session, worker },
                Err(e) => failed("new worker", e),
            }
        }),
        Effect::LoadPresets => ctx.request(move |g| async move {
            g.presets().await.map_or_else(|e| failed("presets", e), |r| Done::Presets(r.presets))
        }),
        Effect::RenameSession { session, title } => ctx.request(move |g| async move {
            g.rename_session(session.as_str(), &title)
                .await
                .map_or_else(|e| failed("rename", e), |s| Done::Ok(format!("renamed to “{}”", s.title)))
        }),
        Effect::StopWorker { session, worker } => ctx.request(move |g| async move {
            g.stop_worker(session.as_str(), worker.as_str())
                .await
                .map_or_else(|e| failed("stop", e), |()| Done::Ok("worker stopped".into()))
        }),
        Effect::RenameWorker { session, worker, name } => ctx.request(move |g| async move {
            g.rename_worker(session.as_str(), worker.as_str(), &name)
                .await
                .map_or_else(|e| failed("rename", e), |w| Done::Ok(format!("renamed to “{}”", w.name)))
        }),
        Effect::DeleteWorker { session, worker } => ctx.request(move |g| async move {
            g.delete_worker(session.as_str(), worker.as_str())
                .await
                .map_or_else(|e| failed("delete worker", e), |()| Done::Ok("worker deleted".into()))
        }),
        Effect::RestartWorker { session, worker } => ctx.request(move |g| async move {
            match g.restart_worker(session.as_str(), worker.as_str()).await {
                Ok(worker) => Done::WorkerStarted { session, worker },
                Err(e) => failed("restart", e),
            }
        }),
        Effect::DeleteSession(session) => ctx.request(move |g| async move {
            g.delete_session(session.as_str())
                .await
                .map_or_else(|e| failed("delete", e), |()| Done::Ok("session deleted".into()))
        }),
        Effect::Watch(target) => worker.watch(target),
        Effect::WatchTiles(tiles) => worker.tiles(tiles),
        Effect::Send(msg) => send(ctx, worker, WorkerSend::Message(msg)),
        Effect::Input { bytes } => send(ctx, worker, WorkerSend::Input { bytes }),
        Effect::RequestSync { since } => {
            if ctx.app_out.try_send(AppClientMsg::RequestSync { since }).is_err() {
                tracing::warn!("app socket queue full; request-sync dropped");
            }
        }
        Effect::CompletePath { typed } => {
            let tx = ctx.tx.clone();
            tokio::spawn(async move {
                let home = std::env::var_os("HOME").map(PathBuf::from);
                let lookup = typed.clone();
                // Reading directories blocks: off the runtime's threads.
                let candidates =
                    tokio::task::spawn_blocking(move || crate::paths::complete_dir(&lookup, home.as_deref()))
                        .await
                        .unwrap_or_default();
                let _ = tx.send(Msg::Done(Done::PathCompletions { typed, candidates })).await;
            });
        }
        Effect::Reply { session, worker, text, literal } => ctx.request(move |g| async move {
            let req = controlroom_protocol::ReplyRequest { text: text.clone(), literal };
            match g.reply(session.as_str(), worker.as_str(), &req).await {
                Ok(response) => Done::Replied(Box::new(Replied { session, worker, text, response })),
                Err(e) => failed("reply", e),
            }
        }),
        Effect::AutoAnswer { session, worker, enabled } => ctx.request(move |g| async move {
            let word = if enabled { "on" } else { "off" };
            g.set_auto_answer(session.as_str(), worker.as_str(), enabled)
                .await
                .map_or_else(|e| failed("auto-answer", e), |()| Done::Ok(format!("auto-answer {word}")))
        }),
        Effect::Theme(_) | Effect::Quit | Effect::Notify { .. } | Effect::Clipboard { .. } => {}
        Effect::LoadDiff(session) => ctx.request(move |g| async move {
            match g.session_diff(session.as_str()).await {
                Ok(diff) => Done::Diff { session, diff },
                Err(e) => failed("diff", e),
            }
        }),
        Effect::DeleteSessionWorktree { session, force } => ctx.request(move |g| async move {
            match g.delete_session_and_worktree(session.as_str(), force).await {
                Ok(()) => Done::Ok("session, worktree and branch removed".into()),
                // Uncommitted changes or unmerged commits: the state asks a second time.
                Err(crate::Error::Http { status: 409, message }) => Done::WorktreeDirty { session, message },
                Err(e) => failed("delete", e),
            }
        }),
    }
}

/// Runs the front end on the real terminal: raw mode, alternate screen, mouse and bracketed paste,
/// all restored on exit (and by ratatui's panic hook on a panic).
///
/// The loop runs as a task of its own rather than as the caller's future: on a current-thread
/// runtime, a socket task waking the caller's (`block_on`) future makes the runtime poll its
/// driver once more before polling it (an `epoll_wait` between an echo's arrival and its frame),
/// while a woken task is simply run next.
pub async fn run(opts: Options) -> Result<()> {
    match tokio::spawn(run_here(opts)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels it: nothing is left to run.
        Err(_) => Ok(()),
    }
}

async fn run_here(opts: Options) -> Result<()> {
    use crossterm::cursor::SetCursorStyle;
    use crossterm::event::{
        DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    };
    // Raw mode, the alternate screen and a panic hook that restores them.
    let size = ratatui::init().size()?;
    // A fixed area, resized on the terminal's resize events (`run_loop`): asking the terminal
    // its size before every frame (ratatui's fullscreen viewport) opens `/dev/tty`, three system
    // calls on the way to every echo.
    let frames = FrameBuffer::default();
    let mut painter = Painter::new(
        ratatui::backend::CrosstermBackend::new(frames.clone()),
        ratatui::layout::Rect::new(0, 0, size.width, size.height),
    );
    let frame_done: FrameDone = Box::new(move || frames.write_out());
    let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste);
    let sink: CursorShapeSink = Box::new(|style| {
        let shape = match style {
            controlroom_term::CursorStyle::Default => SetCursorStyle::DefaultUserShape,
            controlroom_term::CursorStyle::BlinkBlock => SetCursorStyle::BlinkingBlock,
            controlroom_term::CursorStyle::SteadyBlock => SetCursorStyle::SteadyBlock,
            controlroom_term::CursorStyle::BlinkUnderline => SetCursorStyle::BlinkingUnderScore,
            controlroom_term::CursorStyle::SteadyUnderline => SetCursorStyle::SteadyUnderScore,
            controlroom_term::CursorStyle::BlinkVerticalBar => SetCursorStyle::BlinkingBar,
            controlroom_term::CursorStyle::SteadyVerticalBar => SetCursorStyle::SteadyBar,
        };
        let _ = crossterm::execute!(std::io::stdout(), shape);
    });
    let result = match crate::terminal_events::terminal_events() {
        Ok(events) => run_loop(&mut painter, events, opts, Some(sink), Some(frame_done)).await,
        Err(e) => Err(e.into()),
    };
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        SetCursorStyle::DefaultUserShape,
        // The terminal's own `Show` on drop would only reach the frame buffer.
        crossterm::cursor::Show
    );
    ratatui::restore();
    result
}
