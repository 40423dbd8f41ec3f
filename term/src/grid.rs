//! One grid of rows (the main screen or the alternate one) with the cursor, scroll region and
//! origin mode. The operations follow vt100 0.18's grid exactly, so replacing vt100 changes speed,
//! not what a client sees; rows leaving the top go to a callback and, on the main screen, into a
//! bounded scrollback (capacity 0 in the gateway, which stores formatted lines instead).

use super::cell::{Attrs, Row};
use std::collections::VecDeque;

/// A cursor position; `col == cols` is the pending-wrap position after the last column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) row: u16,
    pub(crate) col: u16,
}

/// A grid of `rows × cols` cells.
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    pub(crate) rows_n: u16,
    pub(crate) cols: u16,
    pub(crate) pos: Pos,
    saved_pos: Pos,
    /// A ring, so a full-screen scroll moves the top row to the bottom in O(1) instead of
    /// shifting every row (`make_contiguous` gives the rare region operations a slice).
    pub(crate) rows: VecDeque<Row>,
    scroll_top: u16,
    scroll_bottom: u16,
    origin_mode: bool,
    saved_origin_mode: bool,
    /// The main screen's scrollback (the alternate screen has none).
    scrollback: Option<Scrollback>,
}

/// Rows that left the top of the main screen, newest last, and the view offset into them
/// (vt100 0.18's scrollback: the same capacity, offset and resize semantics).
#[derive(Clone, Debug)]
struct Scrollback {
    /// At most `capacity` rows; moved out of the grid, never cloned.
    rows: VecDeque<Row>,
    capacity: usize,
    /// Rows scrolled back from the live screen (0 = live), at most `rows.len()`.
    offset: usize,
    /// Rows scrolled off so far as if the capacity were unlimited: growing the screen pulls
    /// back that many (stored rows first, then blank ones), as vt100 does.
    unbounded_len: usize,
}

impl Scrollback {
    /// Keeps a copy of `row` (leaving the screen) without its blank tail and blanks `row` in
    /// place: the screen row stays hot in cache, the scrollback holds only what was written,
    /// and the row falling off the far end lends its allocation to the copy.
    #[inline]
    fn push(&mut self, row: &mut Row) {
        if self.capacity > 0 {
            let mut kept = if self.rows.len() >= self.capacity {
                self.rows.pop_front().unwrap_or_else(Row::empty)
            } else {
                Row::empty()
            };
            row.copy_trimmed_into(&mut kept);
            self.rows.push_back(kept);
        }
        row.reset();
    }

    /// vt100 trims scrollback rows and, when it widens one again to show it, clears its wrap
    /// flag: do the same to the flags of the rows in view (their cells read the same).
    fn unwrap_visible(&mut self, rows: u16, cols: u16) {
        let len = self.rows.len();
        for row in self.rows.iter_mut().skip(len - self.offset).take(usize::from(rows)) {
            if row.trimmed_len() < usize::from(cols) {
                row.wrapped = false;
            }
        }
    }
}

impl Grid {
    /// A grid; `scrollback` (its capacity in rows) for the main screen. Rows are allocated by
    /// `allocate_rows`.
    pub(crate) fn new(rows: u16, cols: u16, scrollback: Option<usize>) -> Self {
        Self {
            rows_n: rows,
            cols,
            pos: Pos::default(),
            saved_pos: Pos::default(),
            rows: VecDeque::new(),
            scroll_top: 0,
            scroll_bottom: rows - 1,
            origin_mode: false,
            saved_origin_mode: false,
            scrollback: scrollback.map(|capacity| Scrollback {
                rows: VecDeque::new(),
                capacity,
                offset: 0,
                unbounded_len: 0,
            }),
        }
    }

    pub(crate) fn allocate_rows(&mut self) {
        if self.rows.is_empty() {
            self.rows = (0..self.rows_n).map(|_| Row::new(self.cols)).collect();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.pos = Pos::default();
        self.saved_pos = Pos::default();
        for row in &mut self.rows {
            row.reset();
        }
        self.scroll_top = 0;
        self.scroll_bottom = self.rows_n - 1;
        self.origin_mode = false;
        self.saved_origin_mode = false;
    }

    /// CSI 3 J: drops the scrollback and returns to the live screen.
    pub(crate) fn forget_scrollback(&mut self) {
        if let Some(sb) = &mut self.scrollback {
            sb.rows.clear();
            sb.unbounded_len = 0;
            sb.offset = 0;
        }
    }

    /// Rows the scrollback holds at most (0 without one).
    pub(crate) fn scrollback_capacity(&self) -> usize {
        self.scrollback.as_ref().map_or(0, |sb| sb.capacity)
    }

    /// Rows the scrollback holds now.
    pub(crate) fn scrollback_len(&self) -> usize {
        self.scrollback.as_ref().map_or(0, |sb| sb.rows.len())
    }

    /// Rows scrolled back from the live screen.
    pub(crate) fn scrollback_offset(&self) -> usize {
        self.scrollback.as_ref().map_or(0, |sb| sb.offset)
    }

    /// Scrolls the view back `rows` from the live screen, clamped to what is stored.
    pub(crate) fn set_scrollback_offset(&mut self, rows: usize) {
        if let Some(sb) = &mut self.scrollback {
            sb.offset = rows.min(sb.rows.len());
            sb.unwrap_visible(self.rows_n, self.cols);
        }
    }

    /// Visible row `i`: the last `offset` scrollback rows, then the screen's first rows.
    pub(crate) fn visible_row(&self, i: u16) -> Option<&Row> {
        let i = usize::from(i);
        if i >= self.rows.len() {
            return None;
        }
        match &self.scrollback {
            Some(sb) if sb.offset > 0 => {
                if i < sb.offset {
                    sb.rows.get(sb.rows.len() - sb.offset + i)
                } else {
                    self.rows.get(i - sb.offset)
                }
            }
            _ => self.rows.get(i),
        }
    }

    /// Scrollback row `i`, 0 being the oldest one kept (the view offset aside).
    pub(crate) fn scrollback_row(&self, i: usize) -> Option<&Row> {
        self.scrollback.as_ref().and_then(|sb| sb.rows.get(i))
    }

    /// Resizes; rows pushed off the top go to `on_row`.
    pub(crate) fn set_size(&mut self, rows: u16, cols: u16, on_row: &mut dyn FnMut(&Row)) {
        if (rows, cols) == (self.rows_n, self.cols) {
            return;
        }
        self.scroll_top = 0;
        self.scroll_bottom = self.rows_n - 1;
        if let Some(sb) = &mut self.scrollback {
            sb.offset = 0;
        }
        let diff = self.rows_n.abs_diff(rows);
        let is_empty = self.rows.is_empty();
        let pos_diff = if is_empty {
            0
        } else if rows < self.rows_n {
            let excess_bottom = self.rows_n - self.pos.row - 1;
            let pushed = diff.saturating_sub(excess_bottom);
            self.scroll_up(pushed, on_row);
            self.rows.truncate(usize::from(rows));
            pushed
        } else if let Some(sb) = &mut self.scrollback {
            let pulled = u16::try_from(sb.unbounded_len).unwrap_or(u16::MAX).min(diff);
            // Stored rows come back; rows a bounded scrollback dropped come back blank.
            let stored = sb.rows.len().min(usize::from(pulled));
            let blank = usize::from(pulled) - stored;
            let from = sb.rows.len() - stored;
            let back: Vec<Row> = (0..blank)
                .map(|_| Row::new(cols))
                .chain(sb.rows.drain(from..).map(|mut row| {
                    // vt100 resizes the trimmed row: any change of length unwraps it.
                    if row.trimmed_len() != usize::from(cols) {
                        row.wrapped = false;
                    }
                    row
                }))
                .collect();
            for row in back.into_iter().rev() {
                self.rows.push_front(row);
            }
            self.rows.resize_with(usize::from(rows), || Row::new(cols));
            sb.unbounded_len -= usize::from(pulled);
            pulled
        } else {
            self.rows.resize_with(usize::from(rows), || Row::new(cols));
            0
        };
        if let Some(last) = self.rows.back_mut() {
            last.wrapped = false;
        }
        for row in &mut self.rows {
            row.resize(cols);
        }
        if rows < self.rows_n {
            self.pos.row = self.pos.row.saturating_sub(pos_diff);
            self.saved_pos.row = self.saved_pos.row.saturating_sub(pos_diff).min(rows - 1);
        } else {
            self.pos.row += pos_diff;
            self.saved_pos.row += pos_diff;
        }
        self.pos.col = self.pos.col.min(cols - 1);
        self.saved_pos.col = self.saved_pos.col.min(cols - 1);
        self.scroll_bottom = rows - 1;
        self.rows_n = rows;
        self.cols = cols;
    }

    pub(crate) fn set_pos(&mut self, mut pos: Pos) {
        if self.origin_mode {
            pos.row = pos.row.saturating_add(self.scroll_top);
        }
        self.pos = pos;
        self.row_clamp_top(self.origin_mode);
        self.row_clamp_bottom(self.origin_mode);
        self.col_clamp();
    }

    pub(crate) fn save_cursor(&mut self) {
        self.saved_pos = self.pos;
        self.saved_origin_mode = self.origin_mode;
    }

    pub(crate) fn restore_cursor(&mut self) {
        self.pos = self.saved_pos;
        self.origin_mode = self.saved_origin_mode;
    }

    pub(crate) fn current_row_mut(&mut self) -> &mut Row {
        let row = usize::from(self.pos.row);
        &mut self.rows[row]
    }

    pub(crate) fn erase_all(&mut self, attrs: Attrs) {
        for row in &mut self.rows {
            row.clear(attrs);
            row.release_if_blank();
        }
    }

    pub(crate) fn erase_all_forward(&mut self, attrs: Attrs) {
        let start = usize::from(self.pos.row) + 1;
        for row in self.rows.iter_mut().skip(start) {
            row.clear(attrs);
            row.release_if_blank();
        }
        self.erase_row_forward(attrs);
    }

    pub(crate) fn erase_all_backward(&mut self, attrs: Attrs) {
        let end = usize::from(self.pos.row);
        for row in self.rows.iter_mut().take(end) {
            row.clear(attrs);
            row.release_if_blank();
        }
        self.erase_row_backward(attrs);
    }

    pub(crate) fn erase_row(&mut self, attrs: Attrs) {
        self.current_row_mut().clear(attrs);
    }

    pub(crate) fn erase_row_forward(&mut self, attrs: Attrs) {
        let (col, cols) = (self.pos.col, self.cols);
        self.current_row_mut().erase_range(col, cols, attrs);
    }

    pub(crate) fn erase_row_backward(&mut self, attrs: Attrs) {
        let end = self.pos.col.min(self.cols - 1);
        self.current_row_mut().erase_range(0, end + 1, attrs);
    }

    pub(crate) fn insert_cells(&mut self, count: u16) {
        let col = self.pos.col;
        self.current_row_mut().insert(col, count);
    }

    pub(crate) fn delete_cells(&mut self, count: u16) {
        let (col, cols) = (self.pos.col, self.cols);
        self.current_row_mut().remove(col, col.saturating_add(count).min(cols));
    }

    pub(crate) fn erase_cells(&mut self, count: u16, attrs: Attrs) {
        let (col, cols) = (self.pos.col, self.cols);
        self.current_row_mut().erase_range(col, col.saturating_add(count).min(cols), attrs);
    }

    pub(crate) fn insert_lines(&mut self, count: u16) {
        if count == 0 || !self.in_scroll_region() {
            return;
        }
        let between =
            &mut self.rows.make_contiguous()[usize::from(self.pos.row)..=usize::from(self.scroll_bottom)];
        let n = usize::from(count).min(between.len());
        between.rotate_right(n);
        for row in &mut between[..n] {
            row.reset();
        }
        self.rows[usize::from(self.scroll_bottom)].wrapped = false;
    }

    pub(crate) fn delete_lines(&mut self, count: u16) {
        if !self.in_scroll_region() {
            return;
        }
        let between =
            &mut self.rows.make_contiguous()[usize::from(self.pos.row)..=usize::from(self.scroll_bottom)];
        let n = usize::from(count).min(between.len());
        for row in &mut between[..n] {
            row.reset();
        }
        between.rotate_left(n);
    }

    /// Scrolls the region up; rows leaving the top of the screen go to `on_row` first.
    pub(crate) fn scroll_up(&mut self, count: u16, on_row: &mut dyn FnMut(&Row)) {
        let (top, bottom) = (usize::from(self.scroll_top), usize::from(self.scroll_bottom));
        let at_top = top == 0;
        let cols = self.cols;
        let n = usize::from(count).min(bottom + 1 - top);
        let leaving = self.rows.range_mut(top..top + n);
        match &mut self.scrollback {
            Some(sb) if at_top => {
                sb.unbounded_len = sb.unbounded_len.saturating_add(n);
                for row in leaving {
                    on_row(row);
                    sb.push(row);
                }
                if sb.offset > 0 {
                    sb.offset = sb.offset.saturating_add(n).min(sb.rows.len());
                    sb.unwrap_visible(self.rows_n, cols);
                }
            }
            _ => {
                for row in leaving {
                    if at_top {
                        on_row(row);
                    }
                    row.reset();
                }
            }
        }
        if at_top && bottom + 1 == self.rows.len() {
            // The whole screen: the ring turns, moving `n` rows, not every row.
            self.rows.rotate_left(n);
        } else {
            self.rows.make_contiguous()[top..=bottom].rotate_left(n);
        }
    }

    pub(crate) fn scroll_down(&mut self, count: u16) {
        if count == 0 {
            return;
        }
        let between =
            &mut self.rows.make_contiguous()[usize::from(self.scroll_top)..=usize::from(self.scroll_bottom)];
        let n = usize::from(count).min(between.len());
        between.rotate_right(n);
        for row in &mut between[..n] {
            row.reset();
        }
        self.rows[usize::from(self.scroll_bottom)].wrapped = false;
    }

    pub(crate) fn set_scroll_region(&mut self, top: u16, bottom: u16) {
        let bottom = bottom.min(self.rows_n - 1);
        if top < bottom {
            self.scroll_top = top;
            self.scroll_bottom = bottom;
        } else {
            self.scroll_top = 0;
            self.scroll_bottom = self.rows_n - 1;
        }
        self.pos = Pos { row: self.scroll_top, col: 0 };
    }

    fn in_scroll_region(&self) -> bool {
        self.pos.row >= self.scroll_top && self.pos.row <= self.scroll_bottom
    }

    /// DECOM is on: cursor rows count from the top of the scroll region.
    pub(crate) fn origin_mode(&self) -> bool {
        self.origin_mode
    }

    /// The cursor row as a report gives it (0-based): from the scroll region's top in origin
    /// mode, from the screen's top otherwise.
    pub(crate) fn origin_relative_row(&self) -> u16 {
        if self.origin_mode { self.pos.row.saturating_sub(self.scroll_top) } else { self.pos.row }
    }

    pub(crate) fn set_origin_mode(&mut self, on: bool) {
        self.origin_mode = on;
        self.set_pos(Pos::default());
    }

    pub(crate) fn row_inc_clamp(&mut self, count: u16) {
        let in_region = self.in_scroll_region();
        self.pos.row = self.pos.row.saturating_add(count);
        self.row_clamp_bottom(in_region);
    }

    pub(crate) fn row_inc_scroll(&mut self, count: u16, on_row: &mut dyn FnMut(&Row)) -> u16 {
        let in_region = self.in_scroll_region();
        self.pos.row = self.pos.row.saturating_add(count);
        let lines = self.row_clamp_bottom(in_region);
        if in_region {
            self.scroll_up(lines, on_row);
            lines
        } else {
            0
        }
    }

    pub(crate) fn row_dec_clamp(&mut self, count: u16) {
        let in_region = self.in_scroll_region();
        self.pos.row = self.pos.row.saturating_sub(count);
        self.row_clamp_top(in_region);
    }

    pub(crate) fn row_dec_scroll(&mut self, count: u16) {
        let in_region = self.in_scroll_region();
        let extra = count.saturating_sub(self.pos.row);
        self.pos.row = self.pos.row.saturating_sub(count);
        let lines = self.row_clamp_top(in_region);
        self.scroll_down(lines + extra);
    }

    pub(crate) fn row_set(&mut self, i: u16) {
        self.pos.row = i.min(self.rows_n - 1);
    }

    pub(crate) fn col_inc(&mut self, count: u16) {
        self.pos.col = self.pos.col.saturating_add(count);
    }

    pub(crate) fn col_inc_clamp(&mut self, count: u16) {
        self.pos.col = self.pos.col.saturating_add(count);
        self.col_clamp();
    }

    pub(crate) fn col_dec(&mut self, count: u16) {
        self.pos.col = self.pos.col.saturating_sub(count);
    }

    pub(crate) fn col_tab(&mut self) {
        self.pos.col -= self.pos.col % 8;
        self.pos.col = self.pos.col.saturating_add(8);
        self.col_clamp();
    }

    pub(crate) fn col_set(&mut self, i: u16) {
        self.pos.col = i;
        self.col_clamp();
    }

    /// Moves to the next row when a character of `width` does not fit; marks the row wrapped.
    pub(crate) fn col_wrap(&mut self, width: u16, wrap: bool, on_row: &mut dyn FnMut(&Row)) {
        if self.pos.col <= self.cols - width {
            return;
        }
        let mut prev = self.pos;
        self.pos.col = 0;
        let scrolled = self.row_inc_scroll(1, on_row);
        if prev.row == 0 && scrolled > 0 {
            return;
        }
        prev.row -= scrolled;
        let new_row = self.pos.row;
        self.rows[usize::from(prev.row)].wrapped = wrap && prev.row + 1 == new_row;
    }

    fn row_clamp_top(&mut self, limit: bool) -> u16 {
        if limit && self.pos.row < self.scroll_top {
            let n = self.scroll_top - self.pos.row;
            self.pos.row = self.scroll_top;
            n
        } else {
            0
        }
    }

    fn row_clamp_bottom(&mut self, limit: bool) -> u16 {
        let bottom = if limit { self.scroll_bottom } else { self.rows_n - 1 };
        if self.pos.row > bottom {
            let n = self.pos.row - bottom;
            self.pos.row = bottom;
            n
        } else {
            0
        }
    }

    fn col_clamp(&mut self) {
        if self.pos.col > self.cols - 1 {
            self.pos.col = self.cols - 1;
        }
    }
}
