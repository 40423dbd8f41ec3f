//! Themes: semantic colour roles parsed from TOML, with `inherits` and user overrides.
//!
//! Widgets ask for `theme.asking`, never for a literal colour. Built-in themes come from the
//! `controlroom-themes` crate; files in `CONFIG_DIR/themes/NAME.toml` override or add to them. A theme
//! that fails to parse or resolve is reported as a warning and the default is used instead.

use crate::error::{Error, Result};
use ratatui::style::Color;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// The resolved colours of one theme, by role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The theme's name.
    pub name: String,
    /// Background of every pane.
    pub background: Color,
    /// Ordinary text.
    pub text: Color,
    /// Secondary text: ages, paths, hints.
    pub muted: Color,
    /// Titles, keys in hints, the focused border.
    pub accent: Color,
    /// Background of the selected row.
    pub selection: Color,
    /// A worker producing output.
    pub active: Color,
    /// A quiet worker.
    pub idle: Color,
    /// A worker waiting for the user.
    pub asking: Color,
    /// A worker that has exited.
    pub exited: Color,
    /// Failures and error messages.
    pub error: Color,
    /// Pane borders.
    pub border: Color,
    /// Background of scrollback search matches (`search-match`; unset: `selection`).
    pub search_match: Color,
    /// Background of the current search match (`search-current`; unset: `accent`).
    pub search_current: Color,
    /// Text on the current search match (`search-current-text`; unset: `background`; `reset`
    /// keeps the program's own colour).
    pub search_current_text: Color,
}

impl Default for Theme {
    /// The built-in `dark` theme, spelled out so there is always a theme even if parsing failed.
    fn default() -> Self {
        Self {
            name: "dark".into(),
            background: Color::Reset,
            text: Color::Rgb(0xd0, 0xd0, 0xd0),
            muted: Color::Rgb(0x7c, 0x7c, 0x7c),
            accent: Color::Rgb(0x5f, 0xaf, 0xff),
            selection: Color::Rgb(0x2f, 0x3b, 0x4d),
            active: Color::Rgb(0x5f, 0xd7, 0x5f),
            idle: Color::Rgb(0x8a, 0x8a, 0x8a),
            asking: Color::Rgb(0xff, 0xaf, 0x00),
            exited: Color::Rgb(0xaf, 0x87, 0xd7),
            error: Color::Rgb(0xff, 0x5f, 0x5f),
            border: Color::Rgb(0x4e, 0x4e, 0x4e),
            search_match: Color::Rgb(0x5f, 0x5f, 0x00),
            search_current: Color::Rgb(0xff, 0xaf, 0x00),
            search_current_text: Color::Rgb(0x1c, 0x1c, 0x1c),
        }
    }
}

/// A theme file as written: every role optional so a theme can inherit the rest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ThemeFile {
    inherits: Option<String>,
    background: Option<String>,
    text: Option<String>,
    muted: Option<String>,
    accent: Option<String>,
    selection: Option<String>,
    active: Option<String>,
    idle: Option<String>,
    asking: Option<String>,
    exited: Option<String>,
    error: Option<String>,
    border: Option<String>,
    search_match: Option<String>,
    search_current: Option<String>,
    search_current_text: Option<String>,
}

/// How many `inherits` links are followed before a cycle is assumed.
const MAX_INHERITS_DEPTH: usize = 8;

/// All known theme sources by name: the built-ins, overridden or extended by user files.
#[derive(Debug, Clone)]
pub struct ThemeSet {
    sources: BTreeMap<String, String>,
    order: Vec<String>,
}

impl Default for ThemeSet {
    fn default() -> Self {
        let mut set = Self { sources: BTreeMap::new(), order: Vec::new() };
        for t in controlroom_themes::BUILTIN {
            set.insert(t.name, t.source.to_owned());
        }
        set
    }
}

impl ThemeSet {
    /// The built-ins plus every `*.toml` in `dir` (missing dir: just the built-ins). Files that
    /// cannot be read are reported in the returned warnings.
    pub fn load(dir: Option<&Path>) -> (Self, Vec<String>) {
        let mut set = Self::default();
        let mut warnings = Vec::new();
        let Some(dir) = dir else { return (set, warnings) };
        let Ok(entries) = std::fs::read_dir(dir) else { return (set, warnings) };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
            match std::fs::read_to_string(&path) {
                Ok(text) => set.insert(name, text),
                Err(e) => warnings.push(format!("{}: {e}", path.display())),
            }
        }
        (set, warnings)
    }

    /// Adds or replaces the theme `name`.
    pub fn insert(&mut self, name: &str, source: String) {
        if self.sources.insert(name.to_owned(), source).is_none() {
            self.order.push(name.to_owned());
        }
    }

    /// Theme names in cycling order: built-ins first, then user themes by file name.
    pub fn names(&self) -> &[String] {
        &self.order
    }

    /// The theme after `name` in cycling order (wrapping).
    pub fn next_name(&self, name: &str) -> String {
        let i = self.order.iter().position(|n| n == name).map_or(0, |i| i + 1);
        self.order.get(i % self.order.len().max(1)).cloned().unwrap_or_else(|| "dark".into())
    }

    /// Parses and resolves `name`, following `inherits`.
    pub fn resolve(&self, name: &str) -> Result<Theme> {
        let mut chain = Vec::new();
        let mut next = Some(name.to_owned());
        while let Some(n) = next {
            if chain.len() >= MAX_INHERITS_DEPTH {
                return Err(theme_err(name, "`inherits` chain too long (a cycle?)"));
            }
            let src = self.sources.get(&n).ok_or_else(|| theme_err(&n, "no such theme"))?;
            let file: ThemeFile = toml::from_str(src).map_err(|e| theme_err(&n, e.message()))?;
            next = file.inherits.clone();
            chain.push((n, file));
        }
        // Apply from the root ancestor down so each child overrides its parent.
        let mut theme = Theme { name: name.to_owned(), ..Theme::default() };
        let mut seen = [false; 14];
        for (n, file) in chain.iter() {
            let roles: [(&Option<String>, &mut Color); 14] = [
                (&file.background, &mut theme.background),
                (&file.text, &mut theme.text),
                (&file.muted, &mut theme.muted),
                (&file.accent, &mut theme.accent),
                (&file.selection, &mut theme.selection),
                (&file.active, &mut theme.active),
                (&file.idle, &mut theme.idle),
                (&file.asking, &mut theme.asking),
                (&file.exited, &mut theme.exited),
                (&file.error, &mut theme.error),
                (&file.border, &mut theme.border),
                (&file.search_match, &mut theme.search_match),
                (&file.search_current, &mut theme.search_current),
                (&file.search_current_text, &mut theme.search_current_text),
            ];
            // `chain` is child-first: the first file that sets a role wins.
            for (i, (value, slot)) in roles.into_iter().enumerate() {
                if let (Some(v), false) = (value, seen[i]) {
                    *slot = parse_color(v).map_err(|e| theme_err(n, &e.to_string()))?;
                    seen[i] = true;
                }
            }
        }
        // Roles added after themes were written fall back to a role of the same theme (as helix
        // falls back from `ui.selection.primary` to `ui.selection`), not to the default theme's
        // colours, which may not suit it: an older theme file still loads and still fits.
        let [.., match_seen, current_seen, text_seen] = seen;
        if !match_seen {
            theme.search_match = theme.selection;
        }
        if !current_seen {
            theme.search_current = theme.accent;
        }
        if !text_seen {
            theme.search_current_text = theme.background;
        }
        Ok(theme)
    }

    /// Resolves `name`, or warns and falls back to the default theme.
    pub fn resolve_or_default(&self, name: &str, warnings: &mut Vec<String>) -> Theme {
        match self.resolve(name) {
            Ok(t) => t,
            Err(e) => {
                warnings.push(format!("{e}; using the default theme"));
                self.resolve(controlroom_themes::DEFAULT_THEME).unwrap_or_default()
            }
        }
    }
}

fn theme_err(name: &str, message: &str) -> Error {
    Error::Theme { name: name.to_owned(), message: message.trim().to_owned() }
}

/// A colour value that is none of `#rrggbb`, a name or an index; says `bad colour "x"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad colour {0:?}")]
pub struct BadColor(pub String);

/// Parses `#rrggbb`, a colour name (`reset`, `lightred`, ...) or an ANSI index (`245`).
pub fn parse_color(s: &str) -> Result<Color, BadColor> {
    Color::from_str(s.trim()).map_err(|_| BadColor(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_resolves() {
        let set = ThemeSet::default();
        for name in set.names() {
            let t = set.resolve(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&t.name, name);
        }
        assert_eq!(set.resolve("dark").expect("dark"), Theme::default());
    }

    #[test]
    fn inherits_takes_unset_roles_from_the_parent() {
        let mut set = ThemeSet::default();
        set.insert("mine", "inherits = \"gruvbox\"\naccent = \"red\"\n".into());
        let t = set.resolve("mine").expect("resolves");
        let g = set.resolve("gruvbox").expect("resolves");
        assert_eq!(t.accent, Color::Red);
        assert_eq!(t.text, g.text);
    }

    #[test]
    fn user_file_overrides_builtin() {
        let mut set = ThemeSet::default();
        set.insert("dark", "inherits = \"light\"\n".into());
        // `dark` now inherits `light`; there is no cycle because `light` has no parent.
        assert_eq!(set.resolve("dark").expect("resolves").text, set.resolve("light").expect("ok").text);
        assert_eq!(set.names().iter().filter(|n| *n == "dark").count(), 1);
    }

    #[test]
    fn broken_theme_warns_and_falls_back() {
        let mut set = ThemeSet::default();
        set.insert("bad", "accent = \"not-a-colour\"\n".into());
        set.insert("typo", "acent = \"red\"\n".into());
        set.insert("loop", "inherits = \"loop\"\n".into());
        for name in ["bad", "typo", "loop", "missing"] {
            let mut warnings = Vec::new();
            let t = set.resolve_or_default(name, &mut warnings);
            assert_eq!(t, Theme::default());
            assert_eq!(warnings.len(), 1, "{name}");
            assert!(warnings[0].contains(name) || name == "missing", "{warnings:?}");
        }
    }

    #[test]
    fn a_theme_without_the_search_roles_loads_and_takes_them_from_its_own_roles() {
        let mut set = ThemeSet::default();
        // A complete theme written before the search roles existed.
        set.insert(
            "old",
            "background = \"#101010\"\ntext = \"white\"\nmuted = \"gray\"\naccent = \"cyan\"\n\
             selection = \"blue\"\nactive = \"green\"\nidle = \"gray\"\nasking = \"yellow\"\n\
             exited = \"magenta\"\nerror = \"red\"\nborder = \"gray\"\n"
                .into(),
        );
        let mut warnings = Vec::new();
        let t = set.resolve_or_default("old", &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(t.name, "old");
        assert_eq!(
            (t.search_match, t.search_current, t.search_current_text),
            (Color::Blue, Color::Cyan, Color::Rgb(0x10, 0x10, 0x10)),
            "selection, accent and background of the same theme"
        );
        // Inheriting a theme that sets them takes the parent's; setting one overrides only it.
        set.insert("child", "inherits = \"gruvbox\"\nsearch-current = \"red\"\n".into());
        let (child, gruvbox) =
            (set.resolve("child").expect("child"), set.resolve("gruvbox").expect("gruvbox"));
        assert_eq!(child.search_current, Color::Red);
        assert_eq!(child.search_match, gruvbox.search_match);
        assert_ne!(gruvbox.search_match, gruvbox.selection, "gruvbox sets its own");
        // A misspelt new key is still an error, like any unknown key.
        set.insert("typo", "search-matches = \"red\"\n".into());
        assert!(set.resolve("typo").is_err());
    }

    #[test]
    fn next_name_cycles() {
        let set = ThemeSet::default();
        assert_eq!(set.next_name("dark"), "light");
        assert_eq!(set.next_name("solarized"), "dark");
        assert_eq!(set.next_name("unknown"), "dark");
    }
}
