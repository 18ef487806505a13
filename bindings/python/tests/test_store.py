"""Appends, reads, deletion, snapshots and operations through estoria.Store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import estoria
from estoria import Event, Store


def test_append_returns_versions_and_positions(store: Store) -> None:
    sid = estoria.new_id("order")
    first = store.append(sid, [("Placed", b"1"), ("Paid", b"2")])
    assert (first.first_version, first.last_version, first.actual_version) == (1, 2, 2)
    assert first.first_position >= 1 and first.last_position == first.first_position + 1
    second = store.append(sid, Event("Shipped", b"3"))
    assert (second.first_version, second.last_version) == (3, 3)
    assert second.first_position > first.last_position


def test_read_stream_yields_copied_events_with_bytes_payloads(store: Store) -> None:
    sid = estoria.new_id("order")
    store.append(sid, [("Placed", b"\x00binary\xff", "application/octet-stream"), ("Paid", b"")])
    with store.read_stream(sid) as it:
        events = list(it)
    assert [e.type for e in events] == ["Placed", "Paid"]
    assert events[0].data == b"\x00binary\xff" and isinstance(events[0].data, bytes)
    assert events[1].data == b""
    assert events[0].content_type == "application/octet-stream" and events[1].content_type == ""
    assert [e.stream_version for e in events] == [1, 2]
    assert events[0].stream_id == sid and events[0].stream_type == "order"
    assert events[0].id != events[1].id and isinstance(events[0].id, uuid.UUID)
    assert events[0].timestamp_ns > 0 and events[0].timestamp.year >= 2024


def test_reads_cross_in_batches_and_keep_order(store: Store) -> None:
    sid = estoria.new_id("counter")
    store.append(sid, [("Inc", str(i).encode()) for i in range(25)])
    events = list(store.read_stream(sid, batch_size=4))
    assert [e.data for e in events] == [str(i).encode() for i in range(25)]
    assert [e.stream_version for e in events] == list(range(1, 26))


def test_read_stream_honours_bounds_direction_and_count(store: Store) -> None:
    sid = estoria.new_id("s")
    store.append(sid, [("E", bytes([i])) for i in range(1, 11)])
    assert [e.stream_version for e in store.read_stream(sid, after_version=7)] == [8, 9, 10]
    assert [e.stream_version for e in store.read_stream(sid, count=2)] == [1, 2]
    assert [e.stream_version for e in store.read_stream(sid, reverse=True, count=3)] == [10, 9, 8]
    assert [e.stream_version for e in store.read_stream(sid, reverse=True, after_version=2)] == [2, 1]
    assert list(store.read_stream(sid, after_version=10)) == []


def test_read_all_is_in_global_order_across_streams(store: Store) -> None:
    a, b = estoria.new_id("a"), estoria.new_id("b")
    store.append(a, ("A1", b""))
    store.append(b, ("B1", b""))
    store.append(a, ("A2", b""))
    events = list(store.read_all(batch_size=2))
    assert [e.type for e in events] == ["A1", "B1", "A2"]
    positions = [e.global_position for e in events]
    assert positions == sorted(positions)
    assert [e.type for e in store.read_all(after_position=positions[0])] == ["B1", "A2"]
    assert [e.type for e in store.read_all(count=1)] == ["A1"]


def test_metadata_round_trips_sorted_by_key(store: Store) -> None:
    sid = estoria.new_id("m")
    store.append(sid, Event("E", b"x", metadata={"zeta": "1", "alpha": "ü"}))
    (event,) = store.read_stream(sid)
    assert event.metadata == {"alpha": "ü", "zeta": "1"}
    assert list(event.metadata) == ["alpha", "zeta"]


def test_toolkit_metadata_keys_are_stored(store: Store) -> None:
    # "estoria." keys belong to the toolkit's own components (Estoria's
    # event-stream snapshot store writes them): the store keeps them.
    sid = estoria.new_id("m")
    store.append(sid, Event("E", metadata={"estoria.snapshot_version": "3"}))
    (event,) = store.read_stream(sid)
    assert event.metadata == {"estoria.snapshot_version": "3"}


def test_metadata_of_every_event_in_a_batch_is_read(store: Store) -> None:
    sid = estoria.new_id("m")
    store.append(sid, [Event("E", metadata={"i": str(i)}) for i in range(7)])
    assert [e.metadata for e in store.read_stream(sid, batch_size=3)] == [{"i": str(i)} for i in range(7)]
    assert [e.metadata for e in store.read_all()] == [{"i": str(i)} for i in range(7)]


def test_expectations_any_version_and_no_stream(store: Store) -> None:
    sid = estoria.new_id("x")
    store.append(sid, ("A", b""), expected=estoria.NO_STREAM)
    store.append(sid, ("B", b""), expected=1)
    store.append(sid, ("C", b""), expected=estoria.ANY)
    assert [e.type for e in store.read_stream(sid)] == ["A", "B", "C"]


def test_version_mismatch_carries_expected_and_actual_and_writes_nothing(store: Store) -> None:
    sid = estoria.new_id("x")
    store.append(sid, [("A", b""), ("B", b"")])
    with pytest.raises(estoria.VersionMismatch) as info:
        store.append(sid, ("C", b""), expected=5)
    assert (info.value.expected, info.value.actual) == (5, 2)
    assert info.value.status == -3 and info.value.status_name == "EST_ERR_VERSION_MISMATCH"
    with pytest.raises(estoria.VersionMismatch) as info:
        store.append(sid, ("C", b""), expected=estoria.NO_STREAM)
    assert (info.value.expected, info.value.actual) == (0, 2)
    assert len(list(store.read_stream(sid))) == 2


def test_delete_stream_wholly_makes_it_never_written(store: Store) -> None:
    sid = estoria.new_id("d")
    store.append(sid, [("A", b""), ("B", b"")])
    store.delete_stream(sid)
    with pytest.raises(estoria.NotFound):
        store.read_stream(sid)
    assert store.append(sid, ("C", b""), expected=estoria.NO_STREAM).first_version == 1


def test_truncation_keeps_later_events_and_the_tip(store: Store) -> None:
    sid = estoria.new_id("d")
    store.append(sid, [("E", bytes([i])) for i in range(5)])
    store.delete_stream(sid, to_version=3)
    assert [e.stream_version for e in store.read_stream(sid)] == [4, 5]
    store.delete_stream(sid, to_version=99)
    assert list(store.read_stream(sid)) == []
    assert store.append(sid, ("F", b""), expected=5).first_version == 6


def test_iterator_is_a_snapshot_taken_at_creation(store: Store) -> None:
    sid = estoria.new_id("snap")
    store.append(sid, [("E", b"1"), ("E", b"2")])
    it = store.read_stream(sid, batch_size=1)
    store.delete_stream(sid)
    assert [e.data for e in it] == [b"1", b"2"]


def test_snapshots_write_read_newest_and_prune(store: Store) -> None:
    aid = estoria.new_id("acct")
    with pytest.raises(estoria.NotFound):
        store.read_snapshot(aid)
    store.write_snapshot(aid, 2, b"two", content_type="text/plain")
    store.write_snapshot(aid, 5, b"five")
    store.write_snapshot(aid, 9, b"nine", timestamp_ns=1_000)
    newest = store.read_snapshot(aid)
    assert (newest.version, newest.data, newest.timestamp_ns) == (9, b"nine", 1_000)
    older = store.read_snapshot(aid, max_version=4)
    assert (older.version, older.data, older.content_type) == (2, b"two", "text/plain")
    store.prune_snapshots(aid, keep_last=1)
    with pytest.raises(estoria.NotFound):
        store.read_snapshot(aid, max_version=8)
    assert store.read_snapshot(aid).version == 9


def test_restore_append_keeps_ids_and_timestamps(store: Store) -> None:
    sid = estoria.new_id("imp")
    eid = estoria.uuid7()
    store.append(sid, Event("E", b"", id=eid, timestamp_ns=123_456), restore=True, first_version=7)
    (event,) = store.read_stream(sid)
    assert (event.id, event.timestamp_ns, event.stream_version) == (eid, 123_456, 7)


def test_sync_stats_and_verify(store: Store) -> None:
    sid = estoria.new_id("o")
    store.append(sid, [("E", b"abc")] * 3)
    store.write_snapshot(sid, 1, b"s")
    store.sync()
    stats = store.stats()
    assert (stats.events, stats.streams, stats.snapshots) == (3, 1, 1)
    assert stats.last_position >= 3
    seen = []
    report = store.verify(lambda done, total: seen.append((done, total)))
    assert report.events >= (3 if store.stats().segments else 0)
    if stats.segments:
        assert stats.bytes > 0 and seen and seen[-1][0] == seen[-1][1]


def test_compact_reclaims_deleted_events_and_keeps_the_rest(store: Store) -> None:
    gone, kept = estoria.new_id("o"), estoria.new_id("o")
    for _ in range(4):
        store.append(gone, [("E", b"g")] * 3)
        store.append(kept, [("E", b"k")] * 2)
    store.delete_stream(gone)
    seen = []
    report = store.compact(lambda done, total: seen.append((done, total)))
    if store.stats().segments:
        assert (report.events_dropped, report.events_kept) == (12, 8)
        assert report.bytes_after < report.bytes_before
        assert seen and seen[-1][0] == seen[-1][1]
    else:
        assert report == estoria.CompactReport(0, 0, 0, 0, 0, 0)
    assert [e.data for e in store.read_stream(kept)] == [b"k"] * 8
    with pytest.raises(estoria.NotFound):
        store.read_stream(gone)


def test_file_store_keeps_events_across_reopen(tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 'db'}"
    sid = estoria.new_id("p")
    with Store.open(uri) as s:
        s.append(sid, [("E", b"persisted")])
    with Store.open(uri) as s:
        assert [e.data for e in s.read_stream(sid)] == [b"persisted"]


def test_second_open_of_a_file_store_is_busy(tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 'db'}"
    with Store.open(uri):
        with pytest.raises(estoria.Busy):
            Store.open(uri)


def test_ids_format_and_parse() -> None:
    u = uuid.UUID("01234567-89ab-7def-8123-456789abcdef")
    text = estoria.new_id("order", u)
    assert text == "order_01234567-89ab-7def-8123-456789abcdef"
    assert estoria.parse_id(text) == ("order", u)
    assert estoria.uuid7() < estoria.uuid7()
    with pytest.raises(estoria.InvalidArgument):
        estoria.new_id("_bad")
    with pytest.raises(estoria.InvalidArgument):
        estoria.parse_id("order_NOT-A-UUID")
