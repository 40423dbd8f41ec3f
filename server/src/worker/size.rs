//! The terminal sizes a worker takes: each of `cols` and `rows` within 1 and the gateway's
//! `--max-terminal-size` (the protocol's default, 1000), for a worker spec, a restart and every
//! `resize`.

use super::WorkerError;

/// Default `--max-terminal-size`: the end of the protocol's documented range.
pub const DEFAULT_MAX_TERMINAL_SIZE: u16 = *controlroom_protocol::TERMINAL_DIM_RANGE.end();

/// Largest `--max-terminal-size` accepted: a screen model keeps a row per line and a client
/// redraws every cell, so even 10,000 columns is more than any real terminal shows.
pub const MAX_TERMINAL_SIZE_LIMIT: u16 = 10_000;

/// Whether `cols` × `rows` is a size a worker may take with `max` as the largest dimension.
pub fn fits(cols: u16, rows: u16, max: u16) -> bool {
    (1..=max).contains(&cols) && (1..=max).contains(&rows)
}

/// Checks a terminal size against `max` (`--max-terminal-size`).
pub(crate) fn validate_size(cols: u16, rows: u16, max: u16) -> Result<(), WorkerError> {
    if fits(cols, rows, max) {
        Ok(())
    } else {
        Err(WorkerError::Invalid(format!(
            "terminal size {cols}x{rows} is out of range (1..={max} each; the gateway's --max-terminal-size)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dimensions_are_checked_against_the_configured_largest() {
        assert!(fits(1, 1, 1000) && fits(1000, 1000, 1000));
        assert!(!fits(0, 24, 1000) && !fits(80, 0, 1000) && !fits(1001, 24, 1000));
        assert!(fits(1500, 40, 2000), "a raised limit takes what the default refuses");
        assert!(!fits(300, 40, 200), "a lowered one refuses what the default takes");
        let err = validate_size(80, 300, 200).expect_err("too tall").to_string();
        assert!(
            err.contains("80x300") && err.contains("1..=200") && err.contains("--max-terminal-size"),
            "{err}"
        );
    }
}
