//! Client message parsing and validation on both sockets: never panics, and an accepted image
//! is within the size limit and starts with its type's magic bytes.
//! Shared by the cargo-fuzz target and `tests/fuzz_corpus.rs`, which replays the committed corpus
//! on stable in every test run.

use controlroom_protocol::{MAX_IMAGE_BYTES, WorkerClientMsg};
use controlroom_server::bench_api::fuzz::{decode_image, parse_app_msg, parse_worker_msg};

/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_app_msg(&text);
    if let Ok(WorkerClientMsg::Image { data, mime_type }) =
        parse_worker_msg(&text, *controlroom_protocol::TERMINAL_DIM_RANGE.end())
        && let Ok(img) = decode_image(&data, &mime_type)
    {
        assert!(img.bytes.len() <= MAX_IMAGE_BYTES);
    }
    // The raw bytes as an image payload too.
    if let Some((mime, rest)) = text.split_once('|') {
        let _ = decode_image(rest, mime);
    }
}
