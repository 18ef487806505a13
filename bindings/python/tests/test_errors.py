"""Statuses map to the exception hierarchy; the loader refuses other ABIs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import estoria
from estoria import _native, errors

STATUS_CLASSES = [
    (-1, estoria.InvalidArgument, ValueError),
    (-2, estoria.NotFound, LookupError),
    (-3, estoria.VersionMismatch, estoria.EstoriaError),
    (-4, estoria.Closed, estoria.EstoriaError),
    (-5, estoria.StoreIOError, OSError),
    (-6, estoria.Corruption, estoria.EstoriaError),
    (-7, estoria.Busy, estoria.EstoriaError),
    (-8, estoria.Unsupported, estoria.EstoriaError),
    (-9, estoria.NoMemory, MemoryError),
    (-10, estoria.InternalError, estoria.EstoriaError),
    (-11, estoria.AppliedPartially, estoria.EstoriaError),
]


@pytest.mark.parametrize("status,cls,builtin", STATUS_CLASSES)
def test_each_status_maps_to_its_class(status: int, cls: type, builtin: type) -> None:
    err = errors.error_for(status, "msg")
    assert type(err) is cls
    assert isinstance(err, estoria.EstoriaError) and isinstance(err, builtin)
    assert err.status == status and str(err) == "msg"
    assert err.status_name == estoria.status_name(status) != "EST_UNKNOWN"


def test_unknown_status_is_the_base_class_with_its_code() -> None:
    err = errors.error_for(-999, "odd")
    assert type(err) is estoria.EstoriaError and err.status == -999
    assert err.status_name == "EST_UNKNOWN"


def test_ok_and_end_are_not_errors() -> None:
    assert errors.check(0) == 0 and errors.check(1) == 1


def test_library_errors_carry_its_message(memory_store: estoria.Store) -> None:
    with pytest.raises(estoria.NotFound, match="est_read_stream"):
        memory_store.read_stream(estoria.new_id("never"))
    with pytest.raises(estoria.InvalidArgument):
        memory_store.read_stream("not an id")
    with pytest.raises(estoria.InvalidArgument):
        memory_store.delete_stream(estoria.new_id("x"), to_version=-1)
    with pytest.raises(estoria.InvalidArgument):
        memory_store.write_snapshot(estoria.new_id("x"), 0, b"")
    with pytest.raises(estoria.InvalidArgument):
        memory_store.append(estoria.new_id("x"), [])
    with pytest.raises(estoria.NotFound):
        memory_store.delete_stream(estoria.new_id("never"))


def test_open_errors() -> None:
    with pytest.raises(estoria.InvalidArgument, match="scheme"):
        estoria.Store.open("bogus://x")
    with pytest.raises(estoria.InvalidArgument):
        estoria.Store.open("memory:", sync_mode=7)


def test_abi_check_refuses_another_major() -> None:
    _native.check_abi(_native.ABI_MAJOR << 16 | 7)
    with pytest.raises(ImportError, match="ABI 2"):
        _native.check_abi(2 << 16)
    assert estoria.abi_version() >> 16 == estoria.ABI_MAJOR


def test_a_lib_dir_without_the_library_fails_the_import(tmp_path: Path) -> None:
    env = dict(os.environ, ESTORIA_LIB_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", "import estoria"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "ESTORIA_LIB_DIR" in out.stderr


Event = estoria.Event


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="needs pkg-config")
def test_without_the_override_pkg_config_finds_the_library(tmp_path: Path) -> None:
    lib_dir = os.environ["ESTORIA_LIB_DIR"]
    (tmp_path / "estoria.pc").write_text(
        f"libdir={lib_dir}\n\nName: estoria\nDescription: test\nVersion: 1.0.0\nLibs: -L${{libdir}} -lestoria\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ESTORIA_LIB_DIR"}
    env["PKG_CONFIG_PATH"] = str(tmp_path)
    code = "import estoria._native as n; print(n.lib._name)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert os.path.dirname(out.stdout.strip()) == os.path.normpath(lib_dir)
