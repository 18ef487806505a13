"""Projections: the library's engine driving a Python handler. Catch up then
follow, resume from the checkpoint, filters, handler failures (stop or skip),
exactly once, budgets, waking, closing, and versioned rebuilds."""

from __future__ import annotations

import gc
import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import estoria
from estoria import Projection, ProjectionTxn, RecordedEvent, Store


def append_n(store: Store, stream: str, count: int, type_name: str = "Tick", start: int = 0) -> None:
    for i in range(start, start + count):
        store.append(stream, [(type_name, str(i).encode())])


class Recorder:
    """A handler that keeps what it was handed (copies: valid after the call)."""

    def __init__(self) -> None:
        self.events: List[RecordedEvent] = []
        self.calls: List[int] = []  # the size of each call
        self.txns: List[Optional[ProjectionTxn]] = []

    def __call__(self, events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        self.calls.append(len(events))
        self.txns.append(txn)
        self.events.extend(events)

    def positions(self) -> List[int]:
        return [e.global_position for e in self.events]


def in_thread(fn: Any) -> Any:
    """Starts fn() on a thread; the returned join(timeout) gives its result
    or raises what it raised, and fails when it has not finished by then
    (a run that does not return would otherwise hang the suite)."""
    out: List[Any] = []
    raised: List[BaseException] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # noqa: B036 - handed to the test
            raised.append(e)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()

    def join(timeout: float = 5.0) -> Any:
        thread.join(timeout)
        assert not thread.is_alive(), f"still running after {timeout} s"
        if raised:
            raise raised[0]
        return out[0]

    join.thread = thread  # type: ignore[attr-defined]
    return join


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---------------------------------------------------------------- basics


def test_catch_up_then_follow_hands_every_event_once_in_order(store: Store) -> None:
    stream = estoria.new_id("order")
    append_n(store, stream, 20)
    rec = Recorder()
    with store.projection("orders", rec, batch_max=8) as p:
        report = p.run(0)
        assert (report.handled, report.skipped, report.position, report.head) == (20, 0, 20, 20)
        assert report.caught_up
        assert rec.calls == [8, 8, 4]
        assert rec.txns == [None, None, None]  # at least once: no transaction
        assert store.load_checkpoint("orders_v1").position == 20
        # Follow: a run until wake() sees a concurrent writer's events.
        running = in_thread(p.run)
        append_n(store, stream, 30, start=20)
        wait_for(lambda: len(rec.events) == 50)
        p.wake()
        followed = running(10.0)
    assert [e.data for e in rec.events] == [str(i).encode() for i in range(50)]
    assert [e.stream_version for e in rec.events] == list(range(1, 51))
    assert rec.positions() == sorted(set(rec.positions()))
    assert followed.handled == 30 and followed.position == 50 and followed.caught_up
    assert store.load_checkpoint("orders_v1").position == 50
    # Copies: the events outlive the calls and the projection.
    assert rec.events[0].stream_id == stream and rec.events[0].type == "Tick"


def test_a_projection_resumes_from_its_checkpoint_after_a_reopen(tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 'store'}"
    stream = estoria.new_id("order")
    first = Recorder()
    with Store.open(uri) as store:
        append_n(store, stream, 5)
        with store.projection("orders", first, version=3) as p:
            assert p.id == "orders_v3"
            assert p.run(0).position == 5
        append_n(store, stream, 4, start=5)
    again = Recorder()
    with Store.open(uri) as store:
        assert store.load_checkpoint("orders_v3").position == 5
        with store.projection("orders", again, version=3) as p:
            report = p.run(0)
    assert [e.data for e in first.events] == [str(i).encode() for i in range(5)]
    assert [e.data for e in again.events] == [str(i).encode() for i in range(5, 9)]
    assert (report.handled, report.position, report.caught_up) == (4, 9, True)


def test_filters_hand_only_what_they_keep_and_still_move_the_position(store: Store) -> None:
    order, user = estoria.new_id("order"), estoria.new_id("user")
    store.append(order, [("Placed", b"1"), ("Paid", b"2")])
    store.append(user, [("Registered", b"3"), ("Paid", b"4")])
    store.append(order, [("Shipped", b"5")])
    by_prefix, by_type, both = Recorder(), Recorder(), Recorder()
    with store.projection("orders", by_prefix, stream_prefix="order_") as p:
        report = p.run(0)
    assert [e.data for e in by_prefix.events] == [b"1", b"2", b"5"]
    assert (report.handled, report.position, report.caught_up) == (3, 5, True)
    with store.projection("payments", by_type, event_types=["Paid", "Registered"]) as p:
        p.run(0)
    assert [e.data for e in by_type.events] == [b"2", b"3", b"4"]
    with store.projection("user_payments", both, stream_prefix="user_", event_types=["Paid"]) as p:
        report = p.run(0)
    assert [e.data for e in both.events] == [b"4"]
    # The events after the last kept one were filtered out: the checkpoint passes them.
    assert report.position == 5 and report.caught_up
    assert store.load_checkpoint("user_payments_v1").position == 5


# ---------------------------------------------------------------- handler errors


def test_a_handler_exception_stops_the_run_and_the_checkpoint_stays_at_the_last_success(store: Store) -> None:
    stream = estoria.new_id("order")
    append_n(store, stream, 10)
    seen: List[int] = []
    fail_at = {5}

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        for e in events:
            if e.global_position in fail_at:
                raise ValueError(f"cannot project {e.global_position}")
        seen.extend(e.global_position for e in events)

    with store.projection("orders", handler, batch_max=2) as p:
        with pytest.raises(estoria.HandlerError) as info:
            p.run(0)
        err = info.value
        assert isinstance(err.__cause__, ValueError) and str(err.__cause__) == "cannot project 5"
        assert err.status == estoria.InternalError.status
        assert "cannot project 5" in str(err) and "orders_v1" in str(err)
        assert err.report == p.last_report
        assert (err.report.position, err.report.handled, err.report.caught_up) == (4, 6, False)
        assert seen == [1, 2, 3, 4]
        assert store.load_checkpoint("orders_v1").position == 4
        # The next run hands the failed events again; fixed, it goes on.
        with pytest.raises(estoria.HandlerError):
            p.run(0)
        assert store.load_checkpoint("orders_v1").position == 4
        fail_at.clear()
        report = p.run(0)
    assert seen == list(range(1, 11))
    assert (report.position, report.handled, report.caught_up) == (10, 6, True)


def test_a_handler_chooses_the_status_by_raising_an_estoria_error(memory_store: Store) -> None:
    append_n(memory_store, estoria.new_id("order"), 1)

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        raise estoria.NotFound("no such customer")

    with memory_store.projection("orders", handler) as p:
        with pytest.raises(estoria.HandlerError) as info:
            p.run(0)
    assert info.value.status == estoria.NotFound.status
    assert info.value.status_name == "EST_ERR_NOT_FOUND"
    assert isinstance(info.value.__cause__, estoria.NotFound)


def test_keyboard_interrupt_in_the_handler_is_raised_as_it_is(memory_store: Store) -> None:
    append_n(memory_store, estoria.new_id("order"), 3)
    calls = []

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        calls.append(len(events))
        raise KeyboardInterrupt

    with memory_store.projection("orders", handler) as p:
        with pytest.raises(KeyboardInterrupt):
            in_thread(p.run)()  # until wake: the interrupt ends it
        assert p.last_report is not None and p.last_report.position == 0
    assert calls == [3]
    with pytest.raises(estoria.NotFound):
        memory_store.load_checkpoint("orders_v1")
    # With continue_on_error the engine skips the interrupted call's events
    # and goes on; the run still ends (within a slice) and raises it.
    with memory_store.projection("later", handler, continue_on_error=True) as p:
        with pytest.raises(KeyboardInterrupt):
            in_thread(p.run)()
        assert p.last_report is not None and p.last_report.skipped == 3


def test_continue_on_error_skips_and_counts_the_failing_events(store: Store) -> None:
    stream = estoria.new_id("order")
    for i in range(10):
        store.append(stream, [("Tick", b"bad" if i in (2, 7) else str(i).encode())])
    applied: List[bytes] = []
    logged: List[str] = []

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        if any(e.data == b"bad" for e in events):
            raise ValueError("a bad event")
        applied.extend(e.data for e in events)

    estoria.set_log_handler(lambda level, message: logged.append(message))
    try:
        with store.projection("orders", handler, batch_max=4, continue_on_error=True) as p:
            report = p.run(0)
    finally:
        estoria.set_log_handler(None)
    assert applied == [str(i).encode() for i in range(10) if i not in (2, 7)]
    assert (report.skipped, report.position, report.caught_up) == (2, 10, True)
    assert store.load_checkpoint("orders_v1").position == 10
    failed = [m for m in logged if "orders_v1" in m and "a bad event" in m]
    assert len(failed) == 2, logged
    assert "position 3" in failed[0] and "position 8" in failed[1]


# ---------------------------------------------------------------- exactly once


def totals_handler(state: Dict[str, Any], fail_at: Optional[set] = None) -> Any:
    """Folds deposits into one running total; each call appends the total
    through the projection's transaction, with the position it counts through."""

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        assert txn is not None
        total = state["total"]
        for e in events:
            total += json.loads(e.data)["amount"]
        body = {"total": total, "through": events[-1].global_position}
        txn.append(state["out"], ("Total", json.dumps(body).encode()), expected=state["version"])
        assert len(txn) == 1
        if fail_at and any(e.global_position in fail_at for e in events):
            raise RuntimeError("failed after appending")
        state["total"], state["version"] = total, state["version"] + 1

    return handler


def test_exactly_once_outputs_are_the_fold_of_the_inputs_and_commit_with_the_checkpoint(store: Store) -> None:
    accounts = [estoria.new_id("account") for _ in range(3)]
    amounts = [(i * 7) % 11 + 1 for i in range(30)]
    for i, amount in enumerate(amounts):
        store.append(accounts[i % 3], ("Deposited", json.dumps({"amount": amount}).encode()))
    out = estoria.new_id("totals")
    state: Dict[str, Any] = {"total": 0, "version": 0, "out": out}
    fail_at = {17}
    with store.projection(
        "totals", totals_handler(state, fail_at), batch_max=4, exactly_once=True, stream_prefix="account_"
    ) as p:
        with pytest.raises(estoria.HandlerError) as info:
            p.run(0)
        assert isinstance(info.value.__cause__, RuntimeError)
        # The failed call's output was dropped; the checkpoint is the last output's.
        outputs = [json.loads(e.data) for e in store.read_stream(out)]
        assert [o["through"] for o in outputs] == [4, 8, 12, 16]
        assert store.load_checkpoint("totals_v1").position == 16
        fail_at.clear()
        report = p.run(0)
        assert report.skipped == 0
    outputs = [json.loads(e.data) for e in store.read_stream(out)]
    running = [sum(amounts[:n]) for n in range(4, 31, 4)] + [sum(amounts)]
    assert [o["total"] for o in outputs] == running
    assert [o["through"] for o in outputs] == list(range(4, 29, 4)) + [30]
    # Its own outputs are filtered out: the run ends past them, at the head.
    assert report.caught_up and report.position == store.stats().last_position == 30 + len(outputs)


def test_exactly_once_a_failed_expectation_writes_neither_output_nor_checkpoint(store: Store) -> None:
    stream = estoria.new_id("order")
    append_n(store, stream, 3)
    out = estoria.new_id("copy")
    store.append(out, ("Existing", b""))

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        assert txn is not None
        txn.append(out, [("Copied", e.data) for e in events], expected=estoria.NO_STREAM)

    with store.projection("copier", handler, exactly_once=True, stream_prefix="order_") as p:
        with pytest.raises(estoria.VersionMismatch):
            p.run(0)
    assert [e.type for e in store.read_stream(out)] == ["Existing"]
    with pytest.raises(estoria.NotFound):
        store.load_checkpoint("copier_v1")


def test_the_transaction_is_valid_during_the_call_only(memory_store: Store) -> None:
    append_n(memory_store, estoria.new_id("order"), 1)
    rec = Recorder()
    with memory_store.projection("orders", rec, exactly_once=True) as p:
        p.run(0)
    (txn,) = rec.txns
    assert isinstance(txn, ProjectionTxn) and txn.closed
    with pytest.raises(estoria.Closed):
        txn.append(estoria.new_id("x"), ("Late", b""))


# ---------------------------------------------------------------- runs: budgets, waking, closing


def test_a_budgeted_run_returns_within_its_budget(store: Store) -> None:
    stream = estoria.new_id("order")
    rec = Recorder()
    with store.projection("orders", rec) as p:
        start = time.monotonic()
        report = p.run(0)  # nothing ready: returns at once
        assert time.monotonic() - start < 0.5
        assert report.handled == 0 and report.caught_up
        start = time.monotonic()
        p.run(100_000)  # waits for commits until the budget is spent
        assert 0.09 < time.monotonic() - start < 2.0
        append_n(store, stream, 40)

    slow_calls: List[int] = []

    def slow(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        time.sleep(0.01)
        slow_calls.append(events[0].global_position)

    with store.projection("slow", slow, batch_max=1) as p:
        start = time.monotonic()
        report = p.run(50_000)
        assert time.monotonic() - start < 2.0
        # No handler call starts after the budget: far fewer than 40 events.
        assert 1 <= report.handled < 40 and not report.caught_up
        assert report.position == slow_calls[-1] == report.handled
        while not report.caught_up:
            report = p.run(50_000)
    assert slow_calls == list(range(1, 41))


def test_wake_from_another_thread_ends_a_run_until_wake(store: Store) -> None:
    rec = Recorder()
    with store.projection("orders", rec) as p:
        running = in_thread(p.run)
        time.sleep(0.3)
        assert running.thread.is_alive()  # waiting for commits
        p.wake()
        assert running(5.0).handled == 0
        # A wake while no run runs ends the next run at once.
        p.wake()
        start = time.monotonic()
        in_thread(p.run)(5.0)
        assert time.monotonic() - start < 2.0
        # And only that one: a budgeted run then spends its budget.
        start = time.monotonic()
        p.run(200_000)
        assert time.monotonic() - start >= 0.19


def test_the_handler_may_wake_its_own_run(memory_store: Store) -> None:
    stream = estoria.new_id("order")
    append_n(memory_store, stream, 3)
    holder: List[Projection] = []

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        holder[0].wake()

    with memory_store.projection("orders", handler) as p:
        holder.append(p)
        assert in_thread(p.run)(5.0).position == 3


def test_close_from_another_thread_ends_a_waiting_run(store: Store) -> None:
    p = store.projection("orders", Recorder())
    running = in_thread(p.run)
    time.sleep(0.2)
    p.close()
    assert running(5.0).handled == 0  # returned, not raised
    assert p.closed
    with pytest.raises(estoria.Closed):
        p.run(0)
    with pytest.raises(estoria.Closed):
        p.wake()
    p.close()  # idempotent


def test_closing_the_store_ends_a_waiting_run_with_closed(uri: str) -> None:
    store = Store.open(uri)
    p = store.projection("orders", Recorder())
    running = in_thread(p.run)
    time.sleep(0.2)
    store.close()
    with pytest.raises(estoria.Closed):
        running(5.0)
    p.close()  # freed after its store


def test_misuse_inside_the_handler_is_refused(memory_store: Store) -> None:
    append_n(memory_store, estoria.new_id("order"), 1)
    holder: List[Projection] = []
    what = {"call": "run"}

    def handler(events: List[RecordedEvent], txn: Optional[ProjectionTxn]) -> None:
        if what["call"] == "run":
            holder[0].run(0)
        else:
            holder[0].close()

    p = memory_store.projection("orders", handler)
    holder.append(p)
    for call in ("run", "close"):
        what["call"] = call
        with pytest.raises(estoria.HandlerError) as info:
            p.run(0)
        assert isinstance(info.value.__cause__, estoria.InvalidArgument), call
    assert not p.closed
    p.close()


def test_bad_arguments_are_refused_before_the_library(memory_store: Store) -> None:
    rec = Recorder()
    with pytest.raises(estoria.InvalidArgument):
        memory_store.projection("Orders", rec)
    with pytest.raises(estoria.InvalidArgument):
        memory_store.projection("orders", rec, version=0)
    with pytest.raises(estoria.InvalidArgument):
        memory_store.projection("orders", rec, batch_max=0)
    with pytest.raises(estoria.InvalidArgument):
        memory_store.projection("orders", rec, batch_max=4097)
    with pytest.raises(TypeError):
        memory_store.projection("orders", rec, exactly_once=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        memory_store.projection("orders", "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        memory_store.projection("orders", rec, event_types="Paid")
    with pytest.raises(TypeError):
        Projection(memory_store, "orders", 1, rec, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ProjectionTxn(0)


def test_a_projection_left_to_the_garbage_collector_is_freed(uri: str) -> None:
    with Store.open(uri) as store:
        append_n(store, estoria.new_id("order"), 2)
        rec = Recorder()
        p = store.projection("orders", rec)
        p.run(0)
        del p
        gc.collect()
        # Its checkpoint stays; a new one resumes there.
        with store.projection("orders", rec) as again:
            assert again.run(0).handled == 0
    assert len(rec.events) == 2


# ---------------------------------------------------------------- rebuilds


def history_types(store: Store, name: str) -> List[str]:
    return [
        e.type
        for e in store.read_all()
        if e.stream_type == "estoria.projection" and json.loads(e.data).get("name") == name
    ]


def test_rebuild_cutover_and_active_version(store: Store) -> None:
    stream = estoria.new_id("order")
    append_n(store, stream, 5)
    with pytest.raises(estoria.NotFound):
        store.active_projection_version("orders")
    v1_seen, v2_seen = Recorder(), Recorder()
    v1 = store.projection("orders", v1_seen, stream_prefix="order_")
    v1.run(0)
    assert store.active_projection_version("orders") == 1

    store.rebuild_projection("orders", 2, "a new read model")
    store.rebuild_projection("orders", 2)  # asked twice: no error
    with pytest.raises(estoria.InvalidArgument):
        store.rebuild_projection("orders", 1)
    with pytest.raises(estoria.VersionMismatch):
        store.cutover_projection("orders", 2)  # not caught up yet
    assert store.active_projection_version("orders") == 1

    append_n(store, stream, 3, start=5)
    v2 = store.projection("orders", v2_seen, version=2, stream_prefix="order_")
    assert v2.run(0).caught_up
    assert [e.data for e in v2_seen.events] == [str(i).encode() for i in range(8)]
    v1.run(0)
    assert [e.data for e in v1_seen.events] == [str(i).encode() for i in range(8)]

    store.cutover_projection("orders", 2)
    store.cutover_projection("orders", 2)  # active already: no error
    assert store.active_projection_version("orders") == 2
    assert history_types(store, "orders") == ["rebuildcreated", "caughtup", "promoted", "previousretired"]
    with pytest.raises(estoria.NotFound):
        store.load_checkpoint("orders_v1")

    # The retired version's runs fail within a second; a new v1 is refused.
    time.sleep(1.1)
    with pytest.raises(estoria.NotFound):
        v1.run(0)
    with pytest.raises(estoria.NotFound):
        store.projection("orders", Recorder())
    append_n(store, stream, 2, start=8)
    v2.run(0)
    assert [e.data for e in v2_seen.events[8:]] == [b"8", b"9"]
    v1.close()
    v2.close()


def test_cutover_when_caught_up_promotes_the_rebuild_on_its_own(memory_store: Store) -> None:
    append_n(memory_store, estoria.new_id("order"), 4)
    with memory_store.projection("totals", Recorder()) as v1:
        v1.run(0)
    memory_store.rebuild_projection("totals", 3)
    with pytest.raises(estoria.InvalidArgument):
        memory_store.rebuild_projection("totals", 2)  # below the requested 3
    with memory_store.projection("totals", Recorder(), version=3, cutover_when_caught_up=True) as v3:
        v3.run(0)
    assert memory_store.active_projection_version("totals") == 3
    with pytest.raises(estoria.InvalidArgument):
        memory_store.cutover_projection("Bad-Name", 2)
