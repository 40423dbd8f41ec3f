//! A prompt regex as the activity detector and the answer rules try it: as written, and with its
//! spaces removed for screens whose text was placed with cursor moves and lost its spaces.

use regex::Regex;

/// A prompt regex, compiled as written and with its spaces removed (for screens whose text was
/// placed with cursor moves and lost its spaces).
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    full: Regex,
    compact: Option<Regex>,
}

/// A pattern that does not compile; the text names it.
#[derive(Debug, thiserror::Error)]
#[error("bad pattern `{source_text}`: {error}")]
pub struct PatternError {
    /// The pattern as written.
    source_text: String,
    /// What the regex compiler said.
    error: regex::Error,
}

impl Pattern {
    /// Compiles `source`; the error names it.
    pub fn new(source: &str) -> Result<Self, PatternError> {
        let full =
            Regex::new(source).map_err(|error| PatternError { source_text: source.to_owned(), error })?;
        let squeezed: String = source.chars().filter(|c| *c != ' ').collect();
        let compact = if squeezed == source { None } else { Regex::new(&squeezed).ok() };
        Ok(Self { source: source.to_owned(), full, compact })
    }

    /// The regex as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether it matches `line` or `line` without its whitespace.
    pub fn is_match(&self, line: &str) -> bool {
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        self.matches(line, &squeezed)
    }

    /// Whether it matches `line` (or `line` without spaces).
    pub(super) fn matches(&self, line: &str, squeezed: &str) -> bool {
        self.full.is_match(line)
            || self.full.is_match(squeezed)
            || self.compact.as_ref().is_some_and(|c| c.is_match(squeezed))
    }
}
