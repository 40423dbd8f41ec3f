//! The UTF-8 output chunker: the first byte picks cut points; the chunks must reassemble to the
//! input exactly and decode to what decoding the whole stream gives.
#![no_main]

#[path = "../checks/utf8_chunker.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
