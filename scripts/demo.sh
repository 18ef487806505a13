#!/usr/bin/env bash
# The main job: set up, build, and run the demo on the default store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/examples/quickstart/quickstart "$@"
