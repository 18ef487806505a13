"""Live subscriptions: catch up, then follow; filters; waking; closing; asyncio."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

import pytest

import estoria


def append_n(store: estoria.Store, stream: str, count: int, type_name: str = "Tick") -> None:
    for i in range(count):
        store.append(stream, [(type_name, str(i).encode())])


def collect(sub: estoria.Subscription, count: int, timeout: float = 10.0) -> List[estoria.RecordedEvent]:
    out: List[estoria.RecordedEvent] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        assert time.monotonic() < deadline, f"only {len(out)} of {count} events arrived"
        out += sub.poll(0.2)
    return out


def test_catch_up_then_follow_a_concurrent_writer_delivers_every_event_once_in_order(store: estoria.Store) -> None:
    stream = estoria.new_id("order")
    append_n(store, stream, 50)
    total = 300
    with store.subscribe() as sub:
        writer = threading.Thread(target=append_n, args=(store, stream, total - 50))
        writer.start()
        got = []
        for event in sub:
            got.append(event)
            if len(got) == total:
                break
        writer.join()
    assert [e.global_position for e in got] == sorted({e.global_position for e in got})
    assert [e.stream_version for e in got] == list(range(1, total + 1))
    assert [e.data for e in got] == [str(i).encode() for i in range(50)] + [
        str(i).encode() for i in range(total - 50)
    ]


def test_starts_after_a_position_and_from_the_end(store: estoria.Store) -> None:
    stream = estoria.new_id("order")
    append_n(store, stream, 5)
    with store.subscribe(3) as sub:
        assert [e.stream_version for e in collect(sub, 2)] == [4, 5]
        assert sub.position >= 5
    with store.subscribe(estoria.POSITION_END) as sub:
        assert sub.poll(0) == []
        append_n(store, stream, 2)
        assert [e.stream_version for e in collect(sub, 2)] == [6, 7]


def test_filters_by_stream_prefix_and_event_types(store: estoria.Store) -> None:
    order, user = estoria.new_id("order"), estoria.new_id("user")
    store.append(order, [("Placed", b"1"), ("Paid", b"2")])
    store.append(user, [("Registered", b"3"), ("Paid", b"4")])
    with store.subscribe(stream_prefix="order_") as sub:
        assert [(e.stream_type, e.type) for e in collect(sub, 2)] == [("order", "Placed"), ("order", "Paid")]
        assert sub.poll(0.05) == []
    with store.subscribe(event_types=["Paid", "Registered"]) as sub:
        assert [e.data for e in collect(sub, 3)] == [b"2", b"3", b"4"]
    with store.subscribe(stream_prefix="user_", event_types=["Paid"]) as sub:
        assert [e.data for e in collect(sub, 1)] == [b"4"]
        assert sub.poll(0.05) == []
        assert sub.position == store.stats().last_position


def test_poll_never_waits_with_timeout_zero(store: estoria.Store) -> None:
    with store.subscribe(estoria.POSITION_END) as sub:
        start = time.monotonic()
        assert sub.poll(0) == []
        assert time.monotonic() - start < 0.5
        assert sub.poll(0.05) == []


def test_wake_from_another_thread_ends_a_waiting_iteration(memory_store: estoria.Store) -> None:
    sub = memory_store.subscribe(estoria.POSITION_END)
    got: List[Any] = []
    done = threading.Event()

    def consume() -> None:
        got.extend(sub)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.1)
    assert not done.is_set()
    sub.wake()
    assert done.wait(5), "wake did not end the waiting iteration"
    t.join()
    assert got == []
    # A wake makes a waiting poll(None) return [] too.
    timer = threading.Timer(0.1, sub.wake)
    timer.start()
    assert sub.poll(None) == []
    sub.close()
    with pytest.raises(estoria.Closed):
        sub.wake()


def test_close_from_another_thread_while_waiting_returns(memory_store: estoria.Store) -> None:
    sub = memory_store.subscribe(estoria.POSITION_END)
    done = threading.Event()
    got: List[Any] = []

    def consume() -> None:
        got.extend(sub)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.1)
    sub.close()
    assert done.wait(5), "close did not end the waiting iteration"
    t.join()
    assert sub.closed
    with pytest.raises(estoria.Closed):
        sub.poll(0)
    sub.close()  # idempotent
    # A poll(None) waiting on another thread returns [] when closed.
    sub = memory_store.subscribe(estoria.POSITION_END)
    result: List[Any] = []
    t = threading.Thread(target=lambda: result.append(sub.poll(None)))
    t.start()
    time.sleep(0.1)
    sub.close()
    t.join(5)
    assert not t.is_alive() and result == [[]]


def test_store_closed_under_a_waiting_subscription_raises_closed(uri: str) -> None:
    store = estoria.Store.open(uri, sync_mode=estoria.SyncMode.NONE)
    sub = store.subscribe(estoria.POSITION_END)
    errors: List[BaseException] = []

    def consume() -> None:
        try:
            for _ in sub:
                pass
        except BaseException as e:  # noqa: B036 - checked below
            errors.append(e)

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.1)
    store.close()
    t.join(5)
    assert not t.is_alive(), "the waiting iteration did not return when the store closed"
    assert len(errors) == 1 and isinstance(errors[0], estoria.Closed), errors
    assert "closed" in str(errors[0]).lower()
    with pytest.raises(estoria.Closed):
        sub.poll(0)
    sub.close()
    with pytest.raises(estoria.Closed):
        store.subscribe()


def test_descriptor_polls_readable_when_events_arrive(memory_store: estoria.Store) -> None:
    import select

    with memory_store.subscribe(estoria.POSITION_END) as sub:
        fd = sub.fileno()
        assert fd >= 0
        memory_store.append(estoria.new_id("order"), [("Placed", b"")])
        readable, _, _ = select.select([fd], [], [], 5)
        assert readable == [fd]
        assert [e.type for e in sub.poll(0)] == ["Placed"]


def test_invalid_options_are_refused(memory_store: estoria.Store) -> None:
    with pytest.raises(estoria.InvalidArgument):
        memory_store.subscribe(-2)
    with pytest.raises(TypeError):
        memory_store.subscribe(event_types="Placed")
    with pytest.raises(estoria.InvalidArgument):
        memory_store.subscribe(event_types=["_bad"])
    with pytest.raises(estoria.InvalidArgument):
        memory_store.subscribe(batch_size=0)
    with pytest.raises(TypeError):
        estoria.Subscription(1, 1)


def test_async_for_follows_through_the_descriptor(uri: str) -> None:
    async def main() -> None:
        with estoria.Store.open(uri, sync_mode=estoria.SyncMode.NONE) as store:
            stream = estoria.new_id("order")
            append_n(store, stream, 3)
            sub = store.subscribe()
            got: List[int] = []

            async def consume() -> None:
                async for event in sub:
                    got.append(event.stream_version)
                    if len(got) == 10:
                        break

            task = asyncio.ensure_future(consume())
            for i in range(7):
                await asyncio.sleep(0.01)
                store.append(stream, [("Tick", b"")])
            await asyncio.wait_for(task, 10)
            assert got == list(range(1, 11))

            # The loop is never blocked: a waiting iteration lets other tasks run,
            # and cancelling it unregisters the descriptor.
            task = asyncio.ensure_future(consume())
            ticks = 0
            for _ in range(5):
                await asyncio.sleep(0.01)
                ticks += 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert ticks == 5

            # wake() from another thread ends an async iteration.
            async def until_woken() -> int:
                n = 0
                async for _ in sub:
                    n += 1
                return n

            task = asyncio.ensure_future(until_woken())
            await asyncio.sleep(0.05)
            threading.Thread(target=sub.wake).start()
            assert await asyncio.wait_for(task, 5) == 0

            # close() from the loop's thread ends a waiting iteration.
            task = asyncio.ensure_future(until_woken())
            await asyncio.sleep(0.05)
            sub.close()
            assert await asyncio.wait_for(task, 5) == 0

    asyncio.run(main())


def test_async_iteration_raises_closed_when_the_store_closes() -> None:
    async def main() -> None:
        store = estoria.Store.open("memory:")
        sub = store.subscribe(estoria.POSITION_END)

        async def consume() -> None:
            async for _ in sub:
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.05)
        store.close()
        with pytest.raises(estoria.Closed):
            await asyncio.wait_for(task, 5)
        sub.close()

    asyncio.run(main())


def test_events_carry_their_metadata(memory_store: estoria.Store) -> None:
    with memory_store.subscribe() as sub:
        memory_store.append(estoria.new_id("order"), [("Placed", b"x", "text/plain", {"b": "2", "a": "1"})])
        (event,) = collect(sub, 1)
        assert (event.type, event.data, event.content_type) == ("Placed", b"x", "text/plain")
        assert list(event.metadata.items()) == [("a", "1"), ("b", "2")]
