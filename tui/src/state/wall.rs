//! The wall (`g`): every worker of a scope as a live tile, tiled to fit the screen, with focus,
//! pages and the worker sockets of the tiles on screen (and only those).
//!
//! Geometry is plain arithmetic here (drawing and mouse hit-testing both need it); each tile's
//! screen is a [`TermView`] at the worker's own size, drawn cropped by `ui/wall.rs`. Tiles never
//! send a resize: the wall watches workers, it never reshapes them.

use super::term::{TermView, WorkerLink};
use super::{Effect, Mode, Notice, State, WorkerEvent};
use controlroom_protocol::{ExitInfo, SessionId, WorkerId, WorkerServerMsg};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

/// One worker: its session and id.
pub type TileKey = (SessionId, WorkerId);

/// Fewest columns inside a tile; a screen that cannot give every tile this many pages them.
pub const MIN_TILE_COLS: u16 = 20;

/// Fewest rows inside a tile; as [`MIN_TILE_COLS`], below it the wall pages.
pub const MIN_TILE_ROWS: u16 = 3;

/// Columns and rows a tile's border takes around its screen.
pub const TILE_CHROME: u16 = 2;

/// Most tiles on one page, so most worker sockets the wall opens at once (`wall-max-tiles`).
pub const WALL_MAX_TILES: usize = 16;

/// Scrollback lines a tile keeps: none, a tile shows the live screen only (the attached view
/// keeps `scrollback-lines`).
const TILE_SCROLLBACK: usize = 0;

/// The screen size the tiling aims to show whole: a classic terminal. Tiles bigger than it
/// gain nothing, so the grid that shows the most of such a screen per tile wins.
const TARGET_SCREEN: (u32, u32) = (80, 24);

/// Which workers the wall shows; `g` cycles through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WallScope {
    /// Every worker of the selected session.
    #[default]
    Session,
    /// Every worker that needs the user (asking, then failed).
    Attention,
    /// Every worker of every session shown.
    All,
}

impl WallScope {
    /// The next scope in `g`'s cycle.
    pub fn next(self) -> Self {
        match self {
            Self::Session => Self::Attention,
            Self::Attention => Self::All,
            Self::All => Self::Session,
        }
    }

    /// The scope's name in the title line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Attention => "needs you",
            Self::All => "all",
        }
    }
}

/// Columns and rows of tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Tiles across.
    pub cols: u16,
    /// Tiles down.
    pub rows: u16,
}

impl Grid {
    /// Tiles on one page.
    pub fn capacity(self) -> usize {
        usize::from(self.cols) * usize::from(self.rows)
    }

    /// The `i`th tile's rectangle (row by row) in `area`; the spare columns and rows go to
    /// the tiles in turn, so tiles differ by at most one.
    pub fn tile(self, area: Rect, i: usize) -> Rect {
        let cols = usize::from(self.cols.max(1));
        let (c, r) = ((i % cols) as u32, (i / cols) as u32);
        let split = |start: u16, len: u16, n: u16, k: u32| {
            let (len, n) = (u32::from(len), u32::from(n.max(1)));
            // Every value is at most `len`, a u16.
            let at = |k: u32| u16::try_from(k * len / n).unwrap_or(u16::MAX);
            (start + at(k), at(k + 1) - at(k))
        };
        let (x, width) = split(area.x, area.width, self.cols, c);
        let (y, height) = split(area.y, area.height, self.rows, r);
        Rect { x, y, width, height }
    }
}

/// The inner size of the smallest tile of `grid` in a `w`×`h` area.
fn inner(grid: Grid, w: u16, h: u16) -> (u16, u16) {
    ((w / grid.cols.max(1)).saturating_sub(TILE_CHROME), (h / grid.rows.max(1)).saturating_sub(TILE_CHROME))
}

/// Whether every tile of `grid` gets at least the minimum screen.
fn fits(grid: Grid, w: u16, h: u16) -> bool {
    let (iw, ih) = inner(grid, w, h);
    iw >= MIN_TILE_COLS && ih >= MIN_TILE_ROWS
}

/// The grid for `n` tiles in a `w`×`h` area: of the grids with room for `n` whose tiles are at
/// least the minimum, the one showing the most of an 80×24 screen per tile; ties go to the
/// fewest empty places, then to more columns (screens are wider than tall). `None` when not
/// even one tile fits.
pub fn best_grid(n: usize, w: u16, h: u16) -> Option<Grid> {
    let n = u16::try_from(n.max(1)).unwrap_or(u16::MAX);
    let mut best: Option<(u64, u16, Grid)> = None;
    for cols in 1..=n {
        let grid = Grid { cols, rows: n.div_ceil(cols) };
        if !fits(grid, w, h) {
            continue;
        }
        let (iw, ih) = inner(grid, w, h);
        let shown =
            u64::from(u32::from(iw).min(TARGET_SCREEN.0)) * u64::from(u32::from(ih).min(TARGET_SCREEN.1));
        let empty = cols * grid.rows - n;
        let better = match best {
            None => true,
            Some((s, e, g)) => (shown, std::cmp::Reverse(empty), cols) > (s, std::cmp::Reverse(e), g.cols),
        };
        if better {
            best = Some((shown, empty, grid));
        }
    }
    best.map(|(_, _, g)| g)
}

/// The grid one page uses for `n` tiles: all of them when they fit (up to `max`), else as many
/// as fit, every page alike so the tiles do not jump between pages.
pub fn page_grid(n: usize, w: u16, h: u16, max: usize) -> Option<Grid> {
    let mut k = n.clamp(1, max.max(1));
    loop {
        if let Some(g) = best_grid(k, w, h) {
            return Some(g);
        }
        if k == 1 {
            return None;
        }
        // Fewer tiles per page until they fit: halving first keeps a huge count quick.
        k = if k > 64 { k / 2 } else { k - 1 };
    }
}

/// The first screen row a tile `height` rows tall shows of a screen `rows` tall with its cursor
/// on `cursor_row`: from the top when the cursor's line fits, else cropped from the top just
/// enough that the cursor's line is the tile's last (never past the screen's end). Cropping,
/// not re-wrapping: every row drawn is the worker's row as it is.
pub fn crop_top(rows: u16, cursor_row: u16, height: u16) -> u16 {
    if height == 0 || rows <= height {
        return 0;
    }
    (cursor_row.min(rows - 1) + 1).saturating_sub(height).min(rows - height)
}

/// The tiles' area: the screen less the title line above and the status line below.
pub fn wall_area(size: (u16, u16)) -> Rect {
    Rect::new(0, 1, size.0, size.1.saturating_sub(2))
}

/// What the wall shows: its scope, the focused tile, and the screens of the tiles on this page.
#[derive(Debug, Default)]
pub struct Wall {
    /// The wall is the screen under any dialog, and where detaching returns to.
    pub open: bool,
    /// Which workers.
    pub scope: WallScope,
    /// The focused worker; kept by identity so it stays put while the list changes.
    pub focused: Option<TileKey>,
    /// Where the focus was, for when its worker leaves the scope.
    focus_index: usize,
    /// The page's tiles' screens, in tile order (one socket each).
    pub views: Vec<TermView>,
}

/// Where the wall is: the workers in scope, the page shown and its grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallPage {
    /// Every worker in scope, in dashboard order.
    pub keys: Vec<TileKey>,
    /// The focused worker's index in `keys`.
    pub focus: usize,
    /// Zero-based page.
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
    /// The tiles on a page; `None` when the screen is too small for one.
    pub grid: Option<Grid>,
    /// The tiles' area.
    pub area: Rect,
}

impl WallPage {
    /// Tiles on a page.
    pub fn per_page(&self) -> usize {
        self.grid.map_or(1, Grid::capacity).max(1)
    }

    /// The workers on the page shown.
    pub fn shown(&self) -> &[TileKey] {
        let per = self.per_page();
        let start = (self.page * per).min(self.keys.len());
        &self.keys[start..(start + per).min(self.keys.len())]
    }

    /// The rectangle of the page's `i`th tile.
    pub fn tile(&self, i: usize) -> Option<Rect> {
        self.grid.map(|g| g.tile(self.area, i))
    }
}

impl Wall {
    /// The screen of `key`'s tile, when it is on the page.
    pub fn view(&self, key: &TileKey) -> Option<&TermView> {
        self.views.iter().find(|v| v.is(&key.0, &key.1))
    }

    /// The focused worker: what `Enter`, and the keys that act on a worker, act on.
    pub fn selected_worker(&self) -> Option<&TileKey> {
        self.focused.as_ref()
    }

    /// Applies a worker socket's event to its tile; `false` when no tile shows that worker.
    pub fn tile_event(&mut self, session: &SessionId, worker: &WorkerId, ev: &WorkerEvent) -> bool {
        let Some(view) = self.views.iter_mut().find(|v| v.is(session, worker)) else { return false };
        match ev {
            WorkerEvent::Message(WorkerServerMsg::History { data, cols, rows, offset }) => {
                view.history(data, *cols, *rows, *offset);
            }
            // `exit` follows all of a program's output: output after it is a restarted program,
            // streaming on the same socket.
            WorkerEvent::Message(WorkerServerMsg::Output { data, offset }) => {
                if view.output(data.as_bytes(), *offset) > 0 {
                    view.exit = None;
                }
            }
            WorkerEvent::Output { offset, bytes } => {
                if view.output(bytes, *offset) > 0 {
                    view.exit = None;
                }
            }
            WorkerEvent::Message(WorkerServerMsg::Exit { exit_code, signal }) => {
                view.exit = Some(ExitInfo { exit_code: *exit_code, signal: signal.clone() });
            }
            // The tile's badge says what the gateway says; a gap's marker is on the screen.
            WorkerEvent::Message(_) => {}
            WorkerEvent::Lost(reason) => view.link = WorkerLink::Lost(reason.clone()),
            WorkerEvent::Gone(reason) => view.link = WorkerLink::Gone(reason.clone()),
        }
        true
    }
}

impl State {
    /// Every worker in the wall's scope, in dashboard order.
    pub fn wall_keys(&self) -> Vec<TileKey> {
        match self.wall.scope {
            WallScope::Session => self
                .session()
                .map(|s| s.workers.iter().map(|w| (s.id.clone(), w.id.clone())).collect())
                .unwrap_or_default(),
            WallScope::Attention => self.attention(),
            WallScope::All => self
                .store
                .visible(&self.filter)
                .iter()
                .flat_map(|s| s.workers.iter().map(|w| (s.id.clone(), w.id.clone())))
                .collect(),
        }
    }

    /// The wall as it is now: what is in scope, the page with the focus, and its grid.
    pub fn wall_page(&self) -> WallPage {
        let keys = self.wall_keys();
        let area = wall_area(self.size);
        let grid = page_grid(keys.len(), area.width, area.height, self.wall_max_tiles());
        let focus = self
            .wall
            .focused
            .as_ref()
            .and_then(|f| keys.iter().position(|k| k == f))
            .unwrap_or(self.wall.focus_index.min(keys.len().saturating_sub(1)));
        let per = grid.map_or(1, Grid::capacity).max(1);
        let pages = keys.len().div_ceil(per).max(1);
        WallPage { page: focus / per, pages, keys, focus, grid, area }
    }

    fn wall_max_tiles(&self) -> usize {
        self.settings.wall_max_tiles.max(1)
    }

    /// The focused tile's worker, when the wall is showing: the reply dialog and the answer
    /// keys act on it.
    pub fn wall_focus(&self) -> Option<TileKey> {
        self.wall.open.then(|| self.wall.focused.clone()).flatten()
    }

    /// Opens the wall (`g` on the dashboard): the session's workers when one is selected, with
    /// the selected worker focused.
    pub(super) fn open_wall(&mut self) {
        self.wall.open = true;
        self.wall.scope = if self.selected_session.is_some() { WallScope::Session } else { WallScope::All };
        self.wall.focused = self.selected_session.clone().zip(self.selected_worker.clone());
        self.wall.focus_index = 0;
        self.mode = Mode::Wall;
    }

    /// Leaves the wall for the dashboard, with the focused worker selected there.
    fn close_wall(&mut self) {
        self.wall.open = false;
        if let Some((s, w)) = self.wall.focused.clone() {
            self.selected_session = Some(s);
            self.selected_worker = Some(w);
            self.focus = super::Focus::Workers;
        }
        self.mode = Mode::Dashboard;
    }

    /// Where a dialog, the help or a detach returns to: the wall when it is open.
    pub(super) fn base_mode(&self) -> Mode {
        if self.wall.open { Mode::Wall } else { Mode::Dashboard }
    }

    /// A key on the wall.
    pub(super) fn wall_key(&mut self, ev: KeyEvent, fx: &mut Vec<Effect>) {
        use crate::keymap::Action;
        let action = self.settings.keys.action(&ev);
        let page = self.wall_page();
        let cols = page.grid.map_or(1, |g| usize::from(g.cols));
        let plain = !ev.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        // y/n/1-9 answer the focused tile's prompt, as they do the dashboard's selected worker.
        if let Some((s, w)) = self.wall.focused.clone()
            && self.answer_key(&s, &w, &ev, fx)
        {
            return;
        }
        match (ev.code, action) {
            (_, Some(Action::Reply)) => match self.wall.focused.clone() {
                Some((s, w)) => self.open_reply(s, w),
                None => self.tell("no tile focused"),
            },
            (_, Some(Action::AutoAnswer)) => match self.wall.focused.clone() {
                Some((s, w)) => self.toggle_auto_answer(&s, &w, fx),
                None => self.tell("no tile focused"),
            },
            (_, Some(Action::Wall)) => {
                self.wall.scope = self.wall.scope.next();
                self.wall.focus_index = 0;
                let keys = self.wall_keys();
                // Keep the focused worker when the new scope has it.
                if !self.wall.focused.as_ref().is_some_and(|f| keys.contains(f)) {
                    self.wall.focused = keys.first().cloned();
                }
            }
            (KeyCode::Esc, _) => self.close_wall(),
            (KeyCode::Enter, _) | (_, Some(Action::Attach)) => self.attach_from_wall(fx),
            (KeyCode::Left, _) => self.move_wall_focus(&page, -1),
            (KeyCode::Char('h'), _) if plain => self.move_wall_focus(&page, -1),
            (KeyCode::Right, _) => self.move_wall_focus(&page, 1),
            (KeyCode::Char('l'), _) if plain => self.move_wall_focus(&page, 1),
            (KeyCode::Up, _) | (_, Some(Action::Up)) => self.move_wall_focus(&page, -(cols as isize)),
            (KeyCode::Down, _) | (_, Some(Action::Down)) => self.move_wall_focus(&page, cols as isize),
            (KeyCode::PageUp, _) => self.move_wall_focus(&page, -(page.per_page() as isize)),
            (KeyCode::PageDown, _) => self.move_wall_focus(&page, page.per_page() as isize),
            (KeyCode::Home, _) => self.move_wall_focus(&page, isize::MIN / 2),
            (KeyCode::End, _) => self.move_wall_focus(&page, isize::MAX / 2),
            (_, Some(Action::Help)) => self.mode = Mode::Help(super::help::HelpView::default()),
            (_, Some(Action::Quit)) => self.quit(fx),
            _ => {}
        }
    }

    /// Moves the focus by `delta` places (a row is `cols` places), clamped to the list; a
    /// page key lands on the same place of the next page.
    fn move_wall_focus(&mut self, page: &WallPage, delta: isize) {
        if page.keys.is_empty() {
            return;
        }
        let next = page.focus.saturating_add_signed(delta).min(page.keys.len() - 1);
        self.wall.focused = page.keys.get(next).cloned();
        self.wall.focus_index = next;
    }

    /// Attaches to the focused tile: its screen becomes the attached view at once, and the
    /// runtime opens a socket with the full `history` for it (the tile's had the screen only), so
    /// the scrollback arrives with it; the other tiles' sockets close.
    fn attach_from_wall(&mut self, fx: &mut Vec<Effect>) {
        let Some((s, w)) = self.wall.focused.clone() else {
            self.notice = Some(Notice { text: "no worker to attach to".into(), error: false });
            return;
        };
        if self.store.worker(&s, &w).is_none() {
            return;
        }
        self.selected_session = Some(s.clone());
        self.selected_worker = Some(w.clone());
        self.term = Some(self.watched_view(s.clone(), w.clone()));
        fx.push(Effect::Watch(Some((s, w))));
        self.attach(fx);
    }

    /// Mouse on the wall: a click focuses a tile, a click on the focused tile attaches, the
    /// wheel turns pages.
    pub(super) fn wall_mouse(&mut self, ev: MouseEvent, fx: &mut Vec<Effect>) {
        let page = self.wall_page();
        match ev.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                let pos = Position::new(ev.column, ev.row);
                let first = page.page * page.per_page();
                let hit = (0..page.shown().len()).find(|&i| page.tile(i).is_some_and(|r| r.contains(pos)));
                let Some(i) = hit else { return };
                let key = page.keys[first + i].clone();
                if self.wall.focused.as_ref() == Some(&key) {
                    self.attach_from_wall(fx);
                } else {
                    self.wall.focused = Some(key);
                    self.wall.focus_index = first + i;
                }
            }
            MouseEventKind::ScrollUp => self.move_wall_focus(&page, -(page.per_page() as isize)),
            MouseEventKind::ScrollDown => self.move_wall_focus(&page, page.per_page() as isize),
            _ => {}
        }
    }

    /// The view of a worker leaving the wall to be watched (attached or previewed): its tile's
    /// screen, shown at once, keeping `scrollback-lines` from the full `history` its watched
    /// socket brings ([`Effect::Watch`] always gets one).
    fn watched_view(&mut self, s: SessionId, w: WorkerId) -> TermView {
        let tile = self.wall.views.iter().position(|v| v.is(&s, &w)).map(|i| self.wall.views.remove(i));
        let mut view = tile.unwrap_or_else(|| TermView::new(s, w, self.settings.scrollback_lines));
        view.set_scrollback(self.settings.scrollback_lines);
        view
    }

    /// Keeps the page's tiles watched, and only those: a tile that appears gets a screen (the
    /// runtime opens its socket), one that leaves is dropped (its socket closes). While the wall
    /// is not showing (attached from it, or closed) no tile is watched.
    pub(super) fn reconcile_wall(&mut self, fx: &mut Vec<Effect>) {
        let showing = self.wall.open && self.mode != Mode::Attach;
        let page = if showing { Some(self.wall_page()) } else { None };
        let want: Vec<TileKey> = page.as_ref().map(|p| p.shown().to_vec()).unwrap_or_default();
        if let Some(p) = &page {
            self.wall.focused = p.keys.get(p.focus).cloned();
            self.wall.focus_index = p.focus;
        }
        let have: Vec<TileKey> =
            self.wall.views.iter().map(|v| (v.session.clone(), v.worker.clone())).collect();
        // The attached or previewed worker's screen joins the wall as its tile (a detach back
        // to the wall shows it at once, on the socket it already has).
        let mut moved = false;
        if showing && let Some(t) = self.term.take_if(|t| want.iter().any(|k| t.is(&k.0, &k.1))) {
            self.wall.views.retain(|v| !v.is(&t.session, &t.worker));
            self.wall.views.push(t);
            moved = true;
        }
        // Leaving the wall for the dashboard: the focused tile's screen becomes the preview.
        if !self.wall.open && self.term.is_none() && !self.wall.views.is_empty() {
            let selected = self.selected_session.clone().zip(self.selected_worker.clone());
            if let Some((s, w)) = selected
                && self.wall.view(&(s.clone(), w.clone())).is_some()
            {
                self.term = Some(self.watched_view(s.clone(), w.clone()));
                fx.push(Effect::Watch(Some((s, w))));
            }
        }
        let mut views = std::mem::take(&mut self.wall.views);
        self.wall.views = want
            .iter()
            .map(|(s, w)| match views.iter().position(|v| v.is(s, w)) {
                Some(i) => views.swap_remove(i),
                None => TermView::new(s.clone(), w.clone(), TILE_SCROLLBACK),
            })
            .collect();
        if want != have || moved {
            fx.push(Effect::WatchTiles(want));
        }
        if moved {
            // After the tiles took its socket: the runtime keeps it open for them.
            fx.push(Effect::Watch(None));
        }
    }
}

#[cfg(test)]
#[path = "wall_tests.rs"]
mod tests;
