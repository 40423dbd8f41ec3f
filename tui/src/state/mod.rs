//! Application state as plain data, changed only by [`State::update`].
//!
//! `update` takes one [`Msg`] (a key, a gateway message, a finished request, a tick) and returns
//! one [`Update`]: the [`Effect`]s for the runtime to carry out (HTTP calls, socket sends) and
//! whether anything visible changed. Drawing reads the state and never changes it, so every
//! screen is a pure function of a `State` and a theme.
//!
//! The pure core of the front end: nothing here imports the runtime, `ui/` or `client/`; they
//! depend on it.

mod attach;
pub mod attention;
pub mod copy;
mod copy_attach;
mod dashboard;
pub mod dialog;
pub mod diff;
pub mod help;
pub mod layout;
pub mod line_edit;
mod msg;
pub mod reply;
pub mod screen;
pub mod search;
pub mod sessions;
mod settings;
pub mod term;
pub mod wall;

use controlroom_protocol::{
    AppServerMsg, ExitInfo, Preset, Session, SessionId, Worker, WorkerClientMsg, WorkerId, WorkerServerMsg,
};
use dialog::{Confirm, Form};
use line_edit::LineEdit;
use sessions::SessionStore;
use std::time::{Duration, Instant};
use term::{TermView, WorkerLink};

pub use copy_attach::clipboard_bytes;
pub use msg::{AppEvent, Done, Effect, Msg, Replied, Update, WorkerEvent};
pub use settings::Settings;

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
    /// The key help overlay, scrolled as far as it is.
    Help(help::HelpView),
    /// Typing a filter for the sessions list.
    Filter,
    /// Typing a one-line reply to a worker (`i`).
    Reply(reply::ReplyLine),
    /// The wall of live worker screens has the keys.
    Wall,
    /// The selected session's diff against its base (`d`).
    Diff(diff::DiffView),
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
    pub filter: LineEdit,
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
    /// The user was told once that keys for the worker are dropped (read-only connection).
    pub told_read_only: bool,
    /// When each worker last raised a desktop notification (debounce).
    pub notified: std::collections::HashMap<(SessionId, WorkerId), Instant>,
    /// The wall of live terminals (`g`).
    pub wall: wall::Wall,
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
            filter: LineEdit::default(),
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
            told_read_only: false,
            presets: Vec::new(),
            wall: wall::Wall::default(),
        }
    }

    /// Applies one message: the work it asks for, and whether the screen changed.
    pub fn update(&mut self, msg: Msg) -> Update {
        let mut fx = Vec::new();
        let attached = self.mode == Mode::Attach;
        // Input while attached says whether it changed anything on screen (a key only forwarded
        // to the program does not); everything else is drawn.
        let mut redraw = true;
        match msg {
            Msg::Key(ev) if attached => redraw = self.attach_key(ev, &mut fx),
            Msg::Key(ev) => {
                self.notice = None;
                self.key(ev, &mut fx);
            }
            Msg::Paste(text) if attached => redraw = self.attach_paste(&text, &mut fx),
            Msg::Paste(text) => self.paste(text, &mut fx),
            Msg::Mouse { event, .. } if attached => redraw = self.attach_mouse(event, &mut fx),
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
            // While attached, the dashboard's traffic (another session's deltas, round trips)
            // is drawn only when it changes the attach view, so it neither spends frames nor
            // shares one with the attached worker's echo.
            Msg::App(ev) if attached => {
                let before = self.attach_view_key();
                self.app_event(ev, &mut fx);
                redraw = self.attach_view_key() != before;
            }
            Msg::App(ev) => self.app_event(ev, &mut fx),
            Msg::Worker { session, worker, event } => self.worker_event(session, worker, event, &mut fx),
            Msg::Done(done) => self.done(done, &mut fx),
            Msg::ChordTimeout => redraw = self.chord_timeout(&mut fx),
        }
        self.reconcile(&mut fx);
        // Anything beyond sending to the worker (a watch, a request, a mode change's effects)
        // shows on screen.
        redraw |= fx.iter().any(|e| !matches!(e, Effect::Send(_) | Effect::Input { .. }));
        Update { effects: fx, redraw }
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
        if self.wall.tile_event(&session, &worker, &ev) {
            return;
        }
        let attached = self.mode == Mode::Attach;
        let size = self.attach_size();
        let Some(term) = self.term.as_mut().filter(|t| t.is(&session, &worker)) else { return };
        match ev {
            WorkerEvent::Message(WorkerServerMsg::History { data, cols, rows, offset }) => {
                term.history(&data, cols, rows, offset);
                // A read-only client shows the worker at its own size: a resize would be refused.
                if attached && !self.settings.read_only {
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
            // Only `/ws/new` sends it, and the front end opens worker sockets by id: the
            // session reaches it as an HTTP answer and a delta instead.
            WorkerEvent::Message(WorkerServerMsg::Created { .. }) => {}
            WorkerEvent::Lost(reason) => term.link = WorkerLink::Lost(reason),
            WorkerEvent::Gone(reason) => {
                term.link = WorkerLink::Gone(reason.clone());
                if attached {
                    self.mode = self.base_mode();
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
            Done::PathCompletions { typed, candidates } => {
                if let Mode::Form(form) = &mut self.mode {
                    let choices = form.complete(&typed, &candidates);
                    if !choices.is_empty() {
                        let names: Vec<&str> = choices
                            .iter()
                            .map(|c| c.trim_end_matches('/').rsplit('/').next().unwrap_or(c))
                            .take(8)
                            .collect();
                        let more = if choices.len() > 8 { " …" } else { "" };
                        self.notice =
                            Some(Notice { text: format!("{}{more}", names.join("  ")), error: false });
                    }
                }
            }
            Done::Replied(r) => self.replied(&r.session, &r.worker, &r.text, &r.response),
            Done::Diff { session, diff } => {
                if let Mode::Diff(view) = &mut self.mode
                    && view.session == session
                {
                    view.loaded(diff);
                }
            }
            Done::WorktreeDirty { session, message } => {
                // The first "yes" was refused (uncommitted changes, unmerged commits): ask again.
                let message = message.split(';').next().unwrap_or(&message).trim().to_owned();
                self.mode = Mode::Confirm(Confirm::ForceRemoveWorktree { session, message });
            }
            Done::Ok(text) => self.notice = Some(Notice { text, error: false }),
            Done::Failed(text) => {
                // A diff that could not load closes its pane: the status bar shows why.
                if matches!(&self.mode, Mode::Diff(v) if v.loading) {
                    self.mode = Mode::Dashboard;
                }
                self.notice = Some(Notice { text, error: true });
            }
        }
    }

    /// The worker screen size while attached: the terminal minus the header line.
    pub fn attach_size(&self) -> (u16, u16) {
        (self.size.0.max(1), self.size.1.saturating_sub(1).max(1))
    }

    fn send_attach_size(&mut self, fx: &mut Vec<Effect>) {
        if self.settings.read_only {
            return;
        }
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
        // Not while attached: this runs after every update, each typed key and each echo too,
        // and the list's sorted sessions are of no use then.
        if self.mode != Mode::Attach {
            let visible: Vec<SessionId> =
                self.store.visible(&self.filter).iter().map(|s| s.id.clone()).collect();
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
        self.reconcile_wall(fx);
        let want = match (self.mode == Mode::Attach, &self.term) {
            (true, Some(t)) => Some((&t.session, &t.worker)),
            // The wall's tiles have their own sockets; there is no preview under it.
            _ if self.wall.open => None,
            _ => self.selected_session.as_ref().zip(self.selected_worker.as_ref()),
        };
        let have = self.term.as_ref().map(|t| (&t.session, &t.worker));
        if want != have {
            let want = want.map(|(s, w)| (s.clone(), w.clone()));
            self.term = want.clone().map(|(s, w)| TermView::new(s, w, self.settings.scrollback_lines));
            fx.push(Effect::Watch(want));
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_copy;
#[cfg(test)]
mod tests_daily;
#[cfg(test)]
mod tests_search_keys;
