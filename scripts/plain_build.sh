#!/usr/bin/env bash
# Builds estoria the way a packager or a CMake user does, with none of our
# presets: a plain Release build (-O3, no -Werror) of everything, without
# the PostgreSQL store (-DESTORIA_WITH_POSTGRES=OFF, so that build is tested
# too at no extra build's cost; the presets keep the default, with it). Then
# the tests that belong to such a build: the library needs no libpq and
# refuses postgresql:// naming the option, the quick suite, the plugins on
# its libestoria.a; and `cmake --install` into a temporary prefix with C
# programs and plugins built against the installed library through
# pkg-config and find_package.
#   scripts/plain_build.sh [BUILD_DIR]     (default build/plain)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/plain}
export CCACHE_BASEDIR=$PWD
export CCACHE_NOHASHDIR=1
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DESTORIA_WITH_POSTGRES=OFF >/dev/null
cmake --build "$build" -j2
ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 \
  -R '^(without_postgres|quick_core|quick_capi|quick_acceptance_memory|plugin_symbols|Plugins\..*)$'
tests/abi/install_test.sh "$build" "$PWD"
