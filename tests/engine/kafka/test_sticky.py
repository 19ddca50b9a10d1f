"""StickyAssignor and CooperativeStickyAssignor against cases from Kafka's own tests.

Cases come from AbstractStickyAssignorTest and CooperativeStickyAssignorTest (Kafka 3.5+, the
rack-aware AbstractStickyAssignor run without racks, as its NO_CONSUMER_RACK variants do). Where
Kafka's result depends on Java HashMap order the test says so: those pin the javaorder
emulation, they are not order-free.
"""

from hypothesis import given
from hypothesis import strategies as st

from playground.engine.kafka.assignors import cooperative_sticky_assign, sticky_assign
from playground.engine.kafka.javaorder import java_order, string_hash, topic_partition_hash
from playground.engine.kafka.sticky import abstract_sticky_assign, cooperative_adjust

T, T1, T2, T3 = "topic", "topic1", "topic2", "topic3"
C1, C2, C3, C4 = "consumer1", "consumer2", "consumer3", "consumer4"
GEN = 1


def tps(text):
    """'t1-0, t2-3' -> [("t1", 0), ("t2", 3)], as AbstractPartitionAssignorTest spells them."""
    return [(p.rsplit("-", 1)[0], int(p.rsplit("-", 1)[1])) for p in text.split(", ")] if text else []


def test_java_string_and_topic_partition_hashes():
    """String.hashCode and TopicPartition.hashCode as the JVM computes them."""
    assert string_hash("hello") == 99162322
    assert string_hash("") == 0
    assert string_hash("consumer1") == -421004549
    assert topic_partition_hash(("", 0)) == 961


def test_hashmap_order_follows_buckets_not_insertion():
    """java.util.HashMap iterates by bucket: consumer3, consumer2, consumer1 at capacity 16."""
    assert java_order([C1, C2, C3], string_hash) == [C3, C2, C1]


def test_one_consumer_no_topic():
    """AbstractStickyAssignorTest.testOneConsumerNoTopic."""
    result = abstract_sticky_assign({"consumer": []}, {})
    assert result.assignment == {"consumer": []} and result.transferring == {}


def test_one_consumer_one_topic():
    """AbstractStickyAssignorTest.testOneConsumerOneTopic."""
    result = abstract_sticky_assign({"consumer": [T]}, {T: 3})
    assert result.assignment == {"consumer": tps("topic-0, topic-1, topic-2")}


def test_only_assigns_partitions_from_subscribed_topics():
    """AbstractStickyAssignorTest.testOnlyAssignsPartitionsFromSubscribedTopics: owned partitions
    of a topic outside the assignment are dropped."""
    owned = {"consumer": tps("topic-0, topic-1, other-0, other-1")}
    result = abstract_sticky_assign({"consumer": [T]}, {T: 2}, owned, {"consumer": GEN})
    assert result.assignment == {"consumer": tps("topic-0, topic-1")} and result.transferring == {}


def test_one_consumer_multiple_topics():
    """AbstractStickyAssignorTest.testOneConsumerMultipleTopics."""
    result = abstract_sticky_assign({"consumer": [T1, T2]}, {T1: 1, T2: 2})
    assert result.assignment["consumer"] == tps("topic1-0, topic2-0, topic2-1")


def test_two_consumers_one_topic_two_partitions():
    """AbstractStickyAssignorTest.testTwoConsumersOneTopicTwoPartitions."""
    result = abstract_sticky_assign({C1: [T], C2: [T]}, {T: 2})
    assert result.assignment == {C1: tps("topic-0"), C2: tps("topic-1")}


def test_multiple_consumers_mixed_topic_subscriptions():
    """AbstractStickyAssignorTest.testMultipleConsumersMixedTopicSubscriptions: the general path."""
    result = abstract_sticky_assign({C1: [T1], C2: [T1, T2], C3: [T1]}, {T1: 3, T2: 2})
    assert result.assignment == {C1: tps("topic1-0, topic1-2"), C2: tps("topic2-0, topic2-1"), C3: tps("topic1-1")}
    assert result.transferring is None


def test_two_consumers_two_topics_six_partitions():
    """AbstractStickyAssignorTest.testTwoConsumersTwoTopicsSixPartitions."""
    result = abstract_sticky_assign({C1: [T1, T2], C2: [T1, T2]}, {T1: 3, T2: 3})
    assert result.assignment == {C1: tps("topic1-0, topic1-2, topic2-1"), C2: tps("topic1-1, topic2-0, topic2-2")}


def test_consumer_owning_min_quota_expected_max_quota():
    """AbstractStickyAssignorTest.testConsumerOwningMinQuotaExpectedMaxQuota (list order too)."""
    owned = {C1: tps("topic1-0, topic2-1"), C2: tps("topic1-1, topic2-2")}
    result = abstract_sticky_assign({C1: [T1, T2], C2: [T1, T2]}, {T1: 2, T2: 3}, owned, {C1: GEN, C2: GEN})
    assert result.assignment == {C1: tps("topic1-0, topic2-1, topic2-0"), C2: tps("topic1-1, topic2-2")}
    assert result.transferring == {}


def test_max_quota_consumer_more_than_num_expected_max_capacity_members():
    """AbstractStickyAssignorTest.testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers.

    HashMap-order dependent: consumer2 is iterated before consumer1, so it keeps its two
    partitions and consumer1 gives up topic2-0."""
    members = {C1: [T1, T2], C2: [T1, T2], C3: [T1, T2]}
    owned = {C1: tps("topic1-0, topic2-0"), C2: tps("topic1-1, topic2-1"), C3: []}
    result = abstract_sticky_assign(members, {T1: 2, T2: 2}, owned, dict.fromkeys(members, GEN))
    assert result.transferring == {("topic2", 0): C3}
    assert result.assignment == {C1: tps("topic1-0"), C2: tps("topic1-1, topic2-1"), C3: tps("topic2-0")}


def test_all_consumers_are_under_min_quota():
    """AbstractStickyAssignorTest.testAllConsumersAreUnderMinQuota."""
    members = {C1: [T1, T2], C2: [T1, T2], C3: [T1, T2]}
    owned = {C1: tps("topic1-0"), C2: tps("topic1-1"), C3: []}
    result = abstract_sticky_assign(members, {T1: 2, T2: 3}, owned, dict.fromkeys(members, GEN))
    assert result.transferring == {}
    assert result.assignment == {C1: tps("topic1-0, topic2-1"), C2: tps("topic1-1, topic2-2"), C3: tps("topic2-0")}


def test_add_remove_consumer_one_topic():
    """AbstractStickyAssignorTest.testAddRemoveConsumerOneTopic."""
    first = abstract_sticky_assign({C1: [T]}, {T: 3}).assignment
    second = abstract_sticky_assign({C1: [T], C2: [T]}, {T: 3}, {C1: first[C1], C2: []}, {C1: GEN, C2: GEN})
    assert second.transferring == {("topic", 2): C2}
    assert second.assignment == {C1: tps("topic-0, topic-1"), C2: tps("topic-2")}
    third = abstract_sticky_assign({C2: [T]}, {T: 3}, {C2: second.assignment[C2]}, {C2: GEN})
    assert sorted(third.assignment[C2]) == tps("topic-0, topic-1, topic-2") and third.transferring == {}


def test_add_remove_two_consumers_two_topics():
    """AbstractStickyAssignorTest.testAddRemoveTwoConsumersTwoTopics (three rounds, list order too)."""
    topics = [T1, T2]
    ppt = {T1: 3, T2: 4}
    first = abstract_sticky_assign({C1: topics, C2: topics}, ppt).assignment
    assert first == {C1: tps("topic1-0, topic1-2, topic2-1, topic2-3"), C2: tps("topic1-1, topic2-0, topic2-2")}
    four = dict.fromkeys([C1, C2, C3, C4], topics)
    second = abstract_sticky_assign(four, ppt, {C1: first[C1], C2: first[C2], C3: [], C4: []},
                                    dict.fromkeys(four, GEN))
    assert second.transferring == {("topic1", 2): C3, ("topic2", 3): C3, ("topic2", 2): C4}
    assert second.assignment == {C1: tps("topic1-0, topic2-1"), C2: tps("topic2-0, topic1-1"),
                                 C3: tps("topic1-2, topic2-3"), C4: tps("topic2-2")}
    two = {C3: topics, C4: topics}
    third = abstract_sticky_assign(two, ppt, {c: second.assignment[c] for c in two}, dict.fromkeys(two, GEN))
    assert third.assignment == {C3: tps("topic1-2, topic2-3, topic1-0, topic2-1"),
                                C4: tps("topic2-2, topic1-1, topic2-0")}
    assert third.transferring == {}


def test_all_consumers_reach_expected_quota_and_are_considered_filled():
    """AbstractStickyAssignorTest.testAllConsumersReachExpectedQuotaAndAreConsideredFilled."""
    members = {C1: [T], C2: [T], C3: [T]}
    owned = {C1: tps("topic-0, topic-1"), C2: tps("topic-2"), C3: []}
    result = abstract_sticky_assign(members, {T: 4}, owned, dict.fromkeys(members, GEN))
    assert result.assignment == {C1: tps("topic-0, topic-1"), C2: tps("topic-2"), C3: tps("topic-3")}
    assert result.transferring == {}


def test_owned_partitions_are_invalidated_for_consumer_with_stale_generation():
    """AbstractStickyAssignorTest.testOwnedPartitionsAreInvalidatedForConsumerWithStaleGeneration."""
    claim = tps("topic-0, topic-2, topic2-1")
    members = {C1: [T, T2], C2: [T, T2]}
    result = abstract_sticky_assign(members, {T: 3, T2: 3}, {C1: claim, C2: claim}, {C1: 10, C2: 9})
    assert set(result.assignment[C1]) == set(claim)
    assert set(result.assignment[C2]) == set(tps("topic-1, topic2-0, topic2-2"))
    assert result.transferring == {}


def test_owned_partitions_are_invalidated_for_consumer_with_no_generation():
    """AbstractStickyAssignorTest.testOwnedPartitionsAreInvalidatedForConsumerWithNoGeneration."""
    claim = tps("topic-0, topic-2, topic2-1")
    members = {C1: [T, T2], C2: [T, T2]}
    result = abstract_sticky_assign(members, {T: 3, T2: 3}, {C1: claim, C2: claim}, {C1: 10, C2: -1})
    assert set(result.assignment[C1]) == set(claim)
    assert set(result.assignment[C2]) == set(tps("topic-1, topic2-0, topic2-2"))


def test_partitions_claimed_by_multiple_consumers_in_same_generation_are_transferred():
    """AbstractStickyAssignorTest.testPartitionsTransferringOwnershipIncludeThePartitionClaimedBy
    MultipleConsumersInSameGeneration, and CooperativeStickyAssignorTest.testAllConsumersHaveOwned
    PartitionInvalidatedWhenClaimedByMultipleConsumersInSameGenerationWithEqualPartitionsPerConsumer
    (the cooperative round leaves topic-0 unassigned until both claimants have revoked it)."""
    members = {C1: [T], C2: [T], C3: [T]}
    owned = {C1: tps("topic-0, topic-1"), C2: tps("topic-0, topic-2"), C3: []}
    generations = dict.fromkeys(members, GEN)
    result = abstract_sticky_assign(members, {T: 3}, owned, generations)
    assert result.transferring == {("topic", 0): C3}
    assert result.assignment == {C1: tps("topic-1"), C2: tps("topic-2"), C3: tps("topic-0")}
    assert cooperative_sticky_assign(members, {T: 3}, owned, generations) == {
        C1: tps("topic-1"), C2: tps("topic-2"), C3: []}


def test_cooperative_unequal_partitions_per_consumer_with_a_doubly_claimed_partition():
    """CooperativeStickyAssignorTest.testAllConsumersHaveOwnedPartitionInvalidatedWhenClaimedBy
    MultipleConsumersInSameGenerationWithUnequalPartitionsPerConsumer."""
    members = {C1: [T], C2: [T], C3: [T]}
    owned = {C1: tps("topic-0, topic-1"), C2: tps("topic-0, topic-2"), C3: []}
    assert cooperative_sticky_assign(members, {T: 4}, owned, dict.fromkeys(members, GEN)) == {
        C1: tps("topic-1, topic-3"), C2: tps("topic-2"), C3: []}


def test_ensure_partitions_assigned_to_highest_generation():
    """AbstractStickyAssignorTest.testEnsurePartitionsAssignedToHighestGeneration."""
    members = dict.fromkeys([C1, C2, C3], [T, T2, T3])
    owned = {C1: tps("topic-0, topic2-0, topic3-0"), C2: tps("topic-1, topic2-1, topic3-1"),
             C3: tps("topic2-1, topic3-0, topic3-2")}
    result = abstract_sticky_assign(members, {T: 3, T2: 3, T3: 3}, owned, {C1: 10, C2: 9, C3: 8})
    assert set(result.assignment[C1]) == set(owned[C1])
    assert set(result.assignment[C2]) == set(owned[C2])
    assert set(result.assignment[C3]) == set(tps("topic-2, topic2-2, topic3-2"))
    assert result.transferring == {}


def test_no_reassignment_on_current_members():
    """AbstractStickyAssignorTest.testNoReassignmentOnCurrentMembers."""
    members = dict.fromkeys([C1, C2, C3, C4], [T, T2, T3, T1])
    owned = {C1: [], C2: tps("topic-0, topic2-0, topic1-0"), C3: tps("topic3-2, topic2-2, topic1-1"),
             C4: tps("topic3-1, topic-1, topic-2")}
    result = abstract_sticky_assign(members, {T: 3, T1: 3, T2: 3, T3: 3}, owned, {C1: -1, C2: 9, C3: 8, C4: 7})
    assert set(result.assignment[C1]) == set(tps("topic1-2, topic2-1, topic3-0"))
    assert result.transferring == {}


def test_owned_partitions_are_invalidated_for_consumer_with_multiple_generation():
    """AbstractStickyAssignorTest.testOwnedPartitionsAreInvalidatedForConsumerWithMultipleGeneration."""
    members = {C1: [T, T2], C2: [T, T2]}
    owned = {C1: tps("topic-0, topic2-1, topic-1"), C2: tps("topic-0, topic2-1, topic2-2")}
    result = abstract_sticky_assign(members, {T: 3, T2: 3}, owned, {C1: 10, C2: 8})
    assert set(result.assignment[C1]) == set(owned[C1])
    assert set(result.assignment[C2]) == set(tps("topic-2, topic2-2, topic2-0"))


NON_EQUAL = {"consumer0": ["t1", "t2", "t3"], "consumer1": ["t1", "t2", "t3"], "consumer2": ["t1", "t3"]}
NON_EQUAL_TOPICS = {"t1": 6, "t2": 7, "t3": 2}


def sorted_strings(assignment):
    return {c: sorted(tps_) for c, tps_ in assignment.items()}


def test_non_equal_subscription_without_racks():
    """AbstractStickyAssignorTest.testRackAwareAssignmentWithNonEqualSubscription, its
    non-rack-aware expectation (verifyRackAssignment builds its map with new HashMap<>(3))."""
    result = abstract_sticky_assign(NON_EQUAL, NON_EQUAL_TOPICS, subscriptions_capacity=3)
    assert sorted_strings(result.assignment) == {
        "consumer0": tps("t1-5, t2-0, t2-2, t2-4, t2-6"),
        "consumer1": tps("t1-3, t2-1, t2-3, t2-5, t3-0"),
        "consumer2": tps("t1-0, t1-1, t1-2, t1-4, t3-1"),
    }


def test_cooperative_non_equal_subscription_two_rounds_from_misaligned_ownership():
    """AbstractStickyAssignorTest.testRackAwareAssignmentWithNonEqualSubscription, cooperative
    branch with preferRackAwareLogic=false: owned -> intermediate (moved partitions revoked, none
    given) -> final assignment in the follow-up rebalance."""
    owned = dict(zip(NON_EQUAL, map(tps, ["t1-0, t1-1, t1-2, t1-3, t1-4", "t1-5, t2-0, t2-1, t2-2, t2-3",
                                           "t2-4, t2-5, t2-6, t3-0, t3-1"]), strict=True))
    first = cooperative_adjust(abstract_sticky_assign(NON_EQUAL, NON_EQUAL_TOPICS, owned, subscriptions_capacity=3),
                               owned)
    assert sorted_strings(first) == dict(zip(NON_EQUAL, map(tps, ["t1-2, t1-3, t1-4", "t2-0, t2-1, t2-2, t2-3",
                                                                   "t3-0, t3-1"]), strict=True))
    second = cooperative_adjust(abstract_sticky_assign(NON_EQUAL, NON_EQUAL_TOPICS, first, subscriptions_capacity=3),
                                first)
    assert sorted_strings(second) == dict(zip(NON_EQUAL, map(tps, [
        "t1-2, t1-3, t1-4, t2-4, t2-5", "t2-0, t2-1, t2-2, t2-3, t2-6", "t1-0, t1-1, t1-5, t3-0, t3-1"]), strict=True))


def test_uniform_subscription_without_racks():
    """AbstractStickyAssignorTest.testRackAwareAssignmentWithUniformSubscription, non-rack-aware."""
    members = dict.fromkeys(["consumer0", "consumer1", "consumer2"], ["t1", "t2", "t3"])
    result = abstract_sticky_assign(members, NON_EQUAL_TOPICS, subscriptions_capacity=3)
    assert sorted_strings(result.assignment) == dict(zip(members, map(tps, [
        "t1-0, t1-3, t2-0, t2-3, t2-6", "t1-1, t1-4, t2-1, t2-4, t3-0", "t1-2, t1-5, t2-2, t2-5, t3-1"]), strict=True))


def test_stickiness_when_the_group_leader_leaves():
    """AbstractStickyAssignorTest.testStickiness: 3 partitions over 4 members, then one leaves;
    everyone who had a partition keeps it."""
    members = dict.fromkeys([C1, C2, C3, C4], [T1])
    first = abstract_sticky_assign(members, {T1: 3}).assignment
    rest = {c: [T1] for c in (C2, C3, C4)}
    second = abstract_sticky_assign(rest, {T1: 3}, {c: first[c] for c in rest}, dict.fromkeys(rest, GEN)).assignment
    for consumer in rest:
        assert len(second[consumer]) == 1
        assert not first[consumer] or first[consumer][0] in second[consumer]


def test_poor_round_robin_scenario_is_valid_and_balanced():
    """AbstractStickyAssignorTest.testPoorRoundRobinAssignmentScenario (validity and balance)."""
    ppt = {f"topic{i}": (i % 2) + 1 for i in range(1, 6)}
    all5 = list(ppt)
    odd = ["topic1", "topic3", "topic5"]
    members = {C1: all5, C2: odd, C3: odd, C4: all5}
    assert_valid_and_balanced(members, ppt, abstract_sticky_assign(members, ppt).assignment)


def assert_valid_and_balanced(members, ppt, assignment):
    """AbstractStickyAssignorTest.verifyValidityAndBalance."""
    owned = [tp for tps_ in assignment.values() for tp in tps_]
    assert len(owned) == len(set(owned))
    for consumer, tps_ in assignment.items():
        assert all(tp[0] in members[consumer] for tp in tps_)
    names = sorted(assignment)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = len(assignment[a]), len(assignment[b])
            if abs(la - lb) <= 1:
                continue
            more, less = (a, b) if la > lb else (b, a)
            assert not {tp[0] for tp in assignment[more]} & {tp[0] for tp in assignment[less]}


# -- properties -------------------------------------------------------------------------------

groups = st.integers(1, 9).flatmap(lambda n: st.tuples(
    st.just([f"consumer-{i}" for i in range(1, n + 1)]),
    st.dictionaries(st.sampled_from(["a", "b", "orders", "payments"]), st.integers(1, 12), min_size=1),
))


@given(groups, st.randoms(use_true_random=False))
def test_sticky_with_identical_subscriptions_is_complete_disjoint_balanced_and_sticky(group, rnd):
    """Balance (max - min <= 1), every partition owned once, and stickiness: after a random
    previous ownership, each member keeps min(owned, its quota) of what it had."""
    names, ppt = group
    members = dict.fromkeys(names, list(ppt))
    every = [(t, p) for t in ppt for p in range(ppt[t])]
    rnd.shuffle(every)
    previous = {m: [] for m in names}
    for tp in every:
        if rnd.random() < 0.8:
            previous[rnd.choice(names)].append(tp)
    plan = sticky_assign(members, ppt, previous, dict.fromkeys(names, 3))
    owned = [tp for tps_ in plan.values() for tp in tps_]
    assert sorted(owned) == sorted(every)
    sizes = [len(v) for v in plan.values()]
    assert max(sizes) - min(sizes) <= 1
    quota = len(every) // len(names)
    for m in names:
        kept = len(set(plan[m]) & set(previous[m]))
        assert kept >= min(len(previous[m]), quota)


@given(groups, st.randoms(use_true_random=False))
def test_cooperative_round_never_gives_a_partition_someone_else_still_owns(group, rnd):
    """KIP-429: a partition is only assigned to a new owner once nobody owns it; two rounds
    reach the same complete, balanced assignment as the eager sticky assignor would."""
    names, ppt = group
    members = dict.fromkeys(names, list(ppt))
    every = [(t, p) for t in ppt for p in range(ppt[t])]
    previous = {m: [] for m in names}
    for tp in every:
        if rnd.random() < 0.7:
            previous[rnd.choice(names)].append(tp)
    first = cooperative_sticky_assign(members, ppt, previous, dict.fromkeys(names, 3))
    owner = {tp: m for m, tps_ in previous.items() for tp in tps_}
    for m, tps_ in first.items():
        assert all(owner.get(tp, m) == m for tp in tps_)
    second = cooperative_sticky_assign(members, ppt, first, dict.fromkeys(names, 4))
    assert sorted(tp for v in second.values() for tp in v) == sorted(every)
    sizes = [len(v) for v in second.values()]
    assert max(sizes) - min(sizes) <= 1


@given(st.lists(st.sets(st.sampled_from(["a", "b", "c", "d"]), min_size=1), min_size=1, max_size=7),
       st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 8), min_size=4, max_size=4))
def test_general_path_is_valid_and_balanced_for_any_subscriptions(subscriptions, ppt):
    """Different subscriptions per member: verifyValidityAndBalance holds, and every partition
    of a subscribed topic is assigned. Like AbstractPartitionAssignor.assign, only subscribed
    topics are passed in."""
    members = {f"c{i}": sorted(s) for i, s in enumerate(subscriptions)}
    ppt = {t: n for t, n in ppt.items() if any(t in s for s in subscriptions)}
    plan = sticky_assign(members, ppt)
    assert_valid_and_balanced(members, ppt, plan)
    subscribed = {t for s in subscriptions for t in s}
    assert sorted(tp for v in plan.values() for tp in v) == sorted((t, p) for t in subscribed for p in range(ppt[t]))
