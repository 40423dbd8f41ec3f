//! Client message parsing and validation on both sockets: never panics, and an accepted image
//! is within the size limit and starts with its type's magic bytes.
#![no_main]

#[path = "../checks/client_messages.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
