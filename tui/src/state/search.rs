//! Searching the attached worker's history (scrollback and screen) for text, as tmux's copy mode
//! does: matches are found per row, counted, walked older (`n`) and newer (`N`) without wrapping,
//! and kept in place while new output scrolls the rows they are on.
//!
//! Rows are numbered by [`RowsScrolled`](super::screen::RowsScrolled): scrollback row `i` is line
//! `scrolled - len + i` and screen row `r` is line `scrolled + r`, so a row keeps its number while
//! output pushes it up. Scrollback rows never change once stored, so after output only the rows
//! that were on the screen (and may have been rewritten) are searched again.

use super::screen::Screen;
use controlroom_term::Row;
use std::collections::VecDeque;

/// One match: where it starts and how many cells it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Match {
    /// The row's line number (older rows have smaller numbers).
    pub line: u64,
    /// The first cell of the match.
    pub col: u16,
    /// Cells covered (a wide character counts two).
    pub width: u16,
}

impl Match {
    fn key(&self) -> (u64, u16) {
        (self.line, self.col)
    }
}

/// The end of the matches that `n` or `N` ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// No match older than the current one.
    Oldest,
    /// No match newer than the current one.
    Newest,
}

/// A search while attached: a query being typed, the results of the last query, or both (a new
/// prompt over the last results, which stay highlighted until the new query runs).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The query being typed, while the prompt is open.
    pub prompt: Option<super::line_edit::LineEdit>,
    /// The last query run and its matches.
    pub results: Option<Results>,
}

/// A query run over the history and its matches, kept up to date as output arrives.
#[derive(Debug, Clone)]
pub struct Results {
    query: String,
    /// The query's characters, lower-cased unless it has an upper-case letter (smart case).
    needle: Vec<char>,
    fold: bool,
    /// Every match, oldest first (a deque: rows fall off the old end as output arrives).
    matches: VecDeque<Match>,
    /// Where the current match is (kept even if output rewrote that row and the match went).
    at: Option<(u64, u16)>,
    /// Set when `n`/`N` found nothing further; cleared by the next move that does.
    edge: Option<Edge>,
    /// Line number of the screen's top row at the last scan: rows from here on may have changed.
    screen_top: u64,
}

/// Line number of the oldest row kept.
fn first_line(s: &Screen) -> u64 {
    s.sink().0.saturating_sub(s.scrollback_len() as u64)
}

/// Line number of the top row in view.
pub fn view_top(s: &Screen) -> u64 {
    s.sink().0.saturating_sub(s.scrollback() as u64)
}

/// The row with line number `line`, if it is still kept.
fn row_at(s: &Screen, line: u64) -> Option<&Row> {
    let top = s.sink().0;
    if line >= top {
        s.rows().get(usize::try_from(line - top).ok()?)
    } else {
        let first = first_line(s);
        s.scrollback_row(usize::try_from(line.checked_sub(first)?).ok()?)
    }
}

/// Scrolls the view so `line` is in it: not at all when it already is, otherwise so the line
/// sits in the middle (clamped to the history kept; the live screen is offset 0).
pub fn reveal(s: &mut Screen, line: u64) {
    let rows = u64::from(s.size().0);
    let top = view_top(s);
    if (top..top + rows).contains(&line) {
        return;
    }
    let want_top = line.saturating_sub(rows / 2);
    let offset = s.sink().0.saturating_sub(want_top);
    s.set_scrollback(usize::try_from(offset).unwrap_or(usize::MAX));
}

/// Space reused from row to row while searching.
#[derive(Default)]
struct Scratch {
    /// Each character of the row's text (folded when searching without case) with the cells it
    /// spans, so a wide character or combining mark before a match does not shift its columns.
    chars: Vec<(char, u16, u16)>,
    /// One cell's text.
    text: String,
}

/// Appends the matches of `needle` in `row` (line `line`) to `out`, left to right and not
/// overlapping.
fn scan_row(
    row: &Row,
    line: u64,
    needle: &[char],
    fold: bool,
    scratch: &mut Scratch,
    out: &mut VecDeque<Match>,
) {
    let Scratch { chars, text } = scratch;
    chars.clear();
    let cells = row.cells();
    // Blank cells inside the text read as spaces; the blank tail is not text.
    let end = cells.iter().rposition(|c| c.has_contents()).map_or(0, |i| i + 1);
    for (col, cell) in cells[..end].iter().enumerate() {
        if cell.is_wide_continuation() {
            continue;
        }
        // Rows are at most u16::MAX cells wide (sizes are u16).
        let c0 = u16::try_from(col).unwrap_or(u16::MAX);
        let c1 = c0.saturating_add(if cell.is_wide() { 2 } else { 1 });
        if !cell.has_contents() {
            chars.push((' ', c0, c1));
            continue;
        }
        text.clear();
        row.push_contents(col, text);
        let base = cell.ch();
        if fold && base.is_ascii() && text.len() == 1 {
            // The common cell: one ASCII character, no combining marks.
            chars.push((base.to_ascii_lowercase(), c0, c1));
            continue;
        }
        for ch in text.chars() {
            if fold {
                chars.extend(ch.to_lowercase().map(|l| (l, c0, c1)));
            } else {
                chars.push((ch, c0, c1));
            }
        }
    }
    let n = needle.len();
    let mut i = 0;
    while n > 0 && i + n <= chars.len() {
        if chars[i..i + n].iter().zip(needle).all(|(c, q)| c.0 == *q) {
            let (start, stop) = (chars[i].1, chars[i + n - 1].2);
            out.push_back(Match { line, col: start, width: stop - start });
            i += n;
        } else {
            i += 1;
        }
    }
}

/// The matches of `query` in one row, left to right, numbered `line` (smart case, as
/// [`Results::run`]); copy mode searches its frozen copy of the history row by row with it.
pub fn row_matches(row: &Row, line: u64, query: &str) -> Vec<Match> {
    let fold = !query.chars().any(char::is_uppercase);
    let needle: Vec<char> =
        if fold { query.chars().flat_map(char::to_lowercase).collect() } else { query.chars().collect() };
    let mut out = VecDeque::new();
    scan_row(row, line, &needle, fold, &mut Scratch::default(), &mut out);
    out.into()
}

impl Results {
    /// Runs `query` over everything `screen` keeps. Smart case: the search ignores case unless
    /// the query has an upper-case letter. No current match yet (see [`Results::start`]).
    pub fn run(query: &str, screen: &Screen) -> Self {
        let fold = !query.chars().any(char::is_uppercase);
        let needle =
            if fold { query.chars().flat_map(char::to_lowercase).collect() } else { query.chars().collect() };
        let mut r = Self {
            query: query.to_owned(),
            needle,
            fold,
            matches: VecDeque::new(),
            at: None,
            edge: None,
            screen_top: first_line(screen),
        };
        r.refresh(screen);
        r
    }

    /// Brings the matches up to date after output: drops those on rows that fell off the
    /// scrollback and searches again the rows that were on the screen at the last scan (they
    /// may have been rewritten, and some have since moved into the scrollback).
    pub fn refresh(&mut self, screen: &Screen) {
        let first = first_line(screen);
        let top = screen.sink().0;
        if self.screen_top > top {
            // A new screen model (numbers start again): search all of it.
            self.matches.clear();
            self.screen_top = first;
        }
        let from = self.screen_top.max(first);
        let changed = self.matches.partition_point(|m| m.line < from);
        self.matches.truncate(changed);
        let gone = self.matches.partition_point(|m| m.line < first);
        self.matches.drain(..gone);
        let mut scratch = Scratch::default();
        let end = top + screen.rows().len() as u64;
        for line in from..end {
            if let Some(row) = row_at(screen, line) {
                scan_row(row, line, &self.needle, self.fold, &mut scratch, &mut self.matches);
            }
        }
        self.screen_top = top;
    }

    /// Picks the first current match for a view: the newest one at or above the view's bottom
    /// row, or, when there is none up there, the oldest one below it. Returns it.
    pub fn start(&mut self, screen: &Screen) -> Option<Match> {
        let below = (view_top(screen) + u64::from(screen.size().0), 0);
        let i = self.matches.partition_point(|m| m.key() < below);
        let pick = if i > 0 { self.matches.get(i - 1) } else { self.matches.get(i) };
        self.at = pick.map(Match::key);
        self.edge = None;
        pick.copied()
    }

    /// Moves to the next older match (`older`, `n`) or newer one (`N`); at the end, stays and
    /// records the [`Edge`]. Returns the match moved to.
    pub fn step(&mut self, older: bool) -> Option<Match> {
        let at = self.at?;
        let next = if older {
            let i = self.matches.partition_point(|m| m.key() < at);
            i.checked_sub(1).and_then(|i| self.matches.get(i))
        } else {
            let i = self.matches.partition_point(|m| m.key() <= at);
            self.matches.get(i)
        };
        match next.copied() {
            Some(m) => {
                self.at = Some(m.key());
                self.edge = None;
                Some(m)
            }
            None => {
                self.edge = Some(if older { Edge::Oldest } else { Edge::Newest });
                None
            }
        }
    }

    /// The query as typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// How many matches the history holds.
    pub fn count(&self) -> usize {
        self.matches.len()
    }

    /// Where the current match is in `matches`, if it is still there.
    fn current_index(&self) -> Option<usize> {
        let at = self.at?;
        self.matches.binary_search_by(|m| m.key().cmp(&at)).ok()
    }

    /// The current match, if it is still there.
    pub fn current(&self) -> Option<Match> {
        self.matches.get(self.current_index()?).copied()
    }

    /// The current match's place counting from the newest (1 = the newest match).
    pub fn position(&self) -> Option<usize> {
        Some(self.matches.len() - self.current_index()?)
    }

    /// The end `n`/`N` last ran into, if the last move found nothing.
    pub fn edge(&self) -> Option<Edge> {
        self.edge
    }

    /// The matches on lines `from..to`, oldest first.
    pub fn on_lines(&self, from: u64, to: u64) -> impl Iterator<Item = &Match> {
        let a = self.matches.partition_point(|m| m.line < from);
        let b = self.matches.partition_point(|m| m.line < to).max(a);
        self.matches.range(a..b)
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
