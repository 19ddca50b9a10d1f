"""Racks: broker.rack replica placement, rack-aware assignment (KIP-881) and rack-aware fetching
(KIP-392), checked against the cases of Kafka's own tests (RangeAssignorTest,
AbstractStickyAssignorTest, AdminUtils / ReplicaAssignmentTest)."""

from __future__ import annotations

from playground import engine
from playground.engine.kafka.assignors import cooperative_sticky_assign, range_assign, sticky_assign
from playground.engine.kafka.racks import (
    RackInfo,
    assign_replicas_rack_aware,
    broker_racks,
    fetch_replica,
    rack_alternated_brokers,
    use_rack_aware_assignment,
)

ALL_RACKS = "abcdef"
TOPICS = {"t1": 6, "t2": 7, "t3": 2}  # the LinkedHashMap of the tests: t1, t2, t3 in that order


def kafka_test_racks(topics: dict[str, int], replication_factor: int, broker_racks_: list[str | None],
                     consumer_racks: list[str | None]) -> tuple[dict[str, list[str]], RackInfo]:
    """AbstractPartitionAssignorTest.verifyRackAssignment's setup: consumers consumer0.. with
    these racks; partition i of a topic on nodes (i + j + nextIndex) % brokers, nextIndex running
    over the topics in order."""
    members = {f"consumer{i}": list(topics) for i in range(len(consumer_racks))}
    mine = {f"consumer{i}": r for i, r in enumerate(consumer_racks) if r is not None}
    partition_racks = {}
    next_index = 0
    for topic, count in topics.items():
        for i in range(count):
            nodes = [(i + j + next_index) % len(broker_racks_) for j in range(replication_factor)]
            partition_racks[(topic, i)] = frozenset(broker_racks_[n] for n in nodes if broker_racks_[n] is not None)
        next_index += count
    return members, RackInfo(mine, partition_racks)


def text(plan: dict[str, list[tuple[str, int]]]) -> list[str]:
    return [", ".join(sorted(f"{t}-{p}" for t, p in plan[m])) for m in sorted(plan)]


def mismatched(plan: dict[str, list[tuple[str, int]]], racks: RackInfo) -> int:
    return sum(1 for m, tps in plan.items() for tp in tps
               if m in racks.consumer_racks and racks.consumer_racks[m] not in racks.partition_racks[tp])


def test_use_rack_aware_assignment_only_when_some_partition_is_not_on_every_rack():
    """AbstractPartitionAssignorTest.testUseRackAwareAssignment."""
    every = frozenset("abc")
    assert not use_rack_aware_assignment([], "abc", [every])
    assert not use_rack_aware_assignment(["d"], "abc", [frozenset("ab")])
    assert not use_rack_aware_assignment(["a", "b"], "abc", [every, every])
    assert use_rack_aware_assignment(["a"], "abc", [frozenset("ab"), every])


def test_range_rack_aware_with_replication_factor_one_aligns_every_partition():
    """RangeAssignorTest.testRackAwareAssignmentWithUniformSubscription, replication factor 1."""
    members, racks = kafka_test_racks(TOPICS, 1, list("abc"), list("abc"))
    plan = range_assign(members, TOPICS, racks=racks)
    assert text(plan) == ["t1-0, t1-3, t2-0, t2-3, t2-6", "t1-1, t1-4, t2-1, t2-4, t3-0",
                          "t1-2, t1-5, t2-2, t2-5, t3-1"]
    assert mismatched(plan, racks) == 0


def test_range_rack_aware_with_replication_factor_two_keeps_ranges_balanced():
    """RangeAssignorTest.testRackAwareAssignmentWithUniformSubscription, replication factor 2:
    one partition cannot be aligned within the range quotas."""
    members, racks = kafka_test_racks(TOPICS, 2, list("abc"), list("abc"))
    plan = range_assign(members, TOPICS, racks=racks)
    assert text(plan) == ["t1-0, t1-2, t2-0, t2-2, t2-3, t3-1", "t1-1, t1-3, t2-1, t2-4, t3-0",
                          "t1-4, t1-5, t2-5, t2-6"]
    assert mismatched(plan, racks) == 1


def test_range_ignores_racks_when_every_partition_is_on_every_rack():
    """RangeAssignorTest: a consumer in a rack with no partitions (brokers on racks a, b,
    replication factor 3): every partition is on both racks, so the plain ranges are kept."""
    members, racks = kafka_test_racks(TOPICS, 3, list("ab"), list("abc"))
    plan = range_assign(members, TOPICS, racks=racks)
    assert text(plan) == ["t1-0, t1-1, t2-0, t2-1, t2-2, t3-0", "t1-2, t1-3, t2-3, t2-4, t3-1",
                          "t1-4, t1-5, t2-5, t2-6"]
    assert mismatched(plan, racks) == 4


def test_range_rack_aware_co_partitioned_topics_give_partition_p_of_each_to_one_member():
    """RangeAssignor.assignCoPartitionedWithRackMatching: topics with the same members and
    partition count are aligned together."""
    topics = {"t1": 3, "t2": 3}
    members = {"c0": ["t1", "t2"], "c1": ["t1", "t2"], "c2": ["t1", "t2"]}
    racks = RackInfo({"c0": "a", "c1": "b", "c2": "c"},
                     {(t, p): frozenset("cab"[p]) for t in topics for p in range(3)})
    plan = range_assign(members, topics, racks=racks)
    assert plan == {"c0": [("t1", 1), ("t2", 1)], "c1": [("t1", 2), ("t2", 2)], "c2": [("t1", 0), ("t2", 0)]}


def test_sticky_rack_aware_with_replication_factor_one_and_two():
    """AbstractStickyAssignorTest.testRackAwareAssignmentWithUniformSubscription (sticky and
    cooperative-sticky, nothing owned): replication factor 1 and 2 are fully aligned."""
    expected = ["t1-0, t1-3, t2-0, t2-3, t2-6", "t1-1, t1-4, t2-1, t2-4, t3-0", "t1-2, t1-5, t2-2, t2-5, t3-1"]
    for rf in (1, 2):
        members, racks = kafka_test_racks(TOPICS, rf, list("abc"), list("abc"))
        for assign in (sticky_assign, cooperative_sticky_assign):
            plan = assign(members, TOPICS, racks=racks)
            assert text(plan) == expected
            assert mismatched(plan, racks) == 0


def test_sticky_rack_aware_balances_before_aligning():
    """AbstractStickyAssignorTest: one consumer on a rack with no partitions gets misaligned
    partitions to keep the balance (5 mismatched)."""
    members, racks = kafka_test_racks(TOPICS, 3, list("ab"), list("abc"))
    plan = sticky_assign(members, TOPICS, racks=racks)
    assert text(plan) == ["t1-0, t1-3, t2-0, t2-3, t2-6", "t1-1, t1-4, t2-1, t2-4, t3-0",
                          "t1-2, t1-5, t2-2, t2-5, t3-1"]
    assert mismatched(plan, racks) == 5


def test_sticky_rack_aware_revokes_an_owned_partition_of_another_rack():
    """ConstrainedAssignmentBuilder.assignOwnedPartitions keeps only owned partitions whose
    replicas are in the member's rack; cooperative-sticky leaves the moved one out this round."""
    members = {"c0": ["t"], "c1": ["t"]}
    racks = RackInfo({"c0": "a", "c1": "b"}, {("t", 0): frozenset("a"), ("t", 1): frozenset("b")})
    owned = {"c0": [("t", 1)], "c1": [("t", 0)]}
    assert sticky_assign(members, {"t": 2}, owned, racks=racks) == {"c0": [("t", 0)], "c1": [("t", 1)]}
    assert cooperative_sticky_assign(members, {"t": 2}, owned, racks=racks) == {"c0": [], "c1": []}
    assert sticky_assign(members, {"t": 2}, owned) == {"c0": [("t", 1)], "c1": [("t", 0)]}


def test_rack_alternated_broker_list_and_rack_aware_placement_match_kafka():
    """AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers: the
    rack-alternated list, and 7 partitions with replication factor 3 from a fixed start of 0."""
    rack_of = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
    assert rack_alternated_brokers(rack_of) == [0, 3, 1, 5, 4, 2]
    assert rack_alternated_brokers({b: r for b, r in rack_of.items() if b != 5}) == [0, 3, 1, 4, 2]
    assert assign_replicas_rack_aware(7, 3, rack_of, 0, 0) == [
        [0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3], [0, 4, 2]]


def test_rack_aware_placement_spreads_each_partition_over_distinct_racks():
    """AdminRackAwareTest.checkReplicaDistribution: with at least as many racks as replicas,
    every partition has its replicas on distinct racks."""
    rack_of = broker_racks([1, 2, 3, 4, 5, 6], 3)
    assert rack_of == {1: "a", 2: "b", 3: "c", 4: "a", 5: "b", 6: "c"}
    for rf in (2, 3):
        for start in range(6):
            placement = assign_replicas_rack_aware(12, rf, rack_of, start, start)
            assert all(len({rack_of[b] for b in replicas}) == rf for replicas in placement)


def test_fetch_goes_to_a_replica_in_the_clients_rack_else_to_the_leader():
    """RackAwareReplicaSelector.select: the leader if it is in the client's rack, else a replica
    there, else the leader; no client.rack: the leader."""
    rack_of = {1: "a", 2: "b", 3: "c"}
    live = {1, 2, 3}
    assert fetch_replica(1, [1, 2], live, rack_of, "b") == 2
    assert fetch_replica(1, [1, 2], live, rack_of, "a") == 1
    assert fetch_replica(1, [1, 2], live, rack_of, "c") == 1
    assert fetch_replica(1, [1, 2], live, rack_of, None) == 1


def rack_doc(client_rack: bool, assignor: str = "range") -> dict:
    return {"fanout": 1, "name": "racks", "nodes": [
        {"id": "producer", "type": "producer", "params": {"rate": 300, "keys": 200}},
        {"id": "cluster", "type": "kafka_cluster", "params": {"brokers": 6, "racks": 3,
                                                             "default_replication_factor": 2,
                                                             "min_insync_replicas": 1}},
        {"id": "topic", "type": "kafka_topic", "params": {"partitions": 6}},
        {"id": "group", "type": "consumer_group",
         "params": {"consumers": 3, "processing_ms": 1, "assignor": assignor, "consumer_racks": "a,b,c",
                    "client_rack": client_rack}}],
        "edges": [{"source": "producer", "target": "topic"}, {"source": "cluster", "target": "topic"},
                  {"source": "topic", "target": "group"}]}


def test_rack_aware_group_fetches_within_its_racks_and_a_rack_blind_one_crosses_racks():
    """KIP-881 + KIP-392: with client.rack every member is given partitions with a replica in its
    rack and fetches there (no cross-rack records); without it, fetches go to leaders, mostly in
    other racks."""
    for assignor in ("range", "sticky", "cooperative-sticky"):
        aware = engine.Simulation(engine.parse_document(rack_doc(True, assignor)), 3, record_flow=False)
        aware.advance(6)
        view = aware.metrics()["nodes"]["group"]
        assert view["racks"]["same_rack"] > 0
        assert view["racks"]["cross_rack"] == 0, assignor
        assert {m["rack"] for m in view["members"]} == {"a", "b", "c"}
    blind = engine.Simulation(engine.parse_document(rack_doc(False)), 3, record_flow=False)
    blind.advance(6)
    racks = blind.metrics()["nodes"]["group"]["racks"]
    assert racks["cross_rack"] > racks["same_rack"] > 0
    brokers = blind.metrics()["nodes"]["cluster"]["brokers"]
    assert [b["rack"] for b in brokers] == ["a", "b", "c", "a", "b", "c"]
