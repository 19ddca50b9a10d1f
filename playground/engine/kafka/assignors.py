"""Kafka's partition assignors, as pure functions.

Members are given as ``{member_id: subscribed topic names}`` and topics as
``{topic: partition count}``; the result is ``{member_id: [(topic, partition), ...]}`` with every
member present (possibly with nothing), partitions in ascending (topic, partition) order.

Optional, as each member's Subscription carries them: ``instance_ids`` (member -> its
group.instance.id, static members only, KIP-345) and ``racks`` (client.rack per member and the
racks of each partition's replicas, KIP-881; see racks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from playground.engine.kafka.sticky import RackInfo, abstract_sticky_assign, cooperative_adjust

TopicPartition = tuple[str, int]


def member_order(members: Sequence[str], instance_ids: Mapping[str, str] | None = None) -> list[str]:
    """Members sorted as AbstractPartitionAssignor.MemberInfo.compareTo sorts them: static members
    (with a group.instance.id) first, in group.instance.id order, then dynamic members in member id
    order (String.compareTo both: the order of UTF-16 code units, which Python's str order is for
    the ids used here). RangeAssignor and RoundRobinAssignor sort their members this way."""
    ids = instance_ids or {}
    return sorted(members, key=lambda m: (0, ids[m]) if m in ids else (1, m))


class _TopicRanges:
    """RangeAssignor.TopicAssignmentState: one topic's members (in MemberInfo order), what is left
    to assign, and how many each member may still take (its range quota)."""

    def __init__(self, topic: str, count: int, consumers: list[str], racks: RackInfo | None) -> None:
        self.topic = topic
        self.consumers = consumers
        self.unassigned = [(topic, p) for p in range(count)]
        self.assigned = dict.fromkeys(consumers, 0)
        self.per_consumer, self.with_extra = divmod(count, len(consumers)) if consumers else (0, 0)
        self.racks = racks
        self.needs_rack_aware = racks is not None and racks.useful(consumers, self.unassigned)

    def racks_match(self, consumer: str, tp: TopicPartition) -> bool:
        """A consumer without client.rack matches every partition; one with a rack, the partitions
        with a replica in it."""
        assert self.racks is not None
        rack = self.racks.consumer_racks.get(consumer)
        return rack is None or rack in self.racks.partition_racks.get(tp, ())

    def max_assignable(self, consumer: str) -> int:
        return max(0, self.per_consumer + (1 if self.with_extra > 0 else 0) - self.assigned[consumer])

    def assign(self, consumer: str, partitions: list[TopicPartition], plan: dict[str, list[TopicPartition]]) -> None:
        plan[consumer].extend(partitions)
        self.assigned[consumer] += len(partitions)
        if self.assigned[consumer] > self.per_consumer:
            self.with_extra -= 1
        taken = set(partitions)
        self.unassigned = [tp for tp in self.unassigned if tp not in taken]

    def assign_ranges(self, plan: dict[str, list[TopicPartition]],
                      may_assign: Callable[[str, TopicPartition], bool] | None = None) -> None:
        """RangeAssignor.assignRanges: each member in turn takes the first partitions left that it
        may take, up to its quota."""
        for consumer in self.consumers:
            if not self.unassigned:
                break
            fits = [tp for tp in self.unassigned if may_assign is None or may_assign(consumer, tp)]
            take = fits[:self.max_assignable(consumer)]
            if take:
                self.assign(consumer, take, plan)


def range_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
    instance_ids: Mapping[str, str] | None = None, racks: RackInfo | None = None,
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.RangeAssignor.assignPartitions (Kafka 3.5+, KIP-881).

    For each topic separately: sort the members subscribed to it as MemberInfo.compareTo does
    (member_order: static members first), give each ``partitions // members`` partitions and the
    first ``partitions % members`` members one extra. Topics a member is not subscribed to are not
    given to it. Rack-aware (``racks``, when useRackAwareAssignment says so for some topic): first
    each member takes, within its quota, partitions with a replica in its client.rack (co-
    partitioned topics, with the same members and partition count, together: partition p of
    every one of them to the same member, assignCoPartitionedWithRackMatching); then the ranges
    fill up with what is left, racks or not.
    """
    assignment: dict[str, list[TopicPartition]] = {m: [] for m in members}
    topics = sorted({t for subscribed in members.values() for t in subscribed})
    states = []
    for topic in topics:
        count = partitions_per_topic.get(topic)
        if not count:
            continue
        consumers = member_order([m for m, subscribed in members.items() if topic in subscribed], instance_ids)
        states.append(_TopicRanges(topic, count, consumers, racks))
    rack_aware = any(s.needs_rack_aware for s in states)
    if rack_aware:
        _assign_with_rack_matching(states, assignment)
    for state in states:
        state.assign_ranges(assignment)
    for owned in assignment.values():
        owned.sort()
    return assignment


def _assign_with_rack_matching(states: list[_TopicRanges], plan: dict[str, list[TopicPartition]]) -> None:
    """RangeAssignor.assignWithRackMatching: topics grouped by their members, then by partition
    count; a group of several topics is co-partitioned, a topic alone gets rack-matched ranges."""
    groups: dict[tuple[tuple[str, ...], int], list[_TopicRanges]] = {}
    for state in states:
        groups.setdefault((tuple(state.consumers), len(state.unassigned)), []).append(state)
    for (consumers, count), same in groups.items():
        if len(same) > 1:
            remaining = list(consumers)
            for p in range(count):
                match = next((c for c in remaining if all(
                    s.racks_match(c, (s.topic, p)) and s.max_assignable(c) > 0 for s in same)), None)
                if match is None:
                    continue
                for s in same:
                    s.assign(match, [(s.topic, p)], plan)
                if all(s.max_assignable(match) == 0 for s in same):
                    remaining.remove(match)
                    if not remaining:
                        break
        elif same[0].needs_rack_aware:
            same[0].assign_ranges(plan, same[0].racks_match)


def roundrobin_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
    instance_ids: Mapping[str, str] | None = None,
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.RoundRobinAssignor.

    Lay out every partition of every subscribed topic in (topic, partition) order and deal them
    to the members in MemberInfo order (member_order: static members first), cycling; a member
    not subscribed to a partition's topic is skipped for that partition (the CircularIterator's
    peek-and-skip). It knows no racks.
    """
    assignment: dict[str, list[TopicPartition]] = {m: [] for m in members}
    order = member_order(list(members), instance_ids)
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
    racks: RackInfo | None = None,
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.StickyAssignor (eager): AbstractStickyAssignor's
    balanced assignment that keeps as much of the previous ownership as balance allows. With the
    eager protocol the previous ownership travels in the subscription's user data (the member
    has already revoked everything), so ``owned`` is what each member held last generation.
    Members are ordered by member id only (AbstractStickyAssignor sorts member id strings, not
    MemberInfo): a group.instance.id changes nothing here. Rack-aware with ``racks`` (KIP-881)."""
    result = abstract_sticky_assign(members, partitions_per_topic, owned, generations, racks=racks)
    return {m: sorted(result.assignment.get(m, [])) for m in members}


def cooperative_sticky_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
    owned: Mapping[str, Sequence[TopicPartition]] | None = None, generations: Mapping[str, int] | None = None,
    racks: RackInfo | None = None,
) -> dict[str, list[TopicPartition]]:
    """org.apache.kafka.clients.consumer.CooperativeStickyAssignor: the sticky assignment minus
    every partition that would move from one member to another in this round (KIP-429). Its
    owner revokes it; the follow-up rebalance then gives it to its new owner."""
    owned = owned or {}
    result = abstract_sticky_assign(members, partitions_per_topic, owned, generations, racks=racks)
    adjusted = cooperative_adjust(result, owned)
    return {m: sorted(adjusted.get(m, [])) for m in members}


def assign(strategy: str, members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
           owned: Mapping[str, Sequence[TopicPartition]] | None = None, generations: Mapping[str, int] | None = None,
           instance_ids: Mapping[str, str] | None = None, racks: RackInfo | None = None,
           ) -> dict[str, list[TopicPartition]]:
    """The group leader's assignment with partition.assignment.strategy ``strategy``, from what
    the members' subscriptions carry (owned partitions and generation, group.instance.id, rack)."""
    if strategy == "range":
        return range_assign(members, partitions_per_topic, instance_ids, racks)
    if strategy == "roundrobin":
        return roundrobin_assign(members, partitions_per_topic, instance_ids)
    if strategy == "sticky":
        return sticky_assign(members, partitions_per_topic, owned, generations, racks)
    if strategy == "cooperative-sticky":
        return cooperative_sticky_assign(members, partitions_per_topic, owned, generations, racks)
    raise ValueError(f"unknown partition.assignment.strategy {strategy!r}")


def _strategy(name: str) -> Any:
    def with_subscriptions(members: Any, partitions_per_topic: Any, owned: Any = None, generations: Any = None,
                           instance_ids: Any = None, racks: Any = None) -> dict[str, list[TopicPartition]]:
        return assign(name, members, partitions_per_topic, owned, generations, instance_ids, racks)
    return with_subscriptions


#: partition.assignment.strategy -> assign(members, partitions_per_topic, owned, generations, instance_ids, racks)
ASSIGNORS = {name: _strategy(name) for name in ("range", "roundrobin", "sticky", "cooperative-sticky")}
#: assignors that support only ConsumerPartitionAssignor.RebalanceProtocol.COOPERATIVE first
COOPERATIVE = frozenset({"cooperative-sticky"})
