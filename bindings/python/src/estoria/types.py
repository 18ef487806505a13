"""Plain value types of the binding: events in and out, results, reports.

All are copies: nothing here points into library memory, so every value
outlives the iterator, snapshot or store it came from.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional


class SyncMode(enum.IntEnum):
    """When appends become durable (est_store_options.sync_mode)."""

    ALWAYS = 0  # durable before an append returns (default)
    INTERVAL = 1  # flushed in the background every sync_interval_ms
    NONE = 2  # written to the OS; flushed when it pleases


class Threads(enum.IntEnum):
    """Whether the library may start threads for a store (est_store_options.threads)."""

    LIBRARY = 0  # the threads it needs (default)
    NONE = 1  # none: the host calls Store.maintain from its own loop


@dataclass(frozen=True)
class MaintainReport:
    pending: bool  # background work remains that a call now would do
    compacting: bool  # a scheduled compaction is unfinished


class Expect(enum.Enum):
    """Version expectations of an append besides an exact version (an int)."""

    ANY = "any"  # no check
    NO_STREAM = "no_stream"  # the stream's version must be 0
    STREAM_EXISTS = "stream_exists"  # the stream must exist (written, not wholly deleted)


ANY = Expect.ANY
NO_STREAM = Expect.NO_STREAM
STREAM_EXISTS = Expect.STREAM_EXISTS


@dataclass(frozen=True)
class Event:
    """An event to append.

    `id` is kept by every append: a batch whose events all carry IDs is
    idempotent (appending it again writes nothing and returns the original
    result with `duplicate` set). `timestamp_ns` is kept only by a restore
    append.
    """

    type: str
    data: bytes = b""
    content_type: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    id: Optional[uuid.UUID] = None
    timestamp_ns: Optional[int] = None


class RecordedEvent:
    """An event read from the store (a copy; `data` is bytes)."""

    __slots__ = (
        "type",
        "_id",
        "stream_type",
        "_stream_uuid",
        "stream_version",
        "global_position",
        "timestamp_ns",
        "data",
        "content_type",
        "metadata",
    )

    def __init__(
        self,
        type: str,
        id_bytes: bytes,
        stream_type: str,
        stream_uuid_bytes: bytes,
        stream_version: int,
        global_position: int,
        timestamp_ns: int,
        data: bytes,
        content_type: str,
        metadata: Dict[str, str],
    ) -> None:
        self.type = type
        self._id = id_bytes
        self.stream_type = stream_type
        self._stream_uuid = stream_uuid_bytes
        self.stream_version = stream_version
        self.global_position = global_position
        self.timestamp_ns = timestamp_ns
        self.data = data
        self.content_type = content_type
        self.metadata = metadata

    # The UUIDs are built on access: most readers never look at them, and
    # uuid.UUID() is the dearest part of a copy.
    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(bytes=self._id)

    @property
    def stream_uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self._stream_uuid)

    @property
    def stream_id(self) -> str:
        """The stream's ID, "type_uuid"."""
        return f"{self.stream_type}_{self.stream_uuid}"

    @property
    def timestamp(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.timestamp_ns / 1e9, tz=datetime.timezone.utc)

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(type={self.type!r}, stream_id={self.stream_id!r}, "
            f"stream_version={self.stream_version}, global_position={self.global_position}, "
            f"data={self.data[:32]!r}{'...' if len(self.data) > 32 else ''})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedEvent):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class AppendResult:
    first_version: int
    last_version: int
    first_position: int  # 0 where the backend has no global order
    last_position: int
    actual_version: int  # the stream's version after the call
    # The events were already there (a retry of a batch whose events all
    # carry IDs): nothing was written; this is the original append's result.
    duplicate: bool = False


@dataclass(frozen=True)
class Checkpoint:
    """A projection's checkpoint: the global position it handled through,
    and when the store last saved it (unix ns, the store's clock)."""

    projection_id: str
    position: int
    updated_at_ns: int


@dataclass(frozen=True)
class ProjectionReport:
    """What a Projection.run did."""

    position: int  # checkpointed: every event at or below it was handled, skipped or filtered out
    head: int  # the store's last visible position when the run ended
    handled: int  # events handed to the handler in the run (a failed call's too)
    skipped: int  # events skipped after handler errors (continue_on_error)
    caught_up: bool  # position reached head


@dataclass(frozen=True)
class Snapshot:
    aggregate_id: str
    version: int
    timestamp_ns: int
    data: bytes
    content_type: str


@dataclass(frozen=True)
class StoreStats:
    events: int
    streams: int
    bytes: int
    segments: int
    first_position: int
    last_position: int
    snapshots: int


@dataclass(frozen=True)
class CompactReport:
    segments_before: int
    segments_after: int
    bytes_before: int
    bytes_after: int
    events_kept: int
    events_dropped: int


@dataclass(frozen=True)
class VerifyReport:
    segments: int
    records: int
    events: int
    bytes: int


@dataclass(frozen=True)
class AggregateStats:
    loads: int
    events_applied: int
    snapshots_used: int
    snapshots_written: int
    cache_hits: int
    cache_misses: int
