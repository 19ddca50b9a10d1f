"""Kafka's partition assignors, as pure functions.

Members are given as ``{member_id: subscribed topic names}`` and topics as
``{topic: partition count}``; the result is ``{member_id: [(topic, partition), ...]}`` with every
member present (possibly with nothing), partitions in ascending (topic, partition) order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
