//! Tab stops: HTS (`ESC H`) sets one at the cursor, TBC (`CSI g`, `CSI 0 g`) clears the one at
//! the cursor and `CSI 3 g` clears them all; HT, CHT (`CSI n I`) and CBT (`CSI n Z`) move to
//! them. vt100 0.18 has none of this (a tab always goes to the next multiple of eight), so a
//! screen that never changes its stops keeps no state here and tabs exactly as vt100 does.
//!
//! Stops are shared by the main and alternate screens and survive a resize (as in xterm); a
//! column past the ones ever touched has a stop at every multiple of eight until `CSI 3 g`.

/// How far apart the stops are until a program changes them.
pub(crate) const DEFAULT_TAB_WIDTH: u16 = 8;

/// Bits per word of the stop set.
const WORD: u16 = 64;

/// The stops a program set; `None` in [`super::State`] means the default ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TabStops {
    /// One bit per column, for the columns `0..bits.len() * 64`.
    bits: Vec<u64>,
    /// Columns past `bits` have the default stops (false once all were cleared).
    rest_default: bool,
}

/// The default stops of one word of columns starting at `first` (a multiple of 64, and so
/// of eight): every eighth bit.
fn default_word() -> u64 {
    (0..WORD).step_by(usize::from(DEFAULT_TAB_WIDTH)).fold(0, |w, bit| w | 1 << bit)
}

impl TabStops {
    /// The default stops, to be changed.
    pub(crate) fn new() -> Self {
        Self { bits: Vec::new(), rest_default: true }
    }

    /// Whether column `col` has a stop.
    pub(crate) fn is_stop(&self, col: u16) -> bool {
        match self.bits.get(usize::from(col / WORD)) {
            Some(word) => word & (1 << (col % WORD)) != 0,
            None => self.rest_default && col.is_multiple_of(DEFAULT_TAB_WIDTH),
        }
    }

    /// Sets or clears the stop at `col`.
    pub(crate) fn set(&mut self, col: u16, on: bool) {
        let i = usize::from(col / WORD);
        if self.bits.len() <= i {
            let fill = if self.rest_default { default_word() } else { 0 };
            self.bits.resize(i + 1, fill);
        }
        let bit = 1 << (col % WORD);
        if on {
            self.bits[i] |= bit;
        } else {
            self.bits[i] &= !bit;
        }
    }

    /// `CSI 3 g`: no stops at all.
    pub(crate) fn clear_all(&mut self) {
        self.bits.clear();
        self.rest_default = false;
    }

    /// The columns below `cols` with a stop, in order.
    pub(crate) fn stops(&self, cols: u16) -> impl Iterator<Item = u16> + '_ {
        (0..cols).filter(|c| self.is_stop(*c))
    }
}

/// The column `count` stops right of `col` (the last column if there are no more), given the
/// stops (`None`: the default ones) and the width.
pub(crate) fn forward(stops: Option<&TabStops>, col: u16, count: u16, cols: u16) -> u16 {
    let last = cols - 1;
    let mut at = col;
    for _ in 0..count.max(1) {
        at = match stops {
            // vt100's step: the next multiple of eight.
            None => (at - at % DEFAULT_TAB_WIDTH).saturating_add(DEFAULT_TAB_WIDTH),
            Some(s) => (at.saturating_add(1)..cols).find(|c| s.is_stop(*c)).unwrap_or(last),
        };
        if at >= last {
            return last;
        }
    }
    at
}

/// The column `count` stops left of `col` (the first column if there are no more).
pub(crate) fn backward(stops: Option<&TabStops>, col: u16, count: u16, cols: u16) -> u16 {
    let mut at = col.min(cols);
    for _ in 0..count.max(1) {
        at = match stops {
            None => (at.saturating_sub(1) / DEFAULT_TAB_WIDTH) * DEFAULT_TAB_WIDTH,
            Some(s) => (0..at).rev().find(|c| s.is_stop(*c)).unwrap_or(0),
        };
        if at == 0 {
            return 0;
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_stops_are_every_eighth_column_until_changed() {
        let mut s = TabStops::new();
        assert!(s.is_stop(0) && s.is_stop(8) && !s.is_stop(9) && s.is_stop(640));
        s.set(3, true);
        s.set(8, false);
        assert!(s.is_stop(3) && !s.is_stop(8) && s.is_stop(16) && s.is_stop(1000));
        assert_eq!(s.stops(20).collect::<Vec<_>>(), [0, 3, 16]);
        s.clear_all();
        assert!(!s.is_stop(0) && !s.is_stop(16) && !s.is_stop(1000));
        s.set(100, true);
        assert_eq!(s.stops(200).collect::<Vec<_>>(), [100]);
    }

    #[test]
    fn moves_stop_at_the_edges() {
        assert_eq!(forward(None, 0, 1, 80), 8);
        assert_eq!(forward(None, 8, 2, 80), 24);
        assert_eq!(forward(None, 75, 1, 80), 79);
        assert_eq!(forward(None, 80, 1, 80), 79, "from the pending-wrap column");
        assert_eq!(backward(None, 17, 1, 80), 16);
        assert_eq!(backward(None, 16, 1, 80), 8);
        assert_eq!(backward(None, 3, 5, 80), 0);
        let mut s = TabStops::new();
        s.clear_all();
        s.set(5, true);
        s.set(30, true);
        assert_eq!(forward(Some(&s), 0, 1, 40), 5);
        assert_eq!(forward(Some(&s), 5, 1, 40), 30);
        assert_eq!(forward(Some(&s), 30, 1, 40), 39);
        assert_eq!(forward(Some(&s), 0, 2, 20), 19, "a stop past the width is not reached");
        assert_eq!(backward(Some(&s), 39, 1, 40), 30);
        assert_eq!(backward(Some(&s), 30, 2, 40), 0);
        // Every default move equals the same move over default stops set one by one.
        let d = TabStops::new();
        for col in 0..=40 {
            for n in 1..4 {
                assert_eq!(forward(None, col, n, 40), forward(Some(&d), col, n, 40), "forward {col} {n}");
                assert_eq!(backward(None, col, n, 40), backward(Some(&d), col, n, 40), "back {col} {n}");
            }
        }
    }
}
