//! Keys, pastes and scrolling while attached to a worker.

use super::{Effect, Mode, State};
use crate::input::{InputModes, encode_key, encode_paste};
use crate::mouse::{MouseModes, encode_mouse};
use controlroom_protocol::WorkerClientMsg;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

impl State {
    /// Enters attach mode on the selected worker (the preview's socket carries on).
    pub(super) fn attach(&mut self, fx: &mut Vec<Effect>) {
        if self.worker().is_none() {
            let hint = if self.session().is_some() {
                "this session has no worker — press w"
            } else {
                "no session — press n"
            };
            self.notice = Some(super::Notice { text: hint.into(), error: false });
            return;
        }
        self.mode = Mode::Attach;
        self.send_attach_size(fx);
    }

    fn detach(&mut self, fx: &mut Vec<Effect>) {
        if let Some(term) = self.term.as_mut() {
            term.scroll_by(isize::MIN / 2);
            term.search = None;
        }
        self.mode = super::Mode::Dashboard;
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

    pub(super) fn attach_key(&mut self, ev: KeyEvent, fx: &mut Vec<Effect>) {
        if self.settings.keys.is_detach(&ev) {
            return self.detach(fx);
        }
        let Some(term) = self.term.as_mut() else { return self.detach(fx) };
        let page = isize::try_from(self.size.1 / 2).unwrap_or(12).max(1);
        if ev.modifiers.contains(KeyModifiers::SHIFT) {
            match ev.code {
                KeyCode::PageUp => return self.scroll_term(page),
                KeyCode::PageDown => return self.scroll_term(-page),
                _ => {}
            }
        }
        // Before the exit banner's keys: a search through an exited worker's history works too.
        if term.search_key(&ev) {
            return;
        }
        if term.exit.is_some() {
            match ev.code {
                KeyCode::Char('r') => fx.push(Effect::RestartWorker {
                    session: term.session.clone(),
                    worker: term.worker.clone(),
                }),
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q' | 'b') => self.detach(fx),
                _ => {}
            }
            return;
        }
        let modes = InputModes::of(term.parser.term());
        if let Some(bytes) = encode_key(&ev, modes) {
            // A search shown on the live view (its match on the last rows) is drawn: not input only.
            self.input_only = term.scrolled() == 0 && term.search.is_none();
            term.scroll_by(isize::MIN / 2);
            term.search = None;
            fx.push(Effect::Send(WorkerClientMsg::Input {
                data: String::from_utf8_lossy(&bytes).into_owned(),
            }));
        }
    }

    pub(super) fn attach_paste(&mut self, text: &str, fx: &mut Vec<Effect>) {
        let Some(term) = self.term.as_mut() else { return };
        if term.exit.is_some() || term.search_paste(text) {
            return;
        }
        let bytes = encode_paste(text, InputModes::of(term.parser.term()));
        self.input_only = term.scrolled() == 0 && term.search.is_none();
        term.scroll_by(isize::MIN / 2);
        term.search = None;
        fx.push(Effect::Send(WorkerClientMsg::Input { data: String::from_utf8_lossy(&bytes).into_owned() }));
    }

    /// Mouse while attached: forwarded to a program that asked for mouse reports (unless the
    /// user is looking at scrollback); otherwise the wheel scrolls back.
    pub(super) fn attach_mouse(&mut self, ev: MouseEvent, fx: &mut Vec<Effect>) {
        let Some(term) = self.term.as_mut() else { return };
        let modes = MouseModes::of(term.parser.term());
        if term.exit.is_none() && modes.wanted() && term.scrolled() == 0 && term.search.is_none() {
            // The worker's screen starts below the one-line header.
            let Some(row) = ev.row.checked_sub(1) else { return };
            let (rows, cols) = term.parser.term().size();
            if row >= rows || ev.column >= cols {
                return;
            }
            // The legacy encoding can produce bytes that are not UTF-8 (far columns); input
            // travels as text, so such a report is dropped rather than mangled.
            if let Some(data) =
                encode_mouse(&ev, ev.column, row, modes).and_then(|b| String::from_utf8(b).ok())
            {
                self.input_only = true;
                fx.push(Effect::Send(WorkerClientMsg::Input { data }));
            }
            return;
        }
        match ev.kind {
            MouseEventKind::ScrollUp => self.scroll_term(3),
            MouseEventKind::ScrollDown => self.scroll_term(-3),
            _ => {}
        }
    }
}
