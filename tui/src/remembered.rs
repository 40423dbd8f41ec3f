//! What the front end remembers between runs: the theme chosen with `t`. Kept in a small TOML
//! file in the data directory (`tui-state.toml`), read at start and written when it changes.
//!
//! Unlike the config file this is written by the program, not the user: a file it cannot parse
//! (or a key a later version added) is ignored rather than refused, and the defaults apply.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file's name in the data directory.
pub const FILE_NAME: &str = "tui-state.toml";

/// Choices remembered between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// The theme last chosen with `t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

impl Remembered {
    /// Parses the file's text; anything unreadable gives the defaults.
    pub fn parse(text: &str) -> Self {
        toml::from_str(text).unwrap_or_default()
    }

    /// The file's text.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!("# Written by controlroom: choices remembered between runs.\n{body}")
    }

    /// Reads the file at `path` (the defaults when it is missing or unreadable).
    pub async fn load(path: &Path) -> Self {
        tokio::fs::read_to_string(path).await.map(|t| Self::parse(&t)).unwrap_or_default()
    }

    /// Writes the file at `path` whole (a temporary file renamed over it), so a crash never
    /// leaves half of one.
    pub async fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("toml.tmp");
        tokio::fs::write(&tmp, self.to_toml()).await?;
        tokio::fs::rename(&tmp, path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_forgives_what_it_cannot_read() {
        let r = Remembered { theme: Some("light".into()) };
        assert_eq!(Remembered::parse(&r.to_toml()), r);
        assert_eq!(Remembered::parse("theme = 3\n"), Remembered::default());
        assert_eq!(
            Remembered::parse("theme = \"gruvbox\"\nlater = true\n").theme.as_deref(),
            Some("gruvbox")
        );
    }
}
