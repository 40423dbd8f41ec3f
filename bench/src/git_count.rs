//! The cost of one change count (the `git` object on Session): the two `git` child processes
//! the gateway runs for a worktree session (`rev-list --left-right --count`, `diff --numstat
//! --merge-base`), timed through the gateway's own code on a generated repository of 2,000
//! files (100 lines each) with 40 files changed on the branch (20 committed, 20 not). Wall time
//! and the CPU the children used, per count; the poll tick makes at most one count per session
//! per `--git-stats-interval` (10 s), one round at a time.

use crate::report::{Report, Row};
use crate::scenarios::Plan;
use anyhow::Context as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const FILES: usize = 2_000;
const LINES: usize = 100;
const CHANGED: usize = 40;

fn git(dir: &Path, home: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.org")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.org")
        .output()
        .context("running git")?;
    anyhow::ensure!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// CPU seconds (user + system) used by waited-for children so far.
#[allow(unsafe_code)]
fn children_cpu() -> f64 {
    // SAFETY: getrusage fills the struct we pass and touches nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Runs the section.
pub async fn git_count(plan: &Plan, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (home, repo, wt) = (dir.path().join("home"), dir.path().join("repo"), dir.path().join("wt"));
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(repo.join("src"))?;
    git(&repo, &home, &["init", "-q", "-b", "main"])?;
    for i in 0..FILES {
        let text: String = (0..LINES).map(|l| format!("file {i} line {l}\n")).collect();
        std::fs::write(repo.join(format!("src/f{i}.txt")), text)?;
    }
    git(&repo, &home, &["add", "-A"])?;
    git(&repo, &home, &["commit", "-q", "-m", "base"])?;
    git(&repo, &home, &["worktree", "add", "-q", "-b", "feat", wt.to_str().context("path")?, "main"])?;
    let edit = |i: usize| -> anyhow::Result<()> {
        let path = wt.join(format!("src/f{i}.txt"));
        let text = std::fs::read_to_string(&path)?.replace("line 5\n", "line five\nand more\n");
        std::fs::write(path, text)?;
        Ok(())
    };
    for i in 0..CHANGED / 2 {
        edit(i)?;
    }
    git(&wt, &home, &["commit", "-q", "-am", "work"])?;
    for i in CHANGED / 2..CHANGED {
        edit(i)?;
    }
    let cwd = wt.to_str().context("path")?.to_owned();
    let first = controlroom_server::bench_api::git_count(&cwd, "feat", Some("main"))
        .await
        .map_err(anyhow::Error::msg)?;
    anyhow::ensure!(first.0 == CHANGED as u32 && first.3 == 1, "unexpected count {first:?}");
    let runs = (plan.runs * 10).max(20);
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t0, c0) = (Instant::now(), children_cpu());
        controlroom_server::bench_api::git_count(&cwd, "feat", Some("main"))
            .await
            .map_err(anyhow::Error::msg)?;
        wall.push(t0.elapsed().as_secs_f64() * 1e3);
        cpu.push((children_cpu() - c0) * 1e3);
    }
    let name = format!("git count, worktree session ({FILES} files, {CHANGED} changed)");
    report.row(Row::latency(&format!("{name}: wall"), &wall, None));
    report.row(Row::samples(&format!("{name}: git CPU"), &cpu, "ms", None).with_note(
        "two git processes per count, at most one count per session per --git-stats-interval (10 s)".into(),
    ));
    Ok(())
}
