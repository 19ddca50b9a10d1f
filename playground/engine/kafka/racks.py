"""Racks: broker.rack on the brokers, client.rack on the consumers, and what follows from them.

- Replica placement (AdminUtils.assignReplicasToBrokersRackAware): when every broker has a rack,
  a partition's replicas go to as many different racks as there are, on a rack-alternated list.
- Rack-aware assignment (KIP-881, Kafka 3.5+): RangeAssignor and the sticky assignors prefer to
  give a consumer the partitions that have a replica in its client.rack (assignors.py, sticky.py;
  ``RackInfo`` is what their subscriptions tell them).
- Fetching from the closest replica (KIP-392): with client.rack set and the brokers'
  replica.selector.class=RackAwareReplicaSelector, a consumer fetches from a replica in its own
  rack when the partition has one; otherwise (or without client.rack) from the leader. A fetch
  from a replica in another rack is cross-rack traffic (``RackTraffic``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TP = tuple[str, int]
RACK_NAMES = "abcdefghi"


def broker_racks(brokers: Sequence[int], racks: int) -> dict[int, str]:
    """broker.rack of each broker when the cluster spans ``racks`` racks (0: none set): brokers
    are spread over racks "a", "b", ... in turn (broker 1 in a, 2 in b, ...)."""
    if racks <= 0:
        return {}
    return {b: RACK_NAMES[i % racks] for i, b in enumerate(sorted(brokers))}


def rack_alternated_brokers(rack_of: Mapping[int, str]) -> list[int]:
    """AdminUtils.getRackAlternatedBrokerList: one broker of each rack in turn (racks in name
    order, brokers of a rack in id order), e.g. {0:a, 1:a, 2:b, 3:c} -> [0, 2, 3, 1]."""
    by_rack: dict[str, list[int]] = {}
    for b in sorted(rack_of):
        by_rack.setdefault(rack_of[b], []).append(b)
    queues = [by_rack[r] for r in sorted(by_rack)]
    out: list[int] = []
    i = 0
    while len(out) < len(rack_of):
        if queues[i]:
            out.append(queues[i].pop(0))
        i = (i + 1) % len(queues)
    return out


def _replica_index(first: int, second_shift: int, index: int, n: int) -> int:
    """AdminUtils.replicaIndex."""
    return (first + 1 + (second_shift + index) % (n - 1)) % n


def assign_replicas_rack_aware(partitions: int, replication_factor: int, rack_of: Mapping[int, str],
                               start_index: int, shift: int) -> list[list[int]]:
    """AdminUtils.assignReplicasToBrokersRackAware: the leader of partition p is the broker at
    ``(p + start_index) % n`` of the rack-alternated list; each further replica is searched from
    ``replicaIndex(first, shift * racks, k)`` on, skipping a broker whose rack already has a
    replica while some rack has none, and a broker that has one while some broker has none.
    ``shift`` grows by one every n partitions. Kafka draws start_index and shift at random."""
    arranged = rack_alternated_brokers(rack_of)
    n = len(arranged)
    racks = len(set(rack_of.values()))
    if not 1 <= replication_factor <= n:
        raise ValueError(f"replication factor {replication_factor} with {n} brokers")
    out = []
    for p in range(partitions):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start_index) % n
        leader = arranged[first]
        replicas = [leader]
        racks_with = {rack_of[leader]}
        brokers_with = {leader}
        k = 0
        for _ in range(replication_factor - 1):
            while True:
                broker = arranged[_replica_index(first, shift * racks, k, n)]
                rack = rack_of[broker]
                k += 1
                if ((rack not in racks_with or len(racks_with) == racks)
                        and (broker not in brokers_with or len(brokers_with) == n)):
                    replicas.append(broker)
                    racks_with.add(rack)
                    brokers_with.add(broker)
                    break
        out.append(replicas)
    return out


def consumer_racks(spec: str) -> list[str]:
    """The racks of the ``consumer_racks`` parameter ("a,b,c"): blanks dropped."""
    return [r.strip() for r in spec.split(",") if r.strip()]


def rack_of_member(number: int, racks: Sequence[str]) -> str | None:
    """Where consumer number ``number`` (1-based) runs: the racks are dealt in turn."""
    return racks[(number - 1) % len(racks)] if racks else None


def use_rack_aware_assignment(consumer_racks: Iterable[str], partition_racks: Iterable[str],
                              racks_per_partition: Iterable[frozenset[str]]) -> bool:
    """AbstractPartitionAssignor.useRackAwareAssignment: only when some consumer has a rack that
    some replica is in, and not every partition has replicas on every one of those racks (then
    any assignment is rack-aligned already)."""
    mine, theirs = set(consumer_racks), set(partition_racks)
    if not mine or mine.isdisjoint(theirs):
        return False
    return not all(set(r) == theirs for r in racks_per_partition)


@dataclass(frozen=True)
class RackInfo:
    """What the assignors know of racks: each member's client.rack (members without one are
    left out) and the racks holding each partition's replicas (from the brokers' broker.rack)."""

    consumer_racks: Mapping[str, str]
    partition_racks: Mapping[TP, frozenset[str]] = field(default_factory=dict)

    def useful(self, consumers: Iterable[str], partitions: Iterable[TP]) -> bool:
        """useRackAwareAssignment over these consumers and partitions."""
        mine = [self.consumer_racks[c] for c in consumers if c in self.consumer_racks]
        per = [self.partition_racks.get(tp, frozenset()) for tp in partitions]
        return use_rack_aware_assignment(mine, set().union(*per) if per else set(), per)


def fetch_replica(leader: int | None, replicas: Sequence[int], live: set[int], rack_of: Mapping[int, str],
                  client_rack: str | None) -> int | None:
    """The replica a fetch goes to (KIP-392, RackAwareReplicaSelector.select): with a client.rack,
    the leader if it is in that rack, else a replica in that rack (Kafka takes the most caught-up
    one; here the first live one in assignment order: the rack is what matters for traffic);
    without a client.rack, or when no replica is in the rack, the leader."""
    if client_rack is None or leader is None or rack_of.get(leader) == client_rack:
        return leader
    for r in replicas:
        if r in live and rack_of.get(r) == client_rack:
            return r
    return leader


class RackTraffic:
    """A group's fetches, counted by whether the records crossed racks: a member in rack ``r``
    reading from a broker in another rack (cross_rack) or in its own (same_rack). Members with
    no known location are not counted."""

    def __init__(self, cluster: Any, set_client_rack: bool) -> None:
        self.cluster = cluster  # node id of the cluster, whose metrics know the racks
        self.set_client_rack = set_client_rack
        self.cross_rack = 0
        self.same_rack = 0

    def fetched(self, member_rack: str | None, topic: Any, p: int, n: int, brokers: Any) -> None:
        """``n`` records of ``topic``'s partition ``p`` fetched by a member running in ``member_rack``."""
        if member_rack is None or topic.parts is None:
            return
        part = topic.parts[p]
        rack_of = brokers.racks
        replica = fetch_replica(part.leader, part.replicas, brokers.live(), rack_of,
                                member_rack if self.set_client_rack else None)
        if replica is None:
            return
        if rack_of.get(replica) == member_rack:
            self.same_rack += n
        else:
            self.cross_rack += n

    def view(self) -> dict[str, Any]:
        total = self.cross_rack + self.same_rack
        return {"cross_rack": self.cross_rack, "same_rack": self.same_rack,
                "cross_share": round(self.cross_rack / total, 4) if total else None,
                "client_rack": self.set_client_rack}


def rack_info(group: Any, sim: Any, joined: Any) -> RackInfo | None:
    """What the group leader's assignor learns of racks: the members' client.rack (when the group
    sets it) and the racks of every partition's replicas (from the cluster's broker.rack)."""
    if group.racks is None or not group.racks.set_client_rack:
        return None
    mine = {m.id: m.rack for m in joined if m.rack is not None}
    if not mine:
        return None
    cluster = sim.components[group.racks.cluster]
    partition_racks = {}
    for tp, topic in group.sources.items():
        if topic.parts is not None:
            partition_racks[tp] = frozenset(cluster.racks[b] for b in topic.parts[tp[1]].replicas if b in cluster.racks)
    return RackInfo(mine, partition_racks)


def count_fetches(traffic: RackTraffic, sim: Any, member_rack: str | None, batch: Any) -> None:
    """Count the records of a fetched batch ((read, first, end) per partition) by rack crossing."""
    if member_rack is None:
        return
    cluster = sim.components[traffic.cluster]
    for (_, topic, p, _), first, end in batch:
        traffic.fetched(member_rack, topic, p, end - first, cluster)
