#!/usr/bin/env bash
# The main job: set up, build, and run the demo: the bank example (typed
# aggregates) on the embedded file store in ./estoria-demo (or the store URI
# given). Run it again and it carries on in the same store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/examples/bank/bank "${1:-estoria-demo}"
