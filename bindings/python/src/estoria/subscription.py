"""Subscription: live events of a store (catch up from a position, then follow).

Over the header's experimental est_subscribe / est_subscription_* calls.
Three ways to consume one, each yielding copies (RecordedEvent) in global
order, every event once:

- ``for event in sub``: waits for each next event; ends when wake() is
  called (from any thread) or the subscription is closed; raises Closed
  when the store closes under it;
- ``sub.poll(timeout)``: the events ready now, waiting up to timeout
  seconds for the first (0: never wait; None: until events or a wake);
- ``async for event in sub``: on asyncio, through the subscription's
  descriptor (loop.add_reader), never blocking the loop.

Ownership: a Subscription owns its est_subscription; close() (or leaving its
``with`` block, or garbage collection) frees it. It does not keep the store
open: closing the store makes it raise Closed, a waiting poll promptly.

Thread safety: polls are serialised by a lock (the ABI allows one thread at
a time); wake() and close() may be called from any thread: close() wakes a
waiting poll and frees the handle once it has returned.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import sys
import threading
from typing import TYPE_CHECKING, Any, AsyncIterator, Deque, Dict, Iterable, Iterator, List, Optional, Tuple

from . import _native as n
from ._util import EVENT_SIZE, HandleGuard, check_private, cint, copy_event, cstr
from .errors import Closed, InvalidArgument, check, error_for
from .types import RecordedEvent

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

lib = n.lib

POSITION_END = n.EST_POSITION_END  # as after_position: only what commits from now on

_TEMPLATE = EVENT_SIZE.to_bytes(4, sys.byteorder) + bytes(EVENT_SIZE - 4)
# A blocking wait is cut into slices this long, so that a signal (Ctrl-C)
# is handled within one: a C call cannot be interrupted.
_SLICE_US = 500_000


def subscribe_options(
    after_position: int, stream_prefix: Optional[str], event_types: Optional[Iterable[str]]
) -> Tuple[n.est_subscribe_options, List[Any]]:
    """The options struct and the objects it points into (keep them alive)."""
    options = n.sized(n.est_subscribe_options)
    position = cint(after_position, "after_position")
    if position < POSITION_END:
        raise InvalidArgument("after_position must be >= 0, or POSITION_END")
    options.after_position = position
    return options, set_filters(options, stream_prefix, event_types)


def set_filters(options: Any, stream_prefix: Optional[str], event_types: Optional[Iterable[str]]) -> List[Any]:
    """Fills the stream_prefix and event_types fields of a subscription's or
    projection's options; returns the objects they point into (keep them alive)."""
    keep: List[Any] = []
    if stream_prefix is not None:
        prefix = cstr(stream_prefix, "stream_prefix")
        keep.append(prefix)
        options.stream_prefix = prefix
    if event_types is not None:
        if isinstance(event_types, (str, bytes)):
            raise TypeError("event_types must be an iterable of str, not a single string")
        names = [cstr(t, "event type") for t in event_types]
        array = (ctypes.c_char_p * max(1, len(names)))(*names)
        keep += [names, array]
        if names:
            options.event_types = ctypes.cast(array, ctypes.POINTER(ctypes.c_char_p))
            options.event_types_len = len(names)
    return keep


class Subscription:
    """A live subscription; made by Store.subscribe."""

    def __init__(self, ptr: int, batch_size: int, _token: object = None) -> None:
        self._guard: Optional[HandleGuard] = None
        check_private(_token, "Subscription (use Store.subscribe)")
        self._guard = HandleGuard(ptr, "subscription")
        self._lock = threading.Lock()
        self._capacity = batch_size
        self._array = (n.est_event * batch_size).from_buffer_copy(_TEMPLATE * batch_size)
        self._address = ctypes.addressof(self._array)
        self._count = ctypes.c_size_t(0)
        self._pending: Deque[RecordedEvent] = collections.deque()
        self._types: Dict[bytes, str] = {}
        self._woken = False  # set by wake(): ends an iteration that waits
        self._reader: Optional[Tuple[asyncio.AbstractEventLoop, int, "asyncio.Future[None]"]] = None

    # -- state

    @property
    def closed(self) -> bool:
        return self._guard is None or self._guard.closed

    @property
    def position(self) -> int:
        """Every event at or below it was delivered (or filtered out): a
        position to subscribe again from. Events fetched but not yet handed
        out do not count."""
        with self._lock:  # one thread at a time on the handle (the ABI's rule)
            if self._pending:
                return self._pending[0].global_position - 1
            return int(self._call(lib.est_subscription_position))

    def fileno(self) -> int:
        """A descriptor that polls readable when events may be ready (for
        select, selectors or an event loop). Owned by the subscription: do
        not read or close it. Readable promises nothing: poll(0) then."""
        fd = ctypes.c_int(-1)
        with self._lock:
            check(self._call(lib.est_subscription_fd, ctypes.byref(fd)))
        return fd.value

    def _call(self, fn: Any, *args: Any) -> Any:
        assert self._guard is not None
        return self._guard.call(fn, *args)

    # -- polling

    def _fetch(self, timeout_us: int) -> int:
        """One est_subscription_poll into the pending queue; the count fetched."""
        with self._lock:
            status = self._call(
                lib.est_subscription_poll, self._array, self._capacity, ctypes.byref(self._count), timeout_us
            )
            if status != n.EST_OK:
                raise error_for(status)
            count = self._count.value
            if count:
                raw = ctypes.string_at(self._address, count * EVENT_SIZE)
                address, types = self._address, self._types
                runs: Dict[int, str] = {}  # this batch's stream types by address
                self._pending.extend(
                    copy_event(raw, i * EVENT_SIZE, address + i * EVENT_SIZE, types, runs) for i in range(count)
                )
            return count

    def _take_woken(self) -> bool:
        woken, self._woken = self._woken, False
        return woken

    def poll(self, timeout: Optional[float] = 0.0) -> List[RecordedEvent]:
        """The events ready now (at most the batch size), waiting up to
        `timeout` seconds for the first: 0 never waits, None waits until
        events, a wake(), a close() or the store's close (Closed). [] on
        timeout, wake or a close() that ended the wait; Closed on a closed
        subscription."""
        if self._pending:
            out = list(self._pending)
            self._pending.clear()
            return out
        if timeout is None:
            try:
                while not self._fetch(_SLICE_US):
                    if self._take_woken():
                        return []
            except Closed:
                if self.closed:  # close() from another thread ended the wait
                    return []
                raise
        else:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
            if timeout < 0:
                raise InvalidArgument("timeout must be >= 0 (None waits without limit)")
            self._fetch(min(int(timeout * 1_000_000), (1 << 63) - 1))
        self._take_woken()
        out = list(self._pending)
        self._pending.clear()
        return out

    def __iter__(self) -> Iterator[RecordedEvent]:
        """Waits for each next event; ends on wake() or close(); Closed when the store closes."""
        while True:
            while self._pending:
                yield self._pending.popleft()
            if self.closed:
                return
            try:
                while not self._fetch(_SLICE_US):
                    if self._take_woken():
                        return
            except Closed:
                if self.closed:  # closed by our own close(), not the store's
                    return
                raise

    # -- asyncio

    def __aiter__(self) -> AsyncIterator[RecordedEvent]:
        return self

    async def __anext__(self) -> RecordedEvent:
        """The next event, awaiting the descriptor between polls; the
        iteration ends on wake() or close(); Closed when the store closes."""
        while True:
            if self._pending:
                return self._pending.popleft()
            if self.closed:
                raise StopAsyncIteration
            try:
                fetched = self._fetch(0)
            except Closed:
                if self.closed:
                    raise StopAsyncIteration from None
                raise
            if fetched:
                continue
            if self._take_woken():
                raise StopAsyncIteration
            await self._readable()

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        fd = self.fileno()
        future: "asyncio.Future[None]" = loop.create_future()

        def ready() -> None:
            if not future.done():
                future.set_result(None)

        loop.add_reader(fd, ready)
        self._reader = (loop, fd, future)
        try:
            await future
        finally:
            if self._reader is not None and self._reader[2] is future:
                self._reader = None
                loop.remove_reader(fd)

    def _drop_reader(self) -> None:
        """Unregisters the descriptor from an event loop before it is closed."""
        reader = self._reader
        if reader is None:
            return
        loop, fd, future = reader

        def drop() -> None:
            if self._reader is not None and self._reader[2] is future:
                self._reader = None
                loop.remove_reader(fd)
            if not future.done():
                future.set_result(None)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop.is_closed():
            self._reader = None
            return
        if running is loop:
            drop()
            return
        done = threading.Event()

        def drop_and_signal() -> None:
            try:
                drop()
            finally:
                done.set()

        loop.call_soon_threadsafe(drop_and_signal)
        done.wait(5.0)

    # -- waking and closing

    def wake(self) -> None:
        """Makes a waiting poll return [] and ends a waiting iteration (sync
        or async); from any thread. Closed once the subscription is closed."""
        self._woken = True
        check(self._call(lib.est_subscription_wake))

    def close(self) -> None:
        """Ends the subscription, from any thread: a waiting poll or
        iteration returns, then the handle is freed. Idempotent."""
        if self._guard is None:
            return
        self._drop_reader()
        ptr = self._guard.take_for_close(interrupt=lib.est_subscription_wake)
        if ptr is not None:
            lib.est_subscription_close(ptr)
        self._pending.clear()

    def __enter__(self) -> "Subscription":
        if self.closed:
            raise Closed("the subscription is closed")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        guard = self.__dict__.get("_guard")
        if guard is not None:
            guard.free_at_collection(lambda ptr: lib.est_subscription_close(ptr))

    def __repr__(self) -> str:
        return f"<estoria.Subscription{' closed' if self.closed else ''}>"


def open_subscription(
    store: "Store",
    after_position: int,
    stream_prefix: Optional[str],
    event_types: Optional[Iterable[str]],
    batch_size: int,
    token: object,
) -> Subscription:
    size = cint(batch_size, "batch_size")
    if not 1 <= size <= 65536:
        raise InvalidArgument("batch_size must be within 1..65536")
    options, keep = subscribe_options(after_position, stream_prefix, event_types)
    out = ctypes.c_void_p()
    check(store._call(lib.est_subscribe, ctypes.byref(options), ctypes.byref(out)))
    del keep
    assert out.value is not None
    return Subscription(out.value, size, token)


__all__ = ["Subscription", "POSITION_END"]
