//! Encoding mouse events for an attached program that asked for them (xterm mouse modes 9, 1000,
//! 1002, 1003 with the default, UTF-8 or SGR encodings), as tmux and zellij forward them.

use controlroom_term::{MouseEncoding, MouseMode};
use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

/// What the program asked for, read from its screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseModes {
    /// Which events it wants.
    pub mode: MouseMode,
    /// How it wants them written.
    pub encoding: MouseEncoding,
}

impl MouseModes {
    /// Reads the modes from the program's screen.
    pub fn of<S: controlroom_term::TermSink>(screen: &controlroom_term::Term<S>) -> Self {
        Self { mode: screen.mouse_mode(), encoding: screen.mouse_encoding() }
    }

    /// Whether the program wants any mouse events at all.
    pub fn wanted(self) -> bool {
        self.mode != MouseMode::None
    }
}

/// The bytes for `ev` at zero-based cell (`col`, `row`) of the program's screen, or `None` when
/// the program's mode does not report this kind of event.
pub fn encode_mouse(ev: &MouseEvent, col: u16, row: u16, modes: MouseModes) -> Option<Vec<u8>> {
    use MouseMode as M;
    let button_code = |b: MouseButton| match b {
        MouseButton::Left => 0,
        MouseButton::Middle => 1,
        MouseButton::Right => 2,
    };
    let (code, release) = match ev.kind {
        MouseEventKind::Down(b) => (button_code(b), false),
        MouseEventKind::Up(b) if !matches!(modes.mode, M::Press | M::None) => (button_code(b), true),
        MouseEventKind::Drag(b) if matches!(modes.mode, M::ButtonMotion | M::AnyMotion) => {
            (button_code(b) + 32, false)
        }
        MouseEventKind::Moved if modes.mode == M::AnyMotion => (3 + 32, false),
        MouseEventKind::ScrollUp if modes.mode != M::None => (64, false),
        MouseEventKind::ScrollDown if modes.mode != M::None => (65, false),
        _ => return None,
    };
    if modes.mode == M::None {
        return None;
    }
    let mut code = code;
    if modes.mode != M::Press {
        if ev.modifiers.contains(KeyModifiers::SHIFT) {
            code += 4;
        }
        if ev.modifiers.contains(KeyModifiers::ALT) {
            code += 8;
        }
        if ev.modifiers.contains(KeyModifiers::CONTROL) {
            code += 16;
        }
    }
    let (x, y) = (u32::from(col) + 1, u32::from(row) + 1);
    Some(match modes.encoding {
        MouseEncoding::Sgr => format!("\x1b[<{code};{x};{y}{}", if release { 'm' } else { 'M' }).into_bytes(),
        // Without SGR a release does not say which button: it is button 3.
        enc => {
            let code = if release { 3 | (code & !3) } else { code };
            let mut out = b"\x1b[M".to_vec();
            let mut put = |v: u32| {
                let v = v + 32;
                match enc {
                    MouseEncoding::Utf8 => {
                        let c = char::from_u32(v.min(2047)).unwrap_or(' ');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    // The legacy encoding cannot say more than 223; clamp as xterm does.
                    _ => out.push(u8::try_from(v.min(255)).unwrap_or(255)),
                }
            };
            put(code);
            put(x);
            put(y);
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: MouseEventKind, mods: KeyModifiers) -> MouseEvent {
        MouseEvent { kind, column: 0, row: 0, modifiers: mods }
    }

    fn modes(mode: MouseMode, encoding: MouseEncoding) -> MouseModes {
        MouseModes { mode, encoding }
    }

    #[test]
    fn sgr_press_release_and_wheel() {
        let m = modes(MouseMode::PressRelease, MouseEncoding::Sgr);
        let down = ev(MouseEventKind::Down(MouseButton::Left), KeyModifiers::NONE);
        assert_eq!(encode_mouse(&down, 4, 9, m).expect("press"), b"\x1b[<0;5;10M");
        let up = ev(MouseEventKind::Up(MouseButton::Right), KeyModifiers::CONTROL);
        assert_eq!(encode_mouse(&up, 0, 0, m).expect("release"), b"\x1b[<18;1;1m");
        let wheel = ev(MouseEventKind::ScrollDown, KeyModifiers::NONE);
        assert_eq!(encode_mouse(&wheel, 2, 3, m).expect("wheel"), b"\x1b[<65;3;4M");
        let moved = ev(MouseEventKind::Moved, KeyModifiers::NONE);
        assert_eq!(encode_mouse(&moved, 2, 3, m), None, "1000 does not report motion");
    }

    #[test]
    fn legacy_encoding_and_motion_modes() {
        let m = modes(MouseMode::AnyMotion, MouseEncoding::Default);
        let drag = ev(MouseEventKind::Drag(MouseButton::Left), KeyModifiers::NONE);
        assert_eq!(encode_mouse(&drag, 0, 1, m).expect("drag"), vec![0x1b, b'[', b'M', 32 + 32, 33, 34]);
        let up = ev(MouseEventKind::Up(MouseButton::Left), KeyModifiers::NONE);
        assert_eq!(encode_mouse(&up, 0, 0, m).expect("release"), vec![0x1b, b'[', b'M', 32 + 3, 33, 33]);
        let x10 = modes(MouseMode::Press, MouseEncoding::Default);
        assert_eq!(encode_mouse(&up, 0, 0, x10), None, "mode 9 reports presses only");
        let none = modes(MouseMode::None, MouseEncoding::Sgr);
        let down = ev(MouseEventKind::Down(MouseButton::Left), KeyModifiers::NONE);
        assert_eq!(encode_mouse(&down, 0, 0, none), None);
    }

    #[test]
    fn modes_are_read_from_the_screen() {
        let mut p = controlroom_term::Parser::new(24, 80, ());
        p.process(b"\x1b[?1002h\x1b[?1006h");
        let m = MouseModes::of(p.term());
        assert!(m.wanted());
        assert_eq!(m, modes(MouseMode::ButtonMotion, MouseEncoding::Sgr));
    }
}
