"""Transactions (all or nothing across streams) and idempotent appends."""

from __future__ import annotations

import uuid

import pytest

import estoria
from estoria import Event


def versions(store: estoria.Store, stream: str) -> list:
    try:
        return [e.stream_version for e in store.read_stream(stream)]
    except estoria.NotFound:
        return []


def test_commit_writes_every_append_with_one_result_each(store: estoria.Store) -> None:
    a, b = estoria.new_id("order"), estoria.new_id("user")
    store.append(a, [("Placed", b"")])
    with store.transaction() as txn:
        txn.append(a, [("Paid", b"1"), ("Shipped", b"2")], expected=1)
        txn.append(b, ("Registered", b"3"), expected=estoria.NO_STREAM)
        txn.append(a, [("Closed", b"4")], expected=3)
        assert len(txn) == 3
        results = txn.commit()
        assert len(txn) == 0
    assert [(r.first_version, r.last_version, r.duplicate) for r in results] == [(2, 3, False), (1, 1, False), (4, 4, False)]
    # One commit: contiguous positions in append order.
    assert results[0].first_position + 2 == results[1].first_position
    assert results[1].last_position + 1 == results[2].first_position
    assert versions(store, a) == [1, 2, 3, 4]
    assert versions(store, b) == [1]


def test_one_failing_expectation_writes_nothing_and_names_the_stream(store: estoria.Store) -> None:
    a, b, c = estoria.new_id("order"), estoria.new_id("user"), estoria.new_id("cart")
    store.append(b, [("Registered", b"")])
    txn = store.transaction()
    txn.append(a, [("Placed", b"")], expected=estoria.NO_STREAM)
    txn.append(b, [("Renamed", b"")], expected=5)
    txn.append(c, [("Created", b"")])
    with pytest.raises(estoria.VersionMismatch) as e:
        txn.commit()
    assert b in str(e.value)
    assert (e.value.stream_id, e.value.index, e.value.expected, e.value.actual) == (b, 1, 5, 1)
    assert versions(store, a) == [] and versions(store, b) == [1] and versions(store, c) == []
    assert len(txn) == 3  # a failed transaction keeps its appends
    txn.close()


def test_stream_exists_expectation(store: estoria.Store) -> None:
    a = estoria.new_id("order")
    with pytest.raises(estoria.VersionMismatch):
        store.append(a, [("Placed", b"")], expected=estoria.STREAM_EXISTS)
    store.append(a, [("Placed", b"")])
    assert store.append(a, [("Paid", b"")], expected=estoria.STREAM_EXISTS).last_version == 2
    with store.transaction() as txn:
        txn.append(estoria.new_id("user"), [("X", b"")], expected=estoria.STREAM_EXISTS)
        with pytest.raises(estoria.VersionMismatch):
            txn.commit()


def test_a_retry_with_the_same_ids_is_a_duplicate_and_writes_nothing(store: estoria.Store) -> None:
    a, b = estoria.new_id("order"), estoria.new_id("user")
    ids = [uuid.uuid4() for _ in range(3)]
    batch = [Event("Placed", b"1", id=ids[0]), Event("Paid", b"2", id=ids[1])]
    first = store.append(a, batch, expected=estoria.NO_STREAM)
    assert not first.duplicate
    again = store.append(a, batch, expected=estoria.NO_STREAM)
    assert again.duplicate
    assert (again.first_version, again.last_version, again.first_position) == (
        first.first_version,
        first.last_version,
        first.first_position,
    )
    assert [e.id for e in store.read_stream(a)] == ids[:2]

    def txn_once() -> list:
        with store.transaction() as txn:
            txn.append(a, batch, expected=estoria.NO_STREAM)
            txn.append(b, [Event("Registered", b"3", id=ids[2])], expected=estoria.NO_STREAM)
            return txn.commit()

    results = txn_once()
    assert [r.duplicate for r in results] == [True, False]
    results = txn_once()
    assert [r.duplicate for r in results] == [True, True]
    assert versions(store, a) == [1, 2] and versions(store, b) == [1]
    assert store.stats().events == 3


def test_a_partial_overlap_is_a_version_mismatch(store: estoria.Store) -> None:
    a = estoria.new_id("order")
    one, two = uuid.uuid4(), uuid.uuid4()
    store.append(a, [Event("Placed", b"", id=one)])
    with pytest.raises(estoria.VersionMismatch):
        store.append(a, [Event("Placed", b"", id=one), Event("Paid", b"", id=two)], expected=estoria.NO_STREAM)
    assert versions(store, a) == [1]
    # Within a transaction too: nothing of it is written.
    b = estoria.new_id("user")
    with store.transaction() as txn:
        txn.append(b, [("Registered", b"")])
        txn.append(a, [Event("Placed", b"", id=one), Event("Paid", b"", id=two)], expected=estoria.NO_STREAM)
        with pytest.raises(estoria.VersionMismatch) as e:
            txn.commit()
        assert e.value.stream_id == a
    assert versions(store, a) == [1] and versions(store, b) == []


def test_a_transaction_after_the_store_closed_is_closed(uri: str) -> None:
    store = estoria.Store.open(uri, sync_mode=estoria.SyncMode.NONE)
    txn = store.transaction()
    txn.append(estoria.new_id("order"), [("Placed", b"")])
    store.close()
    with pytest.raises(estoria.Closed):
        txn.commit()
    with pytest.raises(estoria.Closed):
        txn.append(estoria.new_id("order"), [("Placed", b"")])
    txn.close()
    with pytest.raises(estoria.Closed):
        txn.commit()
    with pytest.raises(estoria.Closed):
        store.transaction()


def test_invalid_appends_are_refused_at_once(memory_store: estoria.Store) -> None:
    with memory_store.transaction() as txn:
        with pytest.raises(estoria.InvalidArgument):
            txn.append("not an id", [("Placed", b"")])
        with pytest.raises(TypeError):
            txn.append(estoria.new_id("order"), "Placed")
        assert len(txn) == 0
        assert txn.commit() == []
