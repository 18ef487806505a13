"""Transaction: appends to several streams, all or nothing.

Over the header's experimental est_txn_* calls. Each append carries its own
expectation; commit() checks them all and writes every append or none,
returning one AppendResult per append (duplicate=True for an append whose
events, all carrying IDs, were already written: a retry writes nothing).

Ownership: a Transaction owns its est_txn; close() (or leaving its ``with``
block, or garbage collection) frees it, dropping uncommitted appends. It
holds copies of the appended events. It does not keep the store open:
closing the store makes it raise Closed.

Thread safety: one thread at a time (calls are serialised by a lock).
"""

from __future__ import annotations

import ctypes
import re
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Tuple, Union

from . import _native as n
from ._util import HandleGuard, check_private, cstr
from .errors import VersionMismatch, check, error_for
from .types import ANY, AppendResult

if TYPE_CHECKING:  # pragma: no cover
    from .store import EventLike, Expectation

lib = n.lib

# est_last_error() of a failed expectation names "append I to stream S: ".
_FAILED_APPEND = re.compile(r"\bappend (\d+) to stream ")


def add_append(
    call: Callable[..., int],
    stream_id: str,
    events: Union["EventLike", Iterable["EventLike"]],
    expected: "Expectation",
) -> int:
    """est_txn_append through call(fn, *args) (a guarded call on the
    transaction); returns the expected version (0 unless a version)."""
    from .store import Store, _expectation, prepare_events

    sid = cstr(stream_id, "stream_id")
    events = prepare_events(events)
    expect, version = _expectation(expected)
    options = n.sized(n.est_append_options)
    options.expect = expect
    options.expected_version = version
    batch = ctypes.c_void_p()
    check(lib.est_batch_new(ctypes.byref(batch)))
    try:
        Store._fill_batch(batch, events, False)
        check(call(lib.est_txn_append, sid, batch, ctypes.byref(options)))
    finally:
        lib.est_batch_free(batch)
    return version


class Transaction:
    """A transaction; made by Store.transaction()."""

    def __init__(self, ptr: int, _token: object = None) -> None:
        self._guard = None
        check_private(_token, "Transaction (use Store.transaction)")
        self._guard = HandleGuard(ptr, "transaction")
        self._lock = threading.Lock()
        self._appends: List[Tuple[str, int]] = []  # (stream_id, expected version) per append

    @property
    def closed(self) -> bool:
        return self._guard is None or self._guard.closed

    def __len__(self) -> int:
        """Appends not yet committed."""
        return int(self._call(lib.est_txn_size))

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
        """Adds an append of events to stream_id (as Store.append takes them)
        with its expectation: ANY, NO_STREAM, STREAM_EXISTS or a version.
        Inputs are checked and copied now; expectations at commit(). A later
        append to the same stream sees the earlier ones (expect the version
        they leave)."""
        with self._lock:
            version = add_append(self._call, stream_id, events, expected)
            self._appends.append((stream_id, version))

    def checkpoint(self, projection_id: str, position: int) -> None:
        """Adds a save of projection_id's checkpoint at position: saved only
        if the transaction commits, with its appends (a transaction may hold
        only saves)."""
        from ._util import cint

        pid = cstr(projection_id, "projection_id")
        with self._lock:
            check(self._call(lib.est_txn_checkpoint, pid, cint(position, "position")))

    def commit(self) -> List[AppendResult]:
        """Checks every expectation and writes every append, or none.

        Returns one result per append, in order; the transaction is then
        empty and may be reused. A failed expectation raises VersionMismatch
        naming the stream (.stream_id, .index, .expected, .actual); nothing
        is written and the transaction keeps its appends.
        """
        from .store import append_result

        with self._lock:
            count = len(self)
            results = (n.est_append_result * max(1, count))()
            for r in results:
                r.struct_size = ctypes.sizeof(n.est_append_result)
            status = self._call(lib.est_txn_commit, results, count)
            if status == n.EST_ERR_VERSION_MISMATCH:
                err = error_for(status)
                m = _FAILED_APPEND.search(str(err))
                index = int(m.group(1)) if m else None
                if index is not None and index < min(count, len(self._appends)):
                    stream_id, expected = self._appends[index]
                    raise VersionMismatch(
                        str(err),
                        status,
                        expected=expected,
                        actual=results[index].actual_version,
                        stream_id=stream_id,
                        index=index,
                    )
                raise err
            check(status)
            self._appends.clear()
            return [append_result(results[i]) for i in range(count)]

    def close(self) -> None:
        """Frees the transaction, dropping uncommitted appends. Idempotent."""
        if self._guard is None:
            return
        ptr = self._guard.take_for_close()
        if ptr is not None:
            lib.est_txn_free(ptr)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        guard = self.__dict__.get("_guard")
        if guard is not None:
            guard.free_at_collection(lambda ptr: lib.est_txn_free(ptr))

    def __repr__(self) -> str:
        return f"<estoria.Transaction{' closed' if self.closed else ''}>"


__all__ = ["Transaction"]
