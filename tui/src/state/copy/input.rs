//! Copy mode's keys and mouse: moves, selections, the search prompt and its steps, and what
//! they ask of the attach view ([`Outcome`]).

use super::{Class, CopyMode, Drag, Kind, Outcome, Pos, Selection, WHEEL_ROWS};
use crate::state::line_edit::LineEdit;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEventKind};

impl CopyMode {
    /// A key; see the module docs for what each does.
    pub fn key(&mut self, ev: &KeyEvent) -> Outcome {
        if self.search.prompt.is_some() {
            return self.prompt_key(ev);
        }
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let rows = usize::from(self.rows);
        let half = (rows / 2).max(1);
        let p = self.cursor;
        // A key that moves the cursor ends the note of the last search step.
        let note = self.search.note.take();
        match (ev.code, ctrl) {
            (KeyCode::Char('q'), false) | (KeyCode::Esc, _) | (KeyCode::Char('c'), true) => {
                return Outcome::Leave;
            }
            (KeyCode::Left | KeyCode::Char('h'), false) | (KeyCode::Backspace, _) => {
                if p.col > 0 {
                    self.go(Pos { line: p.line, col: p.col - 1 }, true);
                }
            }
            (KeyCode::Right | KeyCode::Char('l'), false) | (KeyCode::Char(' '), false) => {
                let next = self.cell_end(p.line, p.col) + 1;
                if next < self.cols {
                    self.go(Pos { line: p.line, col: next }, true);
                }
            }
            (KeyCode::Up | KeyCode::Char('k'), false) => self.vertical(p.line.saturating_sub(1)),
            (KeyCode::Down | KeyCode::Char('j'), false) => self.vertical(p.line + 1),
            (KeyCode::PageUp, _) | (KeyCode::Char('b'), true) => {
                self.scroll_view(-(rows as isize));
                self.vertical(p.line.saturating_sub(rows).max(self.top.min(p.line)));
            }
            (KeyCode::PageDown, _) | (KeyCode::Char('f'), true) => {
                self.scroll_view(rows as isize);
                self.vertical((p.line + rows).min(self.top + rows - 1));
            }
            (KeyCode::Char('u'), true) => {
                self.scroll_view(-(half as isize));
                self.vertical(p.line.saturating_sub(half));
            }
            (KeyCode::Char('d'), true) => {
                self.scroll_view(half as isize);
                self.vertical(p.line + half);
            }
            (KeyCode::Char('y'), true) => self.scroll_view(-1),
            (KeyCode::Char('e'), true) => self.scroll_view(1),
            (KeyCode::Char('g'), false) | (KeyCode::Home, true) => self.go(Pos::default(), true),
            (KeyCode::Char('G'), false) | (KeyCode::End, true) => {
                self.go(Pos { line: self.lines.len().saturating_sub(1), col: 0 }, true);
            }
            (KeyCode::Char('H'), false) => self.vertical(self.top),
            (KeyCode::Char('M'), false) => {
                let shown = rows.min(self.lines.len() - self.top);
                self.vertical(self.top + shown.saturating_sub(1) / 2);
            }
            (KeyCode::Char('L'), false) => self.vertical(self.top + rows - 1),
            (KeyCode::Char('0') | KeyCode::Home, false) => self.go(Pos { line: p.line, col: 0 }, true),
            (KeyCode::Char('^'), false) => {
                let first =
                    (0..self.cols).find(|&c| self.class(Pos { line: p.line, col: c }) != Class::Blank);
                self.go(Pos { line: p.line, col: first.unwrap_or(0) }, true);
            }
            (KeyCode::Char('$') | KeyCode::End, false) => {
                let col = self.last_text_col(p.line).unwrap_or(0);
                self.go(Pos { line: p.line, col }, true);
            }
            (KeyCode::Char('w'), false) => self.go(self.word_forward(p), true),
            (KeyCode::Char('b'), false) => self.go(self.word_back(p), true),
            (KeyCode::Char('e'), false) => self.go(self.word_end(p), true),
            (KeyCode::Char('v'), false) => self.toggle(Kind::Chars),
            (KeyCode::Char('V'), false) => self.toggle(Kind::Lines),
            (KeyCode::Char('v'), true) => self.toggle(Kind::Block),
            (KeyCode::Char('y'), false) | (KeyCode::Enter, _) => {
                let text = match self.selection {
                    Some(_) => self.selected_text(),
                    // Nothing selected: the cursor's line, as `V` then `y` would copy.
                    None => self.lines_text(p.line, p.line),
                };
                return Outcome::Copy(text);
            }
            (KeyCode::Char('Y'), false) => return Outcome::Copy(self.screen_text()),
            (KeyCode::Char('/'), false) => self.open_prompt(false),
            (KeyCode::Char('?'), false) => self.open_prompt(true),
            (KeyCode::Char('n'), false) => self.search_step(self.search.backward),
            (KeyCode::Char('N'), false) => self.search_step(!self.search.backward),
            _ => {
                // Not a copy-mode key: nothing changes (the note stays).
                self.search.note = note;
                return Outcome::Stay(false);
            }
        }
        Outcome::Stay(true)
    }

    /// `v`, `V`, `Ctrl-v`: starts a selection of that kind at the cursor, changes the kind of
    /// the one under way, or (the same kind again) clears it.
    fn toggle(&mut self, kind: Kind) {
        self.selection = match self.selection {
            Some(s) if s.kind == kind => None,
            Some(s) => Some(Selection { kind, ..s }),
            None => Some(Selection { anchor: self.cursor, kind }),
        };
    }

    fn open_prompt(&mut self, backward: bool) {
        self.search.prompt = Some(LineEdit::default());
        self.search.backward = backward;
    }

    fn prompt_key(&mut self, ev: &KeyEvent) -> Outcome {
        let Some(prompt) = &mut self.search.prompt else { return Outcome::Stay(false) };
        match ev.code {
            KeyCode::Esc => self.search.prompt = None,
            KeyCode::Backspace if prompt.is_empty() => self.search.prompt = None,
            KeyCode::Enter => {
                let typed = std::mem::take(prompt).as_str().to_owned();
                self.search.prompt = None;
                // An empty query repeats the last one, as in vi.
                if !typed.is_empty() {
                    self.search.query = typed;
                }
                self.search_step(self.search.backward);
            }
            _ => {
                prompt.key(ev);
            }
        }
        Outcome::Stay(true)
    }

    /// Pasted text while the prompt is open joins the query (its first line); `false` when no
    /// prompt is open.
    pub fn paste(&mut self, text: &str) -> bool {
        let Some(prompt) = self.search.prompt.as_mut() else { return false };
        prompt.insert_str(text.lines().next().unwrap_or(""));
        true
    }

    /// Moves to the next match of the last query after the cursor (`backward`: before it),
    /// wrapping around the copy as tmux does; says so, or that nothing matched.
    fn search_step(&mut self, backward: bool) {
        self.search.current = None;
        if self.search.query.is_empty() {
            return;
        }
        let p = self.cursor;
        let n = self.lines.len();
        let mut found = None;
        for step in 0..=n {
            // The cursor's line is looked at first (after or before the cursor) and last
            // (the other side of it, once the search wrapped).
            let line = if backward { (p.line + n - step % n) % n } else { (p.line + step) % n };
            let hits = self.matches_on(line);
            let pick = match (backward, step) {
                (false, 0) => hits.iter().find(|m| m.col > p.col),
                (true, 0) => hits.iter().rev().find(|m| m.col < p.col),
                (false, s) if s == n => hits.iter().find(|m| m.col <= p.col),
                (true, s) if s == n => hits.iter().rev().find(|m| m.col >= p.col),
                (false, _) => hits.first(),
                (true, _) => hits.last(),
            };
            if let Some(m) = pick {
                let wrapped = if backward {
                    line > p.line || (line == p.line && step > 0)
                } else {
                    line < p.line || (line == p.line && step > 0)
                };
                found = Some((Pos { line, col: m.col }, m.width, wrapped));
                break;
            }
        }
        match found {
            Some((at, width, wrapped)) => {
                self.go(at, true);
                self.search.current = Some((at, width));
                self.search.note = wrapped.then(|| "search wrapped".to_owned());
            }
            None => self.search.note = Some(format!("no match for \"{}\"", self.search.query)),
        }
    }

    /// A mouse event at (`row`, `col`) of the view (a row above the view is negative, one below
    /// it past the last row: a drag there scrolls).
    pub fn mouse(&mut self, kind: MouseEventKind, row: i32, col: u16) -> Outcome {
        let rows = i32::from(self.rows);
        let clamped = usize::try_from(row.clamp(0, rows - 1)).unwrap_or(0);
        let at = self.clamp(Pos { line: self.top + clamped, col });
        match kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.selection = None;
                self.go(at, true);
                self.drag = Drag::Pressed;
            }
            MouseEventKind::Drag(MouseButton::Left) => {
                if self.drag != Drag::Selecting {
                    self.drag = Drag::Selecting;
                    self.selection = Some(Selection { anchor: self.cursor, kind: Kind::Chars });
                }
                if row < 0 {
                    self.scroll_view(-1);
                } else if row >= rows {
                    self.scroll_view(1);
                }
                let line = self.top + clamped;
                self.go(Pos { line, col }, true);
            }
            MouseEventKind::Up(MouseButton::Left) => {
                let was = std::mem::take(&mut self.drag);
                if was == Drag::Selecting && self.selection.is_some() {
                    return Outcome::Copy(self.selected_text());
                }
                return Outcome::Stay(false);
            }
            MouseEventKind::ScrollUp => self.scroll_view(-(WHEEL_ROWS as isize)),
            MouseEventKind::ScrollDown => self.scroll_view(WHEEL_ROWS as isize),
            _ => return Outcome::Stay(false),
        }
        Outcome::Stay(true)
    }

    /// Starts a mouse drag from (`row`, `col`) of the view: the press that came before copy
    /// mode started (a drag over a program that did not ask for mouse reports).
    pub fn press_at(&mut self, row: u16, col: u16) {
        let _ = self.mouse(MouseEventKind::Down(MouseButton::Left), i32::from(row), col);
    }
}
