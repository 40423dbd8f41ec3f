//! Application state as plain data, changed only by [`State::update`].
//!
//! `update` takes one [`Msg`] (a key, a gateway message, a finished request, a tick) and returns
//! [`Effect`]s for the runtime to carry out (HTTP calls, socket sends). Drawing reads the state and
//! never changes it, so every screen is a pure function of a `State` and a theme.

mod attach;
pub mod attention;
mod dashboard;
pub mod dialog;
pub mod search;
pub mod sessions;
pub mod term;

use crate::keymap::KeyMap;
use controlroom_protocol::{
    AppServerMsg, CreateSession, Preset, Session, SessionId, Worker, WorkerClientMsg, WorkerId,
    WorkerServerMsg, WorkerSpec,
};
use crossterm::event::{KeyEvent, MouseEvent};
use dialog::{Confirm, Form};
use sessions::SessionStore;
use std::time::{Duration, Instant};
use term::{ExitInfo, TermView, WorkerLink};

/// What the screen is showing, and so where keys go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Sessions, workers and a preview.
    Dashboard,
    /// A worker fills the screen and gets every key.
    Attach,
    /// A form dialog over the dashboard.
    Form(Form),
    /// A yes/no question over the dashboard.
    Confirm(Confirm),
    /// The key help overlay.
    Help,
    /// Typing a filter for the sessions list.
    Filter,
}

/// Which dashboard list has the selection keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    /// The sessions list.
    #[default]
    Sessions,
    /// The selected session's workers.
    Workers,
}

/// The `/ws/app` connection as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// First connection attempt under way.
    Connecting,
    /// Connected and synced.
    Connected,
    /// Lost; the next attempt is at `retry_at`.
    Reconnecting {
        /// Why it was lost.
        reason: String,
        /// Attempt number of the next try (1-based).
        attempt: u32,
        /// When the next try starts.
        retry_at: Instant,
    },
    /// The token was refused; no more retries.
    AuthFailed(String),
}

/// A short message in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Shown in the error colour.
    pub error: bool,
}

/// Connection events from the `/ws/app` task.
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    /// The socket is open.
    Connected {
        /// The gateway's base URL (it may change when re-read from `gateway.json`).
        url: String,
    },
    /// A message arrived (boxed: a sync is large).
    Message(Box<AppServerMsg>),
    /// A heartbeat round trip completed.
    Rtt(Duration),
    /// The socket closed or could not open; retrying at `retry_at`.
    Disconnected {
        /// Short reason.
        reason: String,
        /// Next attempt number.
        attempt: u32,
        /// When the next attempt starts.
        retry_at: Instant,
    },
    /// The token was refused; the task has stopped.
    AuthFailed(String),
}

/// Events from the watched worker's socket task.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    /// A message arrived.
    Message(WorkerServerMsg),
    /// A binary `output` frame arrived (`controlroom.v1.binary`): raw bytes at `offset`.
    Output {
        /// Stream offset of the first byte.
        offset: u64,
        /// The raw PTY bytes.
        bytes: bytes::Bytes,
    },
    /// The socket closed; the task retries.
    Lost(String),
    /// The worker or session is gone; the task has stopped.
    Gone(String),
}

/// Results of HTTP requests the runtime made for an [`Effect`].
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// A session was created (select it).
    SessionCreated(Session),
    /// A worker was created or restarted (select it and watch it afresh).
    WorkerStarted {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: Worker,
    },
    /// The gateway's worker presets arrived.
    Presets(Vec<Preset>),
    /// Something else succeeded; show this.
    Ok(String),
    /// A request failed; show this.
    Failed(String),
}

/// Everything that can change the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// Pasted text.
    Paste(String),
    /// A mouse event at a moment (for double clicks).
    Mouse {
        /// The event.
        event: MouseEvent,
        /// When it happened.
        at: Instant,
    },
    /// The terminal was resized.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// The clock moved (ages and countdowns).
    Tick {
        /// Wall-clock time.
        now: jiff::Timestamp,
        /// Monotonic time.
        instant: Instant,
    },
    /// From the app socket.
    App(AppEvent),
    /// From a worker socket.
    Worker {
        /// Its session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
        /// What happened.
        event: WorkerEvent,
    },
    /// A request finished.
    Done(Done),
}

/// Work for the runtime: requests to make and messages to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `POST /api/sessions`.
    CreateSession(CreateSession),
    /// `POST /api/sessions/{id}/workers`.
    CreateWorker {
        /// The session.
        session: SessionId,
        /// What to run.
        spec: WorkerSpec,
    },
    /// `PATCH /api/sessions/{id}`.
    RenameSession {
        /// The session.
        session: SessionId,
        /// The new title.
        title: String,
    },
    /// `DELETE /api/sessions/{id}/workers/{wid}`.
    StopWorker {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
    },
    /// `POST .../restart`.
    RestartWorker {
        /// The session.
        session: SessionId,
        /// The worker.
        worker: WorkerId,
    },
    /// `DELETE /api/sessions/{id}`.
    DeleteSession(SessionId),
    /// Watch this worker's socket instead of the current one (`None`: close it).
    Watch(Option<(SessionId, WorkerId)>),
    /// Send on the watched worker's socket.
    Send(WorkerClientMsg),
    /// Send `request-sync` on the app socket.
    RequestSync {
        /// The last seq seen.
        since: Option<u64>,
    },
    /// `GET /api/presets`, for the new-worker dialog.
    LoadPresets,
    /// Switch to the theme with this name.
    Theme(String),
    /// A desktop notification: a worker needs the user (see `attention::notification_bytes`).
    Notify {
        /// Short title.
        title: String,
        /// What happened.
        body: String,
    },
    /// Leave the program.
    Quit,
}

/// Set-up values that do not change while running.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Key bindings.
    pub keys: KeyMap,
    /// The gateway runs inside this process: quitting stops its workers.
    pub embedded: bool,
    /// Leave the program on detach (`controlroom attach`).
    pub exit_on_detach: bool,
    /// The configured default command, empty for the gateway's default.
    pub default_command: String,
    /// Theme names in cycling order.
    pub themes: Vec<String>,
    /// Desktop notifications on `asking` and failed exits.
    pub notify: attention::NotifyMode,
    /// Scrollback lines kept for the watched worker.
    pub scrollback_lines: usize,
    /// Time between frames while the screen keeps changing.
    pub frame_interval: std::time::Duration,
    /// Largest message a worker socket accepts, in bytes (`max-message-mib`).
    pub max_message: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keys: KeyMap::default(),
            embedded: false,
            exit_on_detach: false,
            default_command: String::new(),
            themes: controlroom_themes::BUILTIN.iter().map(|t| t.name.to_owned()).collect(),
            // Off unless the config (default `auto`) turns it on: tests never write to stdout.
            notify: attention::NotifyMode::Off,
            scrollback_lines: term::SCROLLBACK_LINES,
            frame_interval: crate::runtime::FRAME,
            max_message: crate::client::ws::WORKER_MAX_MESSAGE,
        }
    }
}

/// The whole front-end state.
#[derive(Debug)]
pub struct State {
    /// Fixed set-up.
    pub settings: Settings,
    /// What is on screen.
    pub mode: Mode,
    /// Sessions as last synced.
    pub store: SessionStore,
    /// Which list has focus.
    pub focus: Focus,
    /// Selected session.
    pub selected_session: Option<SessionId>,
    /// Selected worker of the selected session.
    pub selected_worker: Option<WorkerId>,
    /// The sessions filter.
    pub filter: String,
    /// App socket state.
    pub link: Link,
    /// Last heartbeat round trip.
    pub rtt: Option<Duration>,
    /// Gateway base URL.
    pub url: String,
    /// The watched worker's screen.
    pub term: Option<TermView>,
    /// Status-bar message.
    pub notice: Option<Notice>,
    /// Terminal size (cols, rows).
    pub size: (u16, u16),
    /// Wall-clock time of the last tick.
    pub now: jiff::Timestamp,
    /// Monotonic time of the last tick.
    pub instant: Instant,
    /// Current theme name.
    pub theme: String,
    /// Last left click (time, row), for double clicks.
    pub last_click: Option<(Instant, u16)>,
    /// Set when the program should exit.
    pub quit: bool,
    /// Attach to this worker once the first sync shows it (`controlroom attach`).
    pub pending_attach: Option<(SessionId, WorkerId)>,
    /// Worker presets the gateway offers (for the new-worker dialog).
    pub presets: Vec<Preset>,
    /// When each worker last raised a desktop notification (debounce).
    pub notified: std::collections::HashMap<(SessionId, WorkerId), Instant>,
    /// The last message only forwarded input to the attached program and changed nothing on
    /// screen: the front end need not draw for it (the echo, when it comes, will). Drawing for
    /// the keystroke itself would make the echo wait for the next frame slot.
    pub input_only: bool,
}

impl State {
    /// A fresh state for a gateway at `url`.
    pub fn new(settings: Settings, url: impl Into<String>, theme: impl Into<String>) -> Self {
        Self {
            settings,
            mode: Mode::Dashboard,
            store: SessionStore::default(),
            focus: Focus::Sessions,
            selected_session: None,
            selected_worker: None,
            filter: String::new(),
            link: Link::Connecting,
            rtt: None,
            url: url.into(),
            term: None,
            notice: None,
            size: (80, 24),
            now: jiff::Timestamp::UNIX_EPOCH,
            instant: Instant::now(),
            theme: theme.into(),
            last_click: None,
            quit: false,
            pending_attach: None,
            notified: std::collections::HashMap::new(),
            presets: Vec::new(),
            input_only: false,
        }
    }

    /// Applies one message and returns the work it asks for.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.input_only = false;
        match msg {
            Msg::Key(ev) => {
                if !matches!(self.mode, Mode::Attach) {
                    self.notice = None;
                }
                self.key(ev, &mut fx);
            }
            Msg::Paste(text) => self.paste(text, &mut fx),
            Msg::Mouse { event, at } => self.mouse(event, at, &mut fx),
            Msg::Resize { cols, rows } => {
                self.size = (cols, rows);
                if self.mode == Mode::Attach {
                    self.send_attach_size(&mut fx);
                }
            }
            Msg::Tick { now, instant } => {
                self.now = now;
                self.instant = instant;
            }
            Msg::App(ev) => self.app_event(ev, &mut fx),
            Msg::Worker { session, worker, event } => self.worker_event(session, worker, event, &mut fx),
            Msg::Done(done) => self.done(done, &mut fx),
        }
        self.reconcile(&mut fx);
        if fx.iter().any(|e| !matches!(e, Effect::Send(_))) {
            self.input_only = false;
        }
        fx
    }

    fn app_event(&mut self, ev: AppEvent, fx: &mut Vec<Effect>) {
        match ev {
            AppEvent::Connected { url } => {
                self.url = url;
                if let Link::Reconnecting { .. } = self.link {
                    self.notice = Some(Notice { text: "reconnected".into(), error: false });
                }
                self.link = Link::Connected;
                fx.push(Effect::LoadPresets);
                // The gateway sends a full sync on open; asking for what we missed as well means a
                // gateway that only replays still brings us up to date. Seen seqs are ignored.
                if self.store.seq.is_some() {
                    fx.push(Effect::RequestSync { since: self.store.seq });
                }
            }
            AppEvent::Message(msg) => self.app_message(*msg, fx),
            AppEvent::Rtt(rtt) => self.rtt = Some(rtt),
            AppEvent::Disconnected { reason, attempt, retry_at } => {
                self.rtt = None;
                self.link = Link::Reconnecting { reason, attempt, retry_at };
            }
            AppEvent::AuthFailed(reason) => self.link = Link::AuthFailed(reason),
        }
    }

    fn app_message(&mut self, msg: AppServerMsg, fx: &mut Vec<Effect>) {
        match msg {
            AppServerMsg::SessionsSync(sync) => {
                self.store.apply_sync(sync);
                if let Some((s, w)) = self.pending_attach.take() {
                    if self.store.worker(&s, &w).is_some() {
                        self.selected_session = Some(s);
                        self.selected_worker = Some(w);
                        self.mode = Mode::Attach;
                    } else {
                        self.notice =
                            Some(Notice { text: "that worker no longer exists".into(), error: true });
                    }
                }
            }
            AppServerMsg::Replay(replay) => {
                for d in replay.deltas {
                    self.store.apply_delta(d);
                }
            }
            AppServerMsg::Delta(d) => {
                self.notify_on(&d, fx);
                self.store.apply_delta(d);
            }
            AppServerMsg::Error { message, .. } => {
                self.notice = Some(Notice { text: format!("gateway: {message}"), error: true });
            }
        }
    }

    fn worker_event(&mut self, session: SessionId, worker: WorkerId, ev: WorkerEvent, fx: &mut Vec<Effect>) {
        let attached = self.mode == Mode::Attach;
        let size = self.attach_size();
        let Some(term) = self.term.as_mut().filter(|t| t.is(&session, &worker)) else { return };
        match ev {
            WorkerEvent::Message(WorkerServerMsg::History { data, cols, rows, offset }) => {
                term.history(&data, cols, rows, offset);
                if attached {
                    term.resize(size.0, size.1);
                    fx.push(Effect::Send(WorkerClientMsg::Resize { cols: size.0, rows: size.1 }));
                }
            }
            WorkerEvent::Message(WorkerServerMsg::Output { data, offset }) => {
                term.output(data.as_bytes(), offset);
            }
            WorkerEvent::Output { offset, bytes } => {
                term.output(&bytes, offset);
            }
            WorkerEvent::Message(WorkerServerMsg::Gap { bytes, .. }) => {
                // The output after it starts further on; the screen already shows the marker.
                self.notice = Some(Notice {
                    text: format!("{bytes} bytes of output were lost while no gateway ran"),
                    error: false,
                });
            }
            WorkerEvent::Message(WorkerServerMsg::Exit { exit_code, signal }) => {
                term.exit = Some(ExitInfo { exit_code, signal });
            }
            WorkerEvent::Message(WorkerServerMsg::Error { message, .. }) => {
                self.notice = Some(Notice { text: format!("worker: {message}"), error: true });
            }
            WorkerEvent::Lost(reason) => term.link = WorkerLink::Lost(reason),
            WorkerEvent::Gone(reason) => {
                term.link = WorkerLink::Gone(reason.clone());
                if attached {
                    self.mode = Mode::Dashboard;
                    self.notice = Some(Notice { text: reason, error: true });
                    if self.settings.exit_on_detach {
                        self.quit(fx);
                    }
                }
            }
        }
    }

    fn done(&mut self, done: Done, fx: &mut Vec<Effect>) {
        match done {
            Done::SessionCreated(session) => {
                self.notice = Some(Notice { text: format!("created “{}”", session.title), error: false });
                self.selected_session = Some(session.id.clone());
                self.selected_worker = session.workers.first().map(|w| w.id.clone());
                // Deltas may lag the HTTP answer: show the session at once, the delta will agree.
                if self.store.get(&session.id).is_none() {
                    self.store.insert_local(session);
                }
            }
            Done::WorkerStarted { session, worker } => {
                self.selected_session = Some(session.clone());
                self.selected_worker = Some(worker.id.clone());
                // Restarted or new: watch from a fresh socket so history and exit state are current.
                if self.term.as_ref().is_some_and(|t| t.is(&session, &worker.id)) {
                    self.term = Some(TermView::new(
                        session.clone(),
                        worker.id.clone(),
                        self.settings.scrollback_lines,
                    ));
                    fx.push(Effect::Watch(Some((session, worker.id))));
                }
            }
            Done::Presets(presets) => self.presets = presets,
            Done::Ok(text) => self.notice = Some(Notice { text, error: false }),
            Done::Failed(text) => self.notice = Some(Notice { text, error: true }),
        }
    }

    /// The worker screen size while attached: the terminal minus the header line.
    pub fn attach_size(&self) -> (u16, u16) {
        (self.size.0.max(1), self.size.1.saturating_sub(1).max(1))
    }

    fn send_attach_size(&mut self, fx: &mut Vec<Effect>) {
        let (cols, rows) = self.attach_size();
        if let Some(term) = self.term.as_mut() {
            term.resize(cols, rows);
            if term.link == WorkerLink::Live {
                fx.push(Effect::Send(WorkerClientMsg::Resize { cols, rows }));
            }
        }
    }

    fn quit(&mut self, fx: &mut Vec<Effect>) {
        self.quit = true;
        fx.push(Effect::Quit);
    }

    /// The selected session.
    pub fn session(&self) -> Option<&Session> {
        self.selected_session.as_ref().and_then(|id| self.store.get(id))
    }

    /// The selected worker.
    pub fn worker(&self) -> Option<&Worker> {
        let s = self.session()?;
        let wid = self.selected_worker.as_ref()?;
        s.workers.iter().find(|w| &w.id == wid)
    }

    /// Keeps the selection valid and the watched worker in line with it.
    fn reconcile(&mut self, fx: &mut Vec<Effect>) {
        let visible: Vec<SessionId> = self.store.visible(&self.filter).iter().map(|s| s.id.clone()).collect();
        if self.mode != Mode::Attach {
            let keep = self.selected_session.as_ref().is_some_and(|id| visible.contains(id));
            if !keep {
                self.selected_session = visible.first().cloned();
            }
            let workers: Vec<WorkerId> =
                self.session().map(|s| s.workers.iter().map(|w| w.id.clone()).collect()).unwrap_or_default();
            if !self.selected_worker.as_ref().is_some_and(|w| workers.contains(w)) {
                self.selected_worker = workers.first().cloned();
            }
            if workers.is_empty() && self.focus == Focus::Workers {
                self.focus = Focus::Sessions;
            }
        }
        let want = match (self.mode == Mode::Attach, &self.term) {
            (true, Some(t)) => Some((t.session.clone(), t.worker.clone())),
            _ => self.selected_session.clone().zip(self.selected_worker.clone()),
        };
        let have = self.term.as_ref().map(|t| (t.session.clone(), t.worker.clone()));
        if want != have {
            self.term = want.clone().map(|(s, w)| TermView::new(s, w, self.settings.scrollback_lines));
            fx.push(Effect::Watch(want));
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_search_keys;
