//! The UTF-8 output chunker: the first byte picks cut points; the chunks must reassemble to the
//! input exactly and decode to what decoding the whole stream gives.
//! Shared by the cargo-fuzz target and `tests/fuzz_corpus.rs`, which replays the committed corpus
//! on stable in every test run.

use controlroom_server::bench_api::fuzz::{Utf8Splitter, decode};

/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    let Some((&seed, bytes)) = data.split_first() else { return };
    let step = usize::from(seed % 7) + 1;
    let mut splitter = Utf8Splitter::default();
    let (mut joined, mut text) = (Vec::new(), String::new());
    for piece in bytes.chunks(step) {
        let chunk = splitter.split(piece);
        if std::str::from_utf8(bytes).is_ok() {
            assert!(std::str::from_utf8(&chunk).is_ok());
        }
        text.push_str(&decode(&chunk));
        joined.extend(chunk);
    }
    let rest = splitter.flush();
    assert!(rest.len() <= 3);
    text.push_str(&decode(&rest));
    joined.extend(rest);
    assert_eq!(joined, bytes);
    assert_eq!(text, String::from_utf8_lossy(bytes));
}
