//! End-to-end tests of the command line as a new user meets it (issue 16): global flags on
//! either side of the subcommand, one line and exit 2 without a terminal, a malformed
//! `--connect` reported once, shell completions and the man page.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::{Gateway, bin};

const NEEDS_TERMINAL: &str = "controlroom needs a terminal; use `ls`, `send`, `watch` from scripts\n";

/// `controlroom ARGS…` with stdin from /dev/null, no user dirs and no inherited gateway settings.
fn run(args: &[&str], home: &Path, envs: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_DATA_DIR")
        .env_remove("CONTROLROOM_CONFIG_DIR")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run controlroom")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", text(&o.stderr));
    text(&o.stdout)
}

#[tokio::test]
async fn client_flags_mean_the_same_before_and_after_the_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let gw = Gateway::start_in(&dir.path().join("data"), &[]);
    let data = gw.data_dir.to_str().expect("utf-8 path");

    let out =
        ok(&run(&["--data-dir", data, "new", "--title", "global", "--cwd", "/tmp", "--", "sh"], &home, &[]));
    assert!(out.contains('/'), "SESSION/WORKER: {out}");
    assert!(ok(&run(&["--data-dir", data, "ls"], &home, &[])).contains("global"));
    assert!(ok(&run(&["ls", "--data-dir", data], &home, &[])).contains("global"));

    // An explicit flag before the subcommand beats the variable the subcommand also reads.
    let empty = dir.path().join("empty");
    let env_dir = [("CONTROLROOM_DATA_DIR", empty.to_str().expect("utf-8 path"))];
    assert!(ok(&run(&["--data-dir", data, "ls"], &home, &env_dir)).contains("global"));

    // --connect with the token from the environment, no data dir with a token in sight.
    let token = [("CONTROLROOM_TOKEN", gw.token.as_str())];
    let ls = run(&["--data-dir", empty.to_str().expect("utf-8"), "--connect", &gw.url, "ls"], &home, &token);
    assert!(ok(&ls).contains("global"));

    // The gateway commands take the data dir from before the subcommand too.
    assert_eq!(ok(&run(&["--data-dir", data, "token"], &home, &[])).trim(), gw.token);
    // A client flag given to a command that does not use it is refused, not ignored.
    let refused = run(&["--connect", &gw.url, "serve", "--listen", "127.0.0.1:0"], &home, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert_eq!(text(&refused.stderr).lines().count(), 1, "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("--connect"));
}

#[test]
fn without_a_terminal_the_tui_says_one_line_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    for args in [vec!["--data-dir", data, "attach", "docs"], vec!["--data-dir", data]] {
        let out = run(&args, &home, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), NEEDS_TERMINAL, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing drawn");
    }
    assert!(!dir.path().join("data").join("gateway.json").exists(), "no gateway was started");
}

#[test]
fn a_malformed_connect_url_is_one_final_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    for args in [
        vec!["--connect", "http//bad"],
        vec!["attach", "docs", "--connect", "http//bad"],
        vec!["--connect", "ftp://gw:1", "ls"],
    ] {
        let out = run(&args, &home, &[("CONTROLROOM_TOKEN", "t")]);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("bad gateway URL") && err.contains("--connect http://HOST:PORT"), "{err}");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_same_definitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&run(&["completions", shell], &home, &[]));
        for word in ["controlroom", "explain", "data-dir", "connect"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let bad = run(&["completions", "tcsh"], &home, &[]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown shell");

    let page = ok(&run(&["man"], &home, &[]));
    assert!(page.starts_with(".ie") || page.contains(".TH controlroom 1"), "roff: {page}");
    assert!(page.contains(".TH controlroom 1") && page.contains("explain"), "{page}");
    let out_dir = dir.path().join("man");
    ok(&run(&["man", "--out-dir", out_dir.to_str().expect("utf-8")], &home, &[]));
    let ls = std::fs::read_to_string(out_dir.join("controlroom-ls.1")).expect("a page per command");
    assert!(ls.contains("\\-\\-json"), "{ls}");
    let serve = std::fs::read_to_string(out_dir.join("controlroom-serve.1")).expect("serve page");
    assert!(!serve.contains("\\-\\-connect"), "client flags are hidden on serve");
}
