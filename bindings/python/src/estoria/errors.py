"""The exception hierarchy: one class per est_status error code.

Every error the library returns becomes an instance of EstoriaError's
subclass for that code, carrying the status (`.status`, `.status_name`) and
est_last_error()'s message. Where a built-in exception means the same thing
the class also derives from it (InvalidArgument is a ValueError, NotFound a
LookupError, StoreIOError an OSError, NoMemory a MemoryError), so that
generic handlers keep working.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _native as n
from .types import ProjectionReport


class EstoriaError(Exception):
    """Base of every error estoria reports."""

    status: int = n.EST_ERR_INTERNAL

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def status_name(self) -> str:
        return status_name(self.status)


class InvalidArgument(EstoriaError, ValueError):
    status = n.EST_ERR_INVALID_ARGUMENT


class NotFound(EstoriaError, LookupError):
    status = n.EST_ERR_NOT_FOUND


class VersionMismatch(EstoriaError):
    """The stream was not at the expected version; nothing was written."""

    status = n.EST_ERR_VERSION_MISMATCH

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        *,
        expected: int = 0,
        actual: int = 0,
        stream_id: Optional[str] = None,
        index: Optional[int] = None,
    ) -> None:
        super().__init__(message, status)
        self.expected = expected
        self.actual = actual
        # From a transaction's commit: the failing append's stream and index.
        self.stream_id = stream_id
        self.index = index


class Closed(EstoriaError):
    """The store is closed, or the handle (iterator, aggregate) was freed."""

    status = n.EST_ERR_CLOSED


class StoreIOError(EstoriaError, OSError):
    status = n.EST_ERR_IO


class Corruption(EstoriaError):
    status = n.EST_ERR_CORRUPTION


class Busy(EstoriaError):
    """The store is locked by another writer."""

    status = n.EST_ERR_BUSY


class Unsupported(EstoriaError):
    status = n.EST_ERR_UNSUPPORTED


class NoMemory(EstoriaError, MemoryError):
    status = n.EST_ERR_NO_MEMORY


class InternalError(EstoriaError):
    status = n.EST_ERR_INTERNAL


class Cancelled(EstoriaError):
    """Store.cancel stopped a compaction or verify; the store is as it was."""

    status = n.EST_ERR_CANCELLED


class AppliedPartially(EstoriaError):
    """An aggregate save appended its events but could not apply them: reload."""

    status = n.EST_ERR_APPLIED_PARTIALLY


class HandlerError(EstoriaError):
    """A projection's handler raised: the run stopped with the engine's
    status (.status; INTERNAL unless the handler raised an EstoriaError) and
    message, the checkpoint at the last call that succeeded. __cause__ is the
    handler's exception; .report (a ProjectionReport) says where the run
    stopped. Not in the status table: error_for never makes one."""

    def __init__(
        self, message: str, status: Optional[int] = None, report: Optional[ProjectionReport] = None
    ) -> None:
        super().__init__(message, status)
        self.report = report


_BY_STATUS: Dict[int, Type[EstoriaError]] = {
    cls.status: cls
    for cls in (
        InvalidArgument,
        NotFound,
        VersionMismatch,
        Closed,
        StoreIOError,
        Corruption,
        Busy,
        Unsupported,
        NoMemory,
        InternalError,
        AppliedPartially,
        Cancelled,
    )
}


def status_name(status: int) -> str:
    """The library's name of a status ("EST_ERR_NOT_FOUND"; "EST_UNKNOWN")."""
    return (n.lib.est_status_name(status) or b"EST_UNKNOWN").decode()


def error_for(status: int, message: Optional[str] = None) -> EstoriaError:
    """The exception for an error status; the message defaults to est_last_error()."""
    if message is None:
        message = (n.lib.est_last_error() or b"").decode("utf-8", "replace")
    if not message:
        message = status_name(status)
    cls = _BY_STATUS.get(status, EstoriaError)
    return cls(message, status)


def check(status: int) -> int:
    """Returns status when it is EST_OK or EST_END, else raises its exception."""
    if status < 0:
        raise error_for(status)
    return status
