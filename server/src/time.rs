//! Timestamps as the protocol writes them: ISO-8601 UTC with milliseconds.

/// Now, e.g. `2026-11-21T23:34:29.123Z`.
pub fn now_iso() -> String {
    let ts = jiff::Timestamp::now();
    // Rounding to milliseconds only fails on overflow at the very end of the representable range.
    let ts = ts.round(jiff::Unit::Millisecond).unwrap_or(ts);
    format!("{ts:.3}")
}

/// `delay` from now, as [`now_iso`] writes it.
pub fn iso_in(delay: std::time::Duration) -> String {
    let now = jiff::Timestamp::now();
    let ts = jiff::SignedDuration::try_from(delay).ok().and_then(|d| now.checked_add(d).ok()).unwrap_or(now);
    let ts = ts.round(jiff::Unit::Millisecond).unwrap_or(ts);
    format!("{ts:.3}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_with_millis() {
        let s = super::now_iso();
        assert!(s.ends_with('Z') && s.len() == 24, "{s}");
    }
}
