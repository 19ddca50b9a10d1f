"""The discrete-event kernel: a simulated clock, an event queue and seeded random sources.

Modelled on SimPy's environment: the kernel owns the clock and a heap of
``(time, seq, kind, target, arg)`` with a monotonically increasing ``seq`` as tie-breaker,
so two events due at the same instant run in the order they were scheduled, always. Events
are plain tuples of data, never closures, so the whole queue pickles (snapshots) and the same
inputs give the same order, bit for bit. Time never comes from the machine.
"""

from __future__ import annotations

import heapq
import zlib
from bisect import bisect_left
from typing import Any

import numpy as np

from playground.engine._mypyc import mypyc_attr

_heappush = heapq.heappush

@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Kernel:
    __slots__ = ("now", "_queue", "_seq", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.now = 0.0
        self._queue: list[tuple[float, int, int, Any, Any]] = []
        self._seq = 0

    def schedule(self, at: float, kind: int, target: Any = None, arg: Any = None) -> None:
        """Schedule an event; ``at`` earlier than now is clamped to now (the clock never goes back)."""
        if at < self.now:
            at = self.now
        seq = self._seq = self._seq + 1
        _heappush(self._queue, (at, seq, kind, target, arg))

    def pop_due(self, until: float) -> tuple[float, int, int, Any, Any] | None:
        """Pop the next event due at or before ``until`` and move the clock to it."""
        queue = self._queue
        if queue and queue[0][0] <= until:
            event = heapq.heappop(queue)
            self.now = event[0]
            return event
        return None

    def run_until(self, until: float, sim: Any, targets: dict[Any, Any]) -> None:
        """Pop and hand over every event due at or before ``until``, in order: the event loop.

        ``targets[target].on_event(sim, kind, arg)`` handles each (the loop of pop_due, inline:
        it runs for every event of a run).
        """
        queue = self._queue
        pop = heapq.heappop
        while queue and queue[0][0] <= until:
            at, _, kind, target, arg = pop(queue)
            self.now = at
            targets[target].on_event(sim, kind, arg)

    def next_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)

    def rng(self, component: str) -> np.random.Generator:
        """A random source of one component, seeded from the run's seed and the component's name.

        ``zlib.crc32`` rather than ``hash()``: Python salts string hashes per process, and the same
        seed must give the same run in every process.
        """
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([self.seed & 0xFFFFFFFF, zlib.crc32(component.encode())]))
        )


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MASK64 = 0xFFFFFFFFFFFFFFFF
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))
_UNIT = 1.0 / 9007199254740992.0


def uniform_hash(salt: int, partition: int, offsets: np.ndarray, attempt: int = 0) -> np.ndarray:
    """A stateless uniform [0, 1) value per (salt, partition, offset, attempt): splitmix64.

    Used for properties of a message that must be the same every time it is looked at (a poison
    message fails every attempt, also when it is delivered again after a rebalance), without
    storing a flag per message. (uint64 array arithmetic wraps silently, as splitmix64 wants.)
    """
    mix = np.uint64((salt * 0x100000001B3 + partition * 0x1000193 + attempt * 0x85EBCA6B) & _MASK64)
    z = offsets.astype(np.uint64) * _GOLDEN
    z ^= mix
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return (z >> _S11).astype(np.float64) * _UNIT


def _mix(salt: int, partition: int, attempt: int) -> int:
    return (salt * 0x100000001B3 + partition * 0x1000193 + attempt * 0x85EBCA6B) & _MASK64


def uniform_hash_one(salt: int, partition: int, offset: int, attempt: int = 0) -> float:
    """``uniform_hash`` of a single offset, in plain integers (no array for one value)."""
    z = ((offset * 0x9E3779B97F4A7C15) & _MASK64) ^ _mix(salt, partition, attempt)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (z >> 11) * _UNIT


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class HashSieve:
    """The offsets of a partition whose ``uniform_hash`` falls below ``rate``, found a block at a time.

    A consumer asks "which records of [first, end) are poison?" once per fetched range; hashing
    every offset of every range costs an array pass each time, while the answer is a fixed,
    sparse property of the offsets. The sieve hashes whole blocks of offsets once, keeps the
    sorted hits of the few blocks around the readers, and answers with a bisection.
    """

    BLOCK = 16_384
    KEPT = 4  # blocks remembered per partition (readers of one partition are near each other)

    __slots__ = ("salt", "rate", "attempt", "blocks")

    def __init__(self, salt: int, rate: float, attempt: int = 0) -> None:
        self.salt = salt
        self.rate = rate
        self.attempt = attempt
        self.blocks: dict[int, dict[int, list[int]]] = {}

    def _block(self, partition: int, index: int) -> list[int]:
        kept = self.blocks.get(partition)
        if kept is None:
            kept = self.blocks[partition] = {}
        hits = kept.get(index)
        if hits is None:
            base = index * self.BLOCK
            values = uniform_hash(self.salt, partition, np.arange(base, base + self.BLOCK, dtype=np.int64),
                                  self.attempt)
            hits = kept[index] = (np.flatnonzero(values < self.rate) + base).tolist()
            if len(kept) > self.KEPT:
                del kept[min(kept)]
        return hits

    def hits(self, partition: int, first: int, end: int) -> list[int]:
        """Offsets in [first, end) below the rate, in order."""
        if self.rate <= 0 or end <= first:
            return []
        block = self.BLOCK
        index = first // block
        if index == (end - 1) // block:  # the usual case: one block, one bisection pair
            kept = self.blocks.get(partition)
            hits = kept.get(index) if kept is not None else None
            if hits is None:
                hits = self._block(partition, index)
            return hits[bisect_left(hits, first):bisect_left(hits, end)]
        out: list[int] = []
        for index in range(first // block, (end - 1) // block + 1):
            hits = self._block(partition, index)
            out.extend(hits[bisect_left(hits, first):bisect_left(hits, end)])
        return out

    def hit(self, partition: int, offset: int) -> bool:
        if self.rate <= 0:
            return False
        kept = self.blocks.get(partition)
        hits = kept.get(offset // self.BLOCK) if kept is not None else None
        if hits is not None:  # a block already hashed answers with a bisection (same hash, same answer)
            i = bisect_left(hits, offset)
            return i < len(hits) and hits[i] == offset
        return uniform_hash_one(self.salt, partition, offset, self.attempt) < self.rate
