"""Pulsar's rules as small pure functions and classes, each naming the rule it follows (Pulsar
documentation: "Messaging" concepts page, "Tiered storage", broker.conf reference; and the
Java client and broker classes it is drawn from)."""

from __future__ import annotations

import bisect

RANGE_SIZE = 1 << 16  # StickyKeyConsumerSelector.DEFAULT_RANGE_SIZE
SUBSCRIPTION_TYPES = ("exclusive", "shared", "failover", "key_shared")
CONSUMER_BUSY = "ConsumerBusyException: Exclusive consumer is already connected"


def java_string_hash(text: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: str, partitions: int) -> int:
    """Java client, default message router with a key: JavaStringHash.makeHash(key) =
    key.hashCode() & Integer.MAX_VALUE, then modulo the number of partitions."""
    return (java_string_hash(key) & 0x7FFFFFFF) % partitions


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit (Pulsar's Murmur3_32Hash), unsigned."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    n = len(data) // 4 * 4
    for i in range(0, n, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[n:]
    k = 0
    for i, b in enumerate(tail):
        k |= b << (8 * i)
    if tail:
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def sticky_key_hash(key: str | None) -> int:
    """Key_Shared: Murmur3_32Hash.makeHash(key) (& Integer.MAX_VALUE) modulo the range size; a
    message without a key is hashed as the bytes "NONE_KEY", so all of them go to one consumer."""
    data = (key if key else "NONE_KEY").encode()
    return (murmur3_32(data) & 0x7FFFFFFF) % RANGE_SIZE


class AutoSplitSelector:
    """HashRangeAutoSplitStickyKeyConsumerSelector (Key_Shared, AUTO_SPLIT): the first consumer
    owns the whole range [0, 65536]; each new consumer splits the biggest range in two and takes
    its lower half; a removed consumer's range goes to the consumer above it (or, for the top
    range, the one below). A hash goes to the consumer of the ceiling entry."""

    def __init__(self) -> None:
        self.bounds: list[int] = []
        self.owners: list[str] = []

    def add(self, consumer: str) -> None:
        if not self.bounds:
            self.bounds, self.owners = [RANGE_SIZE], [consumer]
            return
        best, best_slots, lower = 0, 0, 0
        for i, bound in enumerate(self.bounds):
            if bound - lower > best_slots:
                best, best_slots = i, bound - lower
            lower = bound
        low = self.bounds[best - 1] if best > 0 else 0
        high = self.bounds[best]
        if high - low <= 1:
            raise ValueError("no more range can be assigned to a new consumer")
        split = high - ((high - low) >> 1)
        self.bounds.insert(best, split)
        self.owners.insert(best, consumer)

    def remove(self, consumer: str) -> None:
        if consumer not in self.owners:
            return
        i = self.owners.index(consumer)
        if self.bounds[i] == RANGE_SIZE and len(self.bounds) > 1:
            # the top range is taken over by the consumer just below it
            self.owners[i] = self.owners[i - 1]
            del self.bounds[i - 1]
            del self.owners[i - 1]
        else:
            del self.bounds[i]
            del self.owners[i]

    def select(self, hash_: int) -> str | None:
        if not self.bounds:
            return None
        return self.owners[bisect.bisect_left(self.bounds, hash_)]

    def ranges(self) -> list[tuple[int, int, str]]:
        out, start = [], 0
        for bound, owner in zip(self.bounds, self.owners, strict=True):
            out.append((start, bound, owner))
            start = bound + 1
        return out


def failover_active(consumers: list[str], partition: int) -> str | None:
    """Failover ("Messaging", Subscription types, Failover): for a partitioned topic, consumers
    are sorted by name (same priority) and partition i gets consumers[i % n]; for a
    non-partitioned topic (partition -1) the first consumer that subscribed is active. The rest
    are standby."""
    if not consumers:
        return None
    if partition < 0:
        return consumers[0]
    ordered = sorted(consumers)
    return ordered[partition % len(ordered)]


def ack_mode_error(subscription_type: str, ack_mode: str) -> str | None:
    """Consumer.acknowledgeCumulative: "Cumulative acknowledge cannot be used when the consumer
    type is set to ConsumerShared" (nor Key_Shared, since Pulsar 2.5)."""
    if ack_mode == "cumulative" and subscription_type in ("shared", "key_shared"):
        return f"cumulative acknowledgement is not allowed on a {subscription_type} subscription"
    return None


def ack_timeout_error(ms: int) -> str | None:
    """ConsumerBuilder.ackTimeout: 0 disables it; otherwise it must be at least 1 second."""
    if ms and ms < 1000:
        return "must be 0 (disabled) or at least 1000 ms"
    return None


def tracks_redelivery_count(subscription_type: str) -> bool:
    """The broker counts redeliveries (InMemoryRedeliveryTracker) for Shared and Key_Shared
    dispatchers only; Exclusive and Failover report a redelivery count of 0, so a dead-letter
    policy's maxRedeliverCount is never reached there ("Dead letter topic": enabled for the
    Shared and Key_Shared subscription types)."""
    return subscription_type in ("shared", "key_shared")


def dead_letter_due(redelivery_count: int, max_redeliver_count: int) -> bool:
    """ConsumerImpl with a DeadLetterPolicy: a message received with redeliveryCount >=
    maxRedeliverCount is sent to the dead-letter topic (and acked) instead of being redelivered
    once more: it has then been delivered maxRedeliverCount + 1 times."""
    return max_redeliver_count > 0 and redelivery_count >= max_redeliver_count


def ledger_kept(now: float, ledger_closed_at: float, total_consumed_mb: float, ledger_mb: float,
                retention_minutes: float, retention_mb: float) -> bool:
    """ManagedLedgerImpl.internalTrimLedgers: a fully consumed ledger is deleted when retention
    is over its size quota (retention size >= 0 and the consumed data without it would still
    exceed it) or its time has expired (retention time >= 0 and it is older); -1 means
    infinite. With Pulsar's defaults (0 minutes, 0 MB) consumed ledgers go at once."""
    over_size = retention_mb >= 0 and total_consumed_mb - ledger_mb >= retention_mb
    expired = retention_minutes >= 0 and now - ledger_closed_at >= retention_minutes * 60.0
    return not over_size and not expired


def select_consumer(priorities: list[int], available: list[bool], index: int) -> int:
    """ConsumerPrioritySelector.select (AbstractDispatcherMultipleConsumers.getNextConsumer) over
    a consumer list sorted by priority level (0 is the highest), from the round-robin ``index``
    (the consumer after the last one served): first the earliest available consumer of a higher
    level than the one at ``index``; else, on the level of ``index``, the first available one
    from ``index`` on, wrapping round within that level; else the first available one of a lower
    level. -1 if none is available."""
    n = len(priorities)
    if not 0 <= index < n:
        return -1
    level = priorities[index]
    for i in range(index):
        if priorities[i] >= level:
            break
        if available[i]:
            return i
    same = [i for i in range(n) if priorities[i] == level]
    k = same.index(index)
    for i in same[k:] + same[:k]:
        if available[i]:
            return i
    for i in range(same[-1] + 1, n):
        if available[i]:
            return i
    return -1


def is_duplicate(highest_persisted: int | None, sequence_id: int) -> bool:
    """MessageDeduplication.isDuplicate (broker, deduplication enabled): the broker keeps, per
    producer name, the highest sequence id it has persisted; a message whose sequence id is not
    above it is a duplicate, acknowledged to the producer but not stored again ("Message
    deduplication")."""
    return highest_persisted is not None and sequence_id <= highest_persisted
