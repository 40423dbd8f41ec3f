//! Encoding keys and pastes into the bytes a terminal program expects (xterm conventions).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Terminal modes of the attached program that change what keys send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputModes {
    /// DECCKM: arrows send `ESC O A` instead of `ESC [ A`.
    pub application_cursor: bool,
    /// The program asked for bracketed paste (`ESC [ ? 2004 h`).
    pub bracketed_paste: bool,
}

impl InputModes {
    /// Reads the modes from the program's screen.
    pub fn of<S: controlroom_term::TermSink>(screen: &controlroom_term::Term<S>) -> Self {
        Self { application_cursor: screen.application_cursor(), bracketed_paste: screen.bracketed_paste() }
    }
}

/// The xterm modifier parameter: 1 + shift + 2·alt + 4·ctrl, or `None` without modifiers.
fn modifier_param(mods: KeyModifiers) -> Option<u8> {
    let mut m = 0;
    if mods.contains(KeyModifiers::SHIFT) {
        m |= 1;
    }
    if mods.contains(KeyModifiers::ALT) {
        m |= 2;
    }
    if mods.contains(KeyModifiers::CONTROL) {
        m |= 4;
    }
    (m != 0).then_some(m + 1)
}

/// The bytes for a key press, or `None` for keys with no terminal encoding.
pub fn encode_key(ev: &KeyEvent, modes: InputModes) -> Option<Vec<u8>> {
    let mods = ev.modifiers;
    let param = modifier_param(mods);
    let csi_letter = |letter: char| -> Vec<u8> {
        match param {
            Some(m) => format!("\x1b[1;{m}{letter}").into_bytes(),
            None if modes.application_cursor => format!("\x1bO{letter}").into_bytes(),
            None => format!("\x1b[{letter}").into_bytes(),
        }
    };
    let tilde = |n: u8| -> Vec<u8> {
        match param {
            Some(m) => format!("\x1b[{n};{m}~").into_bytes(),
            None => format!("\x1b[{n}~").into_bytes(),
        }
    };
    let ss3 = |letter: char| -> Vec<u8> {
        match param {
            Some(m) => format!("\x1b[1;{m}{letter}").into_bytes(),
            None => format!("\x1bO{letter}").into_bytes(),
        }
    };
    let bytes = match ev.code {
        KeyCode::Char(c) => return Some(encode_char(c, mods)),
        KeyCode::Enter => alt_prefixed(b"\r", mods),
        KeyCode::Tab => alt_prefixed(b"\t", mods),
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace if mods.contains(KeyModifiers::CONTROL) => alt_prefixed(b"\x08", mods),
        KeyCode::Backspace => alt_prefixed(b"\x7f", mods),
        KeyCode::Esc => alt_prefixed(b"\x1b", mods),
        KeyCode::Up => csi_letter('A'),
        KeyCode::Down => csi_letter('B'),
        KeyCode::Right => csi_letter('C'),
        KeyCode::Left => csi_letter('D'),
        KeyCode::Home => csi_letter('H'),
        KeyCode::End => csi_letter('F'),
        KeyCode::Insert => tilde(2),
        KeyCode::Delete => tilde(3),
        KeyCode::PageUp => tilde(5),
        KeyCode::PageDown => tilde(6),
        KeyCode::F(1) => ss3('P'),
        KeyCode::F(2) => ss3('Q'),
        KeyCode::F(3) => ss3('R'),
        KeyCode::F(4) => ss3('S'),
        KeyCode::F(n @ 5..=12) => tilde([15, 17, 18, 19, 20, 21, 23, 24][usize::from(n - 5)]),
        _ => return None,
    };
    Some(bytes)
}

fn alt_prefixed(base: &[u8], mods: KeyModifiers) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + 1);
    if mods.contains(KeyModifiers::ALT) {
        out.push(0x1b);
    }
    out.extend_from_slice(base);
    out
}

/// A character with Ctrl and/or Alt: control codes for Ctrl, an ESC prefix for Alt.
fn encode_char(c: char, mods: KeyModifiers) -> Vec<u8> {
    let mut buf = [0u8; 4];
    let base: Vec<u8> = if mods.contains(KeyModifiers::CONTROL) {
        let code = match c.to_ascii_lowercase() {
            l @ 'a'..='z' => Some(l as u8 - b'a' + 1),
            '@' | ' ' | '2' => Some(0),
            '[' | '3' => Some(0x1b),
            '\\' | '4' => Some(0x1c),
            ']' | '5' => Some(0x1d),
            '^' | '6' => Some(0x1e),
            '_' | '7' | '/' | '-' => Some(0x1f),
            '?' | '8' => Some(0x7f),
            _ => None,
        };
        match code {
            Some(b) => vec![b],
            None => c.encode_utf8(&mut buf).as_bytes().to_vec(),
        }
    } else {
        c.encode_utf8(&mut buf).as_bytes().to_vec()
    };
    alt_prefixed(&base, mods)
}

/// Pasted text: wrapped in `ESC [200~ … ESC [201~` when the program enabled bracketed paste,
/// otherwise with newlines sent as carriage returns (as typing them would).
pub fn encode_paste(text: &str, modes: InputModes) -> Vec<u8> {
    if modes.bracketed_paste {
        // A paste must not be able to end the bracket early.
        let clean = text.replace("\x1b[201~", "");
        format!("\x1b[200~{clean}\x1b[201~").into_bytes()
    } else {
        text.replace("\r\n", "\r").replace('\n', "\r").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> Vec<u8> {
        encode_key(&KeyEvent::new(code, mods), InputModes::default()).expect("encodes")
    }

    #[test]
    fn plain_and_control_characters() {
        assert_eq!(key(KeyCode::Char('a'), KeyModifiers::NONE), b"a");
        assert_eq!(key(KeyCode::Char('é'), KeyModifiers::NONE), "é".as_bytes());
        assert_eq!(key(KeyCode::Char('c'), KeyModifiers::CONTROL), b"\x03");
        assert_eq!(key(KeyCode::Char('C'), KeyModifiers::CONTROL | KeyModifiers::SHIFT), b"\x03");
        assert_eq!(key(KeyCode::Char(' '), KeyModifiers::CONTROL), b"\x00");
        assert_eq!(key(KeyCode::Char('x'), KeyModifiers::ALT), b"\x1bx");
        assert_eq!(key(KeyCode::Char('d'), KeyModifiers::CONTROL | KeyModifiers::ALT), b"\x1b\x04");
        assert_eq!(key(KeyCode::Enter, KeyModifiers::NONE), b"\r");
        assert_eq!(key(KeyCode::Backspace, KeyModifiers::NONE), b"\x7f");
        assert_eq!(key(KeyCode::BackTab, KeyModifiers::SHIFT), b"\x1b[Z");
    }

    #[test]
    fn cursor_keys_follow_application_mode_and_modifiers() {
        assert_eq!(key(KeyCode::Up, KeyModifiers::NONE), b"\x1b[A");
        assert_eq!(key(KeyCode::Left, KeyModifiers::CONTROL), b"\x1b[1;5D");
        assert_eq!(key(KeyCode::Home, KeyModifiers::NONE), b"\x1b[H");
        assert_eq!(key(KeyCode::End, KeyModifiers::SHIFT), b"\x1b[1;2F");
        let app = InputModes { application_cursor: true, bracketed_paste: false };
        let up = encode_key(&KeyEvent::new(KeyCode::Up, KeyModifiers::NONE), app).expect("encodes");
        assert_eq!(up, b"\x1bOA");
    }

    #[test]
    fn function_and_editing_keys() {
        assert_eq!(key(KeyCode::F(1), KeyModifiers::NONE), b"\x1bOP");
        assert_eq!(key(KeyCode::F(4), KeyModifiers::SHIFT), b"\x1b[1;2S");
        assert_eq!(key(KeyCode::F(5), KeyModifiers::NONE), b"\x1b[15~");
        assert_eq!(key(KeyCode::F(12), KeyModifiers::CONTROL), b"\x1b[24;5~");
        assert_eq!(key(KeyCode::Delete, KeyModifiers::NONE), b"\x1b[3~");
        assert_eq!(key(KeyCode::PageDown, KeyModifiers::NONE), b"\x1b[6~");
        assert!(
            encode_key(&KeyEvent::new(KeyCode::F(13), KeyModifiers::NONE), InputModes::default()).is_none()
        );
    }

    #[test]
    fn paste_is_bracketed_only_when_asked() {
        let on = InputModes { application_cursor: false, bracketed_paste: true };
        assert_eq!(encode_paste("a\nb", on), b"\x1b[200~a\nb\x1b[201~");
        assert_eq!(encode_paste("a\x1b[201~b", on), b"\x1b[200~ab\x1b[201~");
        assert_eq!(encode_paste("a\nb", InputModes::default()), b"a\rb");
    }

    #[test]
    fn modes_are_read_from_the_screen() {
        let mut p = controlroom_term::Parser::new(24, 80, ());
        p.process(b"\x1b[?1h\x1b[?2004h");
        assert_eq!(InputModes::of(p.term()), InputModes { application_cursor: true, bracketed_paste: true });
    }
}
