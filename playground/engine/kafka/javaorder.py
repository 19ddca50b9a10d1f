"""The iteration order of java.util.HashMap / HashSet, for assignors whose result depends on it.

Kafka's sticky assignors iterate HashMaps in a few places where the order decides the outcome
(which member keeps its extra partition, which moved partition is moved back). To give the same
assignment as the Java client, those maps are emulated here: String.hashCode and
TopicPartition.hashCode as Java computes them, the bucket index ``(h ^ h >>> 16) & (n - 1)``,
doubling at a 0.75 load factor, and resize splits that keep each bucket's relative order.
Not emulated: treeified bins (a bucket holding 8+ keys at capacity 64+), which Kafka's groups of
at most 64 members with short member ids do not reach.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_CAPACITY = 16
MAXIMUM_CAPACITY = 1 << 30


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def string_hash(s: str) -> int:
    """java.lang.String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, int32."""
    h = 0
    for unit in _utf16(s):
        h = (31 * h + unit) & 0xFFFFFFFF
    return _int32(h)


def _utf16(s: str) -> Iterator[int]:
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        yield (data[i] << 8) | data[i + 1]


def topic_partition_hash(tp: tuple[str, int]) -> int:
    """org.apache.kafka.common.TopicPartition.hashCode: 31 * (31 + partition) + topic.hashCode()."""
    topic, partition = tp
    return _int32(31 * (31 + partition) + string_hash(topic))


def table_size_for(cap: int) -> int:
    """HashMap.tableSizeFor: the smallest power of two >= cap (at least 1)."""
    n = 1
    while n < cap:
        n <<= 1
    return min(n, MAXIMUM_CAPACITY)


class JavaHashMap(Generic[K, V]):
    """A HashMap's keys and values, iterated in the order Java iterates them."""

    def __init__(self, hash_fn: Callable[[K], int], initial_capacity: int | None = None) -> None:
        self.hash_fn = hash_fn
        self.values: dict[K, V] = {}
        self.table: list[list[K]] = []
        # new HashMap<>() starts with no table and grows to 16; new HashMap<>(n) to tableSizeFor(n)
        self.threshold = table_size_for(initial_capacity) if initial_capacity else 0

    def _index(self, key: K, capacity: int) -> int:
        h = self.hash_fn(key) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    def _resize(self) -> None:
        old = len(self.table)
        if old:
            capacity = old * 2
        else:
            capacity = self.threshold or DEFAULT_CAPACITY
        self.threshold = int(capacity * 0.75)
        table: list[list[K]] = [[] for _ in range(capacity)]
        for bucket in self.table:  # a split keeps each bucket's order
            for key in bucket:
                table[self._index(key, capacity)].append(key)
        self.table = table

    def put(self, key: K, value: V) -> None:
        if key in self.values:
            self.values[key] = value
            return
        if not self.table:
            self._resize()
        self.table[self._index(key, len(self.table))].append(key)
        self.values[key] = value
        if len(self.values) > self.threshold:
            self._resize()

    def remove(self, key: K) -> V | None:
        if key not in self.values:
            return None
        self.table[self._index(key, len(self.table))].remove(key)
        return self.values.pop(key)

    def get(self, key: K) -> V | None:
        return self.values.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __len__(self) -> int:
        return len(self.values)

    def keys(self) -> list[K]:
        return [key for bucket in self.table for key in bucket]

    def items(self) -> list[tuple[K, V]]:
        return [(key, self.values[key]) for key in self.keys()]


def java_order(keys: list[K], hash_fn: Callable[[K], int], initial_capacity: int | None = None) -> list[K]:
    """The iteration order of a HashMap into which ``keys`` were put in this order."""
    m: JavaHashMap[K, None] = JavaHashMap(hash_fn, initial_capacity)
    for key in keys:
        m.put(key, None)
    return m.keys()
