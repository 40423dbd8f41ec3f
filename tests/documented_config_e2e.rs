//! Every ```toml example in the docs is a `config.toml` the program accepts: each is loaded with
//! the real parser of the side it configures (both sides for a file with both), and the README's
//! example starts `controlroom serve --config-dir D`.

mod support;

use controlroom_config::ConfigFile;
use std::path::{Path, PathBuf};

/// The docs that may show config examples.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "SECURITY.md"]
        .iter()
        .map(|f| root.join(f))
        .filter(|p| p.exists())
        .collect();
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// The ```toml blocks of a markdown text, with the line each starts on.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match current.take() {
            None if fence.starts_with("```toml") => current = Some((i + 1, String::new())),
            None => {}
            Some(block) if fence.starts_with("```") => blocks.push(block),
            Some((start, mut body)) => {
                body.push_str(line);
                body.push('\n');
                current = Some((start, body));
            }
        }
    }
    assert!(current.is_none(), "a ```toml block is not closed");
    blocks
}

/// Loads `text` as the side(s) it configures would at start-up; the error says which side refused.
fn load_as_the_program_would(text: &str, path: &Path) -> Result<(), String> {
    let file = ConfigFile::parse(text, path).map_err(|e| format!("shape: {e}"))?;
    let front_end = file.front_end != Default::default();
    let gateway = file.gateway != Default::default();
    if front_end || !gateway {
        controlroom_tui::config::Config::parse(text, path).map_err(|e| format!("front end: {e}"))?;
    }
    if gateway || !front_end {
        let tables =
            controlroom_server::file_config::parse(text, path).map_err(|e| format!("gateway: {e}"))?;
        controlroom_server::ServeConfig::new(PathBuf::from("/nonexistent"))
            .apply_file(&tables, None)
            .map_err(|e| format!("gateway: {e}"))?;
    }
    Ok(())
}

#[test]
fn every_documented_config_example_loads() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read doc");
        for (line, block) in toml_blocks(&text) {
            let path = PathBuf::from(format!("{}:{line}/config.toml", doc.display()));
            if let Err(e) = load_as_the_program_would(&block, &path) {
                failures.push(e);
            }
            checked += 1;
        }
    }
    // README.md has the front end's and a [[sources]] example, docs/protocol.md the gateway's.
    assert!(checked >= 3, "found only {checked} ```toml blocks");
    assert!(failures.is_empty(), "documented config examples refused:\n{}", failures.join("\n"));
}

#[test]
fn a_refused_example_is_reported() {
    // The check above can fail: a typo and a bad value on either side are caught.
    let path = Path::new("/doc/config.toml");
    assert!(load_as_the_program_would("theme = \"dark\"\nthem = \"x\"\n", path).is_err());
    assert!(load_as_the_program_would("[keys]\nquit = \"hyper-q\"\n", path).is_err());
    assert!(load_as_the_program_would("[activity]\nasking-patterns = ['(']\n", path).is_err());
    assert!(load_as_the_program_would("[[sources]]\nname = \"a\"\nkind = \"http\"\n", path).is_err());
}

#[test]
fn serve_starts_with_the_readme_example_in_its_config_dir() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    let example = toml_blocks(&text)
        .into_iter()
        .map(|(_, b)| b)
        .find(|b| b.contains("frame-interval-ms"))
        .expect("the README's example config.toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let config_dir = dir.path().join("config");
    std::fs::create_dir_all(&config_dir).expect("config dir");
    std::fs::write(config_dir.join("config.toml"), example).expect("write config.toml");
    let data_dir = dir.path().join("data");
    // `start_in` fails unless the listening line appears.
    let mut gw =
        support::Gateway::start_in(&data_dir, &["--config-dir", config_dir.to_str().expect("utf-8")]);
    gw.stop(libc::SIGTERM);

    // The same directory with a typo in it is refused, naming the file and the key.
    std::fs::write(config_dir.join("config.toml"), "theme = \"dark\"\nframe-interval = 13\n").expect("write");
    let out = std::process::Command::new(support::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .arg("--config-dir")
        .arg(&config_dir)
        .env_remove("CONTROLROOM_CONFIG")
        .output()
        .expect("run serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("config.toml: line 2") && stderr.contains("frame-interval"), "{stderr}");
}

#[test]
fn serve_refuses_zero_counts_and_shows_each_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    for flag in [
        "--delta-log",
        "--max-bad-messages",
        "--max-connections",
        "--max-http-connections",
        "--max-auth-failures",
    ] {
        let out = std::process::Command::new(support::bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args([flag, "0"])
            .output()
            .expect("run serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(flag) && stderr.contains("1.."), "{flag}: {stderr}");
    }
    let help = std::process::Command::new(support::bin()).args(["serve", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for default in
        ["[default: 5s]", "[default: 8MiB]", "[default: 10000]", "[default: 4MiB]", "[default: 1ms]"]
    {
        assert!(help.contains(default), "{default} missing from serve --help");
    }
    assert!(help.contains("--config-dir") && help.contains("CONTROLROOM_CONFIG_DIR"), "{help}");
}
