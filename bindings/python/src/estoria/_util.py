"""Argument conversion and handle guards shared by store.py and aggregates.py.

Everything that goes to C is checked here first, so that a wrong Python type
is a TypeError and a string C would silently cut (an embedded NUL) is an
InvalidArgument, before the library sees it.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import uuid as uuid_mod
from typing import Any, Callable, Dict, Optional, Union

from . import _native as n
from .errors import Closed, InvalidArgument
from .types import RecordedEvent

BytesLike = Union[bytes, bytearray, memoryview]

# est_event read in one unpack: struct_size, type, id, stream_type,
# stream_uuid, stream_version, global_position, timestamp_ns, data,
# data_len, content_type, metadata_count, fb, fb_len, metadata, record,
# record_len.
_EVENT = struct.Struct("@IP16sP16sqqqPNPNPNPPN")
if _EVENT.size != ctypes.sizeof(n.est_event):  # pragma: no cover - a platform with another layout
    raise ImportError("est_event layout differs from the one this package expects")
EVENT_SIZE = _EVENT.size
_unpack_event = _EVENT.unpack_from
# ctypes.string_at is a Python wrapper around this; calling it directly
# saves a frame per field copied.
_string_at = getattr(ctypes, "_string_at", ctypes.string_at)


def cstr(value: Any, what: str) -> bytes:
    """A str as NUL-free UTF-8 for a const char* parameter."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgument(f"{what} contains a NUL character")
    return value.encode("utf-8", "surrogatepass")


def cbytes(value: Any, what: str) -> bytes:
    """A bytes-like value as bytes for a (pointer, length) pair."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, bytearray or memoryview, not {type(value).__name__}")


def cint(value: Any, what: str) -> int:
    """An int (bool refused: True as a version is a bug) within int64."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not -(1 << 63) <= value < (1 << 63):
        raise InvalidArgument(f"{what} is out of the int64 range")
    return value


def to_uuid(value: Any, what: str) -> n.est_uuid:
    if isinstance(value, str):
        try:
            value = uuid_mod.UUID(value)
        except ValueError:
            raise InvalidArgument(f"{what} is not a UUID: {value!r}") from None
    if not isinstance(value, uuid_mod.UUID):
        raise TypeError(f"{what} must be a uuid.UUID, not {type(value).__name__}")
    out = n.est_uuid()
    ctypes.memmove(out.bytes, value.bytes, 16)
    return out


def _cstring(blob: bytes, base: int, ptr: int) -> bytes:
    """The NUL-terminated string at ptr: sliced from blob (a copy of memory
    starting at address base) when it lies inside, else read from memory."""
    off = ptr - base
    if 0 <= off < len(blob):
        end = blob.find(b"\0", off)
        if end >= 0:
            return blob[off:end]
    return _string_at(ptr, -1)


_PAIR_SIZE = ctypes.sizeof(n.est_metadata_pair)
_pointer_structs: Dict[int, Any] = {}


def _unpack_pointers(count: int) -> Any:
    """struct.unpack for `count` est_metadata_pair (2 pointers each)."""
    f = _pointer_structs.get(count)
    if f is None:
        f = _pointer_structs[count] = struct.Struct(f"@{2 * count}P").unpack
    return f


def _metadata_by_call(address: int, count: int, metadata: Dict[str, str]) -> None:
    """A library older than ABI 1.1 leaves est_event.metadata NULL: one call per pair."""
    key = ctypes.c_char_p()
    value = ctypes.c_char_p()
    for i in range(count):
        s = n.lib.est_event_metadata(address, i, ctypes.byref(key), ctypes.byref(value))
        if s != n.EST_OK:  # pragma: no cover - the library filled metadata_count
            from .errors import error_for

            raise error_for(s)
        metadata[(key.value or b"").decode("utf-8", "surrogateescape")] = (value.value or b"").decode(
            "utf-8", "surrogateescape"
        )


def copy_event(
    raw: bytes,
    offset: int,
    address: int,
    type_cache: Dict[bytes, str],
    stream_types: Optional[Dict[int, str]] = None,
) -> RecordedEvent:
    """Copies the est_event view at `address` (its bytes are raw[offset:]) into Python objects.

    Every crossing into C costs a ctypes call (~0.2 us), so the event's
    stored record (record, record_len: a range the library guarantees
    readable) is copied in one call and the strings and payload that lie
    inside it are sliced from that copy; a field outside it is read on its
    own. A store that keeps compact records writes a stream's type once for
    the events of an append, outside their records: `stream_types` (one
    batch's, whose views all stay valid while it is used) maps those
    addresses to the text already read.
    """
    (
        _,
        type_p,
        id_b,
        stype_p,
        suuid_b,
        version,
        position,
        ts,
        data_p,
        data_len,
        ct_p,
        meta_count,
        fb_p,
        fb_len,
        meta_p,
        rec_p,
        rec_len,
    ) = _unpack_event(raw, offset)
    if rec_p and rec_len:
        fb_p, fb_len = rec_p, rec_len
    blob = _string_at(fb_p, fb_len) if fb_p and fb_len else b""
    # The type and stream type, inlined: the common path of _cstring.
    off = type_p - fb_p
    end = blob.find(b"\0", off) if 0 <= off < fb_len else -1
    tb = blob[off:end] if end >= 0 else _string_at(type_p, -1)
    type_name = type_cache.get(tb)
    if type_name is None:
        type_name = type_cache[tb] = tb.decode("utf-8", "surrogateescape")
    off = stype_p - fb_p
    if 0 <= off < fb_len:
        end = blob.find(b"\0", off)
        sb = blob[off:end] if end >= 0 else _string_at(stype_p, -1)
        stream_type = type_cache.get(sb)
        if stream_type is None:
            stream_type = type_cache[sb] = sb.decode("utf-8", "surrogateescape")
    else:
        stream_type = stream_types.get(stype_p) if stream_types is not None else None
        if stream_type is None:
            sb = _string_at(stype_p, -1)
            stream_type = type_cache.get(sb)
            if stream_type is None:
                stream_type = type_cache[sb] = sb.decode("utf-8", "surrogateescape")
            if stream_types is not None:
                stream_types[stype_p] = stream_type
    cb = _cstring(blob, fb_p, ct_p) if ct_p else b""
    content_type = type_cache.get(cb)
    if content_type is None:
        content_type = type_cache[cb] = cb.decode("utf-8", "surrogateescape")
    if data_len:
        off = data_p - fb_p
        data = blob[off : off + data_len] if 0 <= off and off + data_len <= len(blob) else _string_at(data_p, data_len)
    else:
        data = b""
    metadata: Dict[str, str] = {}
    if meta_count:
        if meta_p:
            # ABI 1.1: the pairs as one array of (key, value) pointers, copied
            # in one call; the strings are sliced from the event's bytes.
            pointers = _unpack_pointers(meta_count)(_string_at(meta_p, meta_count * _PAIR_SIZE))
            for i in range(0, 2 * meta_count, 2):
                key = _cstring(blob, fb_p, pointers[i]).decode("utf-8", "surrogateescape")
                metadata[key] = _cstring(blob, fb_p, pointers[i + 1]).decode("utf-8", "surrogateescape")
        else:
            _metadata_by_call(address, meta_count, metadata)
    return RecordedEvent(
        type_name, id_b, stream_type, suuid_b, version, position, ts, data, content_type, metadata
    )


# Passed by the package to the constructors that take a raw C handle, so that
# user code calling them directly (with some integer) gets a TypeError
# instead of handing the library a bogus pointer.
PRIVATE = object()


def check_private(token: object, what: str) -> None:
    if token is not PRIVATE:
        raise TypeError(f"{what} objects are made by the package ({what} cannot be constructed directly)")


class HandleGuard:
    """A C handle shared by threads, closed once no call is using it.

    A call enters (refused with Closed once closing has begun) and leaves;
    close() marks the handle closed at once, waits for calls in flight, then
    frees it. So closing from one thread while another calls never frees a
    handle under a running C call.
    """

    __slots__ = ("_cond", "_active", "_ptr", "_what", "_mine")

    def __init__(self, ptr: int, what: str) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._ptr: Optional[int] = ptr
        self._what = what
        self._mine = threading.local()  # calls in flight on this thread (callbacks nest)

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def enter(self) -> int:
        with self._cond:
            ptr = self._ptr
            if ptr is None:
                raise Closed(f"the {self._what} is closed")
            self._active += 1
        self._mine.depth = getattr(self._mine, "depth", 0) + 1
        return ptr

    def leave(self) -> None:
        self._mine.depth -= 1
        with self._cond:
            self._active -= 1
            if self._active == 0:
                self._cond.notify_all()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(handle, *args) between enter() and leave()."""
        ptr = self.enter()
        try:
            return fn(ptr, *args)
        finally:
            self.leave()

    def take_for_close(self, interrupt: Optional[Callable[[int], None]] = None) -> Optional[int]:
        """Marks the handle closed and returns it once no call uses it (None if already closed).

        interrupt(ptr), when given, runs after the mark and before the wait,
        while the handle is still valid: it ends calls that could wait long
        (a subscription's poll).
        """
        with self._cond:
            ptr = self._ptr
            if ptr is None:
                return None
            if getattr(self._mine, "depth", 0):
                raise InvalidArgument(f"the {self._what} cannot be closed from inside a call on it (a callback)")
            self._ptr = None
            if interrupt is not None and self._active:
                interrupt(ptr)
            while self._active:
                self._cond.wait()
            return ptr

    def free_at_collection(self, free: Callable[[int], None]) -> None:
        """For __del__: frees the handle with free(ptr) unless it was closed.

        Never raises: at interpreter shutdown the globals free uses may be gone.
        """
        try:
            ptr = self.take_for_close()
            if ptr is not None:
                free(ptr)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
