"""Groups that mix static (group.instance.id, KIP-345) and dynamic members, and the member order
Kafka's assignors use: AbstractPartitionAssignor.MemberInfo.compareTo puts members with a
group.instance.id first (compared by it), then the others by member id."""

from __future__ import annotations

from playground.engine.kafka.assignors import ASSIGNORS, member_order, range_assign, roundrobin_assign, sticky_assign
from playground.engine.kafka.membership import is_static
from tests.engine.factories import simulation


def test_static_members_sort_before_dynamic_ones():
    """MemberInfo.compareTo: both static -> by group.instance.id; one static -> it comes first;
    both dynamic -> by member id (as strings)."""
    members = ["consumer-a", "consumer-b", "consumer-10", "consumer-2"]
    assert member_order(members) == ["consumer-10", "consumer-2", "consumer-a", "consumer-b"]
    assert member_order(members, {"consumer-b": "instance-1"}) == [
        "consumer-b", "consumer-10", "consumer-2", "consumer-a"]
    assert member_order(members, {"consumer-2": "z", "consumer-a": "y"}) == [
        "consumer-a", "consumer-2", "consumer-10", "consumer-b"]


def test_range_one_static_and_one_dynamic_consumer():
    """RangeAssignorTest.testOneStaticConsumerAndOneDynamicConsumerTwoTopicsSixPartitions:
    consumer-b has an instance id, so it sorts before consumer-a and gets the extra partitions."""
    members = {"consumer-b": ["t1", "t2"], "consumer-a": ["t1", "t2"]}
    plan = range_assign(members, {"t1": 3, "t2": 3}, {"consumer-b": "instance1"})
    assert plan == {"consumer-b": [("t1", 0), ("t1", 1), ("t2", 0), ("t2", 1)],
                    "consumer-a": [("t1", 2), ("t2", 2)]}


def test_range_two_static_consumers_sort_by_instance_id():
    """RangeAssignorTest.testTwoStaticConsumersTwoTopicsSixPartitions: instance ids decide the
    order, whatever the member ids."""
    members = {"consumer-b": ["t1", "t2"], "consumer-a": ["t1", "t2"]}
    plan = range_assign(members, {"t1": 3, "t2": 3}, {"consumer-b": "instance1", "consumer-a": "instance2"})
    assert plan["consumer-b"] == [("t1", 0), ("t1", 1), ("t2", 0), ("t2", 1)]


def test_roundrobin_deals_static_members_first():
    """RoundRobinAssignor sorts MemberInfo too (Utils.sorted): the static member gets partition 0."""
    members = {"c1": ["t"], "c2": ["t"], "c3": ["t"]}
    plan = roundrobin_assign(members, {"t": 4}, {"c3": "c3"})
    assert plan == {"c3": [("t", 0), ("t", 3)], "c1": [("t", 1)], "c2": [("t", 2)]}


def test_sticky_orders_by_member_id_only():
    """AbstractStickyAssignor sorts member id strings (Collections.sort of the unfilled members),
    not MemberInfo: a group.instance.id changes nothing."""
    members = {"c1": ["t"], "c2": ["t"], "c3": ["t"]}
    for strategy in ("sticky", "cooperative-sticky"):
        assert ASSIGNORS[strategy](members, {"t": 4}, None, None, {"c3": "c3"}) == sticky_assign(members, {"t": 4})
    assert ASSIGNORS["range"](members, {"t": 4}, None, None, {"c3": "c3"})["c3"] == [("t", 0), ("t", 1)]


def test_first_static_consumers_are_static():
    """static_consumers = N gives consumer-1 .. consumer-N a group.instance.id (KIP-345);
    static_membership gives every consumer one."""
    assert [is_static({"static_consumers": 2}, n) for n in (1, 2, 3)] == [True, True, False]
    assert is_static({"static_membership": True, "static_consumers": 0}, 9)


def test_mixed_group_shows_static_members_and_sorts_them_first():
    """A group of 11 with 2 static consumers: with range, consumer-1 and consumer-2 come first
    (MemberInfo.compareTo), then the dynamic ones in member id order (consumer-10, consumer-11,
    consumer-3...); without static members consumer-10 would come second."""
    sim = simulation(consumers=11, partitions=11, static_consumers=2, assignor="range", rate=50)
    sim.advance(3)
    view = sim.metrics()["nodes"]["group"]
    assert view["static_members"] == 2
    assert [m.get("instance_id") for m in view["members"][:3]] == ["consumer-1", "consumer-2", None]
    owner = {p["p"]: p["owner"] for p in view["partitions"]}
    assert [owner[p] for p in range(4)] == ["consumer-1", "consumer-2", "consumer-10", "consumer-11"]
    dynamic = simulation(consumers=11, partitions=11, assignor="range", rate=50)
    dynamic.advance(3)
    owner = {p["p"]: p["owner"] for p in dynamic.metrics()["nodes"]["group"]["partitions"]}
    assert [owner[p] for p in range(3)] == ["consumer-1", "consumer-10", "consumer-11"]


def test_static_member_removed_keeps_its_partitions_and_dynamic_one_leaves_at_once():
    """KIP-345: close() of a static member sends no LeaveGroup (its partitions wait for the
    session timeout); a dynamic member's LeaveGroup rebalances the group at once."""
    sim = simulation(consumers=2, static_consumers=1, session_timeout_ms=10_000, rate=100)
    sim.advance(2)
    sim.drain_events()
    sim.apply({"op": "remove_consumer", "node": "group", "member": "consumer-1"})
    sim.advance(1)
    assert not any(e["k"] == "rebalance_start" for e in sim.drain_events())
    sim.apply({"op": "remove_consumer", "node": "group", "member": "consumer-2"})
    sim.advance(1)
    assert any(e["k"] == "rebalance_start" for e in sim.drain_events())


def test_stop_and_start_consumers_keeps_static_identities():
    """The application stopped and started again: the static consumers come back under their
    group.instance.id, the dynamic ones as new members."""
    sim = simulation(consumers=3, static_consumers=1, session_timeout_ms=6000, rate=100)
    sim.advance(2)
    sim.apply({"op": "stop_consumers", "node": "group"})
    sim.advance(8)
    assert sim.metrics()["nodes"]["group"]["members"] == []
    sim.apply({"op": "start_consumers", "node": "group"})
    sim.advance(2)
    ids = [(m["id"], m.get("instance_id")) for m in sim.metrics()["nodes"]["group"]["members"]]
    assert ids == [("consumer-1", "consumer-1"), ("consumer-4", None), ("consumer-5", None)]
