//! What the tests ask of a row: whether its summaries (`plain`, `narrow`) and its stored cells
//! hold what they claim. A child of `row`, so it reads the row's private fields.

use super::{Cell, Row};

impl Row {
    /// Whether what `plain` claims is true of the cells (always true when it claims nothing).
    pub(crate) fn plain_claim_holds(&self) -> bool {
        let Some(attrs) = self.plain else { return true };
        self.extras.is_empty()
            && self.cells[..usize::from(self.used)]
                .iter()
                .all(|c| c.flags == 0 && (' '..='~').contains(&c.ch) && c.attrs == attrs)
    }

    /// Cells the row's buffer has room for.
    pub(crate) fn stored_capacity(&self) -> usize {
        self.cells.capacity()
    }

    /// Whether the stored cells stay within the row's width, `used` within the stored cells,
    /// and every cell from `used` on is blank.
    pub(crate) fn stored_within_width(&self) -> bool {
        let used = usize::from(self.used);
        self.cells.len() <= usize::from(self.cols)
            && used <= self.cells.len()
            && self.cells[used..].iter().all(|c| *c == Cell::DEFAULT)
    }

    /// Whether what `narrow` claims is true of the cells (always true when it claims nothing).
    pub(crate) fn narrow_claim_holds(&self) -> bool {
        let holds = !self.narrow || (self.extras.is_empty() && self.cells.iter().all(|c| c.flags == 0));
        // `write_ascii` relies on a plain row claiming `narrow` too.
        holds && (self.plain.is_none() || self.narrow)
    }

    /// A copy that claims nothing, so formatting it takes the cell-by-cell path.
    pub(crate) fn without_plain_claim(&self) -> Row {
        Row { plain: None, narrow: false, ..self.clone() }
    }
}
