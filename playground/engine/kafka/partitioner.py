"""Kafka's default partitioner for keyed records.

Rule (org.apache.kafka.clients.producer.internals.BuiltInPartitioner.partitionForKey, and the
DefaultPartitioner before it): ``toPositive(murmur2(keyBytes)) % numPartitions``, where
``murmur2`` is Utils.murmur2 (32-bit MurmurHash2, seed 0x9747b28c, Java int arithmetic) and
``toPositive(n) = n & 0x7fffffff`` (not ``abs``: abs(Integer.MIN_VALUE) is negative).
"""

from __future__ import annotations

_MASK = 0xFFFFFFFF


def _to_int32(n: int) -> int:
    n &= _MASK
    return n - 0x100000000 if n & 0x80000000 else n


def murmur2(data: bytes) -> int:
    """Utils.murmur2: the 32-bit hash as a signed Java int."""
    length = len(data)
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * m) & _MASK
        k ^= k >> 24
        k = (k * m) & _MASK
        h = (h * m) & _MASK
        h ^= k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * m) & _MASK
    h ^= h >> 13
    h = (h * m) & _MASK
    h ^= h >> 15
    return _to_int32(h)


def to_positive(n: int) -> int:
    """Utils.toPositive: clear the sign bit."""
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    """The partition Kafka's producer picks for a record with this key."""
    if num_partitions <= 0:
        raise ValueError("num_partitions must be positive")
    return to_positive(murmur2(key)) % num_partitions


def key_name(index: int) -> str:
    """The text of the key with this index, as the simulated producer sends it."""
    return f"key-{index}"


def sticky_switch_points(start_bytes: int, records: int, record_bytes: int, batch_size: int) -> list[int]:
    """The BuiltInPartitioner's sticky rule (KIP-794, Kafka 3.3+) for records without a key.

    The producer sticks to one partition until ``batch.size`` bytes have been produced to it,
    then picks another. Given the bytes already produced to the current sticky partition and
    ``records`` more of ``record_bytes`` each, return the record indexes at which it switches
    (each switch happens after the record that reaches batch.size).
    """
    points = []
    produced = start_bytes
    per = max(1, record_bytes)
    i = 0
    while i < records:
        room = max(1, -(-(batch_size - produced) // per))  # records until batch.size is reached
        if i + room > records:
            break
        i += room
        points.append(i)
        produced = 0
    return points


def sticky_next_partition(rng_value: float, weights: list[float], current: int | None) -> int:
    """Pick the next sticky partition: at random, weighted (adaptive partitioning,
    partitioner.adaptive.partitioning.enable, gives partitions on slower brokers less weight),
    among partitions that have a leader; never the current one when another is available."""
    candidates = [(p, w) for p, w in enumerate(weights) if w > 0 and p != current]
    if not candidates:
        candidates = [(p, w) for p, w in enumerate(weights) if w > 0]
    if not candidates:
        return current if current is not None else 0
    total = sum(w for _, w in candidates)
    target = rng_value * total
    for p, w in candidates:
        target -= w
        if target < 0:
            return p
    return candidates[-1][0]
