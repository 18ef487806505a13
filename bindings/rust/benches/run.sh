#!/bin/sh
# The Rust binding's bench, in one run: the same workloads through the crate
# (examples/bench.rs) and straight from C (benches/c_bench.c), then the
# crate's figure as a share of C's. Not a test: timings vary by machine.
# Usage: ESTORIA_LIB_DIR=build/release/capi bindings/rust/benches/run.sh
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
: "${ESTORIA_LIB_DIR:=$root/build/release/capi}"
export ESTORIA_LIB_DIR
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cargo build --offline --release --example bench --manifest-path "$here/Cargo.toml" -j1 >&2
cc -O2 -std=c99 -D_POSIX_C_SOURCE=199309L -I"$root/capi/include" "$here/benches/c_bench.c" \
  -L"$ESTORIA_LIB_DIR" -Wl,-rpath,"$ESTORIA_LIB_DIR" -lestoria -o "$CARGO_TARGET_DIR/c_bench"
# Three alternating rounds; the best of each side counts (a shared machine
# only ever makes a run slower).
out=$(for round in 1 2 3; do "$CARGO_TARGET_DIR/c_bench"; "$CARGO_TARGET_DIR/release/examples/bench"; done)
echo "$out" | awk '
  { v = $3 + 0; if (v > best[$1" "$2]) best[$1" "$2] = v }
  END {
    for (m in best) { split(m, p, " "); names[p[2]] = 1 }
    printf "%-24s %14s %14s %8s\n", "workload (best of runs)", "C /s", "Rust /s", "Rust/C"
    for (n in names) printf "%-24s %14.0f %14.0f %7.1f%%\n", n, best["c "n], best["rust "n], 100 * best["rust "n] / best["c "n]
  }'
