#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz: the whole engine
# coverage-instrumented under ASan + UBSan) and runs each for a bounded time.
#   scripts/fuzz.sh                       60 s per target
#   ESTORIA_FUZZ_SECONDS=600 scripts/fuzz.sh
# The corpus lives in build/fuzz/corpus/<target> (seeded by the target itself)
# and grows across runs; crashes are written to build/fuzz/artifacts/ and fail
# the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${ESTORIA_FUZZ_SECONDS:-60}
build=build/fuzz
export CCACHE_BASEDIR=$PWD
export CCACHE_NOHASHDIR=1

flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
# ESTORIA_BUILD_TESTS stays ON only because tests/ holds the fuzz directory;
# nothing but the fuzz targets is built.
cmake -S . -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DESTORIA_BUILD_FUZZ=ON -DESTORIA_BUILD_TESTS=ON -DESTORIA_WERROR=ON \
  -DESTORIA_BUILD_BENCH=OFF -DESTORIA_BUILD_EXAMPLES=OFF >/dev/null

targets=(recovery_fuzz txn_recovery_fuzz batch_fuzz)
start=$SECONDS
ninja -C "$build" "${targets[@]}"
echo "fuzz: built ${targets[*]} in $((SECONDS - start))s"

mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  mkdir -p "$corpus"
  if [ -z "$(ls -A "$corpus")" ]; then
    ESTORIA_FUZZ_WRITE_SEEDS=$corpus "$build/tests/fuzz/$t"
  fi
  echo "fuzz: running $t for ${seconds}s"
  # -max_len: a seed segment is a few KiB (preallocated); let inputs grow past it.
  # Each target gets the same time.
  "$build/tests/fuzz/$t" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-"
done
echo "fuzz: all targets ran clean"
