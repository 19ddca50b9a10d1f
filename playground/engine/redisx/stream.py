"""A stream's entries, MAXLEN / MINID trimming and XDEL (XADD, XTRIM, XDEL).

Entries are addressed by *position* (0 for the first entry ever added, counting up) and carry
their ID and a payload (the publisher's message number). ``first`` is the position of the
oldest entry still in the stream: trimming only ever removes a prefix (XTRIM "evicts older
entries (entries with lower IDs)"). XDEL removes any entry: Redis only flags it deleted inside
its macro node (a tombstone; t_stream.c streamIteratorRemoveEntry) and frees the node once all
its entries are gone; here the deleted positions after ``first`` are kept in ``deleted``.
Macro nodes hold ``node_entries`` consecutive positions (deleted ones included, as Redis counts
``entries + deleted`` when it decides to open a new node in streamAppendItem), counted from an
*anchor*: 0, or the position where XADD had to open a node because the previous tail node was
removed (emptied by XDEL or trimmed away whole). Memory follows what readers still need, not
the length:
past a million entries (an untrimmed stream), entries every consumer group has read already are
only counted (Redis itself keeps them until they are trimmed, and ``length`` says so).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator

import numpy as np

from playground.engine.redisx.ids import check_explicit_id, next_auto_id

TAIL = 8  # newest entries kept for display whatever the readers need
HELD_MAX = 1 << 20  # a longer stream keeps in memory only the entries its readers still need
NODE_ENTRIES = 100  # stream-node-max-entries, Redis's default
LIMIT_FACTOR = 100  # approximate trimming evicts at most 100 * stream-node-max-entries per call


def maxlen_trim_count(length: int, maxlen: int, approximate: bool, head_node: int, node_entries: int,
                      limit: int | None = None) -> int:
    """How many of the oldest entries ``MAXLEN [=|~] maxlen`` evicts (XTRIM, XADD).

    Exact (``=``, the default): down to exactly ``maxlen`` entries.

    Approximate (``~``): Redis stores a stream as a radix tree of macro nodes of up to
    stream-node-max-entries entries (100 by default; also capped at stream-node-max-bytes) and
    only evicts *whole* nodes, the oldest first, while what remains without the node is still at
    least ``maxlen`` (t_stream.c streamTrim: stop when ``length - node entries < maxlen``), and at
    most LIMIT entries per call (default 100 * stream-node-max-entries). So the stream keeps
    between maxlen and maxlen + a node's worth of entries, and a short stream is not trimmed at
    all. ``head_node`` is how many entries the oldest node still holds; the following nodes are
    full (this model fills nodes by entry count only, as small entries do).
    """
    if length <= maxlen:
        return 0
    if not approximate:
        return length - maxlen
    if limit is None:
        limit = LIMIT_FACTOR * node_entries
    removed = 0
    node = min(head_node, length)
    while node > 0 and length - removed - node >= maxlen and removed + node <= limit:
        removed += node
        node = min(node_entries, length - removed)
    return removed


def nodes_to_trim(nodes: Iterable[tuple[int, int]], length: int, *, maxlen: int | None = None,
                  minid: int | None = None, approximate: bool = False, limit: int = 0) -> tuple[int, int, bool]:
    """Which macro nodes XTRIM (or XADD's trimming) removes whole, oldest first: t_stream.c
    streamTrim. ``nodes`` are (live entries, ID of the node's last entry, deleted or not).

    MAXLEN: a node goes whole while ``length - its entries >= maxlen``; MINID: while its last ID
    is below the threshold (lpGetEdgeStreamID). The walk stops at the first node that cannot go
    whole, when the length already is at most MAXLEN, or when the next node would take the
    evicted count past LIMIT (approximate only; exact trimming has no limit). Returns (nodes
    removed, entries they held, whether exact trimming goes on inside the next node).
    """
    removed_nodes = removed = 0
    for entries, last_id in nodes:
        if maxlen is not None and length <= maxlen:
            return removed_nodes, removed, False
        if limit and removed + entries > limit:
            return removed_nodes, removed, False
        whole = length - entries >= maxlen if maxlen is not None else minid is not None and last_id < minid
        if not whole:
            return removed_nodes, removed, not approximate
        removed_nodes += 1
        removed += entries
        length -= entries
    return removed_nodes, removed, False


class StreamLog:
    """Entries of one stream, compactly: int64 IDs and int32 payloads in numpy buffers."""

    __slots__ = ("ids", "keys", "base", "appended", "first", "last_id", "node_entries", "deleted", "anchors",
                 "tail_open", "max_deleted_id")

    def __init__(self, node_entries: int = NODE_ENTRIES) -> None:
        self.ids = np.zeros(64, dtype=np.int64)
        self.keys = np.zeros(64, dtype=np.int32)
        self.base = 0  # position of buffer slot 0
        self.appended = 0  # entries ever added (XINFO STREAM entries-added); next position
        self.first = 0  # position of the oldest entry still in the stream (never a deleted one)
        self.last_id = 0  # last-generated-id: kept when entries are trimmed or deleted
        self.node_entries = node_entries
        self.deleted: list[int] = []  # positions after ``first`` removed by XDEL, ascending
        self.anchors: list[int] = [0]  # positions where XADD opened a node after the tail node went
        self.tail_open = True  # False once the tail node was removed: the next XADD opens a new one
        self.max_deleted_id = 0  # XINFO STREAM max-deleted-entry-id (XDEL only)

    @property
    def length(self) -> int:
        return self.appended - self.first - len(self.deleted)

    def first_id(self) -> int | None:
        """The oldest entry's ID; None for an empty stream, or when every reader is past it and
        it is no longer held in memory (only the simulation's memory, not the stream)."""
        return self.id_at(self.first) if self.length and self.first >= self.base else None

    # -- positions --------------------------------------------------------------------------

    def is_live(self, position: int) -> bool:
        """The entry at this position is still in the stream (not trimmed, not deleted)."""
        if position < self.first or position >= self.appended:
            return False
        i = bisect_left(self.deleted, position)
        return not (i < len(self.deleted) and self.deleted[i] == position)

    def live_between(self, start: int, end: int) -> int:
        """Entries still in the stream at positions [start, end)."""
        start = max(start, self.first)
        end = min(end, self.appended)
        if end <= start:
            return 0
        return end - start - (bisect_left(self.deleted, end) - bisect_left(self.deleted, start))

    def node_end(self, position: int) -> int:
        """The position after the last one of the macro node holding ``position``."""
        anchor_index = bisect_right(self.anchors, position) - 1
        anchor = self.anchors[anchor_index]
        end = anchor + ((position - anchor) // self.node_entries + 1) * self.node_entries
        if anchor_index + 1 < len(self.anchors):
            end = min(end, self.anchors[anchor_index + 1])
        return min(end, self.appended)

    def _advance_first(self, position: int) -> None:
        """Everything before ``position`` is gone; the first entry is the next live one."""
        deleted = self.deleted
        i = bisect_left(deleted, position)
        while i < len(deleted) and deleted[i] == position:
            position += 1
            i += 1
        del deleted[:i]
        self.first = min(position, self.appended)
        keep = bisect_right(self.anchors, self.first) - 1
        del self.anchors[:max(keep, 0)]

    # -- adding -----------------------------------------------------------------------------

    def auto_ids(self, arrival_ms: np.ndarray) -> np.ndarray:
        """The IDs ``XADD *`` gives entries arriving at these (sorted) milliseconds, in order."""
        out = np.empty(len(arrival_ms), dtype=np.int64)
        last = self.last_id
        for i, ms in enumerate(arrival_ms.tolist()):
            last = next_auto_id(int(ms), last)
            out[i] = last
        return out

    def add(self, ids: np.ndarray, keys: np.ndarray, keep_from: int) -> int:
        """Append entries with these IDs (checked like explicit XADD IDs); return the first's
        position. ``keep_from`` is the oldest position a reader still needs."""
        n = len(ids)
        if n == 0:
            return self.appended
        check_explicit_id(int(ids[0]), self.last_id)
        if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            raise ValueError("entry IDs must increase")
        if not self.tail_open:
            if self.anchors[-1] != self.appended:
                self.anchors.append(self.appended)
            self.tail_open = True
        used = self.appended - self.base
        if used + n > len(self.ids):
            # Hold the whole stream while it is not huge (its first ID is shown); past that only
            # what readers still need.
            wanted = self.first if self.length + n <= HELD_MAX else max(keep_from, self.first)
            keep = max(self.base, min(wanted, self.appended - TAIL))
            drop = keep - self.base
            live = used - drop
            size = len(self.ids)
            while live + n > size:
                size *= 2
            ids_buf = np.zeros(size, dtype=np.int64)
            keys_buf = np.zeros(size, dtype=np.int32)
            ids_buf[:live] = self.ids[drop:used]
            keys_buf[:live] = self.keys[drop:used]
            self.ids, self.keys, self.base, used = ids_buf, keys_buf, keep, live
        self.ids[used:used + n] = ids
        self.keys[used:used + n] = keys
        first = self.appended
        self.appended += n
        self.last_id = int(ids[-1])
        return first

    # -- XDEL -------------------------------------------------------------------------------

    def delete(self, ids: list[int]) -> list[int]:
        """XDEL key id...: remove these entries wherever they are; return the positions removed
        (its length is XDEL's reply: IDs not in the stream, or given twice, count nothing).

        The stream keeps its last-generated-id and entries-added; max-deleted-entry-id rises
        (xdelCommand). A macro node left without entries is freed (streamIteratorRemoveEntry):
        when that was the tail node, the next XADD opens a new node, which moves where the
        following node boundaries fall (and so what ``MAXLEN ~`` can evict)."""
        out = []
        for stream_id in ids:
            pos = self.position_of(stream_id)
            if pos is None:
                continue
            insort(self.deleted, pos)
            out.append(pos)
            self.max_deleted_id = max(self.max_deleted_id, stream_id)
            tail_start = self.node_start(self.appended - 1)
            if pos >= tail_start and self.live_between(tail_start, self.appended) == 0:
                self.tail_open = False  # the tail node lost its last entry and was freed
        self._advance_first(self.first)
        return out

    def node_start(self, position: int) -> int:
        anchor = self.anchors[bisect_right(self.anchors, position) - 1]
        return anchor + (position - anchor) // self.node_entries * self.node_entries

    # -- trimming ---------------------------------------------------------------------------

    def trim_maxlen(self, maxlen: int, approximate: bool, limit: int | None = None) -> tuple[int, int]:
        """Apply ``MAXLEN [=|~] maxlen``; return the evicted positions as a range [start, end)
        (entries deleted earlier inside it are not evicted again: ``live_between``)."""
        return self.trim(maxlen=maxlen, approximate=approximate, limit=limit)

    def trim(self, *, maxlen: int | None = None, minid: int | None = None, approximate: bool = False,
             limit: int | None = None) -> tuple[int, int]:
        """XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count] (streamTrim): evict the
        oldest entries while more than MAXLEN remain, or those with IDs below MINID. Whole macro
        nodes first (``nodes_to_trim``); exact trimming then evicts inside the next node one
        entry at a time, approximate trimming stops there. Returns the evicted position range."""
        if approximate and limit is None:
            limit = LIMIT_FACTOR * self.node_entries
        if not approximate:
            limit = 0
        start = self.first
        if maxlen is not None and not self.deleted and len(self.anchors) == 1:
            # the common case, every XADD with MAXLEN: full nodes after the head one, no tombstones
            removed = maxlen_trim_count(self.length, maxlen, approximate, self.node_end(start) - start,
                                        self.node_entries, limit or None)
            if start + removed >= self.appended:
                self.tail_open = False
            self._advance_first(start + removed)
            return start, start + removed
        count, _, inside = nodes_to_trim(self._nodes(start, minid), self.length, maxlen=maxlen, minid=minid,
                                         approximate=approximate, limit=limit or 0)
        pos = start
        for _ in range(count):
            pos = self.node_end(pos)
        if inside and pos < self.appended:
            if maxlen is not None:
                excess = self.live_between(pos, self.appended) - maxlen
                pos = self._after_live(pos, excess)
            else:
                assert minid is not None
                pos = self._first_at_or_after(pos, minid)
        if pos >= self.appended:
            self.tail_open = False
        self._advance_first(pos)
        return start, max(start, pos)

    def _nodes(self, pos: int, minid: int | None) -> Iterator[tuple[int, int]]:
        """The macro nodes from ``pos`` on, oldest first, computed as the trim walk asks."""
        while pos < self.appended:
            end = self.node_end(pos)
            yield self.live_between(pos, end), self._id_for_trim(end - 1, minid)
            pos = end

    def _after_live(self, pos: int, n: int) -> int:
        """The position just past the n-th live entry from ``pos``."""
        while n > 0:
            i = bisect_left(self.deleted, pos)
            gap = (self.deleted[i] if i < len(self.deleted) else self.appended) - pos
            step = min(gap, n)
            pos += step
            n -= step
            if n:
                pos += 1  # a deleted position: skipped, evicts nothing
        return pos

    def _first_at_or_after(self, pos: int, stream_id: int) -> int:
        lo = max(pos, self.base)
        return lo + int(np.searchsorted(self.ids[lo - self.base:self.appended - self.base], stream_id))

    def _id_for_trim(self, position: int, minid: int | None) -> int:
        if minid is None:
            return 0
        if position < self.base:
            raise ValueError("MINID reaches entries this simulation no longer holds in memory (a stream of "
                             "more than a million entries every group has read): trim by MAXLEN instead")
        return self.id_at(position)

    # -- reading ----------------------------------------------------------------------------

    def id_at(self, position: int) -> int:
        return int(self.ids[position - self.base])

    def key_at(self, position: int) -> int:
        return int(self.keys[position - self.base])

    def position_of(self, stream_id: int) -> int | None:
        """Position of the entry with this ID if it is still in the stream and in memory (entries
        every reader is past may have been let go of; pending entries carry their position)."""
        lo = max(self.first, self.base)
        idx = int(np.searchsorted(self.ids[lo - self.base:self.appended - self.base], stream_id))
        pos = lo + idx
        if pos < self.appended and self.id_at(pos) == stream_id and self.is_live(pos):
            return pos
        return None

    def exists(self, stream_id: int) -> bool:
        return self.position_of(stream_id) is not None

    def first_after(self, stream_id: int) -> int:
        """Position of the oldest entry in the stream whose ID is greater than ``stream_id``."""
        lo = max(self.first, self.base)
        idx = int(np.searchsorted(self.ids[lo - self.base:self.appended - self.base], stream_id, side="right"))
        return lo + idx

    def live_positions(self, start: int, count: int | None) -> list[int]:
        """Up to ``count`` positions of entries still in the stream, from ``start`` on."""
        out: list[int] = []
        pos = max(start, self.first)
        i = bisect_left(self.deleted, pos)
        while pos < self.appended and (count is None or len(out) < count):
            if i < len(self.deleted) and self.deleted[i] == pos:
                i += 1
            else:
                out.append(pos)
            pos += 1
        return out

    def tail(self, count: int = TAIL) -> list[int]:
        lo = max(self.first, self.base, self.appended - count)
        return [int(self.keys[p - self.base]) for p in range(lo, self.appended) if self.is_live(p)]
