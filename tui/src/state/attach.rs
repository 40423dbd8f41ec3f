//! Keys, pastes and scrolling while attached to a worker.

use super::term::TermView;
use super::{Effect, Mode, State};
use crate::input::{InputModes, encode_key, encode_paste};
use crate::mouse::{MouseModes, encode_mouse};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

impl State {
    /// Enters attach mode on the selected worker (the preview's socket carries on).
    pub(super) fn attach(&mut self, fx: &mut Vec<Effect>) {
        if self.worker().is_none() {
            let hint = match (self.session().is_some(), self.settings.read_only) {
                (true, false) => "this session has no worker — press w",
                (true, true) => "this session has no worker",
                (false, false) => "no session — press n",
                (false, true) => "no session",
            };
            self.notice = Some(super::Notice { text: hint.into(), error: false });
            return;
        }
        self.mode = Mode::Attach;
        self.send_attach_size(fx);
    }

    pub(super) fn detach(&mut self, fx: &mut Vec<Effect>) {
        if let Some(term) = self.term.as_mut() {
            term.scroll_by(isize::MIN / 2);
            term.search = None;
            term.copy = None;
            term.chord = false;
            term.press = None;
        }
        // Back where the attach started: the wall, when it was attached from there.
        self.mode = self.base_mode();
        if self.settings.exit_on_detach {
            self.quit(fx);
        }
    }

    pub(super) fn scroll_term(&mut self, rows: isize) {
        if let Some(term) = self.term.as_mut() {
            term.scroll_by(rows);
            term.search_after_scroll();
        }
    }

    /// A key while attached; `true` when the screen changed (`false`: only sent to the program).
    pub(super) fn attach_key(&mut self, ev: KeyEvent, fx: &mut Vec<Effect>) -> bool {
        // Copy mode and its chord first (`copy_attach.rs`).
        if let Some(redraw) = self.copy_key(&ev, fx) {
            return redraw;
        }
        self.attach_key_plain(ev, fx)
    }

    /// A key while attached, copy mode and its chord aside.
    pub(super) fn attach_key_plain(&mut self, ev: KeyEvent, fx: &mut Vec<Effect>) -> bool {
        if self.settings.keys.is_detach(&ev) {
            self.detach(fx);
            return true;
        }
        let Some(term) = self.term.as_mut() else {
            self.detach(fx);
            return true;
        };
        // A page is the worker's screen: its rows as shown (the terminal less the header).
        let page = isize::try_from(term.parser.term().size().0).unwrap_or(24).max(1);
        if ev.modifiers.contains(KeyModifiers::SHIFT) {
            match ev.code {
                KeyCode::PageUp => {
                    self.scroll_term(page);
                    return true;
                }
                KeyCode::PageDown => {
                    self.scroll_term(-page);
                    return true;
                }
                _ => {}
            }
        }
        // Before the exit banner's keys: a search through an exited worker's history works too.
        if term.search_key(&ev) {
            return true;
        }
        if term.exit.is_some() {
            match ev.code {
                KeyCode::Char('r') if !self.settings.read_only => fx.push(Effect::RestartWorker {
                    session: term.session.clone(),
                    worker: term.worker.clone(),
                }),
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q' | 'b') => self.detach(fx),
                _ => {}
            }
            return true;
        }
        if self.settings.read_only {
            return self.drop_input();
        }
        let modes = InputModes::of(term.parser.term());
        match encode_key(&ev, modes) {
            Some(bytes) => send_input(term, bytes, fx),
            None => true,
        }
    }

    /// What the dashboard's traffic can change in the attach view: the header's session title,
    /// worker name and link, the notice, and the mode (a gone worker returns to the dashboard).
    pub(super) fn attach_view_key(
        &self,
    ) -> (Option<String>, Option<String>, super::Link, Option<super::Notice>, bool) {
        let (session, worker) = match &self.term {
            Some(t) => (
                self.store.get(&t.session).map(|s| s.title.clone()),
                self.store.worker(&t.session, &t.worker).map(|w| w.name.clone()),
            ),
            None => (None, None),
        };
        (session, worker, self.link.clone(), self.notice.clone(), self.mode == Mode::Attach)
    }

    /// Input a read-only connection cannot send: dropped, and said once.
    fn drop_input(&mut self) -> bool {
        if std::mem::replace(&mut self.told_read_only, true) {
            return false;
        }
        let text = "read-only connection: keys are not sent to the worker".into();
        self.notice = Some(super::Notice { text, error: true });
        true
    }

    /// A paste while attached; `true` when the screen changed.
    pub(super) fn attach_paste(&mut self, text: &str, fx: &mut Vec<Effect>) -> bool {
        let Some(term) = self.term.as_mut() else { return true };
        if let Some(copy) = term.copy.as_mut() {
            // Copy mode sends nothing to the program: a paste joins an open search prompt, or
            // does nothing.
            return copy.paste(text);
        }
        if term.exit.is_some() || term.search_paste(text) {
            return true;
        }
        if self.settings.read_only {
            return self.drop_input();
        }
        let bytes = encode_paste(text, InputModes::of(term.parser.term()));
        send_input(term, bytes, fx)
    }

    /// Mouse while attached: forwarded to a program that asked for mouse reports (unless the
    /// user is looking at scrollback); otherwise the wheel scrolls back. `true` when the screen
    /// changed.
    pub(super) fn attach_mouse(&mut self, ev: MouseEvent, fx: &mut Vec<Effect>) -> bool {
        // Copy mode, and a drag that starts it (`copy_attach.rs`).
        if let Some(redraw) = self.copy_mouse(&ev, fx) {
            return redraw;
        }
        let Some(term) = self.term.as_mut() else { return true };
        let modes = MouseModes::of(term.parser.term());
        // A read-only connection cannot send the reports: the wheel scrolls back instead.
        if !self.settings.read_only
            && term.exit.is_none()
            && modes.wanted()
            && term.scrolled() == 0
            && term.search.is_none()
        {
            // The worker's screen starts below the one-line header.
            let Some(row) = ev.row.checked_sub(1) else { return true };
            let (rows, cols) = term.parser.term().size();
            if row >= rows || ev.column >= cols {
                return true;
            }
            // Sent as the exact bytes: the legacy encoding's far columns are not UTF-8, and a
            // binary input frame carries them as they are.
            if let Some(bytes) = encode_mouse(&ev, ev.column, row, modes) {
                fx.push(Effect::Input { bytes });
                return false;
            }
            return true;
        }
        match ev.kind {
            MouseEventKind::ScrollUp => self.scroll_term(3),
            MouseEventKind::ScrollDown => self.scroll_term(-3),
            _ => {}
        }
        true
    }
}

/// Sends typed or pasted bytes to the program, returning to the live view first; `true` when
/// that changed the screen (the view was scrolled back, or a search was shown on it).
fn send_input(term: &mut TermView, bytes: Vec<u8>, fx: &mut Vec<Effect>) -> bool {
    let changed = term.scrolled() != 0 || term.search.is_some();
    term.scroll_by(isize::MIN / 2);
    term.search = None;
    // Keys and pastes share one queue to the socket, so a paste keeps its place among keys.
    fx.push(Effect::Input { bytes });
    changed
}
