"""Kafka's sticky assignors: a port of AbstractStickyAssignor (Kafka 3.5+).

StickyAssignor ("sticky", eager) and CooperativeStickyAssignor ("cooperative-sticky") share one
algorithm. When every member has the same subscription it takes the constrained path
(ConstrainedAssignmentBuilder): members keep what they owned up to their quota, the rest is
dealt round robin to the members under quota in member-id order. Otherwise it takes the general
path (GeneralAssignmentBuilder): keep valid ownership, give each unassigned partition to the
least loaded subscribed member, then move partitions until no move improves balance, undoing the
moves if they did not lower the balance score.

Rack-aware (KIP-881, with ``racks``: the members' client.rack and the partitions' replica racks,
used when useRackAwareAssignment says so): on the constrained path a member keeps only owned
partitions with a replica in its rack, partitions are dealt to members of a matching rack first
(assignRackAwareRoundRobin, fewest-candidate partitions first), and only the rest round robin.
The general path, which Fanout's groups never take (every member subscribes to every topic the
group reads), is ported without racks.

Where Java's HashMap iteration order decides the result (which over-quota member keeps its
extra partition, which earlier movement is reversed), javaorder reproduces it; ties inside a
bucket follow the order the members are given in (the JoinGroup order).

Members are ``{member: subscribed topics}`` in JoinGroup order; ``owned`` their previously
owned partitions; ``generations`` the generation each claim comes from (absent: no generation).
Lists come back in the order Kafka's builder produces them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from playground.engine.kafka.javaorder import JavaHashMap, string_hash, topic_partition_hash
from playground.engine.kafka.racks import RackInfo, use_rack_aware_assignment

__all__ = ["RackInfo", "StickyResult", "abstract_sticky_assign", "cooperative_adjust"]

TP = tuple[str, int]
DEFAULT_GENERATION = -1


class AssignmentError(RuntimeError):
    """The IllegalStateException Kafka's builder throws when its own invariants break."""


@dataclass
class StickyResult:
    assignment: dict[str, list[TP]]
    # partitionsTransferringOwnership: partition -> new owner (None after the general path,
    # where CooperativeStickyAssignor recomputes it from the owned partitions)
    transferring: dict[TP, str] | None


def _subscriptions_equal_and_owned(
    members: Mapping[str, Sequence[str]], all_topics: set[str], owned: Mapping[str, Sequence[TP]],
    generations: Mapping[str, int], capacity: int | None,
) -> tuple[bool, JavaHashMap[str, list[TP]], set[TP]]:
    """AbstractStickyAssignor.allSubscriptionsEqual: also collects each member's valid ownership.

    A partition claimed by two members keeps the claim of the higher generation; claimed twice
    in the same generation it is taken from both.
    """
    order = JavaHashMap[str, None](string_hash, capacity)
    for member in members:
        order.put(member, None)
    equal = True
    subscribed: list[str] = []
    subscribed_set: set[str] = set()
    consumer_owned: JavaHashMap[str, list[TP]] = JavaHashMap(string_hash)
    previous_owner: dict[TP, str] = {}
    multiple: set[TP] = set()
    for member in order.keys():
        topics = list(members[member])
        if not subscribed_set:
            subscribed, subscribed_set = topics, set(topics)
        elif equal and not (len(topics) == len(subscribed_set) and subscribed_set.issuperset(topics)):
            equal = False
        generation = generations.get(member, DEFAULT_GENERATION)
        mine: list[TP] = []
        consumer_owned.put(member, mine)
        for tp in owned.get(member, ()):
            if tp[0] not in all_topics:
                continue
            other = previous_owner.get(tp)
            if other is None:
                mine.append(tp)
                previous_owner[tp] = member
                continue
            other_generation = generations.get(other, DEFAULT_GENERATION)
            other_list = consumer_owned.get(other)
            assert other_list is not None
            if generation == other_generation:
                multiple.add(tp)
                if tp in other_list:
                    other_list.remove(tp)
                previous_owner[tp] = member
            elif generation > other_generation:
                mine.append(tp)
                if tp in other_list:
                    other_list.remove(tp)
                previous_owner[tp] = member
    del subscribed
    return equal, consumer_owned, multiple


class _StickyRacks:
    """AbstractStickyAssignor.RackInfo: the racks in use (none when rack-aware assignment is not
    used) and, per partition, how many members share a rack with one of its replicas."""

    def __init__(self, racks: RackInfo | None, members: Sequence[str], all_partitions: list[TP]) -> None:
        self.consumer_racks: dict[str, str] = {}
        self.partition_racks: dict[TP, frozenset[str]] = {}
        self.rack_consumers: dict[TP, int] = {}
        if racks is None:
            return
        mine = {m: racks.consumer_racks[m] for m in members if racks.consumer_racks.get(m)}
        if not mine:
            return
        per = {tp: racks.partition_racks.get(tp, frozenset()) for tp in all_partitions}
        every = set().union(*per.values()) if per else set()
        if use_rack_aware_assignment(mine.values(), every, per.values()):
            self.consumer_racks = mine
            self.partition_racks = per
        count: dict[str, int] = {}
        for rack in mine.values():
            count[rack] = count.get(rack, 0) + 1
        self.rack_consumers = {tp: sum(count.get(r, 0) for r in rs) for tp, rs in per.items()}

    def mismatch(self, consumer: str, tp: TP) -> bool:
        """racksMismatch: the member has a rack and no replica of the partition is in it."""
        rack = self.consumer_racks.get(consumer)
        return rack is not None and rack not in self.partition_racks.get(tp, frozenset())

    def sort(self, partitions: list[TP]) -> list[TP]:
        """sortPartitionsByRackConsumers: partitions with the fewest rack-matching members first
        (a stable sort)."""
        if not self.rack_consumers:
            return partitions
        return sorted(partitions, key=lambda tp: self.rack_consumers.get(tp, 0))

    def next_consumer(self, tp: TP, consumers: list[str], first: int) -> int:
        """nextRackConsumer: the index of the first member from ``first`` on (cycling) whose rack
        holds a replica of the partition, or -1."""
        racks = self.partition_racks.get(tp)
        if not racks:
            return -1
        for i in range(len(consumers)):
            index = (first + i) % len(consumers)
            rack = self.consumer_racks.get(consumers[index])
            if rack is not None and rack in racks:
                return index
        return -1


def _constrained(partitions_per_topic: Mapping[str, int], current: JavaHashMap[str, list[TP]],
                 multiple: set[TP], racks: _StickyRacks) -> StickyResult:
    """ConstrainedAssignmentBuilder.build."""
    total = sum(partitions_per_topic.values())
    consumers = len(current)
    min_quota, extra = divmod(total, consumers)
    max_quota = min_quota + (1 if extra else 0)
    expected_over = extra
    over = 0
    assignment: dict[str, list[TP]] = {c: [] for c in current.keys()}
    assigned: set[TP] = set()
    revoked: dict[TP, str] = {}  # maybeRevokedPartitions: partition -> the member that gives it up
    under: list[str] = []
    exact: list[str] = []
    transferring: dict[TP, str] = {}

    for consumer, owned_list in current.items():
        owned = []
        for tp in owned_list:
            if racks.mismatch(consumer, tp):
                revoked[tp] = consumer
            else:
                owned.append(tp)
        owned = sorted(owned, key=lambda tp: (tp[1], tp[0]))
        owned = [tp for tp in owned if tp not in multiple]
        if len(owned) < min_quota:
            assignment[consumer].extend(owned)
            assigned.update(owned)
            under.append(consumer)
        elif len(owned) >= max_quota and over < expected_over:
            over += 1
            if over == expected_over:
                exact.clear()
            assignment[consumer].extend(owned[:max_quota])
            assigned.update(owned[:max_quota])
            revoked.update(dict.fromkeys(owned[max_quota:], consumer))
        else:
            assignment[consumer].extend(owned[:min_quota])
            assigned.update(owned[:min_quota])
            revoked.update(dict.fromkeys(owned[min_quota:], consumer))
            if over < expected_over:
                exact.append(consumer)

    unassigned = [(t, p) for t in sorted(partitions_per_topic) for p in range(partitions_per_topic[t])
                  if (t, p) not in assigned]
    under.sort()
    exact.sort()
    unassigned = racks.sort(unassigned)

    def give(tp: TP, consumer: str) -> int:
        """assignNewPartition: a partition another member gave up (or claimed twice) transfers."""
        assignment[consumer].append(tp)
        if (tp in revoked and revoked[tp] != consumer) or tp in multiple:
            transferring[tp] = consumer
        return len(assignment[consumer])

    if racks.consumer_racks:  # assignRackAwareRoundRobin
        left: list[TP] = []
        next_index = 0
        for tp in unassigned:
            chosen: str | None = None
            index = racks.next_consumer(tp, under, next_index)
            if index >= 0:
                chosen = under[index]
                count = len(assignment[chosen]) + 1
                if count >= min_quota:
                    under.remove(chosen)
                    if count < max_quota and over < expected_over:
                        exact.append(chosen)
                else:
                    index += 1
                next_index = index % len(under) if under else 0
            elif exact:
                first = racks.next_consumer(tp, exact, 0)
                if first >= 0:
                    chosen = exact[first]
                    if len(assignment[chosen]) + 1 == max_quota:
                        del exact[first]
                        over += 1
                        if over == expected_over:
                            exact.clear()
            if chosen is None:
                left.append(tp)
            else:
                give(tp, chosen)
        unassigned = left

    # assignRoundRobin, with Java's iterator over the under-quota list (remove() included)
    pos, last = 0, -1
    for tp in unassigned:
        if pos < len(under):
            consumer = under[pos]
            last, pos = pos, pos + 1
        elif not under and not exact:
            raise AssignmentError("No more unfilled consumers to be assigned.")
        elif not under:
            consumer = exact.pop(0)
            last = -1
        else:
            pos, last = 1, 0
            consumer = under[0]
        count = give(tp, consumer)
        if count == min_quota:
            del under[last]
            pos -= 1
            exact.append(consumer)
        elif count == max_quota:
            over += 1

    if under:
        if over != expected_over:
            raise AssignmentError("We haven't reached the expected number of members with more than the minQuota "
                                  "partitions, but no more partitions to be assigned")
        for member in under:
            if len(assignment[member]) != min_quota:
                raise AssignmentError(f"Consumer: [{member}] doesn't reach minQuota partitions, and no more "
                                      "partitions to be assigned")
    return StickyResult(assignment, transferring)


class _Movements:
    """AbstractStickyAssignor.PartitionMovements: which partitions moved between which members."""

    def __init__(self) -> None:
        self.by_topic: dict[str, dict[tuple[str, str], JavaHashMap[TP, None]]] = {}
        self.moves: dict[TP, tuple[str, str]] = {}

    def _remove(self, tp: TP) -> tuple[str, str]:
        pair = self.moves.pop(tp)
        for_topic = self.by_topic[tp[0]]
        for_topic[pair].remove(tp)
        if not len(for_topic[pair]):
            del for_topic[pair]
        if not for_topic:
            del self.by_topic[tp[0]]
        return pair

    def _add(self, tp: TP, pair: tuple[str, str]) -> None:
        self.moves[tp] = pair
        for_topic = self.by_topic.setdefault(tp[0], {})
        if pair not in for_topic:
            for_topic[pair] = JavaHashMap(topic_partition_hash)
        for_topic[pair].put(tp, None)

    def move(self, tp: TP, old: str, new: str) -> None:
        if tp in self.moves:
            src, _ = self._remove(tp)
            if src != new:
                self._add(tp, (src, new))
        else:
            self._add(tp, (old, new))

    def actual_partition_to_move(self, tp: TP, old: str, new: str) -> TP:
        """A partition of the same topic that already moved new -> old goes back instead."""
        if tp[0] not in self.by_topic:
            return tp
        if tp in self.moves:
            old = self.moves[tp][0]
        reverse = self.by_topic[tp[0]].get((new, old))
        if reverse is None:
            return tp
        return reverse.keys()[0]

    def is_sticky(self) -> bool:
        """No partition of one topic moved both ways between the same two members."""
        for pairs in self.by_topic.values():
            if any((dst, src) in pairs for src, dst in pairs):
                return False
        return True


class _General:
    """GeneralAssignmentBuilder (no rack information)."""

    def __init__(self, partitions_per_topic: Mapping[str, int], members: Mapping[str, Sequence[str]],
                 current: JavaHashMap[str, list[TP]], owned: Mapping[str, Sequence[TP]],
                 generations: Mapping[str, int], max_generation: int) -> None:
        self.ppt = dict(partitions_per_topic)
        self.members = members
        self.owned = owned
        self.generations = generations
        self.max_generation = max_generation
        self.topic_consumers: dict[str, list[str]] = {t: [] for t in self.ppt}
        self.consumer_topics: dict[str, list[str]] = {}
        for consumer in current.keys():
            topics = [t for t in members[consumer] if t in self.ppt]
            self.consumer_topics[consumer] = topics
            for t in topics:
                self.topic_consumers[t].append(consumer)
        self.current: dict[str, list[TP]] = {c: list(tps) for c, tps in current.items()}
        self.partition_consumer: dict[TP, str] = {tp: c for c, tps in self.current.items() for tp in tps}
        topics = sorted(self.topic_consumers, key=lambda t: (len(self.topic_consumers[t]), t))
        self.sorted_all = [(t, p) for t in topics for p in range(self.ppt[t])]
        self.active: set[str] = set()
        self.revocation_required = False
        self.movements = _Movements()

    # the TreeSet of members ordered by (assignment size, member id)
    def _sorted(self) -> list[str]:
        return sorted(self.active, key=lambda c: (len(self.current[c]), c))

    def build(self) -> dict[str, list[TP]]:
        prev = self._previous_assignment()
        assigned: set[TP] = set()
        for consumer, tps in self.current.items():
            subscribed = self.members[consumer]
            keep = []
            for tp in tps:
                if tp[0] not in self.topic_consumers:
                    self.partition_consumer.pop(tp, None)
                elif tp[0] not in subscribed:
                    self.revocation_required = True
                else:
                    keep.append(tp)
                    assigned.add(tp)
            tps[:] = keep
        unassigned = [tp for tp in self.sorted_all if tp not in assigned]
        self.active = set(self.current)
        self._balance(prev, unassigned)
        return self.current

    def _previous_assignment(self) -> dict[TP, tuple[str, int]]:
        """prepopulateCurrentAssignments: claims from older generations, the latest one kept."""
        prev: dict[TP, tuple[str, int]] = {}
        order = JavaHashMap[str, None](string_hash)
        for member in self.members:
            order.put(member, None)
        for consumer in order.keys():
            generation = self.generations.get(consumer)
            if generation is not None and generation < self.max_generation:
                at = generation
            elif generation is None and self.max_generation > DEFAULT_GENERATION:
                at = DEFAULT_GENERATION
            else:
                continue
            for tp in self.owned.get(consumer, ()):
                if tp not in prev or at > prev[tp][1]:
                    prev[tp] = (consumer, at)
        return prev

    def _max_size(self, consumer: str) -> int:
        return sum(self.ppt[t] for t in self.consumer_topics[consumer])

    def _is_balanced(self) -> bool:
        ordered = self._sorted()
        if len(self.current[ordered[0]]) >= len(self.current[ordered[-1]]) - 1:
            return True
        owner = {tp: c for c in ordered for tp in self.current[c]}
        for consumer in ordered:
            mine = self.current[consumer]
            count = len(mine)
            if count == self._max_size(consumer):
                continue
            mine_set = set(mine)
            for topic in self.consumer_topics[consumer]:
                for p in range(self.ppt[topic]):
                    if (topic, p) in mine_set:
                        continue
                    other = owner.get((topic, p))
                    if other is not None and count + 1 < len(self.current[other]):
                        return False
        return True

    def _score(self, assignment: Mapping[str, list[TP]]) -> int:
        sizes = [len(v) for v in assignment.values()]
        return sum(abs(a - b) for i, a in enumerate(sizes) for b in sizes[i + 1:])

    def _balance(self, prev: dict[TP, tuple[str, int]], unassigned: list[TP]) -> None:
        initializing = not self.current[self._sorted()[-1]] if self.active else True
        for tp in unassigned:
            if not self.topic_consumers[tp[0]]:
                continue
            for consumer in self._sorted():
                if tp[0] in self.consumer_topics[consumer]:
                    self.current[consumer].append(tp)
                    self.partition_consumer[tp] = consumer
                    break
        fixed_topics = {t for t, cs in self.topic_consumers.items() if len(cs) < 2}
        reassignable = [tp for tp in self.sorted_all if tp[0] not in fixed_topics]
        unassigned = [tp for tp in unassigned if tp[0] not in fixed_topics]
        fixed: dict[str, list[TP]] = {}
        for consumer in list(self.consumer_topics):
            if not self._can_participate(consumer):
                self.active.discard(consumer)
                fixed[consumer] = self.current.pop(consumer)
        before = {c: list(tps) for c, tps in self.current.items()}
        before_owner = dict(self.partition_consumer)
        if not self.revocation_required:
            self._reassign(unassigned, prev)
        performed = self._reassign(reassignable, prev)
        if not initializing and performed and self._score(self.current) >= self._score(before):
            self.current = before
            self.partition_consumer = before_owner
        for consumer, tps in fixed.items():
            self.current[consumer] = tps
            self.active.add(consumer)

    def _can_participate(self, consumer: str) -> bool:
        mine = self.current[consumer]
        if len(mine) < self._max_size(consumer):
            return True
        return any(len(self.topic_consumers[tp[0]]) >= 2 for tp in mine)

    def _reassign(self, partitions: list[TP], prev: dict[TP, tuple[str, int]]) -> bool:
        performed = False
        modified = True
        while modified:
            modified = False
            for tp in partitions:
                if self._is_balanced():
                    break
                consumer = self.partition_consumer.get(tp)
                if consumer is None or consumer not in self.current:
                    continue
                size = len(self.current[consumer])
                if tp in prev and prev[tp][0] in self.current and size > len(self.current[prev[tp][0]]) + 1:
                    self._move(tp, prev[tp][0])
                    performed = modified = True
                    continue
                for other in self.topic_consumers[tp[0]]:
                    if other in self.current and size > len(self.current[other]) + 1:
                        new = next(c for c in self._sorted() if tp[0] in self.consumer_topics[c])
                        self._move(tp, new)
                        performed = modified = True
                        break
        return performed

    def _move(self, tp: TP, new: str) -> None:
        old = self.partition_consumer[tp]
        tp = self.movements.actual_partition_to_move(tp, old, new)
        old = self.partition_consumer[tp]
        self.movements.move(tp, old, new)
        self.current[old].remove(tp)
        self.current[new].append(tp)
        self.partition_consumer[tp] = new


def abstract_sticky_assign(
    members: Mapping[str, Sequence[str]], partitions_per_topic: Mapping[str, int],
    owned: Mapping[str, Sequence[TP]] | None = None, generations: Mapping[str, int] | None = None,
    *, subscriptions_capacity: int | None = None, racks: RackInfo | None = None,
) -> StickyResult:
    """AbstractStickyAssignor.assignPartitions.

    ``subscriptions_capacity`` is the initial capacity of the Map<String, Subscription> the
    caller built (the consumer coordinator uses ``new HashMap<>()``: None).
    """
    owned = owned or {}
    generations = generations or {}
    ppt = {t: n for t, n in partitions_per_topic.items()}
    equal, current, multiple = _subscriptions_equal_and_owned(
        members, set(ppt), owned, generations, subscriptions_capacity)
    if not members:
        return StickyResult({}, {})
    if equal:
        every = [(t, p) for t in sorted(ppt) for p in range(ppt[t])]
        return _constrained(ppt, current, multiple, _StickyRacks(racks, list(members), every))
    max_generation = max([DEFAULT_GENERATION, *(generations.get(m, DEFAULT_GENERATION) for m in members)])
    builder = _General(ppt, members, current, owned, generations, max_generation)
    result = StickyResult(builder.build(), None)
    result.movements = builder.movements  # type: ignore[attr-defined]
    return result


def cooperative_adjust(result: StickyResult, owned: Mapping[str, Sequence[TP]]) -> dict[str, list[TP]]:
    """CooperativeStickyAssignor.assignPartitions: a partition moving from one member to another
    is left out of this round (its owner revokes it first; the follow-up rebalance places it)."""
    transferring = result.transferring
    if transferring is None:
        added: dict[TP, str] = {}
        revoked: set[TP] = set()
        for consumer, assigned in result.assignment.items():
            mine = list(owned.get(consumer, ()))
            mine_set, assigned_set = set(mine), set(assigned)
            added.update({tp: consumer for tp in assigned if tp not in mine_set})
            revoked.update(tp for tp in mine if tp not in assigned_set)
        transferring = {tp: c for tp, c in added.items() if tp in revoked}
    adjusted = {c: list(tps) for c, tps in result.assignment.items()}
    for tp, consumer in transferring.items():
        if tp in adjusted[consumer]:
            adjusted[consumer].remove(tp)
    return adjusted
