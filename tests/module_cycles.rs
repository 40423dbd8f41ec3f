//! Checks the module rule in ARCHITECTURE.md: among sibling modules (children of one parent, at
//! any depth) the "imports" relation is acyclic, and tui `state` imports none of `runtime`, `ui`,
//! `client`. Plain text scanning of `crate::…` and `super::…` paths, no dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file: its path relative to the crate's `src/` and its text.
struct SourceFile {
    rel: PathBuf,
    text: String,
}

/// Where one module refers to another: the reference that made the edge.
#[derive(Clone, Debug)]
struct Site {
    file: String,
    line: usize,
}

/// What the scan found in one crate.
#[derive(Default, Debug)]
struct Analysis {
    /// Sibling edges `from -> to` (module paths joined with `::`), with one example site each.
    edges: BTreeMap<(String, String), Site>,
    /// Every absolute path referenced, by the module that referenced it.
    references: Vec<(Vec<String>, Vec<String>, Site)>,
}

/// Test files (`tests.rs`, `tests_*.rs`, `*_tests.rs`) are `#[cfg(test)]` modules; they are left
/// out so a test may reach across modules freely.
fn is_test_file(rel: &Path) -> bool {
    let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem == "tests" || stem.starts_with("tests_") || stem.ends_with("_tests")
}

/// `lib.rs`/`main.rs` → `[]`, `a/mod.rs` → `[a]`, `a/b.rs` → `[a, b]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> =
        rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if let Some(last) = parts.last()
        && (last == "mod" || (parts.len() == 1 && (last == "lib" || last == "main")))
    {
        parts.pop();
    }
    parts
}

/// The text before an inline `#[cfg(test)] mod … {`: its `super::` means something else.
fn without_inline_tests(text: &str) -> &str {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && let Some(next) = lines.peek()
            && next.trim_start().starts_with("mod ")
            && next.contains('{')
        {
            return &text[..offset];
        }
        offset += line.len();
    }
    text
}

/// Tokens of a use tree: identifiers and the punctuation `::`, `{`, `}`, `,`, `*`.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if matches!(c, '{' | '}' | ',' | '*') {
            out.push(c.to_string());
            i += 1;
            continue;
        }
        break;
    }
    out
}

/// Expands a use tree starting at `toks[*at]` into full paths (prefix + segments).
fn expand(toks: &[String], at: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match toks.get(*at).map(String::as_str) {
            Some("{") => {
                *at += 1;
                loop {
                    expand(toks, at, path.clone(), out);
                    match toks.get(*at).map(String::as_str) {
                        Some(",") => *at += 1,
                        Some("}") => {
                            *at += 1;
                            return;
                        }
                        _ => return,
                    }
                    if toks.get(*at).map(String::as_str) == Some("}") {
                        *at += 1;
                        return;
                    }
                }
            }
            Some("*") => {
                *at += 1;
                out.push(path);
                return;
            }
            Some(t) if t != "::" && t != "," && t != "}" => {
                *at += 1;
                if t != "self" && t != "as" {
                    path.push(t.to_string());
                }
                if t == "as" {
                    // `x as y`: the alias names nothing new.
                    *at += 1;
                    out.push(path);
                    return;
                }
                if toks.get(*at).map(String::as_str) == Some("::") {
                    *at += 1;
                    continue;
                }
                if toks.get(*at).map(String::as_str) == Some("as") {
                    *at += 2;
                }
                out.push(path);
                return;
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// Every absolute module path `file` (module `me`) refers to through `crate::` or `super::`.
fn references(me: &[String], text: &str) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (kw, pos) in line.match_indices("crate::").map(|(p, _)| ("crate", p)).chain(
            line.match_indices("super::").map(|(p, _)| ("super", p)).filter(|(_, p)| {
                // Only the first `super::` of a `super::super::` chain starts a path.
                *p < 7 || &line.as_bytes()[p - 7..*p] != b"super::"
            }),
        ) {
            let before = line[..pos].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let rest_start = pos + kw.len() + 2;
            let mut base: Vec<String> = Vec::new();
            let mut rest = &line[rest_start..];
            if kw == "super" {
                base = me[..me.len().saturating_sub(1)].to_vec();
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
            }
            // A use tree may run over several lines: scan from here to the end of the file.
            let offset = text.lines().take(n).map(|l| l.len() + 1).sum::<usize>()
                + (rest.as_ptr() as usize - line.as_ptr() as usize);
            let toks = tokens(&text[offset..]);
            let mut paths = Vec::new();
            expand(&toks, &mut 0, base, &mut paths);
            found.extend(paths.into_iter().map(|p| (p, n + 1)));
        }
    }
    found
}

/// Scans one crate's files: sibling edges and every reference.
fn analyse(crate_name: &str, files: &[SourceFile]) -> Analysis {
    let files: Vec<&SourceFile> = files.iter().filter(|f| !is_test_file(&f.rel)).collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&f.rel)).collect();
    let mut analysis = Analysis::default();
    for file in files {
        let me = module_path(&file.rel);
        for (target, line) in references(&me, without_inline_tests(&file.text)) {
            let site = Site { file: format!("{crate_name}/{}", file.rel.display()), line };
            analysis.references.push((me.clone(), target.clone(), site.clone()));
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common >= me.len() || common >= target.len() {
                continue; // a reference to an ancestor or into a descendant
            }
            let to: Vec<String> = target[..=common].to_vec();
            if !modules.contains(&to) {
                continue; // an item of the common parent, not a sibling module
            }
            let from = me[..=common].join("::");
            analysis.edges.entry((from, to.join("::"))).or_insert(site);
        }
    }
    analysis
}

/// Every cycle among the edges, one per strongly connected component, as `a -> b (file:line)`.
fn cycles(edges: &BTreeMap<(String, String), Site>) -> Vec<String> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let mut reported: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for start in next.keys().copied() {
        if reported.contains(start) {
            continue;
        }
        // Breadth-first search for the shortest way back to `start`.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(node) = queue.pop_front() {
            for &to in next.get(node).into_iter().flatten() {
                if to == start {
                    closing = Some(node);
                    break;
                }
                if !came_from.contains_key(to) {
                    came_from.insert(to, node);
                    queue.push_back(to);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let Some(last) = closing else { continue };
        let mut path = vec![last];
        while let Some(&prev) = came_from.get(path[path.len() - 1]) {
            path.push(prev);
        }
        path.reverse();
        if path[0] != start {
            path.insert(0, start);
        }
        path.push(start);
        let steps: Vec<String> = path
            .windows(2)
            .map(|w| {
                let site = &edges[&(w[0].to_string(), w[1].to_string())];
                format!("{} -> {} ({}:{})", w[0], w[1], site.file, site.line)
            })
            .collect();
        reported.extend(path.iter().copied());
        out.push(steps.join(", "));
    }
    out
}

/// Reads every `.rs` file under `root` (a crate's `src/`).
fn read_tree(root: &Path) -> Vec<SourceFile> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source file");
                out.push(SourceFile {
                    rel: path.strip_prefix(root).expect("under root").to_path_buf(),
                    text,
                });
            }
        }
    }
    out
}

fn crate_cycles(dir: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    cycles(&analyse(dir, &read_tree(&root)).edges)
}

#[test]
fn server_term_protocol_and_cli_have_no_module_cycles() {
    let found: Vec<String> = ["protocol/src", "term/src", "server/src", "src"]
        .iter()
        .flat_map(|dir| crate_cycles(dir).into_iter().map(move |c| format!("{dir}: {c}")))
        .collect();
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn tui_has_no_module_cycles() {
    let found = crate_cycles("tui/src");
    assert!(found.is_empty(), "module cycles in tui:\n{}", found.join("\n"));
}

#[test]
fn tui_state_imports_no_runtime_ui_or_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tui/src");
    let analysis = analyse("tui/src", &read_tree(&root));
    let bad: Vec<String> = analysis
        .references
        .iter()
        .filter(|(me, target, _)| {
            me.first().is_some_and(|m| m == "state")
                && target.first().is_some_and(|t| matches!(t.as_str(), "runtime" | "ui" | "client"))
        })
        .map(|(_, target, site)| format!("{}:{} imports {}", site.file, site.line, target.join("::")))
        .collect();
    assert!(bad.is_empty(), "tui state imports runtime/ui/client:\n{}", bad.join("\n"));
}

fn synthetic(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files.iter().map(|(rel, text)| SourceFile { rel: PathBuf::from(rel), text: text.to_string() }).collect()
}

#[test]
fn checker_finds_a_cycle_between_nested_siblings_and_says_where() {
    let files = synthetic(&[
        ("lib.rs", "mod a;\nmod b;\nuse crate::a::x;\n"),
        ("a/mod.rs", "mod inner;\npub use inner::X;\n"),
        ("a/inner.rs", "use std::fmt;\nuse crate::{b::{self, Y as Z}, c};\n"),
        ("b.rs", "pub struct Y;\nfn f() { let _ = super::a::X; }\n"),
        ("c.rs", "pub struct C;\n"),
    ]);
    let found = cycles(&analyse("demo", &files).edges);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a -> b (demo/a/inner.rs:2)"), "{found:?}");
    assert!(found[0].contains("b -> a (demo/b.rs:2)"), "{found:?}");
}

#[test]
fn checker_ignores_parent_child_items_and_test_files() {
    let files = synthetic(&[
        ("lib.rs", "mod a;\npub struct Root;\n"),
        ("a/mod.rs", "mod x;\nmod y;\npub struct Shared;\nuse self::x::X;\n"),
        ("a/x.rs", "use super::Shared;\nuse crate::Root;\nuse super::y::Y;\n"),
        ("a/y.rs", "pub struct Y;\n#[cfg(test)]\nmod tests {\n    use super::super::x::*;\n}\n"),
        ("a/y_tests.rs", "use crate::a::x::X;\n"),
        ("a/tests.rs", "use crate::a::x::X;\n"),
    ]);
    let analysis = analyse("demo", &files);
    assert!(cycles(&analysis.edges).is_empty(), "{:?}", analysis.edges);
    assert_eq!(analysis.edges.keys().cloned().collect::<Vec<_>>(), vec![("a::x".into(), "a::y".into())]);
}
