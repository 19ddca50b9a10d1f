"""A stream's entries and MAXLEN trimming (XADD, XTRIM).

Entries are addressed by *position* (0 for the first entry ever added, counting up) and carry
their ID and a payload (the publisher's message number). ``first`` is the position of the
oldest entry still in the stream: trimming only ever removes a prefix (XTRIM "evicts older
entries (entries with lower IDs)"). Memory follows what readers still need, not the length:
past a million entries (an untrimmed stream), entries every consumer group has read already are
only counted (Redis itself keeps them until they are trimmed, and ``length`` says so).
"""

from __future__ import annotations

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


class StreamLog:
    """Entries of one stream, compactly: int64 IDs and int32 payloads in numpy buffers."""

    __slots__ = ("ids", "keys", "base", "appended", "first", "last_id", "node_entries")

    def __init__(self, node_entries: int = NODE_ENTRIES) -> None:
        self.ids = np.zeros(64, dtype=np.int64)
        self.keys = np.zeros(64, dtype=np.int32)
        self.base = 0  # position of buffer slot 0
        self.appended = 0  # entries ever added (XINFO STREAM entries-added); next position
        self.first = 0  # position of the oldest entry still in the stream
        self.last_id = 0  # last-generated-id: kept when entries are trimmed
        self.node_entries = node_entries

    @property
    def length(self) -> int:
        return self.appended - self.first

    def first_id(self) -> int | None:
        """The oldest entry's ID; None for an empty stream, or when every reader is past it and
        it is no longer held in memory (only the simulation's memory, not the stream)."""
        return self.id_at(self.first) if self.length and self.first >= self.base else None

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

    # -- trimming ---------------------------------------------------------------------------

    def trim_maxlen(self, maxlen: int, approximate: bool, limit: int | None = None) -> tuple[int, int]:
        """Apply ``MAXLEN [=|~] maxlen``; return the evicted positions as a range [start, end)."""
        head_node = self.node_entries - (self.first % self.node_entries) if approximate else self.length
        n = maxlen_trim_count(self.length, maxlen, approximate, head_node, self.node_entries, limit)
        start = self.first
        self.first += n
        return start, self.first

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
        if pos < self.appended and self.id_at(pos) == stream_id:
            return pos
        return None

    def exists(self, stream_id: int) -> bool:
        return self.position_of(stream_id) is not None

    def first_after(self, stream_id: int) -> int:
        """Position of the oldest entry in the stream whose ID is greater than ``stream_id``."""
        lo = max(self.first, self.base)
        idx = int(np.searchsorted(self.ids[lo - self.base:self.appended - self.base], stream_id, side="right"))
        return lo + idx

    def tail(self, count: int = TAIL) -> list[int]:
        lo = max(self.first, self.base, self.appended - count)
        return [int(k) for k in self.keys[lo - self.base:self.appended - self.base]]
