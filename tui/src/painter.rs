//! Frames onto the real terminal, drawing and comparing only the rows that may have changed.
//!
//! ratatui's `Terminal::draw` starts every frame from a blank buffer, draws all of it and
//! compares every cell with the last frame: for an echoed key in a 120×40 attach view that was
//! 4,800 cells drawn and 4,800 compared to send one (callgrind: 0.87 M and 0.75 M instructions
//! of the front end's 2.1 M per key). The painter keeps the frame's buffer between frames
//! instead. In a frame that draws the attached worker's live screen with nothing over it
//! ([`ui::live_screen`]), a body row whose screen row holds the same cells as when it was last
//! drawn ([`Row::same_cells`]) is *kept*: left as it is in the buffer, not drawn, not compared;
//! so is the header row when it shows the same header as last frame ([`ui::Header`]). A body
//! row whose screen row changed in a few narrow cells (an echoed key: `changed_cols`) is
//! *patched*: kept but for those columns, which are blanked, drawn and compared cell by cell
//! (drawing and comparing the whole 120-cell row was three quarters of an echo's frame). Every
//! other row is blanked, drawn by [`ui::draw_on`] as on a fresh buffer, and compared with what
//! the terminal shows by ratatui's own diff, a row at a time.
//!
//! A frame that keeps no row (the wall, the lists, any frame that is not a live screen) is
//! drawn and compared whole, as `Terminal::draw` does: moving every row out for a comparison of
//! its own cost a wall frame 7 % more instructions than a whole frame, for nothing.
//!
//! Rendering stays a pure function of the state: a kept row (or the kept part of a patched one)
//! holds what drawing it again would give (the same screen cells drawn at the same place by the
//! same widget, nothing drawn over them then or now), so every frame equals a whole frame drawn
//! on a blank buffer, cell by cell; the tests (`tests/render_incremental.rs`) compare the two
//! after every step of long scripts.

use crate::state::State;
use crate::theme::Theme;
use crate::ui::canvas::{Canvas, Kept};
use crate::ui::{self, Header};
use controlroom_term::Row;
use ratatui::backend::Backend;
use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};
use ratatui::layout::{Position, Rect};

/// What a row of the last frame held, for telling whether it can be kept.
#[derive(Debug, Clone)]
enum Drawn {
    /// Anything but the live screen (the header, another view, a frame that was not live).
    Other,
    /// This row of the live screen.
    Row(Row),
    /// A body row past the screen's last row: blank.
    Blank,
}

/// Counts of the painter's work since it started (the bench and the tests read them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaintStats {
    /// Frames painted.
    pub frames: u64,
    /// Rows drawn and compared with the terminal.
    pub rows_drawn: u64,
    /// Rows kept as they were.
    pub rows_kept: u64,
    /// Rows kept but for a few cells, which were drawn and compared.
    pub rows_patched: u64,
    /// Cells drawn and compared in patched rows.
    pub cells_patched: u64,
}

/// Paints frames on a backend (the real terminal, or a test's).
#[derive(Debug)]
pub struct Painter<B: Backend> {
    backend: B,
    /// The frame drawn into; between frames, the last frame in the rows marked `valid`.
    next: Buffer,
    /// Whether each row of `next` holds the last frame's row: a row sent was moved out of it
    /// (into `shown`, without copying its cells), and is copied back only if the next frame
    /// keeps it.
    valid: Vec<bool>,
    /// What the terminal shows. A frame that keeps no row is compared with it whole and then
    /// swapped with `next`.
    shown: Buffer,
    /// In a frame that keeps rows, the rows of `shown` being compared, moved out of it into
    /// single-row buffers (each row is compared by ratatui's diff on its own, so a kept row
    /// costs nothing).
    was: Vec<Buffer>,
    /// In a frame that keeps rows, the rows of `next` being sent, moved out of it, then moved
    /// into `shown`.
    sending: Vec<Buffer>,
    /// What each row of the last frame was drawn from.
    drawn: Vec<Drawn>,
    /// The last frame's live screen, its body and the screen's size (rows, columns); `None`
    /// when the last frame did not draw one, or after a resize.
    live: Option<(Rect, (u16, u16))>,
    /// The last frame's attach header and its row, when that frame was live.
    header: Option<(u16, Header<'static>)>,
    /// What this frame keeps of each row (reused between frames).
    kept: Vec<Kept>,
    /// Where the last frame left the terminal's cursor (`Some(None)`: hidden); `None` when
    /// unknown (none placed yet, cleared since, or a write failed).
    cursor: Option<Option<Position>>,
    stats: PaintStats,
}

impl<B: Backend> Painter<B> {
    /// A painter for `area` of a blank terminal (the alternate screen just entered).
    pub fn new(backend: B, area: Rect) -> Self {
        let mut painter = Self {
            backend,
            next: Buffer::empty(area),
            valid: Vec::new(),
            shown: Buffer::empty(area),
            was: Vec::new(),
            sending: Vec::new(),
            drawn: Vec::new(),
            live: None,
            header: None,
            kept: Vec::new(),
            cursor: None,
            stats: PaintStats::default(),
        };
        painter.set_area(area);
        painter
    }

    /// The area painted.
    pub fn area(&self) -> Rect {
        self.next.area
    }

    /// The last frame as drawn (and as the terminal shows it).
    pub fn shown(&self) -> &Buffer {
        &self.shown
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutably (tests take what it was sent).
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The work done so far.
    pub fn stats(&self) -> PaintStats {
        self.stats
    }

    /// The terminal is now `area`: it is cleared, as ratatui does, and the next frame is drawn
    /// whole.
    pub fn resize(&mut self, area: Rect) -> Result<(), B::Error> {
        self.backend.clear()?;
        self.set_area(area);
        Ok(())
    }

    /// Buffers for `area`, all blank (as a cleared terminal is), nothing kept.
    fn set_area(&mut self, area: Rect) {
        self.next.resize(area);
        self.next.reset();
        self.shown.resize(area);
        self.shown.reset();
        let row = |y| Buffer::empty(Rect { y, height: 1, ..area });
        self.was = (area.top()..area.bottom()).map(row).collect();
        self.sending = (area.top()..area.bottom()).map(row).collect();
        self.valid = vec![true; usize::from(area.height)];
        self.drawn = vec![Drawn::Other; usize::from(area.height)];
        self.live = None;
        self.header = None;
        self.cursor = None;
    }

    /// Draws `state` and sends what changed, then places (or hides) the cursor and flushes.
    pub fn paint(&mut self, state: &State, theme: &Theme) -> Result<(), B::Error> {
        let area = self.next.area;
        let live = ui::live_screen(state, area, theme);
        self.mark_kept(live.as_ref());
        let keeps = self.kept.iter().any(|k| *k != Kept::No);
        let width = usize::from(area.width);
        if !keeps {
            self.next.reset();
        } else {
            for (y, kept) in self.kept.iter().enumerate() {
                let rows = y * width..(y + 1) * width;
                if *kept == Kept::No {
                    for cell in &mut self.next.content[rows] {
                        cell.reset();
                    }
                    continue;
                }
                if !self.valid[y] {
                    // Kept, but its cells were moved out when it was sent: the terminal's copy.
                    self.next.content[rows.clone()].clone_from_slice(&self.shown.content[rows]);
                    self.valid[y] = true;
                }
                if let Kept::But { from, to } = *kept {
                    for cell in
                        &mut self.next.content[y * width + usize::from(from)..y * width + usize::from(to)]
                    {
                        cell.reset();
                    }
                }
            }
        }
        self.note_drawn(live.as_ref());
        let cursor = {
            let mut canvas = Canvas::keeping(&mut self.next, &self.kept);
            match live {
                Some(live) => ui::draw_live_on(&mut canvas, state, live, theme),
                None => ui::draw_on(&mut canvas, state, theme),
            }
            canvas.cursor()
        };
        let sent = if keeps { self.send_rows() } else { self.send_whole() };
        match sent {
            Ok(cells) => self.place_cursor(cursor, cells),
            Err(e) => {
                // Part of the frame may have gone out: where the cursor is is not known, and
                // the next frame keeps nothing (it is compared whole with what was last sent).
                self.cursor = None;
                self.live = None;
                self.header = None;
                Err(e)
            }
        }
    }

    /// Marks the rows this frame may keep: the header row showing the same header as last
    /// frame, and body rows of a live screen drawn at the same place and size as last frame
    /// whose screen rows hold the same cells as then, or (patched) the same but for a few
    /// narrow ones.
    fn mark_kept(&mut self, live: Option<&ui::LiveScreen<'_>>) {
        self.kept.clear();
        self.kept.resize(self.drawn.len(), Kept::No);
        let Some(live) = live else { return };
        // The header row, when it shows the same header in the same place.
        if let Some((row, header)) = &self.header
            && *row == live.header_row
            && let Some(kept) =
                row.checked_sub(self.next.area.y).and_then(|y| self.kept.get_mut(usize::from(y)))
            && *header == live.header
        {
            *kept = Kept::Whole;
        }
        if self.live != Some((live.body, live.screen.size())) {
            return;
        }
        let area = self.next.area;
        let body = body_rows(area, live.body);
        // The buffer column the screen's first column is drawn in, and how many are drawn (as
        // `TerminalView` clips them).
        let left = live.body.x.saturating_sub(area.x);
        let cols = live.body.width.min(live.screen.size().1).min(area.right().saturating_sub(live.body.x));
        for y in body.clone() {
            let r = u16::try_from(y - body.start).unwrap_or(u16::MAX);
            self.kept[y] = match (&self.drawn[y], live.screen.visible_row(r)) {
                (Drawn::Row(was), Some(now)) if was.same_cells(now) => Kept::Whole,
                (Drawn::Row(was), Some(now)) => match changed_cols(was, now, usize::from(cols)) {
                    Some(cols) => Kept::But {
                        from: left.saturating_add(u16::try_from(cols.start).unwrap_or(u16::MAX)),
                        to: left.saturating_add(u16::try_from(cols.end).unwrap_or(u16::MAX)),
                    },
                    None => Kept::No,
                },
                (Drawn::Blank, None) => Kept::Whole,
                _ => Kept::No,
            };
        }
    }

    /// Remembers what each row was drawn from, for the next frame.
    fn note_drawn(&mut self, live: Option<&ui::LiveScreen<'_>>) {
        let Some(live) = live else {
            self.live = None;
            self.header = None;
            return;
        };
        if self.header.as_ref().is_none_or(|(row, header)| *row != live.header_row || *header != live.header)
        {
            self.header = Some((live.header_row, live.header.to_owned_header()));
        }
        let body = body_rows(self.next.area, live.body);
        for (y, drawn) in self.drawn.iter_mut().enumerate() {
            if !body.contains(&y) {
                *drawn = Drawn::Other;
            } else if self.kept[y] != Kept::Whole {
                // A kept row was drawn from the same cells as those noted already.
                let r = u16::try_from(y - body.start).unwrap_or(u16::MAX);
                *drawn = match live.screen.visible_row(r) {
                    Some(row) => Drawn::Row(row.clone()),
                    None => Drawn::Blank,
                };
            }
        }
        self.live = Some((live.body, live.screen.size()));
    }

    /// Compares the whole frame with what the terminal shows and sends the difference, as
    /// `Terminal::draw` does; the frame becomes what the terminal shows, and `next` holds no
    /// row of it. Says whether any cell was sent.
    fn send_whole(&mut self) -> Result<bool, B::Error> {
        // No row of `next` is the last frame's any more, whether it is sent or not.
        self.valid.fill(false);
        let (shown, next) = (&self.shown, &self.next);
        let mut updates = Uncovered::new(shown.diff_iter(next), shown, next).peekable();
        // No cell changed: nothing is sent (the backend's draw would still write its closing
        // colour resets).
        let cells = updates.peek().is_some();
        if cells {
            self.backend.draw(updates)?;
        }
        std::mem::swap(&mut self.shown, &mut self.next);
        let rows = self.kept.len() as u64;
        self.stats.rows_drawn += rows;
        Ok(cells)
    }

    /// Compares every row not kept, and the columns drawn in patched rows, with what the
    /// terminal shows and sends the difference. Says whether any cell was sent.
    fn send_rows(&mut self) -> Result<bool, B::Error> {
        let width = usize::from(self.next.area.width);
        let (mut drawn, mut patched, mut patched_cells) = (0, 0, 0);
        for (y, kept) in self.kept.iter().enumerate() {
            match *kept {
                Kept::No => {
                    let cells = y * width..(y + 1) * width;
                    // Moved, not cloned: a row not kept next frame is blanked anyway, and the
                    // terminal's row is replaced by this one right after the comparison.
                    self.was[y].content.swap_with_slice(&mut self.shown.content[cells.clone()]);
                    self.sending[y].content.swap_with_slice(&mut self.next.content[cells]);
                    self.valid[y] = false;
                    drawn += 1;
                }
                Kept::But { from, to } => {
                    patched += 1;
                    patched_cells += u64::from(to - from);
                }
                Kept::Whole => {}
            }
        }
        let (kept, was, sending) = (&self.kept, &self.was, &self.sending);
        let (shown, next, area) = (&self.shown, &self.next, self.next.area);
        let rows = (0..kept.len())
            .filter(|&y| kept[y] == Kept::No)
            .flat_map(|y| Uncovered::new(was[y].diff_iter(&sending[y]), &was[y], &sending[y]));
        // A patched row's columns hold narrow cells only, beside narrow ones: a cell is sent
        // when it differs, as ratatui's diff sends a narrow cell.
        let patches = (0..kept.len())
            .filter_map(|y| match kept[y] {
                Kept::But { from, to } => Some((y, from, to)),
                _ => None,
            })
            .flat_map(|(y, from, to)| {
                (from..to).filter_map(move |x| {
                    let at = y * width + usize::from(x);
                    let (was, now) = (&shown.content[at], &next.content[at]);
                    (was != now && now.diff_option != CellDiffOption::Skip).then(|| {
                        // `y` is a row of the area, whose height is a `u16`.
                        (area.x + x, area.y + u16::try_from(y).unwrap_or(u16::MAX), now)
                    })
                })
            });
        let mut updates = rows.chain(patches).peekable();
        // As in `send_whole`: no changed cell, nothing sent.
        let cells = updates.peek().is_some();
        let sent = if cells { self.backend.draw(updates) } else { Ok(()) };
        for (y, kept) in self.kept.iter().enumerate() {
            match *kept {
                Kept::No => {
                    // The terminal's rows go back whole: this frame's if it was sent, else its
                    // own.
                    let row = if sent.is_ok() { &mut self.sending[y] } else { &mut self.was[y] };
                    self.shown.content[y * width..(y + 1) * width].swap_with_slice(&mut row.content);
                }
                Kept::But { from, to } => {
                    let cols = y * width + usize::from(from)..y * width + usize::from(to);
                    if sent.is_ok() {
                        self.shown.content[cols.clone()].clone_from_slice(&self.next.content[cols]);
                    } else {
                        // The terminal keeps its own row; the next frame copies it back.
                        self.valid[y] = false;
                    }
                }
                Kept::Whole => {}
            }
        }
        sent?;
        self.stats.rows_drawn += drawn;
        self.stats.rows_patched += patched;
        self.stats.cells_patched += patched_cells;
        self.stats.rows_kept += self.kept.len() as u64 - drawn - patched;
        Ok(cells)
    }

    /// Places (or hides) the cursor and flushes the frame. Writing cells (`cells`) moves the
    /// terminal's cursor; otherwise it is still where the last frame left it, and a frame that
    /// would only put it there again (the clock's tick while attached) is not sent at all.
    fn place_cursor(&mut self, cursor: Option<Position>, cells: bool) -> Result<(), B::Error> {
        self.stats.frames += 1;
        if !cells && self.cursor == Some(cursor) {
            return Ok(());
        }
        self.cursor = None;
        match cursor {
            None => self.backend.hide_cursor()?,
            Some(at) => {
                self.backend.show_cursor()?;
                self.backend.set_cursor_position(at)?;
            }
        }
        self.backend.flush()?;
        self.cursor = Some(cursor);
        Ok(())
    }
}

/// The columns `0..width` of a screen row where `now` holds other cells than `was`, when
/// drawing only them draws the row as drawing it whole would: no cell of them or beside them
/// is wide or a wide character's second half (whose drawing reaches the next column, and which
/// ratatui's diff and [`Uncovered`] treat across columns), and no cell of either row carries
/// combining marks (kept apart from the cells, so they could differ where the cells do not).
/// `None`: the row is drawn whole.
fn changed_cols(was: &Row, now: &Row, width: usize) -> Option<std::ops::Range<usize>> {
    // Past both rows' stored cells every cell is blank in both.
    let stored = was.cells().len().max(now.cells().len()).min(width);
    let mut changed: Option<std::ops::Range<usize>> = None;
    for col in 0..stored {
        let (a, b) = (was.cell(col), now.cell(col));
        if a.has_marks() || b.has_marks() {
            return None;
        }
        if a != b {
            changed = Some(changed.map_or(col..col + 1, |c| c.start..col + 1));
        }
    }
    let changed = changed?;
    let wide =
        |col: usize| [was.cell(col), now.cell(col)].iter().any(|c| c.is_wide() || c.is_wide_continuation());
    let beside = changed.start.saturating_sub(1)..(changed.end + 1).min(width);
    if beside.clone().any(wide) {
        return None;
    }
    Some(changed)
}

/// The buffer rows (from the buffer's top) of `body`, the part of it inside `area`; the screen
/// row drawn on buffer row `y` is `y - start`.
fn body_rows(area: Rect, body: Rect) -> std::ops::Range<usize> {
    let body = body.intersection(area);
    let start = usize::from(body.y.saturating_sub(area.y));
    start..start + usize::from(body.height)
}

/// Adds to a diff of `prev` (what the terminal shows) and `next` the columns a wide character
/// covered where the terminal shows one that this frame replaces with a narrow one. A terminal
/// clears the other half of a wide character written over with the attributes of what is
/// written (a background colour, say), which neither buffer records: ratatui's diff sends those
/// columns only when the old character had a visible background, and otherwise a coloured
/// blank could stay beside the new character until the row was redrawn.
///
/// Only the wide cells of a worker's screen count, which are forced to their width
/// (`ui/terminal.rs`); other text is left to ratatui's diff, as before the painter. Looking only
/// at the cells the diff sends costs next to nothing: scanning every cell of the terminal's copy
/// for wide ones cost a wall frame 1.5 % of its instructions.
struct Uncovered<'a, I> {
    diff: I,
    prev: &'a Buffer,
    next: &'a Buffer,
    /// The covered columns still to send, and their row.
    covered: std::ops::Range<u16>,
    row: u16,
}

impl<'a, I> Uncovered<'a, I> {
    fn new(diff: I, prev: &'a Buffer, next: &'a Buffer) -> Self {
        Self { diff, prev, next, covered: 0..0, row: 0 }
    }
}

impl<'a, I: Iterator<Item = (u16, u16, &'a Cell)>> Iterator for Uncovered<'a, I> {
    type Item = (u16, u16, &'a Cell);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        for x in self.covered.by_ref() {
            let (Some(was), Some(now)) = (self.prev.cell((x, self.row)), self.next.cell((x, self.row)))
            else {
                continue;
            };
            // A column that changed is sent by the diff anyway; one the new frame skips is
            // not sent.
            if was == now && now.diff_option != CellDiffOption::Skip {
                return Some((x, self.row, now));
            }
        }
        let (x, y, now) = self.diff.next()?;
        // The cell's index, as `Buffer::cell` would find it without its checks (this runs for
        // every cell sent): the diff's positions are inside the buffers, which share an area.
        let area = self.prev.area;
        let at = usize::from(y.wrapping_sub(area.y)) * usize::from(area.width)
            + usize::from(x.wrapping_sub(area.x));
        if let Some(was) = self.prev.content.get(at)
            && let CellDiffOption::ForcedWidth(width) = was.diff_option
            && width.get() > 1
            // A new character as wide covers the same columns, and the diff skips them.
            && now.cell_width() <= 1
        {
            let end = x.saturating_add(width.get()).min(self.next.area.right());
            self.covered = x.saturating_add(1)..end;
            self.row = y;
        }
        Some((x, y, now))
    }
}
