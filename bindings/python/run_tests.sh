#!/usr/bin/env bash
# Runs the Python binding's tests (ctest: python_tests) against a built libestoria.
#
# Usage: run_tests.sh [VENV_DIR [LIB_DIR]]
#   VENV_DIR  the virtual environment to make or reuse
#             (default: build/python-venv at the repository's top)
#   LIB_DIR   the directory holding libestoria.so.1 (default: $ESTORIA_LIB_DIR)
#   PYTHON    the interpreter that makes the venv (default: python3)
#
# The venv is made with --system-site-packages so that a system pytest is
# reused and nothing needs downloading; pytest comes from PyPI only when the
# system lacks it. The package is installed from a copy of its sources under
# the venv (setuptools builds in place, which would litter the source tree),
# without build isolation (the venv's own setuptools builds it, offline once
# a wheel-capable setuptools is there).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-$repo/build/python-venv}"
lib_dir="${2:-${ESTORIA_LIB_DIR:-}}"
python="${PYTHON:-python3}"

if [ -z "$lib_dir" ]; then
  echo "run_tests.sh: give the library's directory (LIB_DIR or ESTORIA_LIB_DIR)" >&2
  exit 2
fi
if [ ! -e "$lib_dir/libestoria.so.1" ] && [ ! -e "$lib_dir/libestoria.so" ]; then
  echo "run_tests.sh: no libestoria in $lib_dir: build it first" >&2
  exit 2
fi
# Absolute paths: the tests run from inside the venv's directory.
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
lib_dir="$(cd "$lib_dir" && pwd)"
export ESTORIA_LIB_DIR="$lib_dir"

# Make the venv, or remake one that is broken (an interrupted earlier run,
# or an interpreter that has since gone).
if ! "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! "$python" -m venv --system-site-packages "$venv"; then
    echo "run_tests.sh: '$python -m venv' failed; on Debian install python3-venv (scripts/setup.sh does)" >&2
    exit 1
  fi
fi
py="$venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check --no-input -q)

stage="$venv/estoria-src"
rm -rf "$stage"
mkdir -p "$stage"
cp -R "$here/pyproject.toml" "$here/README.md" "$here/src" "$stage/"
if ! "${pip[@]}" install --no-deps --no-build-isolation --force-reinstall "$stage" 2>"$venv/pip.log"; then
  # The venv lacks a build backend that can make a wheel (Python 3.11's venv
  # has setuptools but not `wheel`; Debian's python3-wheel provides it):
  # fetch both from PyPI into the venv once, so later runs stay offline.
  "${pip[@]}" install 'setuptools>=61' wheel
  "${pip[@]}" install --no-deps --no-build-isolation --force-reinstall "$stage"
fi

if ! "$py" -c 'import pytest' >/dev/null 2>&1; then
  "${pip[@]}" install 'pytest>=7'
fi

# Run from the build tree so that the sources' src/ is never on sys.path:
# the tests import the installed package. No cache in the source tree.
cd "$venv"
"$py" - <<'PY'
import os, estoria
assert "estoria-src" not in estoria.__file__, estoria.__file__
assert os.path.exists(os.path.join(os.path.dirname(estoria.__file__), "py.typed")), "py.typed is not installed"
print(f"estoria {estoria.__version__} from {os.path.dirname(estoria.__file__)}; ABI {estoria.abi_version():#x}")
PY
exec "$py" -m pytest -q -p no:cacheprovider "$here/tests"
