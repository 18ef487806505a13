"""The host's options and calls (doc/abi.md "Hosts"): no library threads with
maintain(), the host's clock and randomness, a per-store log, stepped and
cancelled compactions, and callbacks that raise without harm."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import estoria


class ScriptedHost:
    """A clock that advances 1 ms a read, and seeded pseudo-random bytes."""

    def __init__(self, seed: int = 7) -> None:
        self.now = 1_700_000_000_000_000_000
        self.times: List[int] = []
        self.state = seed

    def clock(self) -> int:
        self.now += 1_000_000
        self.times.append(self.now)
        return self.now

    def random_bytes(self, n: int) -> bytes:
        out = bytearray()
        for _ in range(n):
            self.state = (self.state * 6364136223846793005 + 1442695040888963407) % 2**64
            out.append(self.state >> 56)
        return bytes(out)


def test_threads_none_maintain_drains(uri: str) -> None:
    with estoria.Store.open(uri, threads=estoria.Threads.NONE) as s:
        s.append(estoria.new_id("account"), [("opened", b"x")] * 3)
        for _ in range(100):
            report = s.maintain(1_000_000)
            if not report.pending:
                break
        assert report == estoria.MaintainReport(pending=False, compacting=False)


def test_bad_threads_and_budget_are_invalid(uri: str) -> None:
    with pytest.raises(estoria.InvalidArgument):
        estoria.Store.open(uri, threads=5)
    with estoria.Store.open(uri) as s:
        with pytest.raises(estoria.InvalidArgument):
            s.maintain(-1)
        s.cancel()  # nothing running: fine
        s.verify()


def test_clock_and_randomness_stamp_events_and_ids(uri: str) -> None:
    host = ScriptedHost()
    with estoria.Store.open(uri, clock=host.clock, random_bytes=lambda n: b"\xab" * n) as s:
        stream = estoria.new_id("account")
        s.append(stream, [("opened", b"x"), ("deposited", b"y")])
        events = list(s.read_stream(stream))
    assert [e.timestamp_ns for e in events][0] in host.times
    for e in events:
        assert e.id.bytes[9:] == b"\xab" * 7
        assert int.from_bytes(e.id.bytes[:6], "big") == e.timestamp_ns // 1_000_000


def test_callbacks_that_raise_do_not_cross_into_c(memory_store: estoria.Store) -> None:
    def bad_clock() -> int:
        raise RuntimeError("clock broke")

    def bad_random(n: int) -> bytes:
        return b"short"

    with estoria.Store.open("memory:", clock=bad_clock, random_bytes=bad_random) as s:
        stream = estoria.new_id("account")
        s.append(stream, ("opened", b"x"))
        (event,) = list(s.read_stream(stream))
        assert event.timestamp_ns > 0  # the system's clock stood in


def _hash_dir(path: Path) -> Dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())}


def _session(path: Path, host: ScriptedHost) -> None:
    with estoria.Store.open(
        f"file:{path}?segment_bytes=16384",
        threads=estoria.Threads.NONE,
        clock=host.clock,
        random_bytes=host.random_bytes,
    ) as s:
        streams: List[str] = []
        for i in range(6):
            stream = "ledger_" + str(_uuid_from(host))
            streams.append(stream)
            for _ in range(8):
                s.append(stream, [("deposited", b"p" * 300)] * 3)
        s.write_snapshot(streams[1], 2, b"snap")
        s.delete_stream(streams[0])
        s.compact_schedule()
        while s.maintain(2000).compacting:
            pass
        while s.maintain(1_000_000).pending:
            pass


def _uuid_from(host: ScriptedHost) -> str:
    import uuid

    b = bytearray(host.random_bytes(16))
    b[6] = 0x40 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


def test_a_replayed_session_gives_identical_files(tmp_path: Path) -> None:
    _session(tmp_path / "a", ScriptedHost())
    _session(tmp_path / "b", ScriptedHost())
    _session(tmp_path / "c", ScriptedHost(seed=8))
    a, b, c = (_hash_dir(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_cancel_from_progress_raises_cancelled(tmp_path: Path) -> None:
    with estoria.Store.open(f"file:{tmp_path / 's'}?segment_bytes=8192", sync_mode=estoria.SyncMode.NONE) as s:
        streams = [estoria.new_id("account") for _ in range(4)]
        for _ in range(20):
            for stream in streams:
                s.append(stream, [("deposited", b"d" * 200)] * 2)
        s.delete_stream(streams[0])
        before = list(s.read_all())
        with pytest.raises(estoria.Cancelled):
            s.compact(progress=lambda done, total: s.cancel())
        assert list(s.read_all()) == before
        assert not [p for p in os.listdir(tmp_path / "s") if p.startswith("c-")]
        assert s.compact().events_dropped > 0


def test_the_store_log_hears_its_messages(tmp_path: Path) -> None:
    heard: List[Tuple[int, str]] = []
    with estoria.Store.open(f"file:{tmp_path / 's'}?segment_bytes=8192", log=lambda lv, m: heard.append((lv, m))) as s:
        stream = estoria.new_id("account")
        for _ in range(40):
            s.append(stream, [("deposited", b"d" * 200)] * 2)
        s.delete_stream(stream)
        s.compact()
    assert any("compacted" in m for _, m in heard)
