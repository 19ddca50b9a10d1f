"""Kafka's partition assignors, as pure functions.

Members are given as ``{member_id: subscribed topic names}`` and topics as
``{topic: partition count}``; the result is ``{member_id: [(topic, partition), ...]}`` with every
member present (possibly with nothing), partitions in ascending (topic, partition) order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from playground.engine.kafka.sticky import abstract_sticky_assign, cooperative_adjust

TopicPartition = tuple[str, int]


def range_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.RangeAssignor (without rack information).

    For each topic separately: sort the members subscribed to it by member id (string order,
    as MemberInfo.compareTo does when no group.instance.id is set), give each
    ``partitions // members`` consecutive partitions and the first ``partitions % members``
    members one extra. Topics a member is not subscribed to are not given to it.
    """
    assignment: dict[str, list[TopicPartition]] = {m: [] for m in members}
    topics = sorted({t for subscribed in members.values() for t in subscribed})
    for topic in topics:
        count = partitions_per_topic.get(topic)
        if not count:
            continue
        consumers = sorted(m for m, subscribed in members.items() if topic in subscribed)
        per_consumer, extra = divmod(count, len(consumers))
        for i, member in enumerate(consumers):
            start = per_consumer * i + min(i, extra)
            length = per_consumer + (1 if i < extra else 0)
            assignment[member].extend((topic, p) for p in range(start, start + length))
    for owned in assignment.values():
        owned.sort()
    return assignment


def roundrobin_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int]
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.RoundRobinAssignor.

    Lay out every partition of every subscribed topic in (topic, partition) order and deal them
    to the members in member-id order, cycling; a member not subscribed to a partition's topic
    is skipped for that partition (the CircularIterator's peek-and-skip).
    """
    assignment: dict[str, list[TopicPartition]] = {m: [] for m in members}
    order = sorted(members)
    if not order:
        return assignment
    topics = sorted({t for subscribed in members.values() for t in subscribed if partitions_per_topic.get(t)})
    cursor = 0
    for topic in topics:
        for p in range(partitions_per_topic[topic]):
            while topic not in members[order[cursor % len(order)]]:
                cursor += 1
            assignment[order[cursor % len(order)]].append((topic, p))
            cursor += 1
    for owned in assignment.values():
        owned.sort()
    return assignment


def sticky_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
    owned: Mapping[str, Sequence[TopicPartition]] | None = None, generations: Mapping[str, int] | None = None,
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.StickyAssignor (eager): AbstractStickyAssignor's
    balanced assignment that keeps as much of the previous ownership as balance allows. With the
    eager protocol the previous ownership travels in the subscription's user data (the member
    has already revoked everything), so ``owned`` is what each member held last generation."""
    result = abstract_sticky_assign(members, partitions_per_topic, owned, generations)
    return {m: sorted(result.assignment.get(m, [])) for m in members}


def cooperative_sticky_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
    owned: Mapping[str, Sequence[TopicPartition]] | None = None, generations: Mapping[str, int] | None = None,
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.CooperativeStickyAssignor: the sticky assignment minus
    every partition that would move from one member to another in this round (KIP-429). Its
    owner revokes it; the follow-up rebalance then gives it to its new owner."""
    owned = owned or {}
    result = abstract_sticky_assign(members, partitions_per_topic, owned, generations)
    adjusted = cooperative_adjust(result, owned)
    return {m: sorted(adjusted.get(m, [])) for m in members}


def _ignoring_ownership(assign):  # type: ignore[no-untyped-def]
    def with_ownership(members, partitions_per_topic, owned=None, generations=None):  # type: ignore[no-untyped-def]
        return assign(members, partitions_per_topic)
    with_ownership.__doc__ = assign.__doc__
    return with_ownership


#: partition.assignment.strategy -> assign(members, partitions_per_topic, owned, generations)
ASSIGNORS = {
    "range": _ignoring_ownership(range_assign),
    "roundrobin": _ignoring_ownership(roundrobin_assign),
    "sticky": sticky_assign,
    "cooperative-sticky": cooperative_sticky_assign,
}
#: assignors that support only ConsumerPartitionAssignor.RebalanceProtocol.COOPERATIVE first
COOPERATIVE = frozenset({"cooperative-sticky"})
