#!/usr/bin/env bash
# Runs each cargo-fuzz target for a while (default 30 s), growing the committed corpus in
# fuzz/corpus/<target>/. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Without a sanitizer (`-s none`) the build stays fast; pass FUZZ_SANITIZER=address for ASan.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
for target in client_messages utf8_chunker delta_engine; do
    mkdir -p "fuzz/corpus/$target"
    cargo +nightly fuzz run -s "${FUZZ_SANITIZER:-none}" "$target" "fuzz/corpus/$target" \
        -- -max_total_time="$secs" -max_len=4096
    # Keep only inputs that add coverage.
    cargo +nightly fuzz cmin -s "${FUZZ_SANITIZER:-none}" "$target" "fuzz/corpus/$target" >/dev/null 2>&1 || true
done
