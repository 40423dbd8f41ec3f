//! Cells of the lean screen model: 16-byte cells (vt100's are 32) with packed colours; rows, with
//! their wrap flag and the rare combining marks kept beside the row, are in `cell/row.rs`.

mod row;

pub use row::Row;

/// A colour as SGR sets it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Color {
    /// The terminal's own colour.
    #[default]
    Default,
    /// One of the 256 indexed colours.
    Idx(u8),
    /// 24-bit colour.
    Rgb(u8, u8, u8),
}

pub(crate) const BOLD: u8 = 0b0000_0001;
pub(crate) const DIM: u8 = 0b0000_0010;
pub(crate) const INTENSITY: u8 = BOLD | DIM;
pub(crate) const ITALIC: u8 = 0b0000_0100;
pub(crate) const UNDERLINE: u8 = 0b0000_1000;
pub(crate) const INVERSE: u8 = 0b0001_0000;

/// A [`Color`] packed into four always-initialised bytes (kind, then up to three values), so
/// attributes and cells compare as plain integers in the per-cell loops; an enum with payloads
/// leaves padding bytes that force a branchy field-by-field compare.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Ink([u8; 4]);

impl Ink {
    /// The terminal's own colour.
    pub(crate) const DEFAULT: Ink = Ink([0; 4]);

    /// The colour it stands for.
    pub(crate) fn get(self) -> Color {
        match self.0 {
            [1, i, _, _] => Color::Idx(i),
            [2, r, g, b] => Color::Rgb(r, g, b),
            _ => Color::Default,
        }
    }
}

impl From<Color> for Ink {
    fn from(color: Color) -> Self {
        match color {
            Color::Default => Ink::DEFAULT,
            Color::Idx(i) => Ink([1, i, 0, 0]),
            Color::Rgb(r, g, b) => Ink([2, r, g, b]),
        }
    }
}

/// Drawing attributes: colours and text modes (9 bytes).
#[derive(Clone, Copy, Eq, Debug, Default)]
pub(crate) struct Attrs {
    pub(crate) fg: Ink,
    pub(crate) bg: Ink,
    pub(crate) mode: u8,
}

/// Both colours as one integer and the modes: two compares where the derived impl makes three
/// (the per-cell loops of `line_basic` compare attributes on every cell).
impl PartialEq for Attrs {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let inks = |a: &Attrs| {
            let ([f0, f1, f2, f3], [b0, b1, b2, b3]) = (a.fg.0, a.bg.0);
            u64::from_ne_bytes([f0, f1, f2, f3, b0, b1, b2, b3])
        };
        inks(self) == inks(other) && self.mode == other.mode
    }
}

impl Attrs {
    /// No colours, no modes.
    pub(crate) const DEFAULT: Attrs = Attrs { fg: Ink::DEFAULT, bg: Ink::DEFAULT, mode: 0 };

    pub(crate) fn set_mode(&mut self, bit: u8, on: bool) {
        if on {
            self.mode |= bit;
        } else {
            self.mode &= !bit;
        }
    }

    pub(crate) fn set_intensity(&mut self, bits: u8) {
        self.mode = (self.mode & !INTENSITY) | bits;
    }
}

const WIDE: u8 = 1;
const WIDE_CONT: u8 = 2;
/// The cell has combining marks stored in its row's `extras`.
const EXTRA: u8 = 4;

/// Most UTF-8 bytes one cell holds, combining marks included (as vt100 allows).
const MAX_CELL_BYTES: usize = 18;

/// One character cell.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cell {
    /// `'\0'` for an empty cell.
    ch: char,
    attrs: Attrs,
    flags: u8,
}

const _: () = assert!(std::mem::size_of::<Cell>() == 16);

impl Cell {
    /// An empty cell with default attributes.
    pub const DEFAULT: Cell = Cell { ch: '\0', attrs: Attrs::DEFAULT, flags: 0 };

    /// Whether the cell holds a character (an erased cell holds none but may have colours).
    pub fn has_contents(&self) -> bool {
        self.ch != '\0'
    }

    /// A double-width character: the next cell is its continuation.
    pub fn is_wide(&self) -> bool {
        self.flags & WIDE != 0
    }

    /// The right half of the wide character in the cell before.
    pub fn is_wide_continuation(&self) -> bool {
        self.flags & WIDE_CONT != 0
    }

    /// Foreground colour.
    pub fn fg(&self) -> Color {
        self.attrs.fg.get()
    }

    /// Background colour.
    pub fn bg(&self) -> Color {
        self.attrs.bg.get()
    }

    /// Bold (SGR 1).
    pub fn bold(&self) -> bool {
        self.attrs.mode & BOLD != 0
    }

    /// Dim (SGR 2).
    pub fn dim(&self) -> bool {
        self.attrs.mode & DIM != 0
    }

    /// Italic (SGR 3).
    pub fn italic(&self) -> bool {
        self.attrs.mode & ITALIC != 0
    }

    /// Underlined (SGR 4).
    pub fn underline(&self) -> bool {
        self.attrs.mode & UNDERLINE != 0
    }

    /// Inverse video (SGR 7).
    pub fn inverse(&self) -> bool {
        self.attrs.mode & INVERSE != 0
    }

    /// The cell carries combining marks besides its character (see `Row::push_contents`).
    pub fn has_extra(&self) -> bool {
        self.flags & EXTRA != 0
    }

    /// No wide or combining flags: the cell is exactly its character and attributes.
    #[inline]
    pub(crate) fn is_plain(&self) -> bool {
        self.flags == 0
    }

    /// The base character (`'\0'` when empty); combining marks live in the row, see
    /// [`Row::push_contents`].
    pub fn ch(&self) -> char {
        self.ch
    }

    pub(crate) fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// Sets a printable ASCII character (width 1, no combining marks).
    #[inline]
    pub(crate) fn set_ascii(&mut self, c: char, attrs: Attrs) {
        self.ch = c;
        self.attrs = attrs;
        self.flags = 0;
    }

    fn set_wide_continuation(&mut self, on: bool) {
        if on {
            self.flags |= WIDE_CONT;
        } else {
            self.flags &= !WIDE_CONT;
        }
    }
}
