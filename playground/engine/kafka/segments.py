"""A partition's segments, their sparse indexes, and the rules that roll and delete them.

Kafka stores a partition as a sequence of segment files, each named by its base offset (the
offset of its first record); only the newest, the active segment, is appended to. The rules
modelled here, from ``kafka.log.LogSegment`` / ``UnifiedLog`` (storage module in Kafka 3.x):

- Rolling (``UnifiedLog.maybeRoll``, ``LogSegment.shouldRoll``): a new active segment starts
  when the next batch would make the active one exceed ``segment.bytes``, or when the active
  segment is not empty and ``segment.ms`` has passed since its first batch's timestamp. Rolls
  happen on append, never on a timer (except that retention may roll an expired active segment).
- Indexes (``LogSegment.append``): after more than ``index.interval.bytes`` have been appended
  since the last entry, the next batch adds an offset index entry (its last offset, its byte
  position) and, if its timestamp is the largest so far, a time index entry (that timestamp,
  its offset). The indexes are sparse: a lookup binary-searches them, then scans the log from
  the entry found. ``lookup_offset`` and ``lookup_time`` return that cost, for teaching.
- Retention (``UnifiedLog.deleteOldSegments``, cleanup.policy containing ``delete``): whole
  segments only, oldest first, never past the high watermark. A segment is deleted when its
  newest record is older than ``retention.ms``, or while the partition is larger than
  ``retention.bytes`` by at least the segment's size. If every segment is to go, a new empty
  active segment is rolled first. Checked every ``log.retention.check.interval.ms``.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, fields
from typing import Any, Final

from playground.engine._mypyc import mypyc_attr

DAY_MS: Final = 86_400_000
#: bytes a tombstone takes: the record overhead and its key, no value
TOMBSTONE_BYTES: Final = 24
INT32_MAX: Final = 2**31 - 1


@dataclass(frozen=True)
class LogConfig:
    """A topic's storage configuration, in Kafka's names and units (bytes, milliseconds).

    ``-1`` means unlimited for ``retention_ms`` and ``retention_bytes``, as in Kafka.
    ``record_bytes`` is the playground's stand-in for the producer's payload: the size one record
    takes in a segment (key, value, headers and its share of the batch overhead).
    """

    cleanup_policy: str = "delete"
    segment_bytes: int = 1_073_741_824
    segment_ms: int = 7 * DAY_MS
    index_interval_bytes: int = 4096
    retention_ms: int = 7 * DAY_MS
    retention_bytes: int = -1
    retention_check_ms: int = 300_000
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0
    delete_retention_ms: int = DAY_MS
    cleaner_backoff_ms: int = 15_000
    record_bytes: int = 100
    # Derived from cleanup_policy in __post_init__: plain fields, which code compiled by mypyc reads
    # directly (there, a cached_property would be worked out again at every read).
    deletes: bool = field(init=False, repr=False, compare=False)
    compacts: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        policies = self.cleanup_policy.split(",")
        object.__setattr__(self, "deletes", "delete" in policies)
        object.__setattr__(self, "compacts", "compact" in policies)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt through __init__: compiled by mypyc, a frozen dataclass cannot be restored field
        # by field (its __setattr__ refuses), and it has no __dict__.
        return (LogConfig, tuple(getattr(self, f.name) for f in fields(self) if f.init))

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> LogConfig:
        names = {f.name for f in fields(cls) if f.init}
        return cls(**{k: v for k, v in params.items() if k in names})

    @property
    def tombstone_bytes(self) -> int:
        return min(self.record_bytes, TOMBSTONE_BYTES)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Segment:
    """One segment file: its offset range, size, newest timestamp and sparse indexes.

    ``end`` is the offset after the last one the segment covers (the next segment's base, or the
    log end offset for the active segment). After compaction a segment keeps its range but holds
    fewer ``records`` than ``end - base``: the offsets in between are gaps.
    """

    __slots__ = ("base", "end", "bytes", "records", "first_ts", "max_ts", "since_index", "cleaned",
                 "idx_offset", "idx_first", "idx_pos", "tidx_ts", "tidx_offset")

    def __init__(self, base: int, now: float = 0.0) -> None:
        self.base = base
        self.end = base
        self.bytes = 0
        self.records = 0
        self.first_ts = now  # timestamp of the first batch: segment.ms counts from it
        self.max_ts = -1.0
        self.since_index = 0
        self.cleaned = False
        # Offset index: (relative last offset of a batch, byte position of the batch). Kafka
        # stores 8 bytes an entry; so do these arrays. idx_first is the batch's first offset,
        # kept so a scan can count the records it reads.
        self.idx_offset = array("i")
        self.idx_first = array("i")
        self.idx_pos = array("i")
        self.tidx_ts = array("d")
        self.tidx_offset = array("i")

    def add_batch(self, first: int, count: int, size: int, ts: float, interval: int) -> None:
        """LogSegment.append: index the batch if index.interval.bytes have passed, then write it."""
        if self.records == 0 and self.bytes == 0:
            self.first_ts = ts
        if self.since_index > interval:
            self.idx_offset.append(first + count - 1 - self.base)
            self.idx_first.append(first - self.base)
            self.idx_pos.append(self.bytes)
            if not self.tidx_ts or ts > self.tidx_ts[-1]:
                self.tidx_ts.append(ts)
                self.tidx_offset.append(first + count - 1 - self.base)
            self.since_index = 0
        self.since_index += size
        self.bytes += size
        self.records += count
        self.end = first + count
        if ts > self.max_ts:
            self.max_ts = ts

    def should_roll(self, size: int, now: float, config: LogConfig) -> str | None:
        """LogSegment.shouldRoll: why the active segment must roll before this batch, or None."""
        if self.bytes <= 0:
            return None  # an empty segment never rolls
        if self.bytes > config.segment_bytes - size:
            return "segment.bytes"
        if (now - self.first_ts) * 1000.0 > config.segment_ms:
            return "segment.ms"
        if self.end - self.base + 1 > INT32_MAX:
            return "relative offset overflow"
        return None

    def view(self, active: bool) -> dict[str, Any]:
        return {"base": self.base, "end": self.end, "size": self.bytes, "records": self.records,
                "active": active, "cleaned": self.cleaned, "index_entries": len(self.idx_offset)}


def binary_search_probes(n: int, index_of_answer: int) -> int:
    """Comparisons a binary search for the largest entry <= target makes over n entries."""
    lo, hi, probes = 0, n - 1, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        probes += 1
        if mid <= index_of_answer:
            lo = mid + 1
        else:
            hi = mid - 1
    return probes


def floor_index(values: Any, target: float) -> int:
    """Index of the largest value <= target in a sorted sequence, -1 if none."""
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] <= target:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


# -- retention ------------------------------------------------------------------------------

def retention_deletable(segments: list[Segment], log_bytes: int, now: float, high_watermark: int,
                        config: LogConfig) -> tuple[int, int, str | None]:
    """UnifiedLog.deleteOldSegments: how many leading segments retention deletes, and why.

    Returns ``(by_time, by_size, rolls)``: segments deleted for ``retention.ms``, then (counted
    after those) for ``retention.bytes``; ``rolls`` is the reason the active segment must be
    rolled first (every segment is going), else None. Segments at or past the high watermark
    are never deleted (the log start offset must not pass it), nor an empty active segment.
    """
    if not config.deletes or not segments:
        return 0, 0, None

    def scan(start: int, predicate: Any) -> int:
        count = 0
        for i in range(start, len(segments)):
            seg = segments[i]
            last = i == len(segments) - 1
            upper = segments[i + 1].base if not last else seg.end
            if last and seg.bytes == 0:
                break
            if high_watermark < upper or not predicate(seg):
                break
            count += 1
        return count

    by_time = 0
    if config.retention_ms >= 0:
        horizon = now - config.retention_ms / 1000.0
        by_time = scan(0, lambda seg: seg.max_ts < horizon)
    by_size = 0
    if config.retention_bytes >= 0:
        remaining = log_bytes - sum(seg.bytes for seg in segments[:by_time])
        diff = [remaining - config.retention_bytes]

        def too_big(seg: Segment) -> bool:
            if diff[0] - seg.bytes >= 0:
                diff[0] -= seg.bytes
                return True
            return False

        by_size = scan(by_time, too_big)
    rolls = "retention" if by_time + by_size == len(segments) else None
    return by_time, by_size, rolls


# -- lookups (for teaching: what a fetch or a ListOffsets request costs the broker) -----------

def find_segment(segments: list[Segment], offset: int) -> tuple[int, int]:
    """The segment holding ``offset`` (floor of the base offsets, as Kafka's skip list) and the
    comparisons made: ``(index, probes)``; index -1 if the offset is before the log start."""
    bases = [seg.base for seg in segments]
    i = floor_index(bases, offset)
    return i, binary_search_probes(len(bases), i)
