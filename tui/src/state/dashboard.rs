//! Keys and mouse on the dashboard and its overlays (forms, confirmations, help, filter).

use super::dialog::{Confirm, Form, FormKind, FormOutcome, split_command};
use super::layout::{DashboardLayout, SESSION_ROWS, list_offset};
use super::{Effect, Focus, Mode, Notice, State};
use crate::keymap::Action;
use controlroom_protocol::{CreateSession, WorkerSpec, WorkerState, WorktreeRequest};
use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use std::time::{Duration, Instant};

/// Two clicks on the same row within this long are a double click.
const DOUBLE_CLICK: Duration = Duration::from_millis(400);

impl State {
    pub(super) fn key(&mut self, ev: KeyEvent, fx: &mut Vec<Effect>) {
        match &mut self.mode {
            Mode::Attach => {
                self.attach_key(ev, fx);
            }
            Mode::Help(view) => {
                let text = super::help::HelpText::new(&self.settings.keys, self.settings.read_only);
                if view.key(&ev, &text, self.size.1) == super::help::HelpOutcome::Close {
                    self.mode = self.base_mode();
                }
            }
            Mode::Filter => match ev.code {
                KeyCode::Enter => self.mode = Mode::Dashboard,
                KeyCode::Esc => {
                    self.filter.clear();
                    self.mode = Mode::Dashboard;
                }
                _ => {
                    self.filter.key(&ev);
                }
            },
            Mode::Form(form) => match form.key(&ev) {
                FormOutcome::Editing => {
                    let mut form = form.clone();
                    self.show_preset_command(&mut form);
                    self.mode = Mode::Form(form);
                }
                FormOutcome::Cancelled => self.mode = Mode::Dashboard,
                FormOutcome::Complete(typed) => fx.push(Effect::CompletePath { typed }),
                FormOutcome::Submitted => {
                    let form = form.clone();
                    self.submit(form, fx);
                }
            },
            Mode::Diff(view) => {
                let page = usize::from(self.size.1.saturating_sub(super::diff::DIFF_CHROME_ROWS));
                match view.key(&ev, page) {
                    super::diff::DiffOutcome::Stay => {}
                    super::diff::DiffOutcome::Close => self.mode = Mode::Dashboard,
                    super::diff::DiffOutcome::Reload => {
                        view.loading = true;
                        fx.push(Effect::LoadDiff(view.session.clone()));
                    }
                }
            }
            Mode::Confirm(Confirm::DeleteWorktreeSession { session, .. })
                if matches!(ev.code, KeyCode::Char('k' | 'K')) =>
            {
                // Keep the worktree and branch: only the session goes.
                fx.push(Effect::DeleteSession(session.clone()));
                self.mode = Mode::Dashboard;
            }
            Mode::Confirm(confirm) => match ev.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    let confirm = confirm.clone();
                    self.mode = Mode::Dashboard;
                    self.confirmed(confirm, fx);
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Dashboard,
                _ => {}
            },
            Mode::Reply(_) => self.reply_key(&ev, fx),
            Mode::Dashboard => {
                let selected = self.selected_session.clone().zip(self.selected_worker.clone());
                if ev.code == KeyCode::Esc && !self.filter.is_empty() {
                    self.filter.clear();
                } else if selected.is_some_and(|(s, w)| self.answer_key(&s, &w, &ev, fx)) {
                    // An answer to the selected worker's prompt (or a hint of the keys it takes).
                } else if let Some(action) = self.settings.keys.action(&ev) {
                    self.action(action, fx);
                }
            }
            Mode::Wall => self.wall_key(ev, fx),
        }
    }

    pub(super) fn paste(&mut self, text: String, fx: &mut Vec<Effect>) {
        match &mut self.mode {
            Mode::Attach => {
                self.attach_paste(&text, fx);
            }
            Mode::Form(form) => form.paste(&text),
            Mode::Filter => self.filter.insert_str(&text),
            Mode::Reply(_) => self.reply_paste(&text),
            _ => {}
        }
    }

    fn action(&mut self, action: Action, fx: &mut Vec<Effect>) {
        if self.settings.read_only && action.changes() {
            return self.tell("read-only connection: it can watch, not change anything");
        }
        match action {
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::Focus => {
                self.focus = match self.focus {
                    Focus::Sessions if self.selected_worker.is_some() => Focus::Workers,
                    _ => Focus::Sessions,
                };
            }
            Action::Attach => self.attach(fx),
            Action::NewSession => {
                let mut form = Form::new_session(&self.settings.default_command);
                if let Some(dir) = &self.settings.start_dir {
                    form.set_value(super::dialog::DIRECTORY, dir);
                }
                self.mode = Mode::Form(form);
            }
            Action::NewWorker => match &self.selected_session {
                Some(id) => {
                    let presets: Vec<String> = self.presets.iter().map(|p| p.name.clone()).collect();
                    let mut form = Form::new_worker(id.clone(), &self.settings.default_command, &presets);
                    self.show_preset_command(&mut form);
                    self.mode = Mode::Form(form)
                }
                None => self.tell("no session selected — press n to create one"),
            },
            // With the workers list focused, the selected worker; otherwise the session.
            Action::Rename => match (self.focus, self.session(), self.worker()) {
                (Focus::Workers, Some(s), Some(w)) => {
                    self.mode = Mode::Form(Form::rename_worker(s.id.clone(), w.id.clone(), &w.name))
                }
                (_, Some(s), _) => self.mode = Mode::Form(Form::rename(s.id.clone(), &s.title)),
                _ => self.tell("no session selected"),
            },
            Action::Stop => match (self.session(), self.worker()) {
                (Some(s), Some(w)) if w.state == WorkerState::Running => {
                    self.mode = Mode::Confirm(Confirm::StopWorker {
                        session: s.id.clone(),
                        worker: w.id.clone(),
                        name: w.name.clone(),
                    });
                }
                (Some(_), Some(w)) => self.tell(&format!("“{}” is not running — R restarts it", w.name)),
                _ => self.tell("no worker selected"),
            },
            Action::Restart => match (self.session(), self.worker()) {
                // A lost agent resumes with its preset's arguments: say what will run first.
                (Some(s), Some(w)) if self.resume_command(&s.id, &w.id).is_some() => {
                    if let Some((name, command)) = self.resume_command(&s.id, &w.id) {
                        self.mode = Mode::Confirm(Confirm::Resume {
                            session: s.id.clone(),
                            worker: w.id.clone(),
                            name,
                            command,
                        });
                    }
                }
                (Some(s), Some(w)) if w.state == WorkerState::Running => {
                    self.mode = Mode::Confirm(Confirm::RestartWorker {
                        session: s.id.clone(),
                        worker: w.id.clone(),
                        name: w.name.clone(),
                    });
                }
                (Some(s), Some(w)) => {
                    fx.push(Effect::RestartWorker { session: s.id.clone(), worker: w.id.clone() })
                }
                _ => self.tell("no worker selected"),
            },
            Action::DeleteWorker => match (self.session(), self.worker()) {
                (Some(s), Some(w)) => {
                    self.mode = Mode::Confirm(Confirm::DeleteWorker {
                        session: s.id.clone(),
                        worker: w.id.clone(),
                        name: w.name.clone(),
                        running: w.state == WorkerState::Running,
                    });
                }
                _ => self.tell("no worker selected"),
            },
            Action::Delete => match self.session() {
                Some(s) if s.git.as_ref().is_some_and(|g| g.worktree) => {
                    self.mode = Mode::Confirm(Confirm::DeleteWorktreeSession {
                        session: s.id.clone(),
                        title: s.title.clone(),
                        branch: s.git.as_ref().map(|g| g.branch.clone()).unwrap_or_default(),
                        path: s.cwd.clone(),
                    });
                }
                Some(s) => {
                    let running = s.workers.iter().filter(|w| w.state == WorkerState::Running).count();
                    self.mode = Mode::Confirm(Confirm::DeleteSession {
                        session: s.id.clone(),
                        title: s.title.clone(),
                        running,
                    });
                }
                None => self.tell("no session selected"),
            },
            Action::Filter => self.mode = Mode::Filter,
            Action::NextTheme => {
                let names = &self.settings.themes;
                let i = names.iter().position(|n| n == &self.theme).map_or(0, |i| i + 1);
                if let Some(next) = names.get(i % names.len().max(1)) {
                    self.theme = next.clone();
                    self.notice = Some(Notice { text: format!("theme: {next}"), error: false });
                    fx.push(Effect::Theme(next.clone()));
                }
            }
            Action::NextAttention => self.next_attention(),
            Action::Help => self.mode = Mode::Help(super::help::HelpView::default()),
            Action::Reply => match self.selected_session.clone().zip(self.selected_worker.clone()) {
                Some((s, w)) => self.open_reply(s, w),
                None => self.tell("no worker selected"),
            },
            Action::AutoAnswer => match self.selected_session.clone().zip(self.selected_worker.clone()) {
                Some((s, w)) => self.toggle_auto_answer(&s, &w, fx),
                None => self.tell("no worker selected"),
            },
            // Workers outlive the front end and the gateway: quitting never asks.
            Action::Quit => self.quit(fx),
            Action::Wall => self.open_wall(),
            Action::Diff => match self.session() {
                Some(s) if s.branch.is_some() => {
                    let (id, title) = (s.id.clone(), s.title.clone());
                    fx.push(Effect::LoadDiff(id.clone()));
                    self.mode = Mode::Diff(super::diff::DiffView::loading(id, title));
                }
                Some(s) => self.tell(&format!("“{}” is not in a git repository", s.title)),
                None => self.tell("no session selected"),
            },
        }
    }

    /// For a `lost` worker whose preset names resume arguments: its name and the command line a
    /// restart runs (the gateway appends the same arguments).
    fn resume_command(
        &self,
        sid: &controlroom_protocol::SessionId,
        wid: &controlroom_protocol::WorkerId,
    ) -> Option<(String, String)> {
        let w = self.store.worker(sid, wid)?;
        if w.state != WorkerState::Exited || w.signal.as_deref() != Some(controlroom_protocol::WORKER_LOST) {
            return None;
        }
        let preset = self.presets.iter().find(|p| Some(&p.name) == w.preset.as_ref())?;
        if preset.resume_args.is_empty() {
            return None;
        }
        let argv: Vec<&str> = w.command.iter().chain(preset.resume_args.iter()).map(String::as_str).collect();
        Some((w.name.clone(), argv.join(" ")))
    }

    pub(super) fn tell(&mut self, text: &str) {
        self.notice = Some(Notice { text: text.to_owned(), error: false });
    }

    fn move_selection(&mut self, delta: isize) {
        match self.focus {
            Focus::Sessions => {
                let ids: Vec<_> = self.store.visible(&self.filter).iter().map(|s| s.id.clone()).collect();
                let cur = self.selected_session.as_ref().and_then(|id| ids.iter().position(|i| i == id));
                if let Some(next) = step(cur, delta, ids.len()) {
                    self.selected_session = ids.get(next).cloned();
                    self.selected_worker = None;
                }
            }
            Focus::Workers => {
                let ids: Vec<_> = self
                    .session()
                    .map(|s| s.workers.iter().map(|w| w.id.clone()).collect())
                    .unwrap_or_default();
                let cur = self.selected_worker.as_ref().and_then(|id| ids.iter().position(|i| i == id));
                if let Some(next) = step(cur, delta, ids.len()) {
                    self.selected_worker = ids.get(next).cloned();
                }
            }
        }
    }

    /// In the new-worker form, the command field's placeholder names what the chosen preset runs.
    fn show_preset_command(&self, form: &mut Form) {
        if !matches!(form.kind, FormKind::NewWorker { .. }) {
            return;
        }
        let chosen = self.presets.iter().find(|p| p.name == form.value_of("Preset"));
        let command = match chosen {
            Some(p) if !p.command.is_empty() => p.command.join(" "),
            _ => super::dialog::placeholder_command(&self.settings.default_command),
        };
        form.set_placeholder("Command", command);
    }

    fn submit(&mut self, form: Form, fx: &mut Vec<Effect>) {
        let command = match split_command(form.value_of("Command")) {
            Ok(argv) if argv.is_empty() => None,
            Ok(argv) => Some(argv),
            Err(e) => return self.tell(&format!("command: {e}")),
        };
        let (cols, rows) = self.attach_size();
        match &form.kind {
            FormKind::NewSession => {
                let title = match form.value(0) {
                    "" => format!("session {}", self.store.all().len() + 1),
                    t => t.to_owned(),
                };
                let cwd = Some(form.value(1)).filter(|c| !c.is_empty()).map(str::to_owned);
                let spec =
                    WorkerSpec { command, cols: Some(cols), rows: Some(rows), ..WorkerSpec::default() };
                let branch = form.value_of(super::dialog::WORKTREE);
                let base = Some(form.value_of(super::dialog::BASE)).filter(|b| !b.is_empty());
                if branch.is_empty() && base.is_some() {
                    return self.tell("a base needs a worktree branch");
                }
                let worktree = (!branch.is_empty())
                    .then(|| WorktreeRequest { branch: branch.to_owned(), base: base.map(str::to_owned) });
                if worktree.is_some() {
                    self.tell("making the worktree…");
                }
                fx.push(Effect::CreateSession(CreateSession {
                    title,
                    cwd,
                    workers: Some(vec![spec]),
                    worktree,
                }));
            }
            FormKind::NewWorker { session } => {
                let name = Some(form.value_of("Name")).filter(|n| !n.is_empty()).map(str::to_owned);
                let preset = Some(form.value_of("Preset")).filter(|p| !p.is_empty()).map(str::to_owned);
                let spec = WorkerSpec {
                    name,
                    command,
                    preset,
                    cols: Some(cols),
                    rows: Some(rows),
                    ..WorkerSpec::default()
                };
                fx.push(Effect::CreateWorker { session: session.clone(), spec });
            }
            FormKind::Rename { session } => {
                let title = form.value(0).to_owned();
                if title.is_empty() {
                    return self.tell("a title cannot be empty");
                }
                fx.push(Effect::RenameSession { session: session.clone(), title });
            }
            FormKind::RenameWorker { session, worker } => {
                let name = form.value(0).to_owned();
                if name.is_empty() {
                    return self.tell("a name cannot be empty");
                }
                fx.push(Effect::RenameWorker { session: session.clone(), worker: worker.clone(), name });
            }
        }
        self.mode = Mode::Dashboard;
    }

    fn confirmed(&mut self, confirm: Confirm, fx: &mut Vec<Effect>) {
        match confirm {
            Confirm::StopWorker { session, worker, .. } => fx.push(Effect::StopWorker { session, worker }),
            Confirm::Resume { session, worker, .. } => fx.push(Effect::RestartWorker { session, worker }),
            Confirm::DeleteWorker { session, worker, .. } => {
                fx.push(Effect::DeleteWorker { session, worker })
            }
            Confirm::RestartWorker { session, worker, .. } => {
                fx.push(Effect::RestartWorker { session, worker })
            }
            Confirm::DeleteSession { session, .. } => fx.push(Effect::DeleteSession(session)),
            Confirm::DeleteWorktreeSession { session, .. } => {
                fx.push(Effect::DeleteSessionWorktree { session, force: false })
            }
            Confirm::ForceRemoveWorktree { session, .. } => {
                fx.push(Effect::DeleteSessionWorktree { session, force: true })
            }
        }
    }

    pub(super) fn mouse(&mut self, ev: MouseEvent, at: Instant, fx: &mut Vec<Effect>) {
        if self.mode == Mode::Attach {
            self.attach_mouse(ev, fx);
            return;
        }
        if self.mode == Mode::Wall {
            return self.wall_mouse(ev, fx);
        }
        if self.mode != Mode::Dashboard {
            return;
        }
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let workers = self.session().map_or(0, |s| s.workers.len());
        let layout = DashboardLayout::new(area, workers);
        let pos = Position::new(ev.column, ev.row);
        let in_sessions = layout.sessions_inner().contains(pos);
        let in_workers = layout.workers_inner().contains(pos);
        match ev.kind {
            MouseEventKind::Down(MouseButton::Left) if in_sessions || in_workers => {
                let double = self
                    .last_click
                    .is_some_and(|(t, row)| row == ev.row && at.duration_since(t) < DOUBLE_CLICK);
                self.last_click = Some((at, ev.row));
                let hit = if in_sessions {
                    self.click_session(ev.row, &layout)
                } else {
                    self.click_worker(ev.row, &layout)
                };
                if hit && double {
                    self.last_click = None;
                    self.attach(fx);
                }
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown if in_sessions || in_workers => {
                self.focus = if in_sessions { Focus::Sessions } else { Focus::Workers };
                self.move_selection(if ev.kind == MouseEventKind::ScrollUp { -1 } else { 1 });
            }
            _ => {}
        }
    }

    fn click_session(&mut self, row: u16, layout: &DashboardLayout) -> bool {
        let inner = layout.sessions_inner();
        let ids: Vec<_> = self.store.visible(&self.filter).iter().map(|s| s.id.clone()).collect();
        let cur = self.selected_session.as_ref().and_then(|id| ids.iter().position(|i| i == id)).unwrap_or(0);
        let per = usize::from(SESSION_ROWS);
        let first = list_offset(cur, usize::from(inner.height) / per);
        let index = first + usize::from(row - inner.y) / per;
        let Some(id) = ids.get(index) else { return false };
        if self.selected_session.as_ref() != Some(id) {
            self.selected_session = Some(id.clone());
            self.selected_worker = None;
        }
        self.focus = Focus::Sessions;
        true
    }

    fn click_worker(&mut self, row: u16, layout: &DashboardLayout) -> bool {
        let inner = layout.workers_inner();
        let ids: Vec<_> =
            self.session().map(|s| s.workers.iter().map(|w| w.id.clone()).collect()).unwrap_or_default();
        let cur = self.selected_worker.as_ref().and_then(|id| ids.iter().position(|i| i == id)).unwrap_or(0);
        let first = list_offset(cur, usize::from(inner.height));
        let Some(id) = ids.get(first + usize::from(row - inner.y)) else { return false };
        self.selected_worker = Some(id.clone());
        self.focus = Focus::Workers;
        true
    }
}

/// Moves an index by `delta` within `0..len`, clamped; `None` when the list is empty.
fn step(cur: Option<usize>, delta: isize, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    Some(cur.map_or(0, |c| c.saturating_add_signed(delta).min(len - 1)))
}
