"""Log compaction: the log cleaner's rules, as pure functions over a partition's records.

From ``kafka.log.LogCleaner`` and ``LogCleanerManager`` (cleanup.policy containing ``compact``):

- The log is split at the cleaner checkpoint (the first dirty offset): before it the *clean*
  part, already compacted; after it the *dirty* part, up to the first uncleanable offset. That
  is the base of the active segment, or of the first segment holding a record younger than
  ``min.compaction.lag.ms``, whichever comes first: the active segment is never cleaned.
- The dirty ratio is dirty bytes / (clean bytes + dirty bytes). The cleaner only picks a log
  whose ratio is above ``min.cleanable.dirty.ratio`` (0.5 by default); when no log qualifies,
  it sleeps ``log.cleaner.backoff.ms``.
- Cleaning builds a map key -> latest offset from the dirty part, then rewrites every segment
  from the log start to the first uncleanable offset keeping a record only if no later record
  in the map has its key (``shouldRetainRecord``). Offsets never change: removed records leave
  gaps. Segments are first grouped so that each group's total size fits in ``segment.bytes``
  (``groupSegmentsBySize``) and each group becomes one cleaned segment.
- Tombstones (a null value, "delete this key") follow KIP-534: the first cleaning that keeps a
  tombstone stamps it with a delete horizon of now + ``delete.retention.ms``; a later cleaning
  that runs after the horizon removes it. So a consumer that reads from the start within
  delete.retention.ms sees the delete; one that reads later never sees the key at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from playground.engine.kafka.segments import LogConfig, Segment

TOMBSTONE = 1
CONTROL = 2  # log.CONTROL: a transaction marker (a control record: it has a key of its own)


def records_without_key(keys: np.ndarray, flags: np.ndarray | None) -> int:
    """How many records of a batch have no key (key index -1), control markers aside.

    A compacted topic refuses the whole batch when any has none (LogValidator.validateKey:
    INVALID_RECORD, "Compacted topic cannot accept message without key in topic partition ...";
    the producer fails the batch without retrying: the offending records with an
    InvalidRecordException, the others with "Failed to append record because it was part of a
    batch which had one more more invalid records", Sender.failBatch).
    """
    null = keys < 0
    if flags is not None and flags.dtype == np.uint8:
        null &= (flags & CONTROL) == 0
    return int(null.sum())


def first_uncleanable_offset(segments: list[Segment], now: float, config: LogConfig) -> int:
    """LogCleanerManager.cleanableOffsets: the active segment's base, or the base of the first
    segment whose newest record is younger than min.compaction.lag.ms, whichever is lower."""
    active = segments[-1]
    if config.min_compaction_lag_ms > 0:
        horizon = now - config.min_compaction_lag_ms / 1000.0
        for seg in segments[:-1]:
            if seg.max_ts > horizon:
                return seg.base
    return active.base


def dirty_ratio(segments: list[Segment], first_dirty: int, uncleanable: int) -> tuple[int, int, float]:
    """LogToClean: ``(clean bytes, cleanable bytes, cleanable / total)`` for the segments before
    the first uncleanable offset, split at the cleaner checkpoint."""
    clean = dirty = 0
    for seg in segments:
        if seg.base >= uncleanable:
            break
        if seg.base < first_dirty:
            clean += seg.bytes
        else:
            dirty += seg.bytes
    total = clean + dirty
    return clean, dirty, (dirty / total if total else 0.0)


def group_segments_by_size(segments: list[Segment], max_bytes: int) -> list[list[Segment]]:
    """LogCleaner.groupSegmentsBySize: consecutive segments merged while their sizes (before
    this cleaning) sum to at most segment.bytes and their offsets fit a 32-bit relative offset."""
    groups: list[list[Segment]] = []
    for seg in segments:
        if groups:
            group = groups[-1]
            if sum(s.bytes for s in group) + seg.bytes <= max_bytes and seg.end - group[0].base <= 2**31 - 1:
                group.append(seg)
                continue
        groups.append([seg])
    return groups


def retain_mask(offsets: np.ndarray, keys: np.ndarray, flags: np.ndarray, first_dirty: int,
                horizons: dict[int, float], now: float, delete_retention_s: float) -> np.ndarray:
    """Which records of the cleanable range survive a cleaning (``shouldRetainRecord``).

    A record is kept if no later record in the dirty part has its key; a record without a key
    (which a compacted topic refuses since LogValidator checks keys, but which a log may hold
    from before) is not kept (``shouldRetainRecord``'s ``record.hasKey`` branch). A kept tombstone whose
    delete horizon has passed is removed; one without a horizon gets now + delete.retention.ms
    (``horizons`` maps a tombstone's offset to it; replaced in place by the kept tombstones').
    """
    if len(offsets) == 0:
        return np.zeros(0, dtype=bool)
    keyed = keys >= 0
    dirty = (offsets >= first_dirty) & keyed
    latest = np.full(max(int(keys.max()), 0) + 1, -1, dtype=np.int64)
    np.maximum.at(latest, keys[dirty], offsets[dirty])
    # A record without a key is removed (Cleaner.shouldRetainRecord: stats.invalidMessage());
    # it never takes part in the map, so it cannot hide another record.
    keep = keyed & (offsets >= latest[np.where(keyed, keys, 0)])
    kept_horizons: dict[int, float] = {}
    for i in np.flatnonzero(keep & ((flags & TOMBSTONE) != 0)).tolist():
        off = int(offsets[i])
        horizon = horizons.get(off)
        if horizon is None:
            kept_horizons[off] = now + delete_retention_s
        elif now >= horizon:
            keep[i] = False
        else:
            kept_horizons[off] = horizon
    # Horizons of tombstones a newer record replaced, or that are now gone, are forgotten.
    horizons.clear()
    horizons.update(kept_horizons)
    return keep
