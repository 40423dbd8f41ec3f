//! Screens as grids of cells for the corpus suite: tmux's `capture-pane -e` and the gateway's
//! `history` are both fed through vt100 into the same shape, then compared cell by cell (text,
//! width, colours and attributes), with a readable report of what differs.
#![allow(dead_code)]

use crate::tmux::Capture;

/// A vt100 terminal of this size, without scrollback.
fn parser(rows: u16, cols: u16) -> vt100::Parser {
    let size = |n: u16| std::num::NonZeroU16::new(n).expect("a screen is at least one cell");
    vt100::Parser::new(size(rows), size(cols), 0)
}

/// One cell: its text and what it looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The cell's text (a never-written cell reads as a space).
    pub text: String,
    /// The right half of a wide character.
    pub continuation: bool,
    pub fg: vt100::Color,
    pub bg: vt100::Color,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub inverse: bool,
}

/// A whole screen.
#[derive(Debug, Clone)]
pub struct Grid {
    pub cols: u16,
    pub rows: u16,
    pub cells: Vec<Vec<Cell>>,
    /// Per row, how many columns carry attributes we can compare: tmux leaves out trailing blank
    /// cells (whatever their background), so past that point only the text is compared.
    pub styled_width: Vec<u16>,
    /// Zero-based (row, col).
    pub cursor: (u16, u16),
    pub cursor_visible: bool,
    pub alternate: bool,
    pub bracketed_paste: bool,
    pub mouse_sgr: bool,
    pub mouse_reports: bool,
}

impl Grid {
    fn from_screen(
        screen: &vt100::Screen,
        styled_width: Vec<u16>,
        cursor: (u16, u16),
        cursor_visible: bool,
    ) -> Grid {
        let (rows, cols) = screen.size();
        let (rows, cols) = (rows.get(), cols.get());
        let cells = (0..rows)
            .map(|r| {
                (0..cols)
                    .map(|c| {
                        let cell = screen.cell(r, c).expect("cell inside the screen");
                        let text = if cell.has_contents() { cell.contents().to_string() } else { " ".into() };
                        Cell {
                            text,
                            continuation: cell.is_wide_continuation(),
                            fg: cell.fgcolor(),
                            bg: cell.bgcolor(),
                            bold: cell.bold(),
                            italic: cell.italic(),
                            underline: cell.underline(),
                            inverse: cell.inverse(),
                        }
                    })
                    .collect()
            })
            .collect();
        Grid {
            cols,
            rows,
            cells,
            styled_width,
            cursor,
            cursor_visible,
            alternate: screen.alternate_screen(),
            bracketed_paste: screen.bracketed_paste(),
            mouse_sgr: screen.mouse_protocol_encoding() == vt100::MouseProtocolEncoding::Sgr,
            mouse_reports: screen.mouse_protocol_mode() != vt100::MouseProtocolMode::None,
        }
    }

    /// The gateway's screen: its `history` snapshot (scrollback, then the screen and its modes)
    /// replayed into a terminal of the same size.
    pub fn from_history(data: &str, cols: u16, rows: u16) -> Grid {
        let mut parser = parser(rows, cols);
        parser.process(data.as_bytes());
        let screen = parser.screen();
        let (row, col) = screen.cursor_position();
        Grid::from_screen(screen, vec![cols; usize::from(rows)], (row, col), !screen.hide_cursor())
    }

    /// tmux's screen: each captured line drawn on its row. The SGR state runs on from one line to
    /// the next, as `capture-pane -e` writes it.
    pub fn from_tmux(capture: &Capture) -> Grid {
        let (cols, rows) = capture.size;
        let mut parser = parser(rows, cols);
        let mut styled_width = Vec::with_capacity(usize::from(rows));
        for (row, line) in capture.lines.iter().enumerate() {
            parser.process(format!("\x1b[{};1H", row + 1).as_bytes());
            parser.process(line.as_bytes());
            let (_, col) = parser.screen().cursor_position();
            // A full line leaves the cursor on the last column with a wrap pending.
            let full = usize::from(col) + 1 == usize::from(cols) && !line.is_empty();
            styled_width.push(if full { cols } else { col });
        }
        styled_width.resize(usize::from(rows), 0);
        let mut grid = Grid::from_screen(
            parser.screen(),
            styled_width,
            (capture.cursor.1, capture.cursor.0),
            capture.cursor_visible,
        );
        grid.alternate = capture.alternate;
        grid.mouse_sgr = capture.mouse_sgr;
        grid.mouse_reports = capture.mouse_standard;
        grid
    }

    /// The screen's text, one string per row, trailing blanks trimmed.
    pub fn text(&self) -> Vec<String> {
        self.cells
            .iter()
            .map(|row| {
                row.iter()
                    .filter(|c| !c.continuation)
                    .map(|c| c.text.as_str())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    /// Whether any row contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.text().iter().any(|l| l.contains(needle))
    }
}

/// What differs between the gateway's screen and tmux's (empty when they match): size, cursor,
/// modes, then up to a dozen cells, then both screens' text.
pub fn differences(ours: &Grid, tmux: &Grid, rows: std::ops::Range<u16>, styles: bool) -> Vec<String> {
    let mut out = Vec::new();
    if (ours.cols, ours.rows) != (tmux.cols, tmux.rows) {
        out.push(format!("size: ours {}x{}, tmux {}x{}", ours.cols, ours.rows, tmux.cols, tmux.rows));
        return out;
    }
    if rows == (0..ours.rows) {
        if ours.cursor != tmux.cursor {
            out.push(format!("cursor (row, col): ours {:?}, tmux {:?}", ours.cursor, tmux.cursor));
        }
        if ours.cursor_visible != tmux.cursor_visible {
            out.push(format!("cursor visible: ours {}, tmux {}", ours.cursor_visible, tmux.cursor_visible));
        }
        if ours.alternate != tmux.alternate {
            out.push(format!("alternate screen: ours {}, tmux {}", ours.alternate, tmux.alternate));
        }
    }
    let mut cells = 0;
    for r in rows {
        let r = usize::from(r);
        for c in 0..usize::from(ours.cols) {
            let (a, b) = (&ours.cells[r][c], &tmux.cells[r][c]);
            let same = if styles && c < usize::from(tmux.styled_width[r]) {
                a == b
            } else {
                a.text == b.text && a.continuation == b.continuation
            };
            if !same {
                cells += 1;
                if cells <= 12 {
                    out.push(format!(
                        "cell (row {r}, col {c}): ours {a:?}\n                      tmux {b:?}"
                    ));
                }
            }
        }
    }
    if cells > 12 {
        out.push(format!("… {} more cells differ", cells - 12));
    }
    if !out.is_empty() {
        out.push(format!("ours:\n{}", ours.text().join("\n")));
        out.push(format!("tmux:\n{}", tmux.text().join("\n")));
    }
    out
}
