"""Shared fixtures: every store test runs on `memory:` and on a file store in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import estoria


@pytest.fixture(params=["memory", "file"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory:" if request.param == "memory" else f"file:{tmp_path / 'store'}"


@pytest.fixture
def store(uri: str) -> Iterator[estoria.Store]:
    with estoria.Store.open(uri, sync_mode=estoria.SyncMode.NONE) as s:
        yield s


@pytest.fixture
def memory_store() -> Iterator[estoria.Store]:
    with estoria.Store.open("memory:") as s:
        yield s
