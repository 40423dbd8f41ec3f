//! The one line editor every text field uses (form fields, the sessions filter, the scrollback
//! search prompt), so each edits with the same keys, as a shell's line does.
//!
//! Keys: printable characters insert at the cursor; ←/→ (Ctrl-B/F) move, Home/End (Ctrl-A/E)
//! jump; Backspace and Delete remove a character; Ctrl-W removes the word before the cursor (back
//! to whitespace), Alt-Backspace back to punctuation (a path's last component); Ctrl-U removes
//! everything before the cursor and Ctrl-K everything after it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A line of text with a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEdit {
    text: String,
    /// Byte offset of the cursor in `text`, always on a character boundary.
    cursor: usize,
}

/// Reads as its text, so a field is used wherever a `&str` is.
impl std::ops::Deref for LineEdit {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for LineEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for LineEdit {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl LineEdit {
    /// A line holding `text`, the cursor at its end.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        Self { cursor: text.len(), text }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Empties the line.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// Replaces the text, the cursor at its end.
    pub fn set(&mut self, text: impl Into<String>) {
        *self = Self::new(text);
    }

    /// Characters before the cursor (where a drawn cursor goes).
    pub fn cursor_chars(&self) -> usize {
        self.text[..self.cursor].chars().count()
    }

    /// Inserts text at the cursor; line breaks and other control characters are dropped (a
    /// field is one line).
    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars().filter(|c| !c.is_control()) {
            self.text.insert(self.cursor, c);
            self.cursor += c.len_utf8();
        }
    }

    /// Applies an editing key; `false` when the key is not one (Enter, Esc, Tab, ↑/↓, other
    /// chords), for the field's owner to handle.
    pub fn key(&mut self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        match ev.code {
            KeyCode::Char(c) if ctrl && !alt => match c.to_ascii_lowercase() {
                'a' => self.cursor = 0,
                'e' => self.cursor = self.text.len(),
                'b' => self.cursor = self.prev_boundary(self.cursor),
                'f' => self.cursor = self.next_boundary(self.cursor),
                'u' => self.delete_before(0),
                'k' => self.text.truncate(self.cursor),
                'w' => self.delete_before(self.word_start(char::is_whitespace)),
                'h' => self.delete_before(self.prev_boundary(self.cursor)),
                _ => return false,
            },
            KeyCode::Char(c) if !ctrl && !alt => self.insert_str(c.encode_utf8(&mut [0; 4])),
            KeyCode::Backspace if alt || ctrl => {
                self.delete_before(self.word_start(|c| !c.is_alphanumeric()));
            }
            KeyCode::Backspace => self.delete_before(self.prev_boundary(self.cursor)),
            KeyCode::Delete => {
                let end = self.next_boundary(self.cursor);
                self.text.replace_range(self.cursor..end, "");
            }
            KeyCode::Left => self.cursor = self.prev_boundary(self.cursor),
            KeyCode::Right => self.cursor = self.next_boundary(self.cursor),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.len(),
            _ => return false,
        }
        true
    }

    /// Removes the text from `from` to the cursor.
    fn delete_before(&mut self, from: usize) {
        self.text.replace_range(from..self.cursor, "");
        self.cursor = from;
    }

    /// Where the word before the cursor starts: separators right before the cursor are passed
    /// over, then everything up to the previous separator goes.
    fn word_start(&self, separator: fn(char) -> bool) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(separator);
        trimmed.rfind(separator).map_or(0, |i| i + trimmed[i..].chars().next().map_or(1, char::len_utf8))
    }

    fn prev_boundary(&self, at: usize) -> usize {
        self.text[..at].char_indices().next_back().map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self, at: usize) -> usize {
        self.text[at..].chars().next().map_or(at, |c| at + c.len_utf8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(line: &mut LineEdit, code: KeyCode, mods: KeyModifiers) -> bool {
        line.key(&KeyEvent::new(code, mods))
    }

    fn ctrl(line: &mut LineEdit, c: char) {
        assert!(press(line, KeyCode::Char(c), KeyModifiers::CONTROL), "ctrl-{c} edits");
    }

    #[test]
    fn chords_edit_and_never_insert_letters() {
        let mut l = LineEdit::new("git log --oneline");
        ctrl(&mut l, 'w');
        assert_eq!(l.as_str(), "git log ");
        ctrl(&mut l, 'a');
        assert_eq!(l.cursor_chars(), 0);
        press(&mut l, KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(l.as_str(), "xgit log ");
        ctrl(&mut l, 'e');
        press(&mut l, KeyCode::Char('é'), KeyModifiers::SHIFT);
        assert_eq!(l.as_str(), "xgit log é");
        ctrl(&mut l, 'u');
        assert_eq!(l.as_str(), "", "ctrl-u at the end empties the line");
        assert!(!press(&mut l, KeyCode::Char('z'), KeyModifiers::CONTROL), "an unknown chord is not text");
        assert!(!press(&mut l, KeyCode::Char('z'), KeyModifiers::ALT));
        assert_eq!(l.as_str(), "");
    }

    #[test]
    fn alt_backspace_removes_a_path_component_and_ctrl_u_keeps_what_follows() {
        let mut l = LineEdit::new("/home/ada/src/");
        press(&mut l, KeyCode::Backspace, KeyModifiers::ALT);
        assert_eq!(l.as_str(), "/home/ada/");
        press(&mut l, KeyCode::Left, KeyModifiers::NONE);
        press(&mut l, KeyCode::Left, KeyModifiers::NONE);
        ctrl(&mut l, 'u');
        assert_eq!((l.as_str(), l.cursor_chars()), ("a/", 0));
        press(&mut l, KeyCode::Delete, KeyModifiers::NONE);
        assert_eq!(l.as_str(), "/");
        l.insert_str("x\ny");
        assert_eq!(l.as_str(), "xy/", "a paste is one line");
        ctrl(&mut l, 'k');
        assert_eq!(l.as_str(), "xy");
        press(&mut l, KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(l.to_string(), "x");
    }
}
