"""Aggregates over the library's aggregate engine (est_aggregate_*).

The engine loads an aggregate (newest usable snapshot, then a fold of later
events) and saves it (append expecting the loaded version, apply, snapshot
by policy); the Python side supplies the state through callbacks:

- new_state(uuid) -> a fresh state (any Python object);
- apply(state, event) -> the new state, or None when it mutated `state`;
- encode(state) -> bytes and decode(bytes) -> state: optional, both or
  neither; needed for snapshots and the cache (pickle or json: your choice).

States live in a dict keyed by a small integer handle; that integer is the
`void*` the library holds, so no Python object's address ever crosses.

Every callback is wrapped: a Python exception (any BaseException, also
KeyboardInterrupt) is stashed on the calling thread, the library gets an
error status and the exception's text via est_set_error, and once the C call
returns the stashed exception is raised in the caller. A ctypes callback
must never raise: its return value would then be garbage to C.

Ownership and threads: an AggregateStore may be used from many threads at
once; an Aggregate from one thread at a time (a lock serialises it). Both
may outlive the Store, whose closing makes their calls raise Closed.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import uuid as uuid_mod
import warnings
from typing import Any, Callable, Dict, Generic, Optional, TypeVar, Union

from . import _native as n
from ._util import EVENT_SIZE, PRIVATE, HandleGuard, check_private, cbytes, cint, copy_event, cstr, to_uuid
from .errors import (
    Closed,
    EstoriaError,
    InternalError,
    InvalidArgument,
    VersionMismatch,
    check,
    error_for,
)
from .store import Store, append_result, parse_id
from .types import AggregateStats, AppendResult, RecordedEvent

lib = n.lib

S = TypeVar("S")


class CallbackWarning(RuntimeWarning):
    """A callback raised, but the library recovered and the call succeeded."""


def _status_for(exc: BaseException) -> int:
    # A callback may raise one of ours to choose the status (NotFound, ...);
    # the statuses a callback cannot return become INTERNAL.
    if isinstance(exc, EstoriaError) and exc.status < 0 and exc.status != n.EST_ERR_APPLIED_PARTIALLY:
        return exc.status
    return n.EST_ERR_INTERNAL


class _Callbacks(Generic[S]):
    """The vtable's Python side: the user's functions, the states, and the stash."""

    def __init__(
        self,
        new_state: Callable[[uuid_mod.UUID], S],
        apply: Callable[[S, RecordedEvent], Optional[S]],
        encode: Optional[Callable[[S], bytes]],
        decode: Optional[Callable[[bytes], S]],
    ) -> None:
        self.user_new_state = new_state
        self.user_apply = apply
        self.user_encode = encode
        self.user_decode = decode
        self.states: Dict[int, Any] = {}
        self.ids = itertools.count(1)  # 0 would be NULL, which the library refuses
        self.tls = threading.local()
        self.types: Dict[bytes, str] = {}
        self.c_new_state = n.new_state_fn(self._guarded(self._new_state, n.EST_ERR_INTERNAL))
        self.c_apply = n.apply_fn(self._guarded(self._apply, n.EST_ERR_INTERNAL))
        self.c_free_state = n.free_state_fn(self._guarded(self._free_state, None))
        if encode is not None:
            self.c_encode = n.encode_fn(self._guarded(self._encode, n.EST_ERR_INTERNAL))
            self.c_decode = n.decode_fn(self._guarded(self._decode, n.EST_ERR_INTERNAL))
        else:
            self.c_encode = n.encode_fn()  # NULL
            self.c_decode = n.decode_fn()

    # -- the stash

    def _guarded(self, body: Callable[..., Any], failure: Optional[int]) -> Callable[..., Any]:
        tls = self.tls

        def callback(*args: Any) -> Any:
            try:
                return body(*args)
            except BaseException as e:  # noqa: B036 - stashed, re-raised by the caller
                try:
                    if getattr(tls, "error", None) is None:
                        tls.error = e
                    text = f"{type(e).__name__}: {e}"
                    lib.est_set_error(text.encode("utf-8", "replace").replace(b"\0", b"?")[:4096])
                    return None if failure is None else _status_for(e)
                except BaseException:  # pragma: no cover - even the stash failed
                    return failure

        return callback

    def begin(self) -> None:
        self.tls.error = None

    def take(self) -> Optional[BaseException]:
        err = getattr(self.tls, "error", None)
        self.tls.error = None
        return err

    def finish(self, status: int, what: str) -> None:
        """Raises what the C call's status and the stashed exception (if any) say.

        A callback's exception is re-raised when the call failed. When the
        engine recovered from it and the call succeeded (a failed encode only
        costs a snapshot or cache entry; a failed decode falls back to the
        events), raising would report a done save as failed and invite a
        duplicate retry: the exception becomes a CallbackWarning instead.
        Exceptions that are not Exceptions (KeyboardInterrupt, SystemExit)
        are always raised.
        """
        stashed = self.take()
        if status == n.EST_ERR_APPLIED_PARTIALLY:
            err = error_for(status)
            if stashed is not None:
                raise err from stashed
            raise err
        if stashed is not None:
            if status < 0 or not isinstance(stashed, Exception):
                raise stashed
            warnings.warn(
                CallbackWarning(
                    f"{what} succeeded, but a callback raised {type(stashed).__name__}: {stashed} "
                    "(the library recovered: no snapshot or cache entry, or the events were read instead)"
                ),
                stacklevel=4,
            )
            return
        check(status)

    # -- the callbacks' bodies

    def _register(self, state: Any) -> int:
        key = next(self.ids)
        self.states[key] = state
        return key

    def _new_state(self, _user: Optional[int], uuid_p: Any, out: Any) -> int:
        state = self.user_new_state(uuid_mod.UUID(bytes=bytes(uuid_p.contents.bytes)))
        out[0] = self._register(state)
        return n.EST_OK

    def _apply(self, _user: Optional[int], key: Optional[int], event_p: Optional[int]) -> int:
        assert key is not None and event_p is not None
        raw = ctypes.string_at(event_p, EVENT_SIZE)
        event = copy_event(raw, 0, event_p, self.types)
        result = self.user_apply(self.states[key], event)
        if result is not None:
            self.states[key] = result
        return n.EST_OK

    def _free_state(self, _user: Optional[int], key: Optional[int]) -> None:
        if key is not None:
            self.states.pop(key, None)

    def _encode(self, _user: Optional[int], key: Optional[int], buffer: Optional[int]) -> int:
        assert key is not None and self.user_encode is not None
        data = self.user_encode(self.states[key])
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"encode must return bytes, not {type(data).__name__}")
        payload = bytes(data)
        return int(lib.est_buffer_append(buffer, payload, len(payload)))

    def _decode(self, _user: Optional[int], data_p: Any, length: int, out: Any) -> int:
        assert self.user_decode is not None
        data = ctypes.string_at(data_p, length) if length else b""
        out[0] = self._register(self.user_decode(data))
        return n.EST_OK


class Aggregate(Generic[S]):
    """One aggregate: its state, version and queued events. Free it (or use `with`)."""

    def __init__(self, astore: "AggregateStore[S]", ptr: int, _token: object = None) -> None:
        # Private: AggregateStore.new and .load make these.
        self._ptr: Optional[int] = None
        check_private(_token, "Aggregate")
        self._astore = astore  # keeps the callbacks (and the store) alive for the library
        self._callbacks = astore._callbacks
        self._ptr = ptr
        self._lock = threading.RLock()
        self._busy = False  # inside a C call on this handle (a callback calling back)
        raw_id = lib.est_aggregate_id(ptr) or b""
        self.id: str = raw_id.decode("utf-8", "surrogateescape")
        self.type_name, self.uuid = parse_id(self.id)

    def _enter(self) -> int:
        self._lock.acquire()
        if self._busy:
            self._lock.release()
            raise InvalidArgument("the aggregate is in use by a callback of its own")
        if self._ptr is None:
            self._lock.release()
            raise Closed("the aggregate is freed")
        if self._astore._store.closed:
            self._lock.release()
            raise Closed("the store is closed")
        self._busy = True
        return self._ptr

    def _leave(self) -> None:
        self._busy = False
        self._lock.release()

    @property
    def version(self) -> int:
        ptr = self._enter()
        try:
            return int(lib.est_aggregate_version(ptr))
        finally:
            self._leave()

    @property
    def pending(self) -> int:
        """Events queued and not yet saved."""
        ptr = self._enter()
        try:
            return int(lib.est_aggregate_pending(ptr))
        finally:
            self._leave()

    @property
    def state(self) -> S:
        ptr = self._enter()
        try:
            key = lib.est_aggregate_state(ptr)
            try:
                return self._callbacks.states[key]  # type: ignore[no-any-return]
            except KeyError:
                raise InternalError("the aggregate has no state") from None
        finally:
            self._leave()

    def append(
        self,
        type: str,
        data: bytes = b"",
        *,
        content_type: str = "",
        metadata: Optional[Dict[str, str]] = None,
        event_id: Union[uuid_mod.UUID, str, None] = None,
    ) -> None:
        """Queues a domain event; save() writes and applies the queue.

        event_id makes the save retry-safe: when every queued event carries
        one and they are already stored right after the aggregate's version
        (a save whose reply was lost), save() writes nothing and returns the
        original result with duplicate=True.
        """
        t = cstr(type, "type")
        payload = cbytes(data, "data")
        ct = cstr(content_type, "content_type")
        uid = to_uuid(event_id, "event_id") if event_id is not None else None
        pairs = []
        if metadata:
            if not hasattr(metadata, "items"):
                raise TypeError("metadata must be a mapping of str to str")
            pairs = [(cstr(k, "metadata key"), cstr(v, "metadata value")) for k, v in metadata.items()]
        ptr = self._enter()
        try:
            check(lib.est_aggregate_append(ptr, t, payload, len(payload), ct))
            for k, v in pairs:
                check(lib.est_aggregate_append_metadata(ptr, k, v))
            if uid is not None:
                check(lib.est_aggregate_set_event_id(ptr, ctypes.byref(uid)))
        finally:
            self._leave()

    def save(self) -> AppendResult:
        """Appends the queued events expecting the loaded version, then applies them.

        VersionMismatch: nothing written, queue and state kept (reload and
        retry). AppliedPartially: written but apply failed (reload); the
        apply callback's exception is its __cause__. Another exception raised
        by a callback is re-raised as is.
        """
        ptr = self._enter()
        try:
            expected = int(lib.est_aggregate_version(ptr))
            result = n.sized(n.est_append_result)
            cb = self._callbacks
            cb.begin()
            status = lib.est_aggregate_save(ptr, ctypes.byref(result))
            if status == n.EST_ERR_VERSION_MISMATCH:
                cb.take()
                err = error_for(status)
                raise VersionMismatch(str(err), status, expected=expected, actual=result.actual_version)
            cb.finish(status, "save")
            return append_result(result)
        finally:
            self._leave()

    @property
    def freed(self) -> bool:
        return self._ptr is None

    def free(self) -> None:
        """Frees the aggregate (and its state). Idempotent."""
        with self._lock:
            if self._busy:
                raise InvalidArgument("the aggregate cannot be freed from a callback of its own")
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                lib.est_aggregate_free(ptr)

    close = free

    def __enter__(self) -> "Aggregate[S]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            ptr, self._ptr = self._ptr, None
            if ptr is not None:
                lib.est_aggregate_free(ptr)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"<estoria.Aggregate {self.id!r}{' freed' if self._ptr is None else ''}>"


class AggregateStore(Generic[S]):
    """Aggregates of one type over a Store, with Python state callbacks."""

    def __init__(
        self,
        store: Store,
        type_name: str,
        *,
        new_state: Callable[[uuid_mod.UUID], S],
        apply: Callable[[S, RecordedEvent], Optional[S]],
        encode: Optional[Callable[[S], bytes]] = None,
        decode: Optional[Callable[[bytes], S]] = None,
        snapshot_content_type: str = "",
        snapshot_every: int = 0,
        snapshot_keep_last: int = 0,
        snapshot_keep_min_version: int = 0,
        cache_capacity: int = 0,
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"store must be an estoria.Store, not {type(store).__name__}")
        for name, fn in (("new_state", new_state), ("apply", apply), ("encode", encode), ("decode", decode)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable")
        if new_state is None or apply is None:
            raise TypeError("new_state and apply are required")
        if (encode is None) != (decode is None):
            raise InvalidArgument("encode and decode are both given or both omitted")
        self._store = store
        self.type_name = type_name
        self._callbacks: _Callbacks[S] = _Callbacks(new_state, apply, encode, decode)
        cb = self._callbacks
        vtable = n.sized(n.est_aggregate_type)
        self._type_name_bytes = cstr(type_name, "type_name")
        self._content_type_bytes = cstr(snapshot_content_type, "snapshot_content_type")
        vtable.type_name = self._type_name_bytes
        vtable.user = None
        vtable.new_state = cb.c_new_state
        vtable.apply = cb.c_apply
        vtable.free_state = cb.c_free_state
        vtable.encode = cb.c_encode
        vtable.decode = cb.c_decode
        vtable.snapshot_content_type = self._content_type_bytes
        self._vtable = vtable
        options = n.sized(n.est_aggregate_store_options)
        options.snapshot_every = cint(snapshot_every, "snapshot_every")
        options.snapshot_keep_last = cint(snapshot_keep_last, "snapshot_keep_last")
        options.snapshot_keep_min_version = cint(snapshot_keep_min_version, "snapshot_keep_min_version")
        options.cache_capacity = cint(cache_capacity, "cache_capacity")
        out = ctypes.c_void_p()
        check(store._call(lib.est_aggregate_store_new, ctypes.byref(vtable), ctypes.byref(options), ctypes.byref(out)))
        assert out.value is not None
        self._guard = HandleGuard(out.value, "aggregate store")

    def _enter(self) -> int:
        if self._store.closed:
            raise Closed("the store is closed")
        return self._guard.enter()

    def _uuid(self, value: Union[uuid_mod.UUID, str]) -> n.est_uuid:
        # A UUID, its text, or the aggregate's ID "type_uuid" of this type.
        if isinstance(value, str) and "_" in value:
            type_name, parsed = parse_id(value)
            if type_name != self.type_name:
                raise InvalidArgument(f"{value!r} is not an ID of aggregate type {self.type_name!r}")
            value = parsed
        return to_uuid(value, "uuid")

    def new(self, uuid: Optional[Union[uuid_mod.UUID, str]] = None) -> Aggregate[S]:
        """A new aggregate at version 0 (a new UUIDv7 when uuid is None)."""
        u = self._uuid(uuid) if uuid is not None else None
        ptr = self._enter()
        try:
            out = ctypes.c_void_p()
            cb = self._callbacks
            cb.begin()
            status = lib.est_aggregate_new(ptr, ctypes.byref(u) if u is not None else None, ctypes.byref(out))
            cb.finish(status, "new")
        finally:
            self._guard.leave()
        assert out.value is not None
        return Aggregate(self, out.value, PRIVATE)

    def load(self, uuid: Union[uuid_mod.UUID, str], to_version: int = 0) -> Aggregate[S]:
        """Loads an aggregate at to_version (0 = the latest); NotFound if never written."""
        u = self._uuid(uuid)
        version = cint(to_version, "to_version")
        ptr = self._enter()
        try:
            out = ctypes.c_void_p()
            cb = self._callbacks
            cb.begin()
            status = lib.est_aggregate_load(ptr, ctypes.byref(u), version, ctypes.byref(out))
            cb.finish(status, "load")
        finally:
            self._guard.leave()
        assert out.value is not None
        return Aggregate(self, out.value, PRIVATE)

    def load_at(self, uuid: Union[uuid_mod.UUID, str], timestamp_ns: int) -> Aggregate[S]:
        """Loads an aggregate as of timestamp_ns (unix ns, > 0).

        The fold of its stream up to, not including, the first event stamped
        later, from no snapshot newer than that; NotFound when it had no
        event by then. Experimental in the C ABI (est_aggregate_load_at).
        """
        u = self._uuid(uuid)
        at = cint(timestamp_ns, "timestamp_ns")
        ptr = self._enter()
        try:
            out = ctypes.c_void_p()
            cb = self._callbacks
            cb.begin()
            status = lib.est_aggregate_load_at(ptr, ctypes.byref(u), at, ctypes.byref(out))
            cb.finish(status, "load_at")
        finally:
            self._guard.leave()
        assert out.value is not None
        return Aggregate(self, out.value, PRIVATE)

    def stats(self) -> AggregateStats:
        s = n.sized(n.est_aggregate_stats)
        ptr = self._enter()
        try:
            check(lib.est_aggregate_store_stats(ptr, ctypes.byref(s)))
        finally:
            self._guard.leave()
        return AggregateStats(
            s.loads, s.events_applied, s.snapshots_used, s.snapshots_written, s.cache_hits, s.cache_misses
        )

    @property
    def closed(self) -> bool:
        return self._guard.closed

    def close(self) -> None:
        """Frees the aggregate store; aggregates made from it stay usable. Idempotent."""
        ptr = self._guard.take_for_close()
        if ptr is not None:
            lib.est_aggregate_store_free(ptr)

    def __enter__(self) -> "AggregateStore[S]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if "_guard" not in self.__dict__:
            return
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
