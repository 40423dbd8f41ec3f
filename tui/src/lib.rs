//! The controlroom terminal front end (filled by the TUI issue).
