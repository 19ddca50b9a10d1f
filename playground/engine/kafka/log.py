"""A partition's log, kept compactly: one int32 key index per record in a numpy buffer.

Offsets are positions in the log. Only the keys still needed are kept (from the oldest offset a
reader may fetch again, i.e. its committed offset), so memory follows the backlog, not the
number of records ever written.
"""

from __future__ import annotations

import numpy as np

TAIL = 8


class PartitionLog:
    __slots__ = ("leo", "start", "buf")

    def __init__(self) -> None:
        self.leo = 0  # log end offset: the offset the next record will get
        self.start = 0  # offset of buf[0]
        self.buf = np.zeros(256, dtype=np.int32)

    def append(self, keys: np.ndarray, keep_from: int) -> int:
        """Append records with these key indexes; return the first one's offset.

        ``keep_from`` is the oldest offset a reader may still need; older keys may be discarded.
        """
        n = len(keys)
        first = self.leo
        used = self.leo - self.start
        if used + n > len(self.buf):
            keep_from = max(self.start, min(keep_from, self.leo - TAIL))
            drop = keep_from - self.start
            live = used - drop
            size = len(self.buf)
            while live + n > size:
                size *= 2
            buf = np.zeros(size, dtype=np.int32) if size != len(self.buf) else self.buf
            buf[:live] = self.buf[drop:used]
            self.buf = buf
            self.start = keep_from
            used = live
        self.buf[used:used + n] = keys
        self.leo += n
        return first

    def keys(self, first: int, end: int) -> np.ndarray:
        """Key indexes of offsets [first, end); offsets no longer kept are given as -1."""
        lo = max(first, self.start)
        out = self.buf[lo - self.start:end - self.start]
        if lo > first:
            out = np.concatenate([np.full(lo - first, -1, dtype=np.int32), out])
        return out

    def key_at(self, offset: int) -> int:
        if offset < self.start or offset >= self.leo:
            return -1
        return int(self.buf[offset - self.start])

    def tail(self, count: int = TAIL) -> list[int]:
        lo = max(self.start, self.leo - count)
        return [int(k) for k in self.buf[lo - self.start:self.leo - self.start]]
