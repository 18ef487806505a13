"""AggregateStore: Python state folded by the library's aggregate engine."""

from __future__ import annotations

import gc
import json
import pickle
import uuid
from typing import Any, Dict, List, Optional

import pytest

import estoria
from estoria import AggregateStore, RecordedEvent, Store


class Account:
    def __init__(self) -> None:
        self.balance = 0
        self.history: List[str] = []


def apply_account(state: Account, event: RecordedEvent) -> None:
    amount = json.loads(event.data)["amount"]
    state.balance += amount if event.type == "Deposited" else -amount
    state.history.append(event.type)


def accounts(store: Store, **kwargs: Any) -> AggregateStore[Account]:
    return AggregateStore(store, "account", new_state=lambda _id: Account(), apply=apply_account, **kwargs)


def deposit(agg: estoria.Aggregate[Account], amount: int, kind: str = "Deposited") -> None:
    agg.append(kind, json.dumps({"amount": amount}).encode(), content_type="application/json")


def test_save_applies_and_load_folds_the_events(store: Store) -> None:
    astore = accounts(store)
    agg = astore.new()
    assert agg.version == 0 and agg.state.balance == 0 and agg.id.startswith("account_")
    deposit(agg, 10)
    deposit(agg, 3, "Withdrawn")
    assert agg.pending == 2
    result = agg.save()
    assert (result.first_version, result.last_version) == (1, 2)
    assert agg.pending == 0 and agg.version == 2 and agg.state.balance == 7
    loaded = astore.load(agg.uuid)
    assert loaded.version == 2 and loaded.state.balance == 7
    assert loaded.state.history == ["Deposited", "Withdrawn"]
    assert astore.load(agg.id).state.balance == 7  # the "type_uuid" form
    assert astore.load(agg.uuid, to_version=1).state.balance == 10
    events = list(store.read_stream(agg.id))
    assert [e.content_type for e in events] == ["application/json"] * 2


def test_a_save_with_event_ids_is_safe_to_retry(store: Store) -> None:
    astore = accounts(store)
    agg = astore.new()
    deposit(agg, 10)
    agg.save()
    retry = astore.load(agg.uuid)  # a second handle at the same version
    event_id = uuid.uuid4()
    agg.append("Withdrawn", json.dumps({"amount": 4}).encode(), event_id=event_id)
    first = agg.save()
    assert not first.duplicate
    retry.append("Withdrawn", json.dumps({"amount": 4}).encode(), event_id=str(event_id))
    again = retry.save()
    assert again.duplicate
    assert (again.first_version, again.last_version) == (first.first_version, first.last_version)
    assert retry.version == 2 and retry.state.balance == 6
    assert [e.id for e in store.read_stream(agg.id)][1] == event_id


def test_apply_may_return_a_new_immutable_state(memory_store: Store) -> None:
    astore: AggregateStore[int] = AggregateStore(
        memory_store, "counter", new_state=lambda _id: 0, apply=lambda n, e: n + int(e.data)
    )
    agg = astore.new()
    for i in range(1, 5):
        agg.append("Added", str(i).encode())
    agg.save()
    assert agg.state == 10
    assert astore.load(agg.uuid).state == 10


def test_snapshots_encode_with_pickle_and_loads_start_from_them(store: Store) -> None:
    astore = accounts(store, encode=pickle.dumps, decode=pickle.loads, snapshot_every=2,
                      snapshot_content_type="application/x-python-pickle")
    agg = astore.new()
    for _ in range(3):
        deposit(agg, 5)
    agg.save()
    snap = store.read_snapshot(agg.id)
    assert snap.version == 3 and snap.content_type == "application/x-python-pickle"
    assert pickle.loads(snap.data).balance == 15
    loaded = astore.load(agg.uuid)
    assert loaded.state.balance == 15 and loaded.state.history == ["Deposited"] * 3
    stats = astore.stats()
    assert stats.snapshots_written == 1 and stats.snapshots_used == 1 and stats.loads == 1


def test_cache_serves_repeated_loads(memory_store: Store) -> None:
    astore = accounts(memory_store, encode=pickle.dumps, decode=pickle.loads, cache_capacity=4)
    agg = astore.new()
    deposit(agg, 1)
    agg.save()
    astore.load(agg.uuid).free()
    assert astore.load(agg.uuid).state.balance == 1
    assert astore.stats().cache_hits >= 1


def test_snapshots_without_a_codec_are_invalid(memory_store: Store) -> None:
    with pytest.raises(estoria.InvalidArgument):
        accounts(memory_store, snapshot_every=10)
    with pytest.raises(estoria.InvalidArgument):
        accounts(memory_store, encode=pickle.dumps)


def test_loading_a_never_written_aggregate_is_not_found(memory_store: Store) -> None:
    with pytest.raises(estoria.NotFound):
        accounts(memory_store).load(estoria.uuid7())


def test_concurrent_saves_conflict_with_expected_and_actual(store: Store) -> None:
    astore = accounts(store)
    agg = astore.new()
    deposit(agg, 1)
    agg.save()
    first, second = astore.load(agg.uuid), astore.load(agg.uuid)
    deposit(first, 1)
    first.save()
    deposit(second, 2)
    with pytest.raises(estoria.VersionMismatch) as info:
        second.save()
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert second.pending == 1 and second.state.balance == 1  # kept: reload and retry


def test_an_exception_in_apply_is_reraised_by_load(memory_store: Store) -> None:
    good = accounts(memory_store)
    agg = good.new()
    deposit(agg, 1)
    agg.save()
    boom = RuntimeError("bad event")

    def failing(state: Account, event: RecordedEvent) -> None:
        raise boom

    bad = AggregateStore(memory_store, "account", new_state=lambda _id: Account(), apply=failing)
    with pytest.raises(RuntimeError) as info:
        bad.load(agg.uuid)
    assert info.value is boom


def test_an_exception_in_apply_during_save_is_applied_partially(memory_store: Store) -> None:
    calls: List[int] = []

    def picky(state: Dict[str, int], event: RecordedEvent) -> None:
        calls.append(event.stream_version)
        raise ValueError("cannot apply")

    astore: AggregateStore[Dict[str, int]] = AggregateStore(memory_store, "acct", new_state=lambda _id: {}, apply=picky)
    agg = astore.new()
    agg.append("E", b"")
    with pytest.raises(estoria.AppliedPartially) as info:
        agg.save()
    assert isinstance(info.value.__cause__, ValueError)
    assert len(list(memory_store.read_stream(agg.id))) == 1  # the events were written
    assert calls == [1]


def test_base_exceptions_in_callbacks_are_reraised_too(memory_store: Store) -> None:
    class Stop(BaseException):
        pass

    def new_state(_id: Any) -> None:
        raise Stop()

    astore = AggregateStore(memory_store, "acct", new_state=new_state, apply=lambda s, e: None)
    with pytest.raises(Stop):
        astore.new()


def test_a_callback_may_choose_the_status_with_an_estoria_error(memory_store: Store) -> None:
    astore = accounts(memory_store)
    agg = astore.new()
    deposit(agg, 1)
    agg.save()

    def refuse(state: Account, event: RecordedEvent) -> None:
        raise estoria.NotFound("no such thing")

    picky = AggregateStore(memory_store, "account", new_state=lambda _id: Account(), apply=refuse)
    with pytest.raises(estoria.NotFound, match="no such thing"):
        picky.load(agg.uuid)


def test_a_failed_snapshot_decode_is_reraised_by_load(memory_store: Store) -> None:
    astore = accounts(memory_store, encode=pickle.dumps, decode=pickle.loads, snapshot_every=1)
    agg = astore.new()
    deposit(agg, 1)
    agg.save()

    def bad_decode(data: bytes) -> Account:
        raise LookupError("undecodable")

    broken = accounts(memory_store, encode=pickle.dumps, decode=bad_decode, snapshot_every=1)
    with pytest.raises(LookupError, match="undecodable"):
        broken.load(agg.uuid)


def test_a_failed_cache_decode_falls_back_to_the_events_with_a_warning(memory_store: Store) -> None:
    fail = [False]

    def decode(data: bytes) -> Account:
        if fail[0]:
            raise LookupError("undecodable")
        return pickle.loads(data)  # type: ignore[no-any-return]

    astore = accounts(memory_store, encode=pickle.dumps, decode=decode, cache_capacity=2)
    agg = astore.new()
    deposit(agg, 1)
    deposit(agg, 2)
    agg.save()
    fail[0] = True
    with pytest.warns(estoria.CallbackWarning, match="LookupError: undecodable"):
        loaded = astore.load(agg.uuid)
    assert loaded.state.balance == 3 and loaded.version == 2


def test_failed_encode_after_a_save_is_a_warning_not_a_failed_save(memory_store: Store) -> None:
    astore = accounts(memory_store, encode=lambda s: "not bytes", decode=pickle.loads, snapshot_every=1)
    agg = astore.new()
    deposit(agg, 4)
    with pytest.warns(estoria.CallbackWarning, match="encode must return bytes"):
        result = agg.save()
    assert result.last_version == 1 and agg.state.balance == 4
    with pytest.raises(estoria.NotFound):
        memory_store.read_snapshot(agg.id)


def test_keyboard_interrupt_in_a_recovered_callback_is_still_raised(memory_store: Store) -> None:
    def interrupted(state: Account) -> bytes:
        raise KeyboardInterrupt

    astore = accounts(memory_store, encode=interrupted, decode=pickle.loads, snapshot_every=1)
    agg = astore.new()
    deposit(agg, 1)
    with pytest.raises(KeyboardInterrupt):
        agg.save()
    assert len(list(memory_store.read_stream(agg.id))) == 1


def test_states_are_released_when_aggregates_are_freed(memory_store: Store) -> None:
    astore = accounts(memory_store)
    agg = astore.new()
    deposit(agg, 1)
    agg.save()
    loaded = [astore.load(agg.uuid) for _ in range(3)]
    assert len(astore._callbacks.states) == 4
    for a in loaded:
        a.free()
    agg.free()
    gc.collect()
    assert astore._callbacks.states == {}


def test_aggregate_metadata_reaches_the_events(memory_store: Store) -> None:
    astore = accounts(memory_store)
    agg = astore.new()
    agg.append("Deposited", b'{"amount": 1}', metadata={"user": "ann"})
    agg.save()
    (event,) = memory_store.read_stream(agg.id)
    assert event.metadata == {"user": "ann"}


def test_a_callback_calling_back_into_its_aggregate_is_refused(memory_store: Store) -> None:
    holder: List[Optional[estoria.Aggregate[Account]]] = [None]

    def nosy(state: Account, event: RecordedEvent) -> None:
        assert holder[0] is not None
        holder[0].version  # noqa: B018 - re-entrant use of the handle being saved

    astore = AggregateStore(memory_store, "acct", new_state=lambda _id: Account(), apply=nosy)
    agg = astore.new()
    holder[0] = agg
    agg.append("E", b"")
    with pytest.raises(estoria.AppliedPartially) as info:
        agg.save()
    assert isinstance(info.value.__cause__, estoria.InvalidArgument)


def test_the_library_log_reaches_a_python_handler(memory_store: Store) -> None:
    lines: List[str] = []
    estoria.set_log_handler(lambda level, message: lines.append(f"{level}:{message}"))
    try:
        def refuse(state: Account) -> bytes:
            raise ValueError("cannot encode")

        astore = accounts(memory_store, encode=refuse, decode=pickle.loads, snapshot_every=1)
        agg = astore.new()
        deposit(agg, 1)
        with pytest.warns(estoria.CallbackWarning):
            agg.save()
    finally:
        estoria.set_log_handler(None)
    assert any(line.startswith("0:") and "cannot encode" in line for line in lines), lines


def test_reads_and_load_at_stop_at_the_first_event_stamped_later(store: Store) -> None:
    t0 = 1_700_000_000_000_000_000
    astore = accounts(store)
    agg = astore.new()
    # Event 2 is stamped after event 3: as of t0 + 2 only event 1 counts.
    events = [
        estoria.Event("Deposited", json.dumps({"amount": amount}).encode(), timestamp_ns=t0 + stamp)
        for amount, stamp in [(1, 1), (2, 3), (4, 2), (8, 4)]
    ]
    store.append(agg.id, events, restore=True)
    versions = lambda **kw: [e.stream_version for e in store.read_stream(agg.id, **kw)]
    assert versions(until_timestamp_ns=t0 + 2) == [1]
    assert versions(until_timestamp_ns=t0 + 3) == [1, 2, 3]
    assert versions(until_timestamp_ns=t0 + 3, reverse=True, count=1) == [3]
    assert versions() == [1, 2, 3, 4]
    assert len(list(store.read_all(until_timestamp_ns=t0 + 3))) == 3
    at = astore.load_at(agg.uuid, t0 + 2)
    assert (at.version, at.state.balance) == (1, 1)
    at = astore.load_at(agg.id, t0 + 3)
    assert (at.version, at.state.balance) == (3, 7)
    with pytest.raises(estoria.NotFound):
        astore.load_at(agg.uuid, t0)
    with pytest.raises(estoria.InvalidArgument):
        astore.load_at(agg.uuid, 0)
    with pytest.raises(estoria.InvalidArgument):
        store.read_stream(agg.id, until_timestamp_ns=-1)
