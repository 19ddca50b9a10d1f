from hypothesis import given
from hypothesis import strategies as st

from playground.engine.kafka.assignors import range_assign, roundrobin_assign


def test_one_consumer_one_topic_gets_every_partition():
    """RangeAssignorTest.testOneConsumerOneTopic."""
    assert range_assign({"c1": ["t"]}, {"t": 3}) == {"c1": [("t", 0), ("t", 1), ("t", 2)]}


def test_only_partitions_of_subscribed_topics_are_assigned():
    """RangeAssignorTest.testOnlyAssignsPartitionsFromSubscribedTopics."""
    assert range_assign({"c1": ["topic"]}, {"topic": 3, "other": 3}) == {
        "c1": [("topic", 0), ("topic", 1), ("topic", 2)]}


def test_one_consumer_with_no_topic_gets_nothing():
    """RangeAssignorTest.testOneConsumerNoTopic."""
    assert range_assign({"c1": []}, {}) == {"c1": []}


def test_one_consumer_multiple_topics():
    """RangeAssignorTest.testOneConsumerMultipleTopics."""
    assert range_assign({"c1": ["t1", "t2"]}, {"t1": 1, "t2": 2}) == {"c1": [("t1", 0), ("t2", 0), ("t2", 1)]}


def test_two_consumers_one_partition_leaves_the_second_idle():
    """RangeAssignorTest.testTwoConsumersOneTopicOnePartition."""
    assert range_assign({"c1": ["t"], "c2": ["t"]}, {"t": 1}) == {"c1": [("t", 0)], "c2": []}


def test_two_consumers_two_partitions_one_each():
    """RangeAssignorTest.testTwoConsumersOneTopicTwoPartitions."""
    assert range_assign({"c1": ["t"], "c2": ["t"]}, {"t": 2}) == {"c1": [("t", 0)], "c2": [("t", 1)]}


def test_multiple_consumers_mixed_topics():
    """RangeAssignorTest.testMultipleConsumersMixedTopics."""
    members = {"c1": ["t1"], "c2": ["t1", "t2"], "c3": ["t1"]}
    assert range_assign(members, {"t1": 3, "t2": 2}) == {
        "c1": [("t1", 0)],
        "c2": [("t1", 1), ("t2", 0), ("t2", 1)],
        "c3": [("t1", 2)],
    }


def test_two_consumers_two_topics_six_partitions_first_member_gets_the_extras():
    """RangeAssignorTest.testTwoConsumersTwoTopicsSixPartitions: ranges per topic, so the
    first member in member-id order gets the extra partition of every topic."""
    members = {"c1": ["t1", "t2"], "c2": ["t1", "t2"]}
    assert range_assign(members, {"t1": 3, "t2": 3}) == {
        "c1": [("t1", 0), ("t1", 1), ("t2", 0), ("t2", 1)],
        "c2": [("t1", 2), ("t2", 2)],
    }


def test_members_are_ordered_by_member_id_as_strings():
    """MemberInfo.compareTo sorts member ids as strings: consumer-10 comes before consumer-2."""
    plan = range_assign({"consumer-2": ["t"], "consumer-10": ["t"]}, {"t": 3})
    assert plan == {"consumer-10": [("t", 0), ("t", 1)], "consumer-2": [("t", 2)]}


@given(members=st.integers(1, 12), partitions=st.integers(1, 64))
def test_range_assignment_is_complete_disjoint_and_balanced_within_one(members, partitions):
    plan = range_assign({f"c{i}": ["t"] for i in range(members)}, {"t": partitions})
    owned = [tp for tps in plan.values() for tp in tps]
    assert sorted(owned) == [("t", p) for p in range(partitions)]
    sizes = [len(tps) for tps in plan.values()]
    assert max(sizes) - min(sizes) <= 1


def test_roundrobin_two_consumers_two_topics_six_partitions():
    """RoundRobinAssignorTest.testTwoConsumersTwoTopicsSixPartitions: dealt across topics."""
    members = {"c1": ["t1", "t2"], "c2": ["t1", "t2"]}
    assert roundrobin_assign(members, {"t1": 3, "t2": 3}) == {
        "c1": [("t1", 0), ("t1", 2), ("t2", 1)],
        "c2": [("t1", 1), ("t2", 0), ("t2", 2)],
    }


def test_roundrobin_multiple_consumers_mixed_topics_skips_unsubscribed_members():
    """RoundRobinAssignorTest.testMultipleConsumersMixedTopics."""
    members = {"c1": ["t1"], "c2": ["t1", "t2"], "c3": ["t1"]}
    assert roundrobin_assign(members, {"t1": 3, "t2": 2}) == {
        "c1": [("t1", 0)],
        "c2": [("t1", 1), ("t2", 0), ("t2", 1)],
        "c3": [("t1", 2)],
    }


def test_roundrobin_two_consumers_one_partition():
    """RoundRobinAssignorTest.testTwoConsumersOneTopicOnePartition."""
    assert roundrobin_assign({"c1": ["t"], "c2": ["t"]}, {"t": 1}) == {"c1": [("t", 0)], "c2": []}


@given(members=st.integers(1, 12), topics=st.lists(st.integers(1, 20), min_size=1, max_size=4))
def test_roundrobin_is_complete_disjoint_and_balanced_within_one(members, topics):
    counts = {f"t{i}": n for i, n in enumerate(topics)}
    plan = roundrobin_assign({f"c{i}": list(counts) for i in range(members)}, counts)
    owned = [tp for tps in plan.values() for tp in tps]
    assert sorted(owned) == sorted((t, p) for t, n in counts.items() for p in range(n))
    sizes = [len(tps) for tps in plan.values()]
    assert max(sizes) - min(sizes) <= 1
