//! Theme files compiled into controlroom: each `themes/*.toml` is embedded with `include_str!`.
//!
//! This crate only carries the text; `controlroom-tui` parses it (semantic roles, `inherits`) and
//! lets user themes in `CONFIG_DIR/themes/` override these by name.

/// One built-in theme: its name and its TOML source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinTheme {
    /// The name users select it by (`theme = "gruvbox"`).
    pub name: &'static str,
    /// The TOML text of the theme file.
    pub source: &'static str,
}

/// The name of the theme used when the config names none.
pub const DEFAULT_THEME: &str = "dark";

/// Every built-in theme, the default first; `t` in the dashboard cycles through them in this order.
pub const BUILTIN: &[BuiltinTheme] = &[
    BuiltinTheme { name: "dark", source: include_str!("../themes/dark.toml") },
    BuiltinTheme { name: "light", source: include_str!("../themes/light.toml") },
    BuiltinTheme { name: "high-contrast", source: include_str!("../themes/high-contrast.toml") },
    BuiltinTheme { name: "gruvbox", source: include_str!("../themes/gruvbox.toml") },
    BuiltinTheme { name: "solarized", source: include_str!("../themes/solarized.toml") },
];

/// The built-in theme called `name`, if there is one.
pub fn builtin(name: &str) -> Option<&'static BuiltinTheme> {
    BUILTIN.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_theme_is_first_and_names_are_unique() {
        assert_eq!(BUILTIN[0].name, DEFAULT_THEME);
        for (i, t) in BUILTIN.iter().enumerate() {
            assert!(!t.source.trim().is_empty(), "{} is empty", t.name);
            assert!(BUILTIN[i + 1..].iter().all(|o| o.name != t.name), "duplicate {}", t.name);
        }
        assert!(builtin("gruvbox").is_some());
        assert!(builtin("nope").is_none());
    }
}
