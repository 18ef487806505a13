#!/usr/bin/env bash
# The main job: set up, build, and run `est demo`: a bank as event-sourced
# aggregates on the embedded file store in ./estoria-demo (or the directory
# given). Run it again and it carries on in the same store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/tools/est demo "${1:-estoria-demo}"
