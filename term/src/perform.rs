//! `vte::Perform` for the lean model: control characters, ESC, CSI and OSC sequences, mapped
//! to the same operations (and the same defaults) as vt100 0.18.

use super::cell::{Attrs, BOLD, Color, DIM, INVERSE, ITALIC, UNDERLINE};
use super::csi::CsiParams;
use super::grid::Pos;
use super::{
    MODE_ALT_SCREEN, MODE_APP_CURSOR, MODE_APP_KEYPAD, MODE_BRACKETED_PASTE, MODE_HIDE_CURSOR, MODE_INSERT,
    MODE_NO_AUTOWRAP, MouseEncoding, MouseMode, Term, TermSink, tabs,
};
use vte::Params;

fn param1(params: &impl CsiParams, default: u16) -> u16 {
    let first = params.iter().next().map_or(0, |p| p.first().copied().unwrap_or(0));
    if first == 0 { default } else { first }
}

fn param2(params: &impl CsiParams, d1: u16, d2: u16) -> (u16, u16) {
    let mut it = params.iter();
    let a = it.next().map_or(0, |p| p.first().copied().unwrap_or(0));
    let b = it.next().map_or(0, |p| p.first().copied().unwrap_or(0));
    (if a == 0 { d1 } else { a }, if b == 0 { d2 } else { b })
}

impl<S: TermSink> vte::Perform for Term<S> {
    #[inline]
    fn print(&mut self, c: char) {
        // Printable ASCII (most output) skips the checks for replacement and C1 characters.
        if !c.is_ascii() && (c == '\u{fffd}' || ('\u{80}'..'\u{a0}').contains(&c)) {
            return;
        }
        self.text(c);
    }

    fn execute(&mut self, b: u8) {
        match b {
            7 => self.sink.on_bell(),
            8 => self.grid_mut().col_dec(1),
            9 => self.tab_forward(1),
            10..=12 => {
                self.with_grid(|g, on_row| g.row_inc_scroll(1, on_row));
            }
            13 => self.grid_mut().col_set(0),
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, b: u8) {
        if !intermediates.is_empty() {
            return;
        }
        match b {
            b'7' => self.save_cursor(),
            b'8' => self.restore_cursor(),
            b'=' => self.set_mode(MODE_APP_KEYPAD, true),
            b'>' => self.set_mode(MODE_APP_KEYPAD, false),
            // IND and NEL (vt100 the crate has neither; xterm and tmux do): a line feed, and a
            // carriage return plus a line feed, scrolling at the region's bottom.
            b'D' => {
                self.with_grid(|g, on_row| g.row_inc_scroll(1, on_row));
            }
            b'E' => {
                self.grid_mut().col_set(0);
                self.with_grid(|g, on_row| g.row_inc_scroll(1, on_row));
            }
            // HTS (vt100 the crate has no tab stops of its own; xterm and tmux do).
            b'H' => {
                let col = self.grid().pos.col.min(self.size().1 - 1);
                self.tabs_mut().set(col, true);
            }
            b'M' => self.grid_mut().row_dec_scroll(1),
            b'c' => self.reset(),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, c: char) {
        self.csi_sequence(params, intermediates, c);
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], bell_terminated: bool) {
        // What vt100 did: titles to `set_window_title`, the icon name and the clipboard to their
        // own callbacks, everything else to `unhandled_osc`.
        if self.answers() && self.colour_query(params, bell_terminated) {
            return;
        }
        match params {
            [b"0" | b"2", title] => self.sink.on_title(title),
            [b"1", _] | [b"52", _, _] => {}
            _ => self.sink.on_osc(params),
        }
    }
}

impl<S: TermSink> Term<S> {
    /// A CSI sequence, from `vte` or the CSI fast path (`csi.rs`); `ignore` plays no part (as in
    /// vt100), so neither passes it.
    pub(crate) fn csi_sequence(&mut self, params: &impl CsiParams, intermediates: &[u8], c: char) {
        if self.answers() && self.csi_query(params, intermediates, c) {
            return;
        }
        match intermediates.first() {
            None => self.csi(params, c),
            Some(b' ') if c == 'q' => {
                let style = param1(params, 0);
                if style <= 6 {
                    self.state.cursor_style = u8::try_from(style).unwrap_or(0);
                }
            }
            Some(b'?') => match c {
                'J' => self.erase_display(param1(params, 0)),
                'K' => self.erase_line(param1(params, 0)),
                'h' => self.dec_modes(params, true),
                'l' => self.dec_modes(params, false),
                _ => {}
            },
            _ => {}
        }
    }

    /// Answers a CSI query (`reply.rs`); false when the sequence is not one, so it takes its
    /// usual path. None of them changes the screen.
    fn csi_query(&mut self, params: &impl CsiParams, intermediates: &[u8], c: char) -> bool {
        let first = param1(params, 0);
        match (intermediates, c) {
            (b"", 'n') => self.device_status(first),
            (b"?", 'n') => self.dec_device_status(first),
            (b"", 'c') => self.primary_attributes(first),
            (b">", 'c') => self.secondary_attributes(first),
            (b"=", 'c') => self.tertiary_attributes(first),
            (b">", 'q') => self.terminal_version(first),
            (b"", 't') => self.window_report(first),
            (b"?$", 'p') => self.report_dec_mode(first),
            (b"$", 'p') => self.report_ansi_mode(first),
            // The kitty keyboard protocol's query (`CSI ? u`): the front end sends legacy key
            // encodings only, so it is answered as a terminal without the protocol answers it,
            // not at all (programs ask for DA1 right after and take its answer for "no").
            _ => return false,
        }
        true
    }

    fn csi(&mut self, params: &impl CsiParams, c: char) {
        let n = || param1(params, 1);
        match c {
            '@' => self.grid_mut().insert_cells(n()),
            'A' => self.grid_mut().row_dec_clamp(n()),
            'B' => self.grid_mut().row_inc_clamp(n()),
            'C' => self.grid_mut().col_inc_clamp(n()),
            'D' => self.grid_mut().col_dec(n()),
            'E' => {
                let g = self.grid_mut();
                g.col_set(0);
                g.row_inc_clamp(n());
            }
            'F' => {
                let g = self.grid_mut();
                g.col_set(0);
                g.row_dec_clamp(n());
            }
            'G' | '`' => self.grid_mut().col_set(n() - 1),
            'H' | 'f' => {
                let (row, col) = param2(params, 1, 1);
                self.grid_mut().set_pos(Pos { row: row - 1, col: col - 1 });
            }
            'J' => self.erase_display(param1(params, 0)),
            'K' => self.erase_line(param1(params, 0)),
            'L' => self.grid_mut().insert_lines(n()),
            'M' => self.grid_mut().delete_lines(n()),
            'P' => self.grid_mut().delete_cells(n()),
            'S' => {
                let count = n();
                self.with_grid(|g, on_row| g.scroll_up(count, on_row));
            }
            'T' => self.grid_mut().scroll_down(n()),
            'X' => {
                let attrs = self.state.attrs;
                self.grid_mut().erase_cells(n(), attrs);
            }
            'b' => {
                if let Some(ch) = self.state.last_char {
                    for _ in 0..n() {
                        self.text(ch);
                    }
                }
            }
            'd' => self.grid_mut().row_set(n() - 1),
            // CHT, CBT and TBC: tab stops, which vt100 lacks (see `tabs.rs`).
            'I' => self.tab_forward(n()),
            'Z' => {
                let (col, cols) = (self.grid().pos.col, self.size().1);
                let to = tabs::backward(self.state.tabs.as_deref(), col, n(), cols);
                self.grid_mut().col_set(to);
            }
            'g' => match param1(params, 0) {
                0 => {
                    let col = self.grid().pos.col.min(self.size().1 - 1);
                    self.tabs_mut().set(col, false);
                }
                3 => self.tabs_mut().clear_all(),
                _ => {}
            },
            'm' => self.sgr(params),
            'r' => {
                let rows = self.size().0;
                let (top, bottom) = param2(params, 1, rows);
                self.grid_mut().set_scroll_region(top - 1, bottom - 1);
            }
            // ANSI modes: only IRM (4, insert mode), which vt100 lacks and xterm, tmux and
            // ncurses' `smir`/`rmir` use.
            'h' | 'l' if params.iter().any(|p| p.first() == Some(&4)) => self.set_mode(MODE_INSERT, c == 'h'),
            _ => {}
        }
    }

    /// The tab stops, to change (made from the default ones the first time).
    fn tabs_mut(&mut self) -> &mut tabs::TabStops {
        self.state.tabs.get_or_insert_with(|| Box::new(tabs::TabStops::new()))
    }

    /// HT and CHT: `count` tab stops right, or the last column.
    fn tab_forward(&mut self, count: u16) {
        match self.state.tabs.as_deref() {
            // The stops vt100 has: its own step, kept so the common case is unchanged.
            None if count == 1 => self.grid_mut().col_tab(),
            stops => {
                let (col, cols) = (self.grid().pos.col, self.size().1);
                let to = tabs::forward(stops, col, count, cols);
                self.grid_mut().col_set(to);
            }
        }
    }

    fn erase_display(&mut self, mode: u16) {
        let attrs = self.state.attrs;
        match mode {
            0 => self.grid_mut().erase_all_forward(attrs),
            1 => self.grid_mut().erase_all_backward(attrs),
            2 => self.grid_mut().erase_all(attrs),
            3 => self.grid_mut().forget_scrollback(),
            _ => {}
        }
    }

    fn erase_line(&mut self, mode: u16) {
        let attrs = self.state.attrs;
        match mode {
            0 => self.grid_mut().erase_row_forward(attrs),
            1 => self.grid_mut().erase_row_backward(attrs),
            2 => self.grid_mut().erase_row(attrs),
            _ => {}
        }
    }

    fn dec_modes(&mut self, params: &impl CsiParams, on: bool) {
        for p in params.iter() {
            match p {
                [1] => self.set_mode(MODE_APP_CURSOR, on),
                [6] => self.grid_mut().set_origin_mode(on),
                [7] => self.set_mode(MODE_NO_AUTOWRAP, !on),
                [9] => self.mouse(MouseMode::Press, on),
                [25] => self.set_mode(MODE_HIDE_CURSOR, !on),
                [47] => {
                    if on {
                        self.enter_alternate();
                    } else {
                        self.set_mode(MODE_ALT_SCREEN, false);
                    }
                }
                [1000] => self.mouse(MouseMode::PressRelease, on),
                [1002] => self.mouse(MouseMode::ButtonMotion, on),
                [1003] => self.mouse(MouseMode::AnyMotion, on),
                [1005] => self.mouse_enc(MouseEncoding::Utf8, on),
                [1006] => self.mouse_enc(MouseEncoding::Sgr, on),
                [1049] => {
                    if on {
                        self.save_cursor();
                        self.alt.clear();
                        self.enter_alternate();
                    } else {
                        self.set_mode(MODE_ALT_SCREEN, false);
                        self.restore_cursor();
                    }
                }
                [2004] => self.set_mode(MODE_BRACKETED_PASTE, on),
                [2026] => self.set_synchronized_output(on),
                _ => {}
            }
        }
    }

    fn mouse(&mut self, mode: MouseMode, on: bool) {
        if on {
            self.state.mouse_mode = mode;
        } else if self.state.mouse_mode == mode {
            self.state.mouse_mode = MouseMode::None;
        }
    }

    fn mouse_enc(&mut self, enc: MouseEncoding, on: bool) {
        if on {
            self.state.mouse_encoding = enc;
        } else if self.state.mouse_encoding == enc {
            self.state.mouse_encoding = MouseEncoding::Default;
        }
    }

    /// SGR, stopping at the first parameter it does not understand (as vt100 does).
    fn sgr(&mut self, params: &impl CsiParams) {
        // `vte` always passes at least one parameter (`ESC [ m` is one 0); kept for any caller.
        if params.iter().next().is_none() {
            self.state.attrs = Attrs::DEFAULT;
            return;
        }
        let mut it = params.iter();
        let a = &mut self.state.attrs;
        let to_u8 = |n: u16| u8::try_from(n).ok();
        while let Some(p) = it.next() {
            match p {
                [sel @ (38 | 48), rest @ ..] => {
                    let color = if rest.is_empty() {
                        // Colour given as separate `;` parameters.
                        match it.next() {
                            Some([2]) => {
                                let mut next = || match it.next() {
                                    Some([n]) => to_u8(*n),
                                    _ => None,
                                };
                                let (Some(r), Some(g), Some(b)) = (next(), next(), next()) else { return };
                                Color::Rgb(r, g, b)
                            }
                            Some([5]) => {
                                let Some(i) = (match it.next() {
                                    Some([n]) => to_u8(*n),
                                    _ => None,
                                }) else {
                                    return;
                                };
                                Color::Idx(i)
                            }
                            _ => return,
                        }
                    } else {
                        match rest {
                            [2, r, g, b] => match (to_u8(*r), to_u8(*g), to_u8(*b)) {
                                (Some(r), Some(g), Some(b)) => Color::Rgb(r, g, b),
                                _ => return,
                            },
                            [5, i] => match to_u8(*i) {
                                Some(i) => Color::Idx(i),
                                None => return,
                            },
                            _ => return,
                        }
                    };
                    if *sel == 38 {
                        a.fg = color.into();
                    } else {
                        a.bg = color.into();
                    }
                }
                // A parameter it does not know (blink, conceal, strike, `4:3` curly underline)
                // is skipped and the rest still apply, as in vt100 and xterm: `ESC[5;31m` is red.
                [n] => sgr_one(a, *n),
                _ => {}
            }
        }
    }

    /// `sgr` for parameters without subparameters (what the CSI fast path parses; the ground
    /// step calls it directly), read as plain numbers rather than one-element slices: the same
    /// steps, skipping and stopping where `sgr` does.
    #[inline(always)]
    pub(crate) fn sgr_values(&mut self, values: &[u16]) {
        if values.is_empty() {
            self.state.attrs = Attrs::DEFAULT;
            return;
        }
        let a = &mut self.state.attrs;
        let mut it = values.iter().copied();
        while let Some(p) = it.next() {
            if let sel @ (38 | 48) = p {
                let color = match it.next() {
                    Some(2) => {
                        let mut next = || it.next().and_then(|n| u8::try_from(n).ok());
                        let (Some(r), Some(g), Some(b)) = (next(), next(), next()) else { return };
                        Color::Rgb(r, g, b)
                    }
                    Some(5) => {
                        let Some(i) = it.next().and_then(|n| u8::try_from(n).ok()) else { return };
                        Color::Idx(i)
                    }
                    _ => return,
                };
                if sel == 38 {
                    a.fg = color.into();
                } else {
                    a.bg = color.into();
                }
            } else {
                sgr_one(a, p);
            }
        }
    }
}

/// Applies one SGR parameter that stands alone (not 38 or 48); one it does not understand
/// changes nothing.
#[inline(always)]
fn sgr_one(a: &mut Attrs, p: u16) {
    match p {
        0 => *a = Attrs::DEFAULT,
        1 => a.set_intensity(BOLD),
        2 => a.set_intensity(DIM),
        3 => a.set_mode(ITALIC, true),
        4 => a.set_mode(UNDERLINE, true),
        7 => a.set_mode(INVERSE, true),
        22 => a.set_intensity(0),
        23 => a.set_mode(ITALIC, false),
        24 => a.set_mode(UNDERLINE, false),
        27 => a.set_mode(INVERSE, false),
        // Each range is checked, so the casts are exact.
        n @ 30..=37 => a.fg = Color::Idx((n - 30) as u8).into(),
        n @ 40..=47 => a.bg = Color::Idx((n - 40) as u8).into(),
        n @ 90..=97 => a.fg = Color::Idx((n - 82) as u8).into(),
        n @ 100..=107 => a.bg = Color::Idx((n - 92) as u8).into(),
        39 => a.fg = Color::Default.into(),
        49 => a.bg = Color::Default.into(),
        _ => {}
    }
}
