"""estoria: Python binding of the estoria event store (ctypes over libestoria).

    import estoria
    with estoria.Store.open("memory:") as store:
        stream = estoria.new_id("order")
        store.append(stream, [("OrderPlaced", b'{"total": 12}', "application/json")])
        for event in store.read_stream(stream):
            print(event.stream_version, event.type, event.data)

The library is found through ESTORIA_LIB_DIR, else pkg-config's `estoria`,
else the system loader; one of another ABI major is refused at import.
"""

from ._native import ABI_MAJOR
from .aggregates import Aggregate, AggregateStore, CallbackWarning
from .errors import (
    AppliedPartially,
    Cancelled,
    Busy,
    Closed,
    Corruption,
    EstoriaError,
    HandlerError,
    InternalError,
    InvalidArgument,
    NoMemory,
    NotFound,
    StoreIOError,
    Unsupported,
    VersionMismatch,
    status_name,
)
from .logs import log_to_logging, set_log_handler
from .projection import Projection, ProjectionTxn
from .store import EventIterator, Store, new_id, parse_id, uuid7
from .subscription import POSITION_END, Subscription
from .txn import Transaction
from .types import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AggregateStats,
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
    ProjectionReport,
    VerifyReport,
    CompactReport,
)


def abi_version() -> int:
    """est_abi_version() of the loaded library: major << 16 | minor."""
    from ._native import lib

    return int(lib.est_abi_version())


__version__ = "1.0.0"

__all__ = [
    "ABI_MAJOR",
    "ANY",
    "NO_STREAM",
    "POSITION_END",
    "STREAM_EXISTS",
    "Subscription",
    "Transaction",
    "Aggregate",
    "AggregateStats",
    "AggregateStore",
    "AppendResult",
    "Checkpoint",
    "AppliedPartially",
    "Cancelled",
    "Busy",
    "CallbackWarning",
    "Closed",
    "Corruption",
    "EstoriaError",
    "Event",
    "EventIterator",
    "Expect",
    "HandlerError",
    "InternalError",
    "InvalidArgument",
    "NoMemory",
    "NotFound",
    "Projection",
    "ProjectionReport",
    "ProjectionTxn",
    "RecordedEvent",
    "Snapshot",
    "Store",
    "StoreIOError",
    "StoreStats",
    "SyncMode",
    "Threads",
    "MaintainReport",
    "Unsupported",
    "VerifyReport",
    "CompactReport",
    "VersionMismatch",
    "abi_version",
    "log_to_logging",
    "set_log_handler",
    "new_id",
    "parse_id",
    "status_name",
    "uuid7",
]
