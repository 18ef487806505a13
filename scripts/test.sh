#!/usr/bin/env bash
# Sets up and runs every test: the release build, the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency tests under
# ThreadSanitizer, and the fuzzers (the file store's recovery, est_append's
# batches) for a bounded time each.
# Each stage has a time budget (seconds): a cap that a cold run on 2 cores
# stays under, so that a stuck stage fails long before CI's limit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

stage() {  # stage NAME BUDGET_SECONDS COMMAND...
  local name=$1 budget=$2
  shift 2
  local start=$SECONDS
  echo "=== $name (budget ${budget}s)"
  if ! timeout "$budget" "$@"; then
    echo "=== $name FAILED (or exceeded ${budget}s) after $((SECONDS - start))s"
    exit 1
  fi
  echo "=== $name passed in $((SECONDS - start))s"
}

stage "release build" 1200 scripts/build.sh release
stage "release tests" 900 ctest --preset release --no-tests=error
stage "plain Release build and install (no presets)" 1200 scripts/plain_build.sh
stage "asan build" 1800 scripts/build.sh asan
stage "asan tests" 900 ctest --preset asan --no-tests=error
stage "tsan build" 1200 scripts/build.sh tsan
# Each concurrency test races its threads for ESTORIA_SOAK_SECONDS (tests/common/soak.h).
stage "tsan tests" 600 env ESTORIA_SOAK_SECONDS="${ESTORIA_SOAK_SECONDS:-3}" ctest --preset tsan --no-tests=error
stage "fuzz (recovery, batches)" 600 env ESTORIA_FUZZ_SECONDS="${ESTORIA_FUZZ_SECONDS:-60}" scripts/fuzz.sh
if [ -n "${ESTORIA_SKIP_BINDINGS:-}" ]; then
  echo "=== bindings left out by choice (ESTORIA_SKIP_BINDINGS): ${ESTORIA_SKIP_BINDINGS}"
fi
echo "=== all stages passed"
