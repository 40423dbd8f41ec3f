#!/usr/bin/env bash
# Regenerates every benchmark figure: builds the release binaries, runs the micro benchmarks and
# the end-to-end harness, and writes bench/results/latest.md. Extra arguments go to the harness
# (e.g. `bench/run.sh --quick`). Benchmarks are not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out=bench/results/latest.md
cargo build --release -p controlroom -p controlroom-bench
{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Commit: $(git rev-parse --short HEAD); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## End to end"
  echo
  target/release/controlroom-bench "$@"
  echo
  echo "## Micro (cargo bench -p controlroom-bench --bench micro)"
  echo
  echo '```'
  cargo bench -p controlroom-bench --bench micro 2>/dev/null
  echo '```'
  echo
  echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
