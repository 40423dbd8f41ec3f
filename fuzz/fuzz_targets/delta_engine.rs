//! The delta engine: two snapshots decoded from the input; `apply(diff(a, b), a) == b`.
#![no_main]

#[path = "../checks/delta_engine.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
