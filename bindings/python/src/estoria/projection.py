"""Projection: the library's projection engine (est_projection_*) driving a
Python handler.

A projection is a handler over the store's global order, named "name_vN"
(the ID of its checkpoint). run() resumes from the checkpoint, catches up,
then follows new commits, calling handler(events, txn) with runs of up to
batch_max events (RecordedEvent copies) in position order. The guarantees
are the engine's (doc/data-model.md "Projections"):

- at least once (the default): txn is None; the checkpoint never passes what
  the handler finished, so a crash hands again what followed the last save;
- exactly once: txn is a ProjectionTxn; what the handler appends through it
  commits with the checkpoint in one transaction;
- an exception the handler raises is an error status for the engine: the run
  stops with the checkpoint at the last call that succeeded, and run()
  raises HandlerError from it (an exception that is not an Exception, such
  as KeyboardInterrupt, as it is); with continue_on_error the failed call's
  events are handed again one at a time, and those that fail are skipped,
  counted and reported to the log handler (estoria.set_log_handler).

Ownership: a Projection owns its est_projection and the handler's C
trampoline; close() (or leaving its ``with`` block, or garbage collection)
frees them; its checkpoint stays in the store. It does not keep the store
open: closing the store makes run() raise Closed, a waiting run promptly.

Thread safety: runs are serialised (the ABI allows one thread at a time);
wake() and close() may be called from any thread; close() wakes a running
run and frees the handle once it has returned.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import _native as n
from ._util import EVENT_SIZE, PRIVATE, HandleGuard, check_private, cint, copy_event, cstr
from .errors import Closed, EstoriaError, HandlerError, InvalidArgument, check, error_for
from .subscription import set_filters
from .txn import add_append
from .types import ANY, ProjectionReport, RecordedEvent

if TYPE_CHECKING:  # pragma: no cover
    from .store import EventLike, Expectation, Store

lib = n.lib

Handler = Callable[[List[RecordedEvent], Optional["ProjectionTxn"]], Any]

# A run without a budget is cut into runs this long, so that a signal
# (Ctrl-C) is handled within one: a C call cannot be interrupted.
_SLICE_US = 500_000
_string_at = getattr(ctypes, "_string_at", ctypes.string_at)


def _status_for(exc: BaseException) -> int:
    # A handler may raise one of ours to choose the status; others are INTERNAL.
    if isinstance(exc, EstoriaError) and exc.status < 0 and exc.status != n.EST_ERR_APPLIED_PARTIALLY:
        return exc.status
    return n.EST_ERR_INTERNAL


class ProjectionTxn:
    """The exactly-once transaction of one handler call: what is appended
    through it commits with the projection's checkpoint (the engine commits;
    a failed call's appends are dropped). Valid during the call only."""

    def __init__(self, ptr: int, _token: object = None) -> None:
        self._guard: Optional[HandleGuard] = None
        check_private(_token, "ProjectionTxn")
        self._guard = HandleGuard(ptr, "projection's transaction (valid during the handler's call only)")

    @property
    def closed(self) -> bool:
        return self._guard is None or self._guard.closed

    def _call(self, fn: Any, *args: Any) -> Any:
        assert self._guard is not None
        return self._guard.call(fn, *args)

    def append(
        self,
        stream_id: str,
        events: Union["EventLike", Iterable["EventLike"]],
        *,
        expected: "Expectation" = ANY,
    ) -> None:
        """Adds an append of events to stream_id (as Transaction.append);
        expectations are checked when the engine commits (a failure ends the
        run with VersionMismatch, nothing of the call written)."""
        add_append(self._call, stream_id, events, expected)

    def __len__(self) -> int:
        """Appends added in this call."""
        return int(self._call(lib.est_txn_size))

    def _end(self) -> None:
        # Not freed: the projection owns the est_txn.
        if self._guard is not None:
            self._guard.take_for_close()

    def __repr__(self) -> str:
        return f"<estoria.ProjectionTxn{' closed' if self.closed else ''}>"


class _Dispatch:
    """The C handler's Python side. Holds no reference to the Projection, so
    that the trampoline makes no cycle with it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.types: Dict[bytes, str] = {}
        self.failures: List[Tuple[BaseException, int]] = []  # (exception, status returned), this run

    def __call__(self, _user: Optional[int], events: Optional[int], count: int, txn: Optional[int]) -> int:
        # Nothing may propagate into C: a ctypes callback that raises
        # returns garbage to the engine.
        try:
            assert events is not None
            raw = _string_at(events, count * EVENT_SIZE)
            types = self.types
            runs: Dict[int, str] = {}  # this batch's stream types by address
            batch = [copy_event(raw, i * EVENT_SIZE, events + i * EVENT_SIZE, types, runs) for i in range(count)]
            tx = ProjectionTxn(txn, PRIVATE) if txn else None
            try:
                self.handler(batch, tx)
            finally:
                if tx is not None:
                    tx._end()
            return n.EST_OK
        except BaseException as e:  # noqa: B036 - re-raised by run()
            try:
                status = _status_for(e)
                self.failures.append((e, status))
                text = f"{type(e).__name__}: {e}"
                lib.est_set_error(text.encode("utf-8", "replace").replace(b"\0", b"?")[:4096])
                return status
            except BaseException:  # pragma: no cover - even the stash failed
                return n.EST_ERR_INTERNAL


class Projection:
    """A projection driven by the library's engine; made by Store.projection."""

    def __init__(
        self,
        store: "Store",
        name: str,
        version: int,
        handler: Handler,
        options: n.est_projection_options,
        _token: object = None,
    ) -> None:
        self._guard: Optional[HandleGuard] = None
        check_private(_token, "Projection (use Store.projection)")
        if not callable(handler):
            raise TypeError("handler must be callable: handler(events, txn)")
        c_name = cstr(name, "name")
        v = cint(version, "version")
        if not 1 <= v < (1 << 31):
            raise InvalidArgument("version must be within 1..2**31-1")
        self.name = name
        self.version = v
        self._dispatch = _Dispatch(handler)
        # The library calls it until the projection is freed: it lives as long as this object.
        self._c_handle = n.projection_handle_fn(self._dispatch)
        h = n.sized(n.est_projection_handler)
        h.name = c_name
        h.version = v
        h.handle = self._c_handle
        out = ctypes.c_void_p()
        check(store._call(lib.est_projection_new, ctypes.byref(h), ctypes.byref(options), ctypes.byref(out)))
        assert out.value is not None
        self._guard = HandleGuard(out.value, "projection")
        self._run_lock = threading.Lock()
        self._runner: Optional[int] = None  # the thread in run(), to refuse a run from the handler
        self._wake_lock = threading.Lock()
        self._woken = False  # set by wake(): ends a sliced run
        self.last_report: Optional[ProjectionReport] = None  # of the last run(), also a failed one

    @property
    def id(self) -> str:
        """The projection's ID, "name_vN": its checkpoint's."""
        return f"{self.name}_v{self.version}"

    @property
    def closed(self) -> bool:
        return self._guard is None or self._guard.closed

    def _call(self, fn: Any, *args: Any) -> Any:
        assert self._guard is not None
        return self._guard.call(fn, *args)

    # -- running

    def run(self, budget_us: Optional[int] = None) -> ProjectionReport:
        """Catches up and follows for at most budget_us microseconds (0: what
        is ready now, never waiting; None or negative: until wake(), close()
        or the store's close), then saves the checkpoint; returns the report.

        Raises HandlerError (from the handler's exception) when the handler
        raised, the handler's non-Exception (KeyboardInterrupt) as it is,
        NotFound when this version was retired by a cutover, Closed, ...;
        last_report then says where the run stopped.
        """
        budget = -1 if budget_us is None else cint(budget_us, "budget_us")
        if self._runner == threading.get_ident():
            raise InvalidArgument("a projection cannot run from its own handler")
        with self._run_lock:
            self._runner = threading.get_ident()
            try:
                return self._run_locked(budget)
            finally:
                self._runner = None

    def _run_once(self, ptr: int, budget_us: int) -> Tuple[int, Optional[bytes], Any]:
        report = n.sized(n.est_projection_report)
        status = lib.est_projection_run(ptr, budget_us, ctypes.byref(report))
        # The thread's message, before any other call can replace it.
        message = lib.est_last_error() if status != n.EST_OK else None
        return status, message, report

    def _interrupted(self) -> bool:
        return any(not isinstance(e, Exception) for e, _ in self._dispatch.failures)

    def _run_locked(self, budget: int) -> ProjectionReport:
        assert self._guard is not None
        ptr = self._guard.enter()
        dispatch = self._dispatch
        dispatch.failures = []
        handled = skipped = 0
        try:
            if budget >= 0:
                status, message, r = self._run_once(ptr, budget)
                handled, skipped = r.handled, r.skipped
            else:
                while True:
                    start = time.monotonic_ns()
                    status, message, r = self._run_once(ptr, _SLICE_US)
                    early = time.monotonic_ns() - start < _SLICE_US * 1000
                    handled += r.handled
                    skipped += r.skipped
                    if status != n.EST_OK or self._interrupted():
                        break
                    # A run that returns OK before its budget was woken (by
                    # wake() or close()), its wake consumed.
                    if early:
                        break
                    with self._wake_lock:
                        woken = self._woken
                    if woken:
                        # The wake may have come after the slice's last look:
                        # a run of 1 us consumes it (at most one handler call).
                        status, message, r = self._run_once(ptr, 1)
                        handled += r.handled
                        skipped += r.skipped
                        break
            with self._wake_lock:
                self._woken = False
        finally:
            self._guard.leave()
        report = ProjectionReport(r.position, r.head, handled, skipped, bool(r.caught_up))
        self.last_report = report
        failures, dispatch.failures = dispatch.failures, []
        for exc, _ in failures:
            if not isinstance(exc, Exception):
                raise exc
        if status == n.EST_OK:
            # continue_on_error: the failures were skipped, counted and logged.
            return report
        text = (message or b"").decode("utf-8", "replace") or None
        if failures:
            exc, returned = failures[-1]
            if status == returned:
                raise HandlerError(text or f"the handler raised {type(exc).__name__}", status, report) from exc
            raise error_for(status, text) from exc
        raise error_for(status, text)

    # -- waking and closing

    def wake(self) -> None:
        """Makes a running run() return (or the next one, when none runs);
        from any thread, also the handler. Closed once the projection is closed."""
        with self._wake_lock:
            self._woken = True
            check(self._call(lib.est_projection_wake))

    def close(self) -> None:
        """Frees the projection (its checkpoint stays), from any thread: a
        running run() is woken and returns first. Idempotent; refused
        (InvalidArgument) from the handler."""
        if self._guard is None:
            return
        ptr = self._guard.take_for_close(interrupt=lib.est_projection_wake)
        if ptr is not None:
            lib.est_projection_free(ptr)

    def __enter__(self) -> "Projection":
        if self.closed:
            raise Closed("the projection is closed")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        guard = self.__dict__.get("_guard")
        if guard is not None:
            guard.free_at_collection(lambda ptr: lib.est_projection_free(ptr))

    def __repr__(self) -> str:
        return f"<estoria.Projection {self.id!r}{' closed' if self.closed else ''}>"


def open_projection(
    store: "Store",
    name: str,
    handler: Handler,
    version: int,
    batch_max: int,
    checkpoint_every: int,
    stream_prefix: Optional[str],
    event_types: Optional[Iterable[str]],
    continue_on_error: bool,
    exactly_once: bool,
    cutover_when_caught_up: bool,
    token: object,
) -> Projection:
    options = n.sized(n.est_projection_options)
    size = cint(batch_max, "batch_max")
    if not 1 <= size <= n.EST_PROJECTION_BATCH_MAX:
        raise InvalidArgument(f"batch_max must be within 1..{n.EST_PROJECTION_BATCH_MAX}")
    every = cint(checkpoint_every, "checkpoint_every")
    if not 0 <= every < (1 << 32):
        raise InvalidArgument("checkpoint_every must be within 0..2**32-1")
    flags = 0
    for value, what, flag in (
        (continue_on_error, "continue_on_error", n.EST_PROJECTION_CONTINUE_ON_ERROR),
        (exactly_once, "exactly_once", n.EST_PROJECTION_EXACTLY_ONCE),
        (cutover_when_caught_up, "cutover_when_caught_up", n.EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"{what} must be a bool")
        if value:
            flags |= flag
    options.batch_max = size
    options.checkpoint_every = every
    options.flags = flags
    keep = set_filters(options, stream_prefix, event_types)
    projection = Projection(store, name, version, handler, options, token)
    del keep
    return projection


def _version(value: Any, what: str) -> int:
    v = cint(value, what)
    if not -(1 << 31) <= v < (1 << 31):
        raise InvalidArgument(f"{what} is out of the int32 range")
    return v


def rebuild(store: "Store", name: str, next_version: int, reason: Optional[str]) -> None:
    why = None if reason is None else cstr(reason, "reason")
    check(store._call(lib.est_projection_rebuild, cstr(name, "name"), _version(next_version, "next_version"), why))


def cutover(store: "Store", name: str, version: int) -> None:
    check(store._call(lib.est_projection_cutover, cstr(name, "name"), _version(version, "version")))


def active_version(store: "Store", name: str) -> int:
    out = ctypes.c_int32(0)
    check(store._call(lib.est_projection_active_version, cstr(name, "name"), ctypes.byref(out)))
    return int(out.value)


__all__ = ["Projection", "ProjectionTxn"]
