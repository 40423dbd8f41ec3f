//! Internals exposed for the benchmark crate (`bench/`) only: the screen model, the UTF-8
//! splitter and the output-message encoder, so micro benchmarks measure the code the gateway runs.
//! Not a stable API.

use crate::worker::{screen::ScreenModel, utf8::Utf8Splitter};
use controlroom_protocol::WorkerServerMsg;

/// The worker's screen model (lean `term` model plus compact scrollback).
pub struct Screen(ScreenModel);

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Screen")
    }
}

impl Screen {
    /// A blank `cols × rows` screen keeping `scrollback_bytes` of formatted lines.
    pub fn new(cols: u16, rows: u16, scrollback_bytes: usize) -> Self {
        Self(ScreenModel::new(cols, rows, scrollback_bytes, 0))
    }

    /// Applies output.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.0.feed(bytes);
    }

    /// Packs the scrollback's cold rows, as the screen thread does once idle; returns the bytes
    /// of memory given back.
    pub fn pack_scrollback(&mut self) -> usize {
        self.0.pack_scrollback()
    }

    /// Length of the `history` snapshot it would send a new client.
    pub fn snapshot_len(&self) -> usize {
        self.0.snapshot(controlroom_protocol::HistoryScope::Full).data.len()
    }

    /// The visible screen as plain lines.
    pub fn lines(&self) -> Vec<String> {
        self.0.plain().lines
    }
}

/// The worker's UTF-8 boundary splitter.
#[derive(Debug, Default)]
pub struct Splitter(Utf8Splitter);

impl Splitter {
    /// Splits `input` at the last character boundary; returns the aligned bytes.
    pub fn split(&mut self, input: &[u8]) -> Vec<u8> {
        self.0.split(input)
    }
}

/// Encodes one `output` message the way the worker actor does (decode + JSON), once per batch.
pub fn encode_output(aligned: &[u8], offset: u64) -> String {
    let msg = WorkerServerMsg::Output { data: crate::worker::utf8::decode(aligned), offset };
    serde_json::to_string(&msg).unwrap_or_default()
}

/// What the fuzz checks (`fuzz/checks/`, also run by `tests/fuzz_corpus.rs`) drive: client
/// message parsing, the delta engine and the UTF-8 chunker. Not a stable API.
pub mod fuzz {
    pub use crate::api::validate::{decode_image, parse_app_msg, parse_worker_msg};
    pub use crate::hub::diff::{ActivityMap, SessionMap, apply, diff};
    pub use crate::worker::utf8::{Utf8Splitter, decode};
}

/// One count of a session's changes exactly as the poll tick makes it (`worktree/stats.rs`: the
/// `git` child processes with their deadline), for the `git-count` bench section: `base` is a
/// worktree session's base, `None` counts against `HEAD`. Returns (changed files, insertions,
/// deletions, ahead, behind).
pub async fn git_count(
    cwd: &str,
    branch: &str,
    base: Option<&str>,
) -> Result<(u32, u32, u32, u32, u32), String> {
    let config = crate::worktree::WorktreeConfig::default();
    let target = crate::worktree::stats::CountTarget {
        cwd: cwd.to_owned(),
        branch: branch.to_owned(),
        base: base.map(str::to_owned),
    };
    let g = crate::worktree::stats::count(&config, &target).await.map_err(|e| e.to_string())?;
    Ok((g.changed_files, g.insertions, g.deletions, g.ahead, g.behind))
}
