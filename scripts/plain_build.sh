#!/usr/bin/env bash
# Builds estoria the way a packager or a CMake user does, with none of our
# presets: a plain Release build (-O3, no -Werror) of everything, then
# `cmake --install` into a temporary prefix and a C program built against
# the installed library through pkg-config and find_package.
#   scripts/plain_build.sh [BUILD_DIR]     (default build/plain)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/plain}
export CCACHE_BASEDIR=$PWD
export CCACHE_NOHASHDIR=1
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2
tests/abi/install_test.sh "$build" "$PWD"
