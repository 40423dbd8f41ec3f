//! Replays the committed cargo-fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the
//! fuzz targets run (`fuzz/checks/`), on stable, in every test run: what fuzzing once found stays
//! fixed even where nightly and cargo-fuzz are not installed.

#[path = "../fuzz/checks/client_messages.rs"]
mod client_messages;
#[path = "../fuzz/checks/delta_engine.rs"]
mod delta_engine;
#[path = "../fuzz/checks/utf8_chunker.rs"]
mod utf8_chunker;

use std::path::PathBuf;

/// Runs `check` on every input in the target's corpus and fails naming each input that panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut inputs: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("corpus dir").map(|e| e.expect("corpus entry").path()).collect();
    inputs.sort();
    // An empty or missing corpus would make this test pass without checking anything.
    assert!(inputs.len() >= 10, "{}: only {} inputs", dir.display(), inputs.len());
    let failed: Vec<String> = inputs
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("read input");
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: {} of {} inputs fail: {failed:?}", failed.len(), inputs.len());
}

#[test]
fn client_messages_corpus_parses_without_panics() {
    replay("client_messages", client_messages::check);
}

#[test]
fn delta_engine_corpus_round_trips() {
    replay("delta_engine", delta_engine::check);
}

#[test]
fn utf8_chunker_corpus_reassembles() {
    replay("utf8_chunker", utf8_chunker::check);
}

#[test]
fn a_broken_check_is_caught_and_named() {
    // The replay itself must be able to fail: a check that rejects one kind of input is reported.
    let result = std::panic::catch_unwind(|| replay("utf8_chunker", |data| assert!(data.len() < 64)));
    assert!(result.is_err(), "a failing input must fail the replay");
}
