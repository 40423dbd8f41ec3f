//! The CSI fast path: the common shape of a control sequence, `ESC [`, an optional private
//! marker (`<`, `=`, `>` or `?`), plain decimal parameters separated by `;` and one final byte,
//! parsed here in one pass and handed to the screen with exactly what `vte` would dispatch for it.
//!
//! Why: on ANSI-heavy output (colour logs, progress bars) `vte`'s byte-at-a-time state machine
//! and its `Params` bookkeeping cost more than the screen work the sequence causes (BENCHMARKS.md,
//! "CSI fast path").
//!
//! What `vte` 0.15 does for such a sequence, and so what this reproduces: a marker right after
//! `[` is collected as the one intermediate; each digit makes the current parameter
//! `p * 10 + d` with saturating `u16` arithmetic; `;` pushes it and starts a new one at 0; the
//! final byte pushes the last one (so `ESC [ m` dispatches one parameter, 0) and dispatches with
//! `ignore` false. Anything else (an intermediate byte, a `:` subparameter, a second marker, a
//! control or DEL inside, non-ASCII, more parameters than `vte` keeps, or a sequence cut off by
//! the end of the input) is left to `vte`, which has not seen a byte of it: it starts the
//! sequence afresh from the ESC. `vte` keeps nothing from a dispatched sequence that the next
//! one can see (every way into a sequence resets its parameters), so skipping it leaves `vte`
//! exactly as dispatching it would. `tests_csi` holds the parse to `vte` byte for byte.

use vte::Params;

/// `vte`'s limit on parameters and subparameters together (its private `MAX_PARAMS`); at it,
/// `vte` drops further parameters and sets `ignore`, which this path leaves to `vte`.
const VTE_MAX_PARAMS: usize = 32;

/// The parameters of a CSI sequence as the screen reads them: one slice per parameter, its
/// subparameters after the first value.
pub(crate) trait CsiParams {
    /// Every parameter in order.
    fn iter(&self) -> impl Iterator<Item = &[u16]>;
}

impl CsiParams for Params {
    #[inline]
    fn iter(&self) -> impl Iterator<Item = &[u16]> {
        Params::iter(self)
    }
}

/// A CSI sequence of the common shape: no subparameters, at most one intermediate (the marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlainCsi {
    values: [u16; VTE_MAX_PARAMS],
    len: usize,
    marker: Option<u8>,
    /// The final byte (0x40..=0x7e).
    pub(crate) action: u8,
}

impl PlainCsi {
    /// An empty sequence to parse into.
    pub(crate) fn new() -> Self {
        Self { values: [0; VTE_MAX_PARAMS], len: 0, marker: None, action: 0 }
    }

    /// The intermediates `vte` passes: the private marker, if any.
    #[inline]
    pub(crate) fn intermediates(&self) -> &[u8] {
        self.marker.as_slice()
    }

    /// The parameter values (one per parameter: there are no subparameters).
    #[inline]
    pub(crate) fn values(&self) -> &[u16] {
        &self.values[..self.len]
    }
}

impl CsiParams for PlainCsi {
    #[inline]
    fn iter(&self) -> impl Iterator<Item = &[u16]> {
        self.values[..self.len].chunks(1)
    }
}

/// Parses the CSI sequence `body` starts with (the bytes after `ESC [`) into `csi` if it has
/// the common shape and ends within `body`; returns the bytes of `body` it used, or `None` to
/// leave the whole sequence to `vte` (`csi` then holds nothing of use). Into a caller's
/// `PlainCsi` rather than returned: the parameter array is not copied per sequence.
#[inline]
pub(crate) fn parse_plain_csi(body: &[u8], csi: &mut PlainCsi) -> Option<usize> {
    csi.len = 0;
    csi.marker = None;
    let mut i = 0;
    if let Some(&marker @ 0x3c..=0x3f) = body.first() {
        csi.marker = Some(marker);
        i = 1;
    }
    // Kept in a u32 clamped to `u16::MAX` after each digit: the same value as `vte`'s
    // saturating u16 steps (once either reaches the cap it stays there), in a multiply, an add
    // and a compare instead of two overflow checks.
    let mut param: u32 = 0;
    let cap = u32::from(u16::MAX);
    while let Some(&byte) = body.get(i) {
        i += 1;
        match byte {
            b'0'..=b'9' => param = (param * 10 + u32::from(byte - b'0')).min(cap),
            b';' => {
                // Keeps one slot for the final push: with 31 pushed here, the last parameter
                // still fits and `vte` never sets `ignore`.
                if csi.len + 1 >= VTE_MAX_PARAMS {
                    return None;
                }
                csi.values[csi.len] = clamped(param);
                csi.len += 1;
                param = 0;
            }
            0x40..=0x7e => {
                // `len` < VTE_MAX_PARAMS: every `;` above left room for this one.
                csi.values[csi.len] = clamped(param);
                csi.len += 1;
                csi.action = byte;
                return Some(i);
            }
            _ => return None,
        }
    }
    None
}

/// A parameter kept at or below `u16::MAX` (see `parse_plain_csi`) as the `u16` it is.
#[inline]
fn clamped(param: u32) -> u16 {
    u16::try_from(param).unwrap_or(u16::MAX)
}
