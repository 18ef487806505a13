"""The ctypes declarations of libestoria's C ABI (capi/include/estoria/estoria.h).

Private to the package: nothing here checks arguments; the public classes in
store.py and aggregates.py do. The library is loaded once, at import, from
(in order) the directory named by ESTORIA_LIB_DIR, pkg-config's `estoria`
libdir, or the system loader's search path, and refused when its ABI major
differs from the one these declarations were written against.

The library is opened with ctypes.CDLL, which releases the GIL around every
call: C code never runs with the GIL held, and callbacks re-acquire it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar

ABI_MAJOR = 1  # EST_ABI_VERSION_MAJOR these declarations follow

# Statuses (pinned; never renumbered).
EST_OK = 0
EST_END = 1
EST_ERR_INVALID_ARGUMENT = -1
EST_ERR_NOT_FOUND = -2
EST_ERR_VERSION_MISMATCH = -3
EST_ERR_CLOSED = -4
EST_ERR_IO = -5
EST_ERR_CORRUPTION = -6
EST_ERR_BUSY = -7
EST_ERR_UNSUPPORTED = -8
EST_ERR_NO_MEMORY = -9
EST_ERR_INTERNAL = -10
EST_ERR_APPLIED_PARTIALLY = -11

EST_EXPECT_ANY = 0
EST_EXPECT_VERSION = 1
EST_EXPECT_NO_STREAM = 2
EST_EXPECT_STREAM_EXISTS = 3
EST_APPEND_RESTORE = 1
EST_APPEND_DUPLICATE = 1

EST_FORWARD = 0
EST_REVERSE = 1

EST_ID_MAX_LEN = 293
EST_TYPE_MAX_LEN = 255

est_status = c_int32


class est_uuid(Structure):
    _fields_ = [("bytes", c_uint8 * 16)]


EST_THREADS_LIBRARY = 0
EST_THREADS_NONE = 1
EST_ERR_CANCELLED = -12

clock_fn = CFUNCTYPE(c_int64, c_void_p)
random_fn = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)
log_fn = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)


class est_store_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("sync_mode", c_int32),
        ("sync_interval_ms", c_int32),
        ("read_only", c_int32),
        ("threads", c_int32),
        ("clock_ns", clock_fn),
        ("random_bytes", random_fn),
        ("host_user", c_void_p),
        ("log", log_fn),
        ("log_user", c_void_p),
    ]


class est_append_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("expect", c_int32),
        ("expected_version", c_int64),
        ("flags", c_uint32),
        ("first_version", c_int64),
    ]


class est_append_result(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("first_version", c_int64),
        ("last_version", c_int64),
        ("first_position", c_int64),
        ("last_position", c_int64),
        ("actual_version", c_int64),
        ("flags", c_uint32),
    ]


class est_read_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("direction", c_int32),
        ("after_version", c_int64),
        ("count", c_int64),
        ("until_timestamp_ns", c_int64),  # ABI 1.2
    ]


class est_read_all_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("after_position", c_int64),
        ("count", c_int64),
        ("until_timestamp_ns", c_int64),  # ABI 1.2
    ]


class est_metadata_pair(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class est_event(Structure):
    # data and fb are c_void_p (not c_char_p) so that ctypes never reads them
    # as NUL-terminated strings; string_at copies them with their length.
    _fields_ = [
        ("struct_size", c_uint32),
        ("type", c_char_p),
        ("id", est_uuid),
        ("stream_type", c_char_p),
        ("stream_uuid", est_uuid),
        ("stream_version", c_int64),
        ("global_position", c_int64),
        ("timestamp_ns", c_int64),
        ("data", c_void_p),
        ("data_len", c_size_t),
        ("content_type", c_char_p),
        ("metadata_count", c_size_t),
        ("fb", c_void_p),
        ("fb_len", c_size_t),
        # ABI 1.1: the metadata_count pairs (NULL when none). c_void_p: read
        # in one copy by _util.copy_event.
        ("metadata", c_void_p),
        # ABI 1.3: the stored record the view points into (its strings and
        # data, but perhaps the stream type), copied whole by copy_event.
        ("record", c_void_p),
        ("record_len", c_size_t),
    ]


class est_snapshot_write_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("timestamp_ns", c_int64)]


class est_stats(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("events", c_int64),
        ("streams", c_int64),
        ("bytes", c_int64),
        ("segments", c_int64),
        ("first_position", c_int64),
        ("last_position", c_int64),
        ("snapshots", c_int64),
    ]


class est_verify_report(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("segments", c_int64),
        ("records", c_int64),
        ("events", c_int64),
        ("bytes", c_int64),
    ]


class est_compact_report(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("segments_before", c_int64),
        ("segments_after", c_int64),
        ("bytes_before", c_int64),
        ("bytes_after", c_int64),
        ("events_kept", c_int64),
        ("events_dropped", c_int64),
    ]


# Callback types. Return types are plain C ints: a ctypes callback whose
# Python body raises returns garbage, so every Python body is wrapped (see
# aggregates.py) and these only ever see an int.
new_state_fn = CFUNCTYPE(est_status, c_void_p, POINTER(est_uuid), POINTER(c_void_p))
apply_fn = CFUNCTYPE(est_status, c_void_p, c_void_p, POINTER(est_event))
free_state_fn = CFUNCTYPE(None, c_void_p, c_void_p)
encode_fn = CFUNCTYPE(est_status, c_void_p, c_void_p, c_void_p)
decode_fn = CFUNCTYPE(est_status, c_void_p, POINTER(c_uint8), c_size_t, POINTER(c_void_p))
progress_fn = CFUNCTYPE(None, c_void_p, c_uint64, c_uint64)
checkpoint_visit_fn = CFUNCTYPE(est_status, c_void_p, c_char_p, c_int64, c_int64)
hook_fn = CFUNCTYPE(est_status, c_void_p, c_int32, c_void_p, c_char_p, c_int64)


class est_aggregate_type(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("type_name", c_char_p),
        ("user", c_void_p),
        ("new_state", new_state_fn),
        ("apply", apply_fn),
        ("free_state", free_state_fn),
        ("encode", encode_fn),
        ("decode", decode_fn),
        ("snapshot_content_type", c_char_p),
    ]


class est_aggregate_store_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("snapshot_every", c_int64),
        ("snapshot_keep_last", c_int64),
        ("snapshot_keep_min_version", c_int64),
        ("cache_capacity", c_int64),
    ]


class est_aggregate_stats(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("loads", c_int64),
        ("events_applied", c_int64),
        ("snapshots_used", c_int64),
        ("snapshots_written", c_int64),
        ("cache_hits", c_int64),
        ("cache_misses", c_int64),
    ]


# The header's experimental section (EST_EXPERIMENTAL): subscriptions,
# transactions, the hosts' calls, checkpoints and projections.


class est_maintain_report(Structure):
    _fields_ = [("struct_size", c_uint32), ("pending", c_int32), ("compacting", c_int32)]


EST_POSITION_END = -1
EST_TXN_MAX_APPENDS = 10000
EST_TXN_MAX_EVENTS = 100000


class est_subscribe_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("after_position", c_int64),
        ("stream_prefix", c_char_p),
        ("event_types", POINTER(c_char_p)),
        ("event_types_len", c_size_t),
    ]


# Projections (est_projection_*).
EST_PROJECTION_EXACTLY_ONCE = 1
EST_PROJECTION_CONTINUE_ON_ERROR = 2
EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP = 4
EST_PROJECTION_BATCH_MAX = 4096

# events is c_void_p (not POINTER(est_event)): the views are copied in one
# string_at, as a subscription's are.
projection_handle_fn = CFUNCTYPE(est_status, c_void_p, c_void_p, c_size_t, c_void_p)


class est_projection_handler(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("version", c_int32),
        ("user", c_void_p),
        ("handle", projection_handle_fn),
    ]


class est_projection_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("stream_prefix", c_char_p),
        ("event_types", POINTER(c_char_p)),
        ("event_types_len", c_size_t),
        ("batch_max", c_uint32),
        ("checkpoint_every", c_uint32),
        ("flags", c_uint32),
    ]


class est_projection_report(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("position", c_int64),
        ("head", c_int64),
        ("handled", c_int64),
        ("caught_up", c_int32),
        ("skipped", c_int64),
    ]


_S = TypeVar("_S", bound=Structure)


def sized(struct_type: Type[_S]) -> _S:
    """A zeroed option/output struct with struct_size set (the _INIT macros)."""
    value = struct_type()
    value.struct_size = ctypes.sizeof(struct_type)
    return value


# ---------------------------------------------------------------- loading

_LIB_NAMES = {
    "linux": ["libestoria.so.1", "libestoria.so"],
    "darwin": ["libestoria.1.dylib", "libestoria.dylib"],
}


def _names() -> List[str]:
    for prefix, names in _LIB_NAMES.items():
        if sys.platform.startswith(prefix):
            return names
    return ["libestoria.so.1", "libestoria.so"]


def _pkg_config_libdir() -> Optional[str]:
    exe = shutil.which("pkg-config")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--variable=libdir", "estoria"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.strip()
    return libdir if out.returncode == 0 and libdir else None


def _open_in(directory: str) -> Optional[ctypes.CDLL]:
    for name in _names():
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return ctypes.CDLL(path)
    return None


def check_abi(version: int) -> None:
    """Refuses a library of another ABI major (raises ImportError)."""
    if (version >> 16) != ABI_MAJOR:
        raise ImportError(
            f"libestoria has ABI {version >> 16}.{version & 0xFFFF}; this package needs ABI {ABI_MAJOR}.x"
        )


def load_library() -> ctypes.CDLL:
    """Finds and loads libestoria, declares its functions and checks its ABI."""
    lib: Optional[ctypes.CDLL] = None
    override = os.environ.get("ESTORIA_LIB_DIR")
    if override:
        # An explicit override never falls back: a wrong path is an error,
        # not a silent use of some other installed library.
        lib = _open_in(override)
        if lib is None:
            raise ImportError(f"ESTORIA_LIB_DIR={override!r} holds none of {_names()}")
    else:
        libdir = _pkg_config_libdir()
        if libdir is not None:
            lib = _open_in(libdir)
        if lib is None:
            errors = []
            for name in _names():
                try:
                    lib = ctypes.CDLL(name)
                    break
                except OSError as e:
                    errors.append(str(e))
            if lib is None:
                raise ImportError(
                    "libestoria not found: set ESTORIA_LIB_DIR, or make `pkg-config estoria` find it, "
                    "or put it on the loader's path (" + "; ".join(errors) + ")"
                )
    _fn(lib, "est_abi_version", c_uint32)
    check_abi(int(lib.est_abi_version()))
    _declare(lib)
    return lib


# Every function declared here: name -> (restype, argtypes), for the layout
# test (tests/test_abi_layout.py) to hold against the header.
DECLARED: Dict[str, Tuple[Any, List[Any]]] = {}


def _fn(lib: ctypes.CDLL, name: str, restype, *argtypes) -> None:  # type: ignore[no-untyped-def]
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    DECLARED[name] = (restype, list(argtypes))


def _declare(lib: ctypes.CDLL) -> None:
    P = POINTER
    vp = c_void_p
    _fn(lib, "est_status_name", c_char_p, est_status)
    _fn(lib, "est_last_error", c_char_p)
    _fn(lib, "est_uuid_v4", est_status, P(est_uuid))
    _fn(lib, "est_uuid_v7", est_status, P(est_uuid))
    _fn(lib, "est_id_format", est_status, c_char_p, P(est_uuid), P(c_char), c_size_t)
    _fn(lib, "est_id_parse", est_status, c_char_p, P(c_char), c_size_t, P(est_uuid))
    _fn(lib, "est_store_open", est_status, c_char_p, P(est_store_options), P(vp))
    _fn(lib, "est_store_close", None, vp)
    _fn(lib, "est_batch_new", est_status, P(vp))
    _fn(lib, "est_batch_add", est_status, vp, c_char_p, c_char_p, c_size_t, c_char_p)
    _fn(lib, "est_batch_add_metadata", est_status, vp, c_char_p, c_char_p)
    _fn(lib, "est_batch_set_id", est_status, vp, P(est_uuid))
    _fn(lib, "est_batch_set_timestamp", est_status, vp, c_int64)
    _fn(lib, "est_batch_free", None, vp)
    _fn(lib, "est_append_batch", est_status, vp, c_char_p, vp, P(est_append_options), P(est_append_result), P(vp))
    _fn(lib, "est_read_stream", est_status, vp, c_char_p, P(est_read_options), P(vp))
    _fn(lib, "est_read_all", est_status, vp, P(est_read_all_options), P(vp))
    _fn(lib, "est_iter_next_batch", est_status, vp, P(est_event), c_size_t, P(c_size_t))
    _fn(lib, "est_event_metadata", est_status, vp, c_size_t, P(c_char_p), P(c_char_p))
    _fn(lib, "est_iter_close", None, vp)
    _fn(lib, "est_delete_stream", est_status, vp, c_char_p, c_int64)
    _fn(lib, "est_snapshot_write", est_status, vp, c_char_p, c_int64, c_char_p, c_size_t, c_char_p,
        P(est_snapshot_write_options))
    _fn(lib, "est_snapshot_read", est_status, vp, c_char_p, c_int64, P(vp))
    _fn(lib, "est_snapshot_version", c_int64, vp)
    _fn(lib, "est_snapshot_timestamp_ns", c_int64, vp)
    _fn(lib, "est_snapshot_data", vp, vp, P(c_size_t))
    _fn(lib, "est_snapshot_content_type", c_char_p, vp)
    _fn(lib, "est_snapshot_free", None, vp)
    _fn(lib, "est_snapshot_prune", est_status, vp, c_char_p, c_int64, c_int64)
    _fn(lib, "est_store_sync", est_status, vp)
    _fn(lib, "est_store_stats", est_status, vp, P(est_stats))
    _fn(lib, "est_store_verify", est_status, vp, progress_fn, vp, P(est_verify_report))
    _fn(lib, "est_store_compact", est_status, vp, progress_fn, vp, P(est_compact_report))
    _fn(lib, "est_set_error", None, c_char_p)
    _fn(lib, "est_set_log_handler", None, log_fn, vp)
    _fn(lib, "est_buffer_append", est_status, vp, c_char_p, c_size_t)
    _fn(lib, "est_aggregate_store_new", est_status, vp, P(est_aggregate_type), P(est_aggregate_store_options),
        P(vp))
    _fn(lib, "est_aggregate_store_free", None, vp)
    _fn(lib, "est_aggregate_store_add_hook", est_status, vp, c_int32, hook_fn, vp)
    _fn(lib, "est_hook_add_metadata", est_status, vp, c_char_p, c_char_p)
    _fn(lib, "est_aggregate_store_stats", est_status, vp, P(est_aggregate_stats))
    _fn(lib, "est_aggregate_new", est_status, vp, P(est_uuid), P(vp))
    _fn(lib, "est_aggregate_load", est_status, vp, P(est_uuid), c_int64, P(vp))
    _fn(lib, "est_aggregate_append", est_status, vp, c_char_p, c_char_p, c_size_t, c_char_p)
    _fn(lib, "est_aggregate_append_metadata", est_status, vp, c_char_p, c_char_p)
    _fn(lib, "est_aggregate_save", est_status, vp, P(est_append_result))
    _fn(lib, "est_aggregate_state", vp, vp)
    _fn(lib, "est_aggregate_version", c_int64, vp)
    _fn(lib, "est_aggregate_id", c_char_p, vp)
    _fn(lib, "est_aggregate_pending", c_size_t, vp)
    _fn(lib, "est_aggregate_free", None, vp)
    # Experimental.
    _fn(lib, "est_subscribe", est_status, vp, P(est_subscribe_options), P(vp))
    _fn(lib, "est_subscription_poll", est_status, vp, P(est_event), c_size_t, P(c_size_t), c_int64)
    _fn(lib, "est_subscription_position", c_int64, vp)
    _fn(lib, "est_subscription_fd", est_status, vp, P(ctypes.c_int))
    _fn(lib, "est_subscription_wake", est_status, vp)
    _fn(lib, "est_subscription_close", None, vp)
    _fn(lib, "est_txn_new", est_status, vp, P(vp))
    _fn(lib, "est_txn_append", est_status, vp, c_char_p, vp, P(est_append_options))
    _fn(lib, "est_txn_commit", est_status, vp, P(est_append_result), c_size_t)
    _fn(lib, "est_txn_size", c_size_t, vp)
    _fn(lib, "est_txn_free", None, vp)
    _fn(lib, "est_aggregate_set_event_id", est_status, vp, P(est_uuid))
    _fn(lib, "est_aggregate_load_at", est_status, vp, P(est_uuid), c_int64, P(vp))
    _fn(lib, "est_store_maintain", est_status, vp, c_int64, P(est_maintain_report))
    _fn(lib, "est_store_compact_schedule", est_status, vp)
    _fn(lib, "est_store_cancel", est_status, vp)
    _fn(lib, "est_txn_checkpoint", est_status, vp, c_char_p, c_int64)
    _fn(lib, "est_checkpoint_save", est_status, vp, c_char_p, c_int64)
    _fn(lib, "est_checkpoint_load", est_status, vp, c_char_p, P(c_int64), P(c_int64))
    _fn(lib, "est_checkpoint_delete", est_status, vp, c_char_p)
    _fn(lib, "est_checkpoint_list", est_status, vp, checkpoint_visit_fn, vp)
    _fn(lib, "est_projection_new", est_status, vp, P(est_projection_handler), P(est_projection_options), P(vp))
    _fn(lib, "est_projection_run", est_status, vp, c_int64, P(est_projection_report))
    _fn(lib, "est_projection_wake", est_status, vp)
    _fn(lib, "est_projection_free", None, vp)
    _fn(lib, "est_projection_rebuild", est_status, vp, c_char_p, c_int32, c_char_p)
    _fn(lib, "est_projection_cutover", est_status, vp, c_char_p, c_int32)
    _fn(lib, "est_projection_active_version", est_status, vp, c_char_p, P(c_int32))


lib = load_library()
