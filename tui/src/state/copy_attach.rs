//! Copy mode as the attach view uses it: the chord that starts it (`ctrl-\ [` by default, the
//! first key waiting `chord-timeout-ms` for the second), a mouse drag that starts it over a
//! program that did not ask for mouse reports, and a copy's way out to the clipboard (OSC 52,
//! wrapped for tmux when inside it).

use super::copy::{CopyMode, Outcome};
use super::{Effect, Mode, State};
use crate::input::{InputModes, encode_key};
use crate::keymap::KeySpec;
use base64::Engine as _;
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};

/// The bytes that put `text` on the outer terminal's clipboard: OSC 52 (`ESC ] 52 ; c ; BASE64
/// BEL`), which works over ssh as it travels with the output. Inside tmux it is wrapped in a DCS
/// passthrough (`ESC P tmux; … ESC \`, every ESC inside doubled) so it reaches the terminal tmux
/// runs in.
pub fn clipboard_bytes(text: &str, in_tmux: bool) -> Vec<u8> {
    let osc = format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text));
    let out = if in_tmux { format!("\x1bPtmux;{}\x1b\\", osc.replace('\x1b', "\x1b\x1b")) } else { osc };
    out.into_bytes()
}

impl State {
    /// Whether the first key of the two-key copy-mode chord waits for its second: the runtime
    /// sends [`Msg::ChordTimeout`](super::Msg::ChordTimeout) once `chord-timeout-ms` has passed.
    pub fn chord_pending(&self) -> bool {
        self.mode == Mode::Attach && self.term.as_ref().is_some_and(|t| t.chord)
    }

    /// Offers a key to copy mode and its chord; `Some(redraw)` when they took it.
    pub(super) fn copy_key(&mut self, ev: &KeyEvent, fx: &mut Vec<Effect>) -> Option<bool> {
        let key = KeySpec::from_event(ev);
        let chord = self.settings.keys.copy_mode.clone();
        let detach = self.settings.keys.detach;
        let term = self.term.as_mut()?;
        // The header's note lasts until the next key.
        let noted = term.note.take().is_some();
        if let Some(copy) = term.copy.as_mut() {
            if key == detach {
                self.detach(fx);
                return Some(true);
            }
            let outcome = copy.key(ev);
            return Some(self.copy_outcome(outcome, fx) || noted);
        }
        if std::mem::take(&mut term.chord) {
            if chord.get(1) == Some(&key) {
                self.enter_copy();
                return Some(true);
            }
            // Not the chord: its first key does what it does alone. The detach key detaches (and
            // this key, typed after it, is dropped rather than read as a dashboard command);
            // any other first key goes to the program, then this key is handled as usual.
            if chord.first() == Some(&detach) {
                self.detach(fx);
                return Some(true);
            }
            self.chord_first_alone(fx);
            return None;
        }
        if chord.first() == Some(&key) {
            if chord.len() == 1 {
                self.enter_copy();
            } else {
                term.chord = true;
            }
            return Some(true);
        }
        if noted {
            // Handled as usual, and drawn: the note went.
            self.attach_key_plain(*ev, fx);
            return Some(true);
        }
        None
    }

    /// `chord-timeout-ms` passed after the first key of the chord: it does what it does alone.
    /// `true` when the screen changed.
    pub(super) fn chord_timeout(&mut self, fx: &mut Vec<Effect>) -> bool {
        let Some(term) = self.term.as_mut().filter(|t| t.chord) else { return false };
        term.chord = false;
        if self.mode != Mode::Attach {
            return false;
        }
        if self.settings.keys.copy_mode.first() == Some(&self.settings.keys.detach) {
            self.detach(fx);
        } else {
            self.chord_first_alone(fx);
        }
        true
    }

    /// Sends the chord's first key to the program as it would have gone without the chord.
    fn chord_first_alone(&mut self, fx: &mut Vec<Effect>) {
        let Some(first) = self.settings.keys.copy_mode.first().copied() else { return };
        let Some(term) = self.term.as_ref() else { return };
        if self.settings.read_only || term.exit.is_some() {
            return;
        }
        if let Some(bytes) =
            encode_key(&KeyEvent::new(first.code, first.mods), InputModes::of(term.parser.term()))
        {
            fx.push(Effect::Input { bytes });
        }
    }

    /// Starts copy mode over the screen as it is (a search open on it ends).
    fn enter_copy(&mut self) {
        if let Some(term) = self.term.as_mut() {
            term.search = None;
            term.copy = Some(CopyMode::enter(term.parser.term()));
        }
    }

    /// Leaves copy mode, back to the live screen.
    fn leave_copy(&mut self) {
        if let Some(term) = self.term.as_mut() {
            term.copy = None;
            term.scroll_by(isize::MIN / 2);
        }
    }

    /// Carries out what copy mode asked for; `true` when the screen changed.
    fn copy_outcome(&mut self, outcome: Outcome, fx: &mut Vec<Effect>) -> bool {
        match outcome {
            Outcome::Stay(changed) => return changed,
            Outcome::Leave => self.leave_copy(),
            Outcome::Copy(text) => {
                self.leave_copy();
                self.copy_text(text, fx);
            }
        }
        true
    }

    /// Sends `text` to the clipboard, or says why not (nothing selected, over the cap).
    fn copy_text(&mut self, text: String, fx: &mut Vec<Effect>) {
        let note = if text.is_empty() {
            "nothing to copy".to_owned()
        } else if text.len() > self.settings.clipboard_max {
            format!(
                "not copied: {} KiB is over clipboard-max-kib ({} KiB)",
                text.len().div_ceil(1024),
                self.settings.clipboard_max / 1024
            )
        } else {
            let chars = text.chars().count();
            fx.push(Effect::Clipboard { text });
            format!("copied {chars} char{}", if chars == 1 { "" } else { "s" })
        };
        if let Some(term) = self.term.as_mut() {
            term.note = Some(note);
        }
    }

    /// Offers a mouse event to copy mode, or (over a program that did not ask for mouse
    /// reports) to a drag that starts it; `Some(redraw)` when taken.
    pub(super) fn copy_mouse(&mut self, ev: &MouseEvent, fx: &mut Vec<Effect>) -> Option<bool> {
        let term = self.term.as_mut()?;
        // The worker's screen starts below the one-line header.
        let row = i32::from(ev.row) - 1;
        if let Some(copy) = term.copy.as_mut() {
            let outcome = copy.mouse(ev.kind, row, ev.column);
            return Some(self.copy_outcome(outcome, fx));
        }
        let reports = !self.settings.read_only
            && term.exit.is_none()
            && crate::mouse::MouseModes::of(term.parser.term()).wanted()
            && term.scrolled() == 0
            && term.search.is_none();
        if reports {
            // The program asked for the mouse: it gets it (`attach_mouse`).
            return None;
        }
        match ev.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                term.press = u16::try_from(row).ok().map(|r| (r, ev.column));
                Some(false)
            }
            MouseEventKind::Drag(MouseButton::Left) => {
                let (r, c) = term.press.take()?;
                let mut copy = CopyMode::enter(term.parser.term());
                copy.press_at(r, c);
                let outcome = copy.mouse(ev.kind, row, ev.column);
                term.search = None;
                term.copy = Some(copy);
                Some(self.copy_outcome(outcome, fx))
            }
            MouseEventKind::Up(MouseButton::Left) => {
                term.press = None;
                None
            }
            _ => None,
        }
    }
}
