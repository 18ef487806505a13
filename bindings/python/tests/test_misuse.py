"""Misuse (closed stores, freed handles, wrong types) ends in an exception, never a crash."""

from __future__ import annotations

import gc
import threading
from typing import Any, Callable, List

import pytest

import estoria
from estoria import AggregateStore, Store

SID = "order_01234567-89ab-7def-8123-456789abcdef"

CLOSED_CALLS: List[Callable[[Store], Any]] = [
    lambda s: s.append(SID, ("E", b"")),
    lambda s: s.read_stream(SID),
    lambda s: s.read_all(),
    lambda s: s.delete_stream(SID),
    lambda s: s.write_snapshot(SID, 1, b""),
    lambda s: s.read_snapshot(SID),
    lambda s: s.prune_snapshots(SID),
    lambda s: s.sync(),
    lambda s: s.stats(),
    lambda s: s.verify(),
    lambda s: AggregateStore(s, "order", new_state=lambda _id: 0, apply=lambda st, e: st),
    lambda s: s.__enter__(),
]


@pytest.mark.parametrize("call", CLOSED_CALLS)
def test_a_closed_store_refuses_every_call(uri: str, call: Callable[[Store], Any]) -> None:
    store = Store.open(uri)
    store.close()
    assert store.closed
    with pytest.raises(estoria.Closed):
        call(store)


def test_close_is_idempotent() -> None:
    store = Store.open("memory:")
    store.close()
    store.close()
    assert store.closed
    with Store.open("memory:") as other:
        other.close()  # leaving the block closes it again
    assert other.closed


def test_an_iterator_of_a_closed_store_raises_closed(uri: str) -> None:
    store = Store.open(uri)
    store.append(SID, [("E", b"")] * 10)
    it = store.read_stream(SID, batch_size=2)
    assert next(it).stream_version == 1
    store.close()
    with pytest.raises(estoria.Closed):
        next(it)
    with pytest.raises(estoria.Closed):
        next(it)


def test_a_closed_iterator_ends(memory_store: Store) -> None:
    memory_store.append(SID, [("E", b"")] * 3)
    it = memory_store.read_stream(SID, batch_size=1)
    next(it)
    it.close()
    it.close()
    assert list(it) == []


def test_handles_may_be_collected_in_any_order() -> None:
    store = Store.open("memory:")
    store.append(SID, [("E", b"")] * 3)
    it = store.read_stream(SID, batch_size=1)
    astore = AggregateStore(store, "order", new_state=lambda _id: 0, apply=lambda st, e: st + 1)
    agg = astore.load(SID)
    store.close()
    astore.close()
    del store
    gc.collect()
    with pytest.raises(estoria.Closed):
        next(it)
    with pytest.raises(estoria.Closed):
        agg.version  # noqa: B018
    with pytest.raises(estoria.Closed):
        astore.load(SID)
    agg.free()
    del it, agg, astore
    gc.collect()


def test_a_freed_aggregate_refuses_every_call(memory_store: Store) -> None:
    astore: AggregateStore[List[Any]] = AggregateStore(memory_store, "order", new_state=lambda _id: [], apply=lambda st, e: None)
    agg = astore.new()
    agg.free()
    assert agg.freed
    for call in (lambda: agg.version, lambda: agg.state, lambda: agg.pending, lambda: agg.append("E", b""),
                 agg.save):
        with pytest.raises(estoria.Closed):
            call()
    agg.free()


def test_aggregates_outlive_their_aggregate_store(memory_store: Store) -> None:
    astore = AggregateStore(memory_store, "order", new_state=lambda _id: 0, apply=lambda st, e: st + 1)
    agg = astore.new()
    astore.close()
    with pytest.raises(estoria.Closed):
        astore.new()
    agg.append("E", b"")
    agg.save()
    assert agg.state == 1


WRONG_TYPES: List[Callable[[Store], Any]] = [
    lambda s: s.append(42, ("E", b"")),  # type: ignore[arg-type]
    lambda s: s.append(SID, ("E", "text, not bytes")),
    lambda s: s.append(SID, ("E", b"", None)),
    lambda s: s.append(SID, ("E", b"", "", {"k": 1})),
    lambda s: s.append(SID, ("E", b"", "", [("k", "v")])),
    lambda s: s.append(SID, "E"),  # type: ignore[arg-type]
    lambda s: s.append(SID, [42]),  # type: ignore[list-item]
    lambda s: s.append(SID, ("E", b""), expected=True),
    lambda s: s.append(SID, ("E", b""), expected="1"),  # type: ignore[arg-type]
    lambda s: s.read_stream(SID, count=1.5),  # type: ignore[arg-type]
    lambda s: s.read_stream(SID, reverse=1),  # type: ignore[arg-type]
    lambda s: s.read_all(after_position=None),  # type: ignore[arg-type]
    lambda s: s.write_snapshot(SID, 1, "text"),  # type: ignore[arg-type]
    lambda s: s.delete_stream(b"bytes id"),  # type: ignore[arg-type]
    lambda s: s.verify(progress=3),  # type: ignore[arg-type]
    lambda s: AggregateStore(s, "order", new_state=3, apply=lambda st, e: st),  # type: ignore[arg-type]
    lambda s: AggregateStore(object(), "order", new_state=lambda _id: 0, apply=lambda st, e: st),  # type: ignore
    lambda s: Store.open(None),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call", WRONG_TYPES)
def test_wrong_types_raise_type_error(memory_store: Store, call: Callable[[Store], Any]) -> None:
    with pytest.raises(TypeError):
        call(memory_store)


BAD_VALUES: List[Callable[[Store], Any]] = [
    lambda s: s.append(SID + "\0tail", ("E", b"")),
    lambda s: s.append(SID, ("E\0", b"")),
    lambda s: s.append(SID, ("E", b"", "", {"k": "v\0"})),
    lambda s: s.append(SID, ("E", b""), expected=-1),
    lambda s: s.append(SID, ("E", b""), expected=1 << 70),
    lambda s: s.append(SID, ("", b"")),
    lambda s: s.read_stream(SID, batch_size=0),
    lambda s: s.read_stream(SID, after_version=-5),
    lambda s: AggregateStore(s, "order", new_state=lambda _id: 0, apply=lambda st, e: st, encode=bytes),
    lambda s: AggregateStore(s, "order_", new_state=lambda _id: 0, apply=lambda st, e: st),
    lambda s: Store.open("memory:", sync_mode=-1),
]


@pytest.mark.parametrize("call", BAD_VALUES)
def test_bad_values_raise_invalid_argument(memory_store: Store, call: Callable[[Store], Any]) -> None:
    memory_store.append(SID, ("E", b""))
    with pytest.raises(estoria.InvalidArgument):
        call(memory_store)
    assert [e.type for e in memory_store.read_stream(SID)] == ["E"]  # unchanged


def test_wrong_aggregate_id_type_is_refused(memory_store: Store) -> None:
    astore = AggregateStore(memory_store, "order", new_state=lambda _id: 0, apply=lambda st, e: st)
    with pytest.raises(estoria.InvalidArgument):
        astore.load("account_01234567-89ab-7def-8123-456789abcdef")
    with pytest.raises(TypeError):
        astore.load(12345)  # type: ignore[arg-type]


def test_closing_while_other_threads_append_never_crashes() -> None:
    store = Store.open("memory:")
    errors: List[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        sid = estoria.new_id("w")
        while not stop.is_set():
            try:
                store.append(sid, [("E", b"x")] * 10)
                for _ in store.read_stream(sid, count=5):
                    pass
            except estoria.Closed:
                return
            except BaseException as e:  # noqa: B036 - reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    stop.wait(0.2)
    store.close()
    stop.set()
    for t in threads:
        t.join(10)
    assert errors == []
    assert not any(t.is_alive() for t in threads)


def test_a_store_cannot_be_closed_from_inside_its_own_callback(memory_store: Store) -> None:
    holder: List[Any] = []

    def new_state(_id: Any) -> int:
        holder[0].close()
        return 0

    astore = AggregateStore(memory_store, "order", new_state=new_state, apply=lambda st, e: st)
    holder.append(astore)
    with pytest.raises(estoria.InvalidArgument, match="inside a call"):
        astore.new()
    assert not astore.closed


def test_handle_classes_cannot_be_built_from_raw_pointers(memory_store: Store) -> None:
    with pytest.raises(TypeError):
        Store(0xDEAD, "memory:")
    with pytest.raises(TypeError):
        estoria.EventIterator(memory_store, 0xDEAD, 16)
    astore = AggregateStore(memory_store, "order", new_state=lambda _id: 0, apply=lambda st, e: st)
    with pytest.raises(TypeError):
        estoria.Aggregate(astore, 0xDEAD)
    gc.collect()  # their finalisers must not free the bogus pointers
