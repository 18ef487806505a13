"""Store, the event store handle, and EventIterator, its batched reads.

Ownership: a Store owns its est_store; close() (or leaving its `with` block,
or garbage collection) frees it. An EventIterator owns its est_iter, which
the library keeps valid after the store closes; the Python side refuses to
use it then (Closed) so that misuse never depends on library state.

Thread safety: a Store may be used from many threads at once; close() waits
for calls in flight. An EventIterator serialises its own calls with a lock
(the C ABI allows one thread at a time on an iterator).
"""

from __future__ import annotations

import ctypes
import sys
import threading
import uuid as uuid_mod
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _native as n
from ._util import EVENT_SIZE, PRIVATE, HandleGuard, check_private, cbytes, cint, copy_event, cstr, to_uuid
from .errors import Closed, EstoriaError, InvalidArgument, VersionMismatch, check, error_for
from .projection import Handler, Projection, open_projection
from .projection import active_version as projection_active_version
from .projection import cutover as projection_cutover
from .projection import rebuild as projection_rebuild
from .subscription import Subscription, open_subscription
from .txn import Transaction
from .types import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendResult,
    Checkpoint,
    Event,
    Expect,
    RecordedEvent,
    Snapshot,
    StoreStats,
    SyncMode,
    Threads,
    MaintainReport,
    VerifyReport,
    CompactReport,
)

lib = n.lib

EventLike = Union[Event, Tuple[Any, ...]]
Expectation = Union[Expect, int]

DEFAULT_BATCH = 256  # events per crossing of the boundary on reads

# An est_event as EST_EVENT_INIT leaves it: struct_size set, the rest zero.
_EVENT_TEMPLATE = EVENT_SIZE.to_bytes(4, sys.byteorder) + bytes(EVENT_SIZE - 4)


# ------------------------------------------------------------------- IDs


def uuid7() -> uuid_mod.UUID:
    """A time-ordered (version 7) UUID, strictly increasing within this process."""
    u = n.est_uuid()
    check(lib.est_uuid_v7(ctypes.byref(u)))
    return uuid_mod.UUID(bytes=bytes(u.bytes))


def new_id(type_name: str, uuid: Optional[Union[uuid_mod.UUID, str]] = None) -> str:
    """The ID "type_uuid" of a stream or aggregate; a new UUIDv7 when uuid is None."""
    t = cstr(type_name, "type_name")
    u = to_uuid(uuid7() if uuid is None else uuid, "uuid")
    buf = ctypes.create_string_buffer(n.EST_ID_MAX_LEN)
    check(lib.est_id_format(t, ctypes.byref(u), buf, len(buf)))
    return buf.value.decode("utf-8", "surrogateescape")


def parse_id(text: str) -> Tuple[str, uuid_mod.UUID]:
    """Splits "type_uuid" into (type, UUID); InvalidArgument when it is not an ID."""
    t = cstr(text, "id")
    buf = ctypes.create_string_buffer(n.EST_TYPE_MAX_LEN + 1)
    u = n.est_uuid()
    check(lib.est_id_parse(t, buf, len(buf), ctypes.byref(u)))
    return buf.value.decode("utf-8", "surrogateescape"), uuid_mod.UUID(bytes=bytes(u.bytes))


# ----------------------------------------------------------------- reads


class EventIterator(Iterator[RecordedEvent]):
    """Events of a read, fetched from the library `batch_size` at a time.

    Each crossing fills an array of est_event views with est_iter_next_batch
    and copies them into RecordedEvent objects, so nothing yielded points
    into library memory. Use as a context manager (or exhaust it) to free the
    library iterator promptly; garbage collection frees it otherwise.
    """

    def __init__(self, store: "Store", ptr: int, batch_size: int, _token: object = None) -> None:
        self._ptr: Optional[int] = None
        check_private(_token, "EventIterator")
        self._store = store
        self._ptr = ptr
        self._lock = threading.Lock()
        self._capacity = batch_size
        # Element 0's struct_size is the stride; every element gets it because
        # est_event_metadata checks the size of the view it is given.
        self._array = (n.est_event * batch_size).from_buffer_copy(_EVENT_TEMPLATE * batch_size)
        self._address = ctypes.addressof(self._array)
        self._count = ctypes.c_size_t(0)
        self._pending: List[RecordedEvent] = []
        self._next = 0
        self._done = False
        self._types: Dict[bytes, str] = {}

    def __iter__(self) -> "EventIterator":
        return self

    def __next__(self) -> RecordedEvent:
        if self._store._guard._ptr is None:  # Store.closed, without two property calls per event
            self._release()
            raise Closed("the store is closed")
        if self._next < len(self._pending):
            event = self._pending[self._next]
            self._next += 1
            return event
        if self._done:
            raise StopIteration
        self._fill()
        if not self._pending:
            raise StopIteration
        self._next = 1
        return self._pending[0]

    def _fill(self) -> None:
        with self._lock:
            ptr = self._ptr
            if ptr is None:
                raise Closed("the iterator is closed")
            status = lib.est_iter_next_batch(ptr, self._array, self._capacity, ctypes.byref(self._count))
            if status == n.EST_END:
                self._pending = []
                self._done = True
                self._free_locked()
                return
            if status != n.EST_OK:
                raise error_for(status)
            count = self._count.value
            raw = ctypes.string_at(self._address, count * EVENT_SIZE)
            address = self._address
            types = self._types
            runs: Dict[int, str] = {}  # this batch's stream types by address
            self._pending = [
                copy_event(raw, i * EVENT_SIZE, address + i * EVENT_SIZE, types, runs) for i in range(count)
            ]

    def _free_locked(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            lib.est_iter_close(ptr)

    def _release(self) -> None:
        with self._lock:
            self._free_locked()
        self._pending = []
        self._done = True

    def close(self) -> None:
        """Frees the library iterator; later iteration ends at once. Idempotent."""
        self._release()

    def __enter__(self) -> "EventIterator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            ptr = self._ptr
            self._ptr = None
            if ptr is not None:
                lib.est_iter_close(ptr)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


# ----------------------------------------------------------------- store


def _expectation(expected: Expectation) -> Tuple[int, int]:
    if expected is ANY:
        return n.EST_EXPECT_ANY, 0
    if expected is NO_STREAM:
        return n.EST_EXPECT_NO_STREAM, 0
    if expected is STREAM_EXISTS:
        return n.EST_EXPECT_STREAM_EXISTS, 0
    if isinstance(expected, Expect):  # pragma: no cover - every member is handled above
        raise InvalidArgument(f"unknown expectation {expected!r}")
    version = cint(expected, "expected")
    if version < 0:
        raise InvalidArgument("expected version must be >= 0")
    return n.EST_EXPECT_VERSION, version


def prepare_events(events: Union[EventLike, Iterable[EventLike]]) -> Iterable[EventLike]:
    """One event alone as a list; TypeError for what is not an iterable of events."""
    if isinstance(events, (Event, tuple)):
        return [events]
    if not isinstance(events, Iterable) or isinstance(events, (str, bytes)):
        raise TypeError("events must be an iterable of estoria.Event or tuples")
    return events


def append_result(r: n.est_append_result) -> AppendResult:
    return AppendResult(
        r.first_version,
        r.last_version,
        r.first_position,
        r.last_position,
        r.actual_version,
        bool(r.flags & n.EST_APPEND_DUPLICATE),
    )


class Store:
    """An open estoria store. Use Store.open(uri) and close it (or use `with`)."""

    def __init__(self, ptr: int, uri: str, _token: object = None) -> None:
        # Private: use Store.open.
        check_private(_token, "Store (use Store.open)")
        self._guard = HandleGuard(ptr, "store")
        self.uri = uri

    @classmethod
    def open(
        cls,
        uri: str,
        *,
        sync_mode: Union[SyncMode, int] = SyncMode.ALWAYS,
        sync_interval_ms: int = 0,
        read_only: bool = False,
        threads: Union[Threads, int] = Threads.LIBRARY,
        clock: Optional[Callable[[], int]] = None,
        random_bytes: Optional[Callable[[int], bytes]] = None,
        log: Optional[Callable[[int, str], None]] = None,
    ) -> "Store":
        """Opens "memory:", "file:PATH" (or a bare path), ...; raises on failure.

        The host's options (doc/abi.md "Hosts"): threads=Threads.NONE starts
        no library thread (call maintain() from your loop); clock() returns
        unix nanoseconds for the store's timestamps and UUIDv7 times;
        random_bytes(n) returns n bytes for the random bits of its IDs; log
        receives this store's messages as (level, message). Same callbacks,
        same calls: byte-identical stores. They are called from the thread
        making a call on the store and must not call into estoria. An
        exception they raise cannot go into C: it is printed, and the
        system's clock or randomness stands in for that call.
        """
        u = cstr(uri, "uri")
        if not isinstance(read_only, bool):
            raise TypeError("read_only must be a bool")
        for name, fn in (("clock", clock), ("random_bytes", random_bytes), ("log", log)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable or None")
        options = n.sized(n.est_store_options)
        options.sync_mode = cint(int(sync_mode) if isinstance(sync_mode, SyncMode) else sync_mode, "sync_mode")
        options.sync_interval_ms = cint(sync_interval_ms, "sync_interval_ms")
        options.read_only = 1 if read_only else 0
        options.threads = cint(int(threads) if isinstance(threads, Threads) else threads, "threads")
        callbacks = _host_callbacks(clock, random_bytes, log)
        if clock is not None:
            options.clock_ns = callbacks[0]
        if random_bytes is not None:
            options.random_bytes = callbacks[1]
        if log is not None:
            options.log = callbacks[2]
        out = ctypes.c_void_p()
        check(lib.est_store_open(u, ctypes.byref(options), ctypes.byref(out)))
        assert out.value is not None
        store = cls(out.value, uri, PRIVATE)
        # The library calls them until the store is closed, and a trampoline
        # freed before that would crash: they live as long as the object.
        store._host_callbacks = callbacks
        return store

    # -- the host's calls (doc/abi.md "Hosts")

    def maintain(self, budget_us: int) -> MaintainReport:
        """Does pending background work for about budget_us microseconds.

        With Threads.NONE: zeros ahead of the log, the interval flush, index
        checkpoints; in every mode, the steps of a scheduled compaction
        (compact_schedule). Raises Cancelled when that compaction was
        cancelled (it is abandoned, the store as it was).
        """
        report = n.sized(n.est_maintain_report)
        check(self._call(lib.est_store_maintain, cint(budget_us, "budget_us"), ctypes.byref(report)))
        return MaintainReport(bool(report.pending), bool(report.compacting))

    def compact_schedule(self) -> None:
        """Schedules a compaction that maintain() then runs in steps."""
        check(self._call(lib.est_store_compact_schedule))

    def cancel(self) -> None:
        """Stops a running or scheduled compaction or verify (any thread);
        it raises Cancelled. With nothing running, nothing happens."""
        check(self._call(lib.est_store_cancel))

    # -- lifetime

    @property
    def closed(self) -> bool:
        return self._guard.closed

    def close(self) -> None:
        """Closes the store (waiting for calls in flight). Idempotent."""
        ptr = self._guard.take_for_close()
        if ptr is not None:
            lib.est_store_close(ptr)

    def __enter__(self) -> "Store":
        if self.closed:
            raise Closed("the store is closed")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if "_guard" not in self.__dict__:  # pragma: no cover - __init__ did not run
            return
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"<estoria.Store {self.uri!r}{' closed' if self.closed else ''}>"

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        result: int = self._guard.call(fn, *args)
        return result

    # -- writes

    def append(
        self,
        stream_id: str,
        events: Union[EventLike, Iterable[EventLike]],
        *,
        expected: Expectation = ANY,
        restore: bool = False,
        first_version: int = 0,
    ) -> AppendResult:
        """Appends events to stream_id atomically (all or none).

        events: estoria.Event objects or tuples (type, data[, content_type[,
        metadata]]); one event alone is accepted too. expected: ANY,
        NO_STREAM, STREAM_EXISTS or the version the stream must be at
        (VersionMismatch otherwise, carrying .expected and .actual). An
        Event's id is kept: when every event carries one, a retry of an
        append already written writes nothing and returns the original
        result with duplicate=True (some but not all of them there is a
        VersionMismatch). restore also keeps each event's timestamp_ns (an
        import) and starts a new stream at first_version.
        """
        sid = cstr(stream_id, "stream_id")
        events = prepare_events(events)
        expect, version = _expectation(expected)
        options = n.sized(n.est_append_options)
        options.expect = expect
        options.expected_version = version
        if not isinstance(restore, bool):
            raise TypeError("restore must be a bool")
        if restore:
            options.flags = n.EST_APPEND_RESTORE
            options.first_version = cint(first_version, "first_version")
        batch = ctypes.c_void_p()
        check(lib.est_batch_new(ctypes.byref(batch)))
        try:
            self._fill_batch(batch, events, restore)
            result = n.sized(n.est_append_result)
            status = self._call(lib.est_append_batch, sid, batch, ctypes.byref(options), ctypes.byref(result), None)
        finally:
            lib.est_batch_free(batch)
        if status == n.EST_ERR_VERSION_MISMATCH:
            err = error_for(status)
            raise VersionMismatch(str(err), status, expected=version, actual=result.actual_version)
        check(status)
        return append_result(result)

    @staticmethod
    def _fill_batch(batch: ctypes.c_void_p, events: Iterable[EventLike], restore: bool) -> None:
        # The hot loop of an append: tuples are unpacked without making an
        # Event, and type and content type strings are converted once per call.
        strings: Dict[str, bytes] = {}
        add = lib.est_batch_add
        for raw in events:
            event_id = timestamp_ns = None
            if type(raw) is tuple:
                size = len(raw)
                if not 1 <= size <= 4:
                    raise TypeError("an event tuple is (type, data[, content_type[, metadata]])")
                type_name = raw[0]
                data = raw[1] if size > 1 else b""
                content_type = raw[2] if size > 2 else ""
                metadata = raw[3] if size > 3 else None
            elif isinstance(raw, Event):
                type_name, data, content_type, metadata = raw.type, raw.data, raw.content_type, raw.metadata
                event_id, timestamp_ns = raw.id, raw.timestamp_ns
            else:
                raise TypeError(f"an event must be an estoria.Event or a tuple, not {type(raw).__name__}")
            t = strings.get(type_name) if type(type_name) is str else None
            if t is None:
                t = strings[type_name] = cstr(type_name, "type")
            ct = strings.get(content_type) if type(content_type) is str else None
            if ct is None:
                ct = strings[content_type] = cstr(content_type, "content_type")
            if type(data) is not bytes:
                data = cbytes(data, "data")
            check(add(batch, t, data, len(data), ct))
            if metadata:
                if not hasattr(metadata, "items"):
                    raise TypeError("metadata must be a mapping of str to str")
                for key, value in metadata.items():
                    check(lib.est_batch_add_metadata(batch, cstr(key, "metadata key"), cstr(value, "metadata value")))
            if event_id is not None:
                u = to_uuid(event_id, "id")
                check(lib.est_batch_set_id(batch, ctypes.byref(u)))
            if restore:
                if timestamp_ns is not None:
                    check(lib.est_batch_set_timestamp(batch, cint(timestamp_ns, "timestamp_ns")))

    def delete_stream(self, stream_id: str, to_version: int = 0) -> None:
        """Deletes a stream wholly (to_version 0) or its events <= to_version."""
        check(self._call(lib.est_delete_stream, cstr(stream_id, "stream_id"), cint(to_version, "to_version")))

    # -- reads

    def read_stream(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        count: int = 0,
        reverse: bool = False,
        until_timestamp_ns: int = 0,
        batch_size: int = DEFAULT_BATCH,
    ) -> EventIterator:
        """An iterator over one stream's events (NotFound for a stream never written).

        Forward, after_version is exclusive; reverse, it is the inclusive upper
        bound (0 = the tip). count 0 = all. until_timestamp_ns (unix ns, 0 = no
        bound) reads the stream as of that time: its events up to, not
        including, the first one stamped later.
        """
        sid = cstr(stream_id, "stream_id")
        if not isinstance(reverse, bool):
            raise TypeError("reverse must be a bool")
        options = n.sized(n.est_read_options)
        options.direction = n.EST_REVERSE if reverse else n.EST_FORWARD
        options.after_version = cint(after_version, "after_version")
        options.count = cint(count, "count")
        options.until_timestamp_ns = cint(until_timestamp_ns, "until_timestamp_ns")
        size = self._batch_size(batch_size, count)
        out = ctypes.c_void_p()
        check(self._call(lib.est_read_stream, sid, ctypes.byref(options), ctypes.byref(out)))
        assert out.value is not None
        return EventIterator(self, out.value, size, PRIVATE)

    def read_all(
        self,
        *,
        after_position: int = 0,
        count: int = 0,
        until_timestamp_ns: int = 0,
        batch_size: int = DEFAULT_BATCH,
    ) -> EventIterator:
        """An iterator over all events in global order, after `after_position` (exclusive).

        until_timestamp_ns (unix ns, 0 = no bound) ends the read before the
        first event stamped later than it.
        """
        options = n.sized(n.est_read_all_options)
        options.after_position = cint(after_position, "after_position")
        options.count = cint(count, "count")
        options.until_timestamp_ns = cint(until_timestamp_ns, "until_timestamp_ns")
        size = self._batch_size(batch_size, count)
        out = ctypes.c_void_p()
        check(self._call(lib.est_read_all, ctypes.byref(options), ctypes.byref(out)))
        assert out.value is not None
        return EventIterator(self, out.value, size, PRIVATE)

    # -- live subscriptions and transactions (the ABI's experimental part)

    def subscribe(
        self,
        after_position: int = 0,
        *,
        stream_prefix: Optional[str] = None,
        event_types: Optional[Iterable[str]] = None,
        batch_size: int = DEFAULT_BATCH,
    ) -> Subscription:
        """A live subscription: the events after `after_position` in global
        order (0: from the first; POSITION_END: only later commits), then
        every later commit, each once and in order. stream_prefix keeps the
        streams whose ID ("type_uuid") starts with it; event_types keeps
        those types (exact names). See estoria.Subscription."""
        return open_subscription(self, after_position, stream_prefix, event_types, batch_size, PRIVATE)

    def transaction(self) -> Transaction:
        """An empty transaction: appends to several streams, all or nothing
        (see estoria.Transaction)."""
        out = ctypes.c_void_p()
        check(self._call(lib.est_txn_new, ctypes.byref(out)))
        assert out.value is not None
        return Transaction(out.value, PRIVATE)

    def projection(
        self,
        name: str,
        handler: Handler,
        *,
        version: int = 1,
        batch_max: int = 256,
        checkpoint_every: int = 0,
        stream_prefix: Optional[str] = None,
        event_types: Optional[Iterable[str]] = None,
        continue_on_error: bool = False,
        exactly_once: bool = False,
        cutover_when_caught_up: bool = False,
    ) -> Projection:
        """The projection "name_vVERSION" over this store's global order,
        resumed from its checkpoint; nothing runs until Projection.run.

        handler(events, txn) gets a list of up to batch_max RecordedEvent
        (1..4096) in position order; txn is None, or with exactly_once a
        ProjectionTxn whose appends commit with the checkpoint.
        checkpoint_every: events between checkpoints (0: after every call).
        stream_prefix and event_types filter as for subscribe (what they
        leave out still moves the position). continue_on_error skips (and
        counts) the events whose handler call raised instead of stopping.
        cutover_when_caught_up makes a requested rebuild's version active on
        its own once it has caught up. See estoria.Projection.
        """
        return open_projection(
            self,
            name,
            handler,
            version,
            batch_max,
            checkpoint_every,
            stream_prefix,
            event_types,
            continue_on_error,
            exactly_once,
            cutover_when_caught_up,
            PRIVATE,
        )

    def rebuild_projection(self, name: str, next_version: int, reason: Optional[str] = None) -> None:
        """Records the request to build next_version of projection `name`
        beside its active version (doc/data-model.md "Rebuilds"); that
        version's projection then runs from the first event. Asking again
        is no error; InvalidArgument unless next_version is above every
        active, requested and retired version."""
        projection_rebuild(self, name, next_version, reason)

    def cutover_projection(self, name: str, version: int) -> None:
        """Makes a caught-up rebuild's version of `name` active and retires
        the previous one (its checkpoint deleted; its runs then raise
        NotFound). VersionMismatch when no such rebuild is pending or it has
        not caught up yet."""
        projection_cutover(self, name, version)

    def active_projection_version(self, name: str) -> int:
        """The active version of projection `name`: the last cutover's, else
        the lowest version with a checkpoint; NotFound when none has one."""
        return projection_active_version(self, name)

    @staticmethod
    def _batch_size(batch_size: int, count: int) -> int:
        size = cint(batch_size, "batch_size")
        if not 1 <= size <= 65536:
            raise InvalidArgument("batch_size must be within 1..65536")
        return min(size, count) if count > 0 else size

    # -- snapshots

    def write_snapshot(
        self,
        aggregate_id: str,
        version: int,
        data: bytes,
        *,
        content_type: str = "",
        timestamp_ns: int = 0,
    ) -> None:
        """Writes a snapshot of aggregate_id at version (> 0)."""
        aid = cstr(aggregate_id, "aggregate_id")
        payload = cbytes(data, "data")
        options = n.sized(n.est_snapshot_write_options)
        options.timestamp_ns = cint(timestamp_ns, "timestamp_ns")
        check(
            self._call(
                lib.est_snapshot_write,
                aid,
                cint(version, "version"),
                payload,
                len(payload),
                cstr(content_type, "content_type"),
                ctypes.byref(options),
            )
        )

    def read_snapshot(self, aggregate_id: str, max_version: int = 0) -> Snapshot:
        """The newest snapshot at or below max_version (0 = any); NotFound when none."""
        aid = cstr(aggregate_id, "aggregate_id")
        out = ctypes.c_void_p()
        check(self._call(lib.est_snapshot_read, aid, cint(max_version, "max_version"), ctypes.byref(out)))
        snap = out.value
        try:
            size = ctypes.c_size_t(0)
            data_p = lib.est_snapshot_data(snap, ctypes.byref(size))
            data = ctypes.string_at(data_p, size.value) if size.value else b""
            return Snapshot(
                aggregate_id,
                lib.est_snapshot_version(snap),
                lib.est_snapshot_timestamp_ns(snap),
                data,
                (lib.est_snapshot_content_type(snap) or b"").decode("utf-8", "surrogateescape"),
            )
        finally:
            lib.est_snapshot_free(snap)

    def prune_snapshots(self, aggregate_id: str, *, keep_last: int = 0, min_version: int = 0) -> None:
        """Removes all but the keep_last newest snapshots and those below min_version."""
        check(
            self._call(
                lib.est_snapshot_prune,
                cstr(aggregate_id, "aggregate_id"),
                cint(keep_last, "keep_last"),
                cint(min_version, "min_version"),
            )
        )

    # -- operation

    def sync(self) -> None:
        """Makes everything written so far durable (StoreIOError if a write failed)."""
        check(self._call(lib.est_store_sync))

    def stats(self) -> StoreStats:
        s = n.sized(n.est_stats)
        check(self._call(lib.est_store_stats, ctypes.byref(s)))
        return StoreStats(s.events, s.streams, s.bytes, s.segments, s.first_position, s.last_position, s.snapshots)

    def verify(self, progress: Optional[Callable[[int, int], None]] = None) -> VerifyReport:
        """Checks every record of the store (Corruption names the first damage).

        progress(done, total) is called on this thread; an exception it raises
        cannot stop the library (the C callback returns nothing), so later
        progress calls are skipped and the exception is raised once verify
        returns.
        """
        report = n.sized(n.est_verify_report)
        self._with_progress(lib.est_store_verify, progress, report)
        return VerifyReport(report.segments, report.records, report.events, report.bytes)

    def compact(self, progress: Optional[Callable[[int, int], None]] = None) -> CompactReport:
        """Reclaims the space of deleted and truncated events, online.

        Every remaining event keeps its version and position. progress as
        for verify. The memory store has nothing to reclaim (a zero report);
        a read-only open raises Unsupported.
        """
        r = n.sized(n.est_compact_report)
        self._with_progress(lib.est_store_compact, progress, r)
        return CompactReport(
            r.segments_before, r.segments_after, r.bytes_before, r.bytes_after, r.events_kept, r.events_dropped
        )

    # -- projection checkpoints (experimental; doc/data-model.md "Checkpoints")

    def save_checkpoint(self, projection_id: str, position: int) -> None:
        """Saves position (>= 0) as the checkpoint of projection_id ("name_vN").
        Last write wins; the store stamps updated_at on every save."""
        check(self._call(lib.est_checkpoint_save, cstr(projection_id, "projection_id"), cint(position, "position")))

    def load_checkpoint(self, projection_id: str) -> Checkpoint:
        """The checkpoint of projection_id; NotFound when there is none."""
        position = ctypes.c_int64()
        updated = ctypes.c_int64()
        check(
            self._call(
                lib.est_checkpoint_load,
                cstr(projection_id, "projection_id"),
                ctypes.byref(position),
                ctypes.byref(updated),
            )
        )
        return Checkpoint(projection_id, position.value, updated.value)

    def delete_checkpoint(self, projection_id: str) -> None:
        """Deletes the checkpoint of projection_id; NotFound when there is none."""
        check(self._call(lib.est_checkpoint_delete, cstr(projection_id, "projection_id")))

    def list_checkpoints(self) -> List[Checkpoint]:
        """Every checkpoint of the store, in ascending ID order."""
        found: List[Checkpoint] = []
        raised: List[BaseException] = []

        def visit(_user: Optional[int], projection_id: bytes, position: int, updated_at_ns: int) -> int:
            # An exception must not cross into C: it stops the listing and
            # is raised after the call.
            try:
                found.append(Checkpoint(projection_id.decode("utf-8"), position, updated_at_ns))
                return n.EST_OK
            except BaseException as e:  # noqa: B036 - re-raised after the C call
                raised.append(e)
                return n.EST_ERR_INTERNAL

        callback = n.checkpoint_visit_fn(visit)
        status = self._call(lib.est_checkpoint_list, callback, None)
        if raised:
            raise raised[0]
        check(status)
        return found

    def _with_progress(self, fn: Any, progress: Optional[Callable[[int, int], None]], report: Any) -> None:
        """Calls fn(store, callback, NULL, &report), relaying progress."""
        if progress is not None and not callable(progress):
            raise TypeError("progress must be callable")
        raised: List[BaseException] = []

        def on_progress(_user: Optional[int], done: int, total: int) -> None:
            if raised or progress is None:
                return
            try:
                progress(done, total)
            except BaseException as e:  # noqa: B036 - re-raised after the C call
                raised.append(e)

        callback = n.progress_fn(on_progress) if progress is not None else n.progress_fn()
        status = self._call(fn, callback, None, ctypes.byref(report))
        if raised:
            raise raised[0]
        check(status)


def _host_callbacks(
    clock: Optional[Callable[[], int]],
    random_bytes: Optional[Callable[[int], bytes]],
    log: Optional[Callable[[int, str], None]],
) -> Tuple[Any, Any, Any]:
    """The C trampolines of a store's host callbacks. Nothing raised in them
    reaches C: a failing clock or randomness is replaced, for that call, by
    the system's, and the exception is printed."""
    import os
    import time
    import traceback

    def on_clock(_user: Optional[int]) -> int:
        try:
            assert clock is not None
            value = int(clock())
            if not -(2**63) <= value < 2**63:
                raise OverflowError(f"clock() returned {value}, beyond int64")
            return value
        except BaseException:  # noqa: B036 - nothing may unwind into C
            traceback.print_exc()
            return time.time_ns()

    def on_random(_user: Optional[int], buf: Optional[int], length: int) -> None:
        try:
            assert random_bytes is not None
            data = bytes(random_bytes(length))
            if len(data) != length:
                raise ValueError(f"random_bytes({length}) returned {len(data)} bytes")
        except BaseException:  # noqa: B036 - nothing may unwind into C
            traceback.print_exc()
            data = os.urandom(length)
        ctypes.memmove(buf, data, length)

    def on_log(_user: Optional[int], level: int, message: Optional[bytes]) -> None:
        try:
            assert log is not None
            log(level, (message or b"").decode("utf-8", "replace"))
        except BaseException:  # noqa: B036 - nothing may unwind into C
            try:
                traceback.print_exc()
            except BaseException:  # pragma: no cover
                pass

    return n.clock_fn(on_clock), n.random_fn(on_random), n.log_fn(on_log)


__all__ = ["Store", "EventIterator", "new_id", "parse_id", "uuid7", "EstoriaError"]
