#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test estoria.
# Idempotent: installs nothing when everything is there.
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ clang pkg-config
  libclang-rt-14-dev  # libFuzzer (scripts/fuzz.sh); clang only recommends it
  libabsl-dev libflatbuffers-dev flatbuffers-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev liblmdb-dev  # bench/file_store_bench's peers
  nlohmann-json3-dev
  libcli11-dev  # est's argument parser (header-only)
  libpq-dev postgresql  # the PostgreSQL store and its throwaway test server (tests/postgres)
  python3-venv python3-pytest python3-wheel  # bindings/python: venv, offline tests and install
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
