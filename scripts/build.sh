#!/usr/bin/env bash
# Configures and builds one CMake preset: scripts/build.sh release|debug|asan|tsan
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
# ccache hits across clones (CI builds in another folder).
export CCACHE_BASEDIR=$PWD
export CCACHE_NOHASHDIR=1
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
