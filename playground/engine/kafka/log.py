"""A partition's log: segments over compact numpy columns, one row per stored record.

Rows hold each record's offset (int64), key index (int32), flags (uint8: tombstone, control
marker, transactional, aborted) and timestamp (float64, simulated seconds): 21 bytes a record;
when the run counts end-to-end duplicates, also its origin (int64: which message the first
producer sent, kept through consume-process-produce), 29 bytes. Only records that still matter are
kept as rows:

- Retention deletes whole segments (segments.py) and frees their rows at once.
- Compaction (compaction.py) removes the rows of replaced records; their offsets become gaps.
- With cleanup.policy=delete, rows older than the oldest offset a reader may fetch again (its
  committed offset) are forgotten too, so memory follows the backlog, not the records ever
  written. The segments' metadata stays exact; only per-record detail of those old records goes
  (``key_at`` gives -1). Compacted topics keep every row: the cleaner needs the keys.

The log start offset (``log_start``) is the first offset a consumer may fetch: it moves forward
when retention deletes the oldest segments, never because of compaction.

Rows of plain batches are written in bulk: an append of the common kind (no tombstones, policy
delete) only stages its keys, and the staged batches become rows together, as one array write,
when anything reads the rows or ``STAGED_MAX`` batches are waiting; when the rows are full,
staged batches older than what readers still need are forgotten without ever being written.
Everything else (``leo``, the segments and their indexes) is updated at once; the rows are the
same either way.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Final

import numpy as np

from playground.engine._mypyc import mypyc_attr
from playground.engine.kafka.compaction import (
    TOMBSTONE,
    dirty_ratio,
    first_uncleanable_offset,
    group_segments_by_size,
    retain_mask,
)
from playground.engine.kafka.segments import (
    LogConfig,
    Segment,
    binary_search_probes,
    find_segment,
    floor_index,
    retention_deletable,
)

# Row flags besides compaction's TOMBSTONE (1). A transaction marker is a control record: it
# takes an offset but is never handed to an application (KIP-98).
CONTROL: Final = 2  # a COMMIT or ABORT marker
ABORT_MARKER: Final = 4  # with CONTROL: the marker is ABORT
TXN: Final = 8  # written by a transactional producer
ABORTED: Final = 16  # a record of a transaction that was aborted (the broker's aborted-transaction index)

TAIL = 8
MIN_ROWS: Final = 256
STAGED_MAX: Final = 64  # batches appended before their rows are written (see the module docstring)
DEFAULT_CONFIG = LogConfig()


def _staged_end(batch: tuple[int, np.ndarray, float]) -> int:
    """The offset after a staged batch (first offset, keys, time)."""
    return batch[0] + len(batch[1])


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class PartitionLog:
    __slots__ = ("config", "leo", "log_start", "segments", "_offs", "_keybuf", "_flagbuf", "_tsbuf", "_lo", "_hi",
                 "_staged", "_staged_n", "origbuf", "first_dirty", "horizons", "removed_by_retention",
                 "removed_by_compaction", "tombstones_removed", "cleaner_runs", "retention_runs", "last_cleaned",
                 "last_deleted", "rolls")

    def __init__(self, config: LogConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.leo = 0  # log end offset: the offset the next record will get
        self.log_start = 0  # first offset still in the log (moved by retention only)
        self.segments: list[Segment] = [Segment(0)]
        self._offs = np.zeros(MIN_ROWS, dtype=np.int64)
        self._keybuf = np.zeros(MIN_ROWS, dtype=np.int32)
        self._flagbuf = np.zeros(MIN_ROWS, dtype=np.uint8)
        self._tsbuf = np.zeros(MIN_ROWS, dtype=np.float64)
        self._lo = self._hi = 0  # rows [lo, hi) are stored
        self._staged: list[tuple[int, np.ndarray, float]] = []  # (first offset, keys, time) not yet rows
        self._staged_n = 0
        self.origbuf: np.ndarray | None = None  # allocated by the first append that brings origins
        self.first_dirty = 0  # the cleaner checkpoint
        self.horizons: dict[int, float] = {}  # tombstone offset -> delete horizon (KIP-534)
        self.removed_by_retention = 0
        self.removed_by_compaction = 0
        self.tombstones_removed = 0
        self.cleaner_runs = 0
        self.retention_runs = 0
        self.last_cleaned: dict[str, Any] | None = None
        self.last_deleted: dict[str, Any] | None = None
        self.rolls = 0

    # -- rows: every reader sees them written (staged batches are flushed first) -------------

    def _flush(self) -> None:
        """Write the staged batches as rows: consecutive offsets, so one write per column."""
        staged = self._staged
        n, hi = self._staged_n, self._hi
        first = staged[0][0]
        self._offs[hi:hi + n] = np.arange(first, first + n, dtype=np.int64)
        if len(staged) == 1:
            self._keybuf[hi:hi + n] = staged[0][1]
            self._tsbuf[hi:hi + n] = staged[0][2]
        else:
            self._keybuf[hi:hi + n] = np.concatenate([keys for _, keys, _ in staged])
            times = np.array([now for _, _, now in staged])
            self._tsbuf[hi:hi + n] = times.repeat([len(keys) for _, keys, _ in staged])
        self._flagbuf[hi:hi + n] = 0
        self._hi = hi + n
        staged.clear()
        self._staged_n = 0

    def has_room(self, n: int) -> bool:
        """Whether ``n`` more rows fit in the buffers as they are (no reallocation needed)."""
        return self._hi + self._staged_n + n <= len(self._offs)

    @property
    def offs(self) -> np.ndarray:
        if self._staged:
            self._flush()
        return self._offs

    @offs.setter
    def offs(self, value: np.ndarray) -> None:
        if self._staged:
            self._flush()
        self._offs = value

    @property
    def keybuf(self) -> np.ndarray:
        if self._staged:
            self._flush()
        return self._keybuf

    @keybuf.setter
    def keybuf(self, value: np.ndarray) -> None:
        if self._staged:
            self._flush()
        self._keybuf = value

    @property
    def flagbuf(self) -> np.ndarray:
        if self._staged:
            self._flush()
        return self._flagbuf

    @flagbuf.setter
    def flagbuf(self, value: np.ndarray) -> None:
        if self._staged:
            self._flush()
        self._flagbuf = value

    @property
    def tsbuf(self) -> np.ndarray:
        if self._staged:
            self._flush()
        return self._tsbuf

    @tsbuf.setter
    def tsbuf(self, value: np.ndarray) -> None:
        if self._staged:
            self._flush()
        self._tsbuf = value

    @property
    def lo(self) -> int:
        if self._staged:
            self._flush()
        return self._lo

    @lo.setter
    def lo(self, value: int) -> None:
        if self._staged:
            self._flush()
        self._lo = value

    @property
    def hi(self) -> int:
        if self._staged:
            self._flush()
        return self._hi

    @hi.setter
    def hi(self, value: int) -> None:
        if self._staged:
            self._flush()
        self._hi = value

    # -- writing ----------------------------------------------------------------------------

    @property
    def start(self) -> int:
        """Offset of the oldest stored row (records before it may be forgotten, see above)."""
        return int(self.offs[self.lo]) if self.hi > self.lo else self.leo

    @property
    def kept_from(self) -> int:
        """Offsets in [log_start, kept_from) are in the log but their rows were forgotten (policy
        delete only, so they have no gaps); from kept_from on, the rows tell what is there."""
        return self.log_start if self.config.compacts else max(self.log_start, self.start)

    @property
    def size(self) -> int:
        return sum(seg.bytes for seg in self.segments)

    @property
    def records(self) -> int:
        """Records still in the log (retention and compaction took the others)."""
        return sum(seg.records for seg in self.segments)

    def append(self, keys: np.ndarray, keep_from: int, now: float = 0.0,
               tombstones: np.ndarray | None = None, origins: np.ndarray | None = None) -> int:
        """Append one batch of records with these key indexes; return the first one's offset.

        ``keep_from`` is the oldest offset a reader may still need: with cleanup.policy=delete
        older rows may be forgotten. ``tombstones`` marks records with a null value (a bool
        array), or gives each record's flags (a uint8 array: TOMBSTONE, CONTROL, TXN ...).
        ``origins`` are the records' origin ids (end-to-end duplicate counting).
        """
        n = len(keys)
        first = self.leo
        if n == 0:
            return first
        plain = tombstones is None or not tombstones.any()
        if plain and origins is None and self.append_plain(keys, now):
            return first
        config = self.config
        total = n * config.record_bytes
        if plain and total <= config.segment_bytes:
            # One batch of plain records that fits in a segment.
            if origins is None and self.origbuf is None and not config.compacts:
                self._make_room(keep_from, n)  # the rows were full: now the batch is staged
                self.append_plain(keys, now)
                return first
            self._store(keys, 0, now, keep_from, origins)
            self._add_to_segment(first, n, total, now)
            self.leo += n
            return first
        if tombstones is None:
            flags = np.zeros(n, dtype=np.uint8)
        elif tombstones.dtype == np.uint8:
            flags = tombstones
        else:
            flags = tombstones.astype(np.uint8) * TOMBSTONE
        # A tombstone and a control marker are small records: a key and no value.
        sizes = np.where(flags & (TOMBSTONE | CONTROL), config.tombstone_bytes, config.record_bytes)
        self._store(keys, flags, now, keep_from, origins)
        # A producer never sends a batch larger than a segment; split as its batch.size would.
        cum = np.cumsum(sizes)
        start = 0
        while start < n:
            done = int(cum[start - 1]) if start else 0
            end = max(start + 1, int(np.searchsorted(cum, done + config.segment_bytes, side="right")))
            size = int(cum[end - 1]) - done
            self._add_to_segment(first + start, end - start, size, now)
            start = end
        self.leo += n
        return first

    def append_plain(self, keys: np.ndarray, now: float) -> bool:
        """The common append, kept cheap: one batch of plain records (no tombstones, no origins,
        cleanup.policy without compaction) that fits in a segment and in the rows as they are.
        Its keys are staged (see the module docstring) and the segments updated as ``append``
        does (UnifiedLog.maybeRoll, then LogSegment.append). Returns False, having done nothing,
        when the batch needs ``append``.
        """
        n = len(keys)
        config = self.config
        total = n * config.record_bytes
        if (not n or total > config.segment_bytes or config.compacts or self.origbuf is not None
                or self._hi + self._staged_n + n > len(self._offs)):
            return False
        first = self.leo
        staged = self._staged
        staged.append((first, keys, now))
        self._staged_n += n
        if len(staged) >= STAGED_MAX:
            self._flush()
        self._add_to_segment(first, n, total, now)
        self.leo = first + n
        return True

    def _add_to_segment(self, first: int, n: int, size: int, now: float) -> None:
        """A batch of ``n`` records and ``size`` bytes goes to the active segment, rolled first if
        it must be (UnifiedLog.maybeRoll, then LogSegment.append)."""
        config = self.config
        active = self.segments[-1]
        if active.should_roll(size, now, config):
            self._roll(first, now)
            active = self.segments[-1]
        active.add_batch(first, n, size, now, config.index_interval_bytes)

    def _roll(self, base: int, now: float) -> None:
        self.segments.append(Segment(base, now))
        self.rolls += 1

    def _store(self, keys: np.ndarray, flags: np.ndarray | int, now: float, keep_from: int,
               origins: np.ndarray | None = None) -> None:
        if self._staged:
            self._flush()  # then the rows are all written: the fields below are read directly
        n = len(keys)
        if origins is not None and self.origbuf is None:
            self.origbuf = np.full(len(self._offs), -1, dtype=np.int64)
        if self._hi + n > len(self._offs):
            self._make_room(keep_from, n)
        hi = self._hi
        leo = self.leo
        self._offs[hi:hi + n] = np.arange(leo, leo + n, dtype=np.int64)
        self._keybuf[hi:hi + n] = keys
        self._flagbuf[hi:hi + n] = flags
        self._tsbuf[hi:hi + n] = now
        if self.origbuf is not None:
            self.origbuf[hi:hi + n] = -1 if origins is None else origins
        self._hi = hi + n

    def _make_room(self, keep_from: int, n: int) -> None:
        """Buffers with room for ``n`` more rows after the stored and staged ones: the rows before
        ``keep_from`` are forgotten first (policy delete; the last TAIL records are kept, and a
        compacted log keeps every row: the cleaner needs every key). A staged batch that would be
        forgotten is dropped without ever being written as rows."""
        if self.config.compacts:
            keep_from = self.log_start
        else:
            keep_from = max(self.log_start, min(keep_from, self.leo - TAIL))
        lo, hi = self._lo, self._hi
        if lo < hi:  # the stored rows come before the staged ones
            self._lo = lo + int(self._offs[lo:hi].searchsorted(keep_from))
        staged = self._staged
        if staged and staged[0][0] < keep_from:
            start = staged[0][0]
            del staged[:bisect_right(staged, keep_from, key=_staged_end)]  # the batches ending by keep_from
            if staged and staged[0][0] < keep_from:  # the batch that keep_from falls in keeps its tail
                first, keys, now = staged[0]
                staged[0] = (keep_from, keys[keep_from - first:], now)
            self._staged_n -= min(keep_from, start + self._staged_n) - start  # staged offsets are consecutive
        self._reallocate(self._hi - self._lo + self._staged_n + n)

    def _row(self, offset: int) -> int:
        """Index of the first stored row at or after ``offset``."""
        if self._staged:
            self._flush()
        lo = self._lo
        return lo + int(self._offs[lo:self._hi].searchsorted(offset))

    def _drop_rows_before(self, offset: int) -> None:
        self.lo = self._row(offset)

    def _reallocate(self, need: int) -> None:
        """Move the stored rows to the front of buffers sized for ``need`` rows (staged batches
        become rows after them later: ``need`` counts them): the buffers grow by doubling and
        shrink when a quarter full, so freed rows really free memory."""
        lo, hi = self._lo, self._hi
        live = hi - lo
        size = len(self._offs)
        while need > size:
            size *= 2
        while size > MIN_ROWS and need * 4 < size:
            size //= 2
        if size == len(self._offs) and (lo == 0 or live == 0):
            self._lo, self._hi = 0, live  # nothing to move
            return
        for name in ("_offs", "_keybuf", "_flagbuf", "_tsbuf", "origbuf"):
            old = getattr(self, name)
            if old is None:
                continue
            new = old if size == len(old) else np.zeros(size, dtype=old.dtype)
            new[:live] = old[lo:hi]
            setattr(self, name, new)
        self._lo, self._hi = 0, live

    # -- reading ----------------------------------------------------------------------------

    def keys(self, first: int, end: int) -> np.ndarray:
        """Key indexes of offsets [first, end); offsets not stored (gone or forgotten) give -1."""
        out = np.full(max(0, end - first), -1, dtype=np.int32)
        a, b = self._row(first), self._row(end)
        out[self.offs[a:b] - first] = self.keybuf[a:b]
        return out

    def timestamps(self, first: int, end: int) -> np.ndarray:
        """Append times of offsets [first, end); offsets not stored give NaN."""
        out = np.full(max(0, end - first), np.nan)
        a, b = self._row(first), self._row(end)
        out[self.offs[a:b] - first] = self.tsbuf[a:b]
        return out

    def flags(self, first: int, end: int) -> np.ndarray:
        """Row flags of offsets [first, end); offsets not stored give 0."""
        out = np.zeros(max(0, end - first), dtype=np.uint8)
        a, b = self._row(first), self._row(end)
        out[self.offs[a:b] - first] = self.flagbuf[a:b]
        return out

    def origins(self, first: int, end: int) -> np.ndarray:
        """Origin ids of offsets [first, end); -1 where none was recorded or the row is gone."""
        out = np.full(max(0, end - first), -1, dtype=np.int64)
        if self.origbuf is not None:
            a, b = self._row(first), self._row(end)
            out[self.offs[a:b] - first] = self.origbuf[a:b]
        return out

    def set_flag(self, first: int, end: int, flag: int) -> None:
        """Set ``flag`` on the stored rows of offsets [first, end) (an abort marks its records)."""
        a, b = self._row(first), self._row(end)
        self.flagbuf[a:b] |= flag

    def key_at(self, offset: int) -> int:
        if offset < self.log_start or offset >= self.leo:
            return -1
        staged = self._staged
        if staged and offset >= staged[0][0]:  # read from the staged batch: no flush for one key
            for first, keys, _ in staged[::-1]:  # (not reversed(): mypyc 2.4.1 fails to compile it here)
                if offset >= first:
                    return int(keys[offset - first])
        row = self._row(offset)
        if row < self.hi and self.offs[row] == offset:
            return int(self.keybuf[row])
        return -1

    def live(self, first: int, end: int) -> np.ndarray:
        """Which offsets of [first, end) a fetch still returns: False before the log start and in
        the gaps compaction left. Forgotten rows (policy delete, no gaps possible) count as live."""
        out = np.zeros(max(0, end - first), dtype=bool)
        lo = max(first, self.log_start)
        if lo >= end:
            return out
        stored = self.kept_from
        out[lo - first:max(lo, min(end, stored)) - first] = True  # forgotten: no gaps there
        a, b = self._row(max(lo, stored)), self._row(end)
        out[self.offs[a:b] - first] = True
        return out

    def tail(self, count: int = TAIL) -> list[int]:
        lo = max(self.lo, self.hi - count)
        return [int(k) for k in self.keybuf[lo:self.hi]]

    # -- retention --------------------------------------------------------------------------

    def delete_old_segments(self, now: float, high_watermark: int | None = None) -> dict[str, Any] | None:
        """Apply retention.ms and retention.bytes (see segments.retention_deletable)."""
        hw = self.leo if high_watermark is None else high_watermark
        by_time, by_size, rolls = retention_deletable(self.segments, self.size, now, hw, self.config)
        count = by_time + by_size
        if not count:
            return None
        if rolls:
            self._roll(self.leo, now)
        gone = self.segments[:count]
        del self.segments[:count]
        records = sum(seg.records for seg in gone)
        self.removed_by_retention += records
        self.log_start = self.segments[0].base
        self.first_dirty = max(self.first_dirty, self.log_start)
        self._drop_rows_before(self.log_start)
        if self.horizons:
            self.horizons = {o: h for o, h in self.horizons.items() if o >= self.log_start}
        if (self.hi - self.lo) * 4 < len(self.offs):
            self._reallocate(self.hi - self.lo)
        self.retention_runs += 1
        reason = "retention.ms" if by_time and not by_size else "retention.bytes" if by_size and not by_time else (
            "retention.ms and retention.bytes")
        self.last_deleted = {"t": now, "segments": count, "records": records, "bytes": sum(s.bytes for s in gone),
                             "reason": reason, "log_start": self.log_start}
        return self.last_deleted

    # -- compaction -------------------------------------------------------------------------

    def dirty_ratio(self, now: float) -> float:
        uncleanable = first_uncleanable_offset(self.segments, now, self.config)
        return dirty_ratio(self.segments, self.first_dirty, uncleanable)[2]

    def needs_cleaning(self, now: float) -> bool:
        """LogCleanerManager: the dirty ratio is above min.cleanable.dirty.ratio."""
        if not self.config.compacts:
            return False
        uncleanable = first_uncleanable_offset(self.segments, now, self.config)
        _, dirty, ratio = dirty_ratio(self.segments, self.first_dirty, uncleanable)
        return dirty > 0 and ratio > self.config.min_cleanable_dirty_ratio

    def clean(self, now: float) -> dict[str, Any]:
        """One pass of the log cleaner over [log start, first uncleanable offset)."""
        config = self.config
        uncleanable = first_uncleanable_offset(self.segments, now, config)
        ratio = dirty_ratio(self.segments, self.first_dirty, uncleanable)[2]
        cut = next(i for i, seg in enumerate(self.segments) if seg.base >= uncleanable)
        a, b = self._row(self.log_start), self._row(uncleanable)
        offs, keys, flags = self.offs[a:b], self.keybuf[a:b], self.flagbuf[a:b]
        plain = (flags & (CONTROL | ABORTED)) == 0
        if plain.all():
            keep = retain_mask(offs, keys, flags, self.first_dirty, self.horizons, now,
                               config.delete_retention_ms / 1000)
        else:
            # The cleaner discards the records of aborted transactions and keeps the markers
            # (simplified: Kafka removes a marker once its transaction's records are gone too).
            keep = (flags & CONTROL) != 0
            keep[plain] = retain_mask(offs[plain], keys[plain], flags[plain], self.first_dirty, self.horizons, now,
                                      config.delete_retention_ms / 1000)
        removed = int(len(keep) - keep.sum())
        tombstones = int(((flags & TOMBSTONE) != 0)[~keep].sum())
        cleaned: list[Segment] = []
        kept_offs = offs[keep]
        kept_flags = flags[keep]
        kept_ts = self.tsbuf[a:b][keep]
        for group in group_segments_by_size(self.segments[:cut], config.segment_bytes):
            seg = Segment(group[0].base)
            seg.cleaned = True
            i, j = np.searchsorted(kept_offs, [group[0].base, group[-1].end])
            sizes = np.where(kept_flags[i:j] & TOMBSTONE, config.tombstone_bytes, config.record_bytes)
            for off, size, ts in zip(kept_offs[i:j].tolist(), sizes.tolist(), kept_ts[i:j].tolist(), strict=True):
                seg.add_batch(off, 1, size, ts, config.index_interval_bytes)
            seg.end = group[-1].end
            if seg.records == 0:
                seg.max_ts = max(s.max_ts for s in group)
            cleaned.append(seg)
        self.segments[:cut] = cleaned
        # Rewrite the rows: the survivors of the cleaned range, then everything after it.
        n_keep = int(keep.sum())
        for buf in (self.offs, self.keybuf, self.flagbuf, self.tsbuf, self.origbuf):
            if buf is None:
                continue
            buf[a:a + n_keep] = buf[a:b][keep]
            buf[a + n_keep:a + n_keep + self.hi - b] = buf[b:self.hi]
        self.hi = a + n_keep + self.hi - b
        if (self.hi - self.lo) * 4 < len(self.offs):
            self._reallocate(self.hi - self.lo)
        self.first_dirty = uncleanable
        self.removed_by_compaction += removed
        self.tombstones_removed += tombstones
        self.cleaner_runs += 1
        self.last_cleaned = {"t": now, "removed": removed, "tombstones": tombstones, "dirty_ratio": round(ratio, 3),
                             "upto": uncleanable}
        return self.last_cleaned

    # -- lookups ----------------------------------------------------------------------------

    def lookup_offset(self, offset: int) -> dict[str, Any]:
        """What a fetch at ``offset`` costs the broker: find the segment (floor of the base offsets),
        binary-search its sparse offset index, then scan records from the entry found.

        ``records_scanned`` counts the records read from the index entry's batch up to the first
        record at or after ``offset`` (the one returned; a gap left by compaction is skipped).
        """
        if offset < self.log_start or offset >= self.leo:
            return {"offset": offset, "error": "OFFSET_OUT_OF_RANGE", "log_start": self.log_start, "leo": self.leo}
        i, seg_probes = find_segment(self.segments, offset)
        seg = self.segments[i]
        rel = offset - seg.base
        entry = floor_index(seg.idx_offset, rel)
        scan_from = seg.base + (seg.idx_first[entry] if entry >= 0 else 0)
        # A gap (or an emptied segment) is skipped: the fetch returns the next record there is.
        found = self._next_record(offset, self.leo)
        scanned = self._count_records(scan_from, found + 1 if found is not None else self.leo)
        found_entry = None if entry < 0 else {"offset": seg.base + seg.idx_offset[entry],
                                              "position": seg.idx_pos[entry]}
        return {"offset": offset, "segment": seg.base, "segment_probes": seg_probes,
                "index_entries": len(seg.idx_offset), "index_probes": binary_search_probes(len(seg.idx_offset), entry),
                "entry": found_entry, "records_scanned": scanned, "found": found}

    def lookup_time(self, ts: float) -> dict[str, Any]:
        """ListOffsets by timestamp (offsetsForTimes): the first segment whose newest record is at
        or after ``ts`` (a linear walk over segments, as Kafka's), its time index for the largest
        entry at or before ``ts``, the offset index for that entry's position, then a scan to the
        first record with a timestamp at or after ``ts``."""
        segments_scanned = 0
        for seg in self.segments:
            segments_scanned += 1
            if seg.max_ts >= ts and seg.records:
                break
        else:
            return {"ts": ts, "found": None, "segments_scanned": segments_scanned}
        entry = floor_index(seg.tidx_ts, ts)
        start = seg.base + (seg.tidx_offset[entry] if entry >= 0 else 0)
        oentry = floor_index(seg.idx_offset, start - seg.base)
        scan_from = seg.base + (seg.idx_first[oentry] if oentry >= 0 else 0)
        result: dict[str, Any] = {"ts": ts, "segment": seg.base, "segments_scanned": segments_scanned,
                                  "time_index_probes": binary_search_probes(len(seg.tidx_ts), entry),
                                  "index_probes": binary_search_probes(len(seg.idx_offset), oentry)}
        a, b = self._row(max(scan_from, self.kept_from)), self._row(seg.end)
        if scan_from < self.kept_from:
            # Rows forgotten (policy delete): the answer is known to index-entry precision only.
            result.update(found=start, records_scanned=self._count_records(scan_from, start + 1), approximate=True)
            return result
        hit = a + int(np.searchsorted(self.tsbuf[a:b], ts))  # timestamps rise with offsets here
        found = int(self.offs[hit]) if hit < b else None
        result.update(found=found, records_scanned=hit - a + (1 if hit < b else 0), approximate=False)
        return result

    def _next_record(self, offset: int, end: int) -> int | None:
        if offset < self.kept_from:
            return offset  # forgotten rows: policy delete, no gaps
        row = self._row(offset)
        if row < self.hi and self.offs[row] < end:
            return int(self.offs[row])
        return None

    def _count_records(self, first: int, end: int) -> int:
        stored = self.kept_from
        forgotten = max(0, min(end, stored) - first)
        return forgotten + max(0, self._row(end) - self._row(max(first, stored)))

    # -- view -------------------------------------------------------------------------------

    def view(self, now: float, max_segments: int = 16) -> dict[str, Any]:
        segs = self.segments
        shown = segs[-max_segments:]
        last = len(segs) - 1
        offset = len(segs) - len(shown)
        return {
            "log_start_offset": self.log_start,
            "size": self.size,
            "records": self.records,
            "segment_count": len(segs),
            "segments": [seg.view(offset + i == last) for i, seg in enumerate(shown)],
            "removed_by_retention": self.removed_by_retention,
            "removed_by_compaction": self.removed_by_compaction,
            "tombstones_removed": self.tombstones_removed,
            "dirty_ratio": round(self.dirty_ratio(now), 3) if self.config.compacts else None,
            "first_dirty": self.first_dirty if self.config.compacts else None,
            "cleaner_runs": self.cleaner_runs,
            "last_cleaned": self.last_cleaned,
            "last_deleted": self.last_deleted,
        }
