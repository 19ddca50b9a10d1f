"""The Shared dispatcher: round robin that moves only on a dispatch, consumer priority levels, and
the round-robin batch (PersistentDispatcherMultipleConsumers, AbstractDispatcherMultipleConsumers
.getNextConsumer, ConsumerPrioritySelector)."""

from playground.engine.pulsar import rules
from tests.engine.pulsar.factories import edge, node, sim


def shared_doc(*groups, queue=1000, processing_ms=5.0, type_="shared"):
    """One topic, one subscription and a consumer node per (count, priority level)."""
    nodes = [node("prod", "pulsar_producer", rate=0), node("topic", "pulsar_topic"),
             node("sub", "pulsar_subscription", type=type_)]
    edges = [edge("prod", "topic"), edge("topic", "sub")]
    for i, (count, level) in enumerate(groups):
        nodes.append(node(f"app{i}", "pulsar_consumer", consumers=count, priority_level=level,
                          receiver_queue_size=queue, processing_ms=processing_ms))
        edges.append(edge("sub", f"app{i}"))
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def deliveries(s, seconds, step=0.1, each=None):
    out = []
    t = 0.0
    while t < seconds - 1e-9:
        if each:
            each(s)
        s.advance(step)
        t += step
        out += [(e["dst"], e["c"]) for e in s.drain_events() if e["k"] == "pulsar_deliver"]
    return out


def one_message(s):
    s.components["topic"].append(s, "prod", 0, [-1], 100)


def test_one_message_at_a_time_alternates_strictly_between_shared_consumers():
    """getNextConsumer is called only with entries to send, and the round-robin index then points
    after the consumer chosen: with one message at a time (each acked before the next), consumers
    take strict turns. Before the fix the index also moved on acks and empty reads, and c1 got all."""
    s = sim(shared_doc((2, 0)))
    got = deliveries(s, 2.0, each=one_message)
    assert [c for _, c in got] == ["c1", "c2"] * 10


def test_the_round_robin_index_does_not_move_when_a_consumer_attaches():
    """Attaching a consumer dispatches nothing when there is nothing to read, so it selects nobody."""
    s = sim(shared_doc((1, 0)))
    s.advance(0.5)
    s.apply({"op": "add_consumer", "node": "app0"})
    got = deliveries(s, 0.4, each=one_message)
    assert [c for _, c in got] == ["c1", "c2", "c1", "c2"]


def test_select_consumer_follows_the_documented_priority_example():
    """AbstractDispatcherMultipleConsumers.getNextConsumer javadoc: C1..C3 at level 0 with 2, 1, 1
    permits, C4, C5 at level 1 with 2, 1 permits give C1, C2, C3, C1, C4, C5, C4."""
    priorities = [0, 0, 0, 1, 1]
    permits = [2, 1, 1, 2, 1]
    index, order = 0, []
    for _ in range(7):
        chosen = rules.select_consumer(priorities, [p > 0 for p in permits], index)
        order.append(f"C{chosen + 1}")
        permits[chosen] -= 1
        index = (chosen + 1) % len(priorities)
    assert order == ["C1", "C2", "C3", "C1", "C4", "C5", "C4"]
    assert rules.select_consumer(priorities, [False] * 5, 0) == -1


def test_select_consumer_returns_to_a_higher_level_as_soon_as_it_has_permits():
    """ConsumerPrioritySelector: from an index on a lower level, an available consumer of a higher
    level is chosen first."""
    assert rules.select_consumer([0, 0, 1], [False, True, True], 2) == 1
    assert rules.select_consumer([0, 0, 1], [False, False, True], 2) == 2


def test_select_consumer_goes_round_robin_within_a_level_and_wraps():
    """Same level: the first available from the index on, wrapping to the level's first consumer."""
    assert rules.select_consumer([0, 0, 0, 1], [True, False, False, True], 1) == 0
    assert rules.select_consumer([0, 0, 0, 1], [True, True, True, True], 2) == 2


def test_lower_priority_consumers_get_nothing_while_higher_ones_have_permits():
    """priorityLevel: the broker dispatches to the highest-priority consumers (level 0) while any of
    them has permits; a level-1 consumer gets messages only when none has."""
    s = sim(shared_doc((2, 0), (1, 1), queue=1000, processing_ms=1.0))
    got = deliveries(s, 2.0, each=lambda s: [one_message(s) for _ in range(3)])
    assert got and all(dst == "app0" for dst, _ in got)
    assert {c for _, c in got} == {"c1", "c2"}


def test_lower_priority_consumers_take_over_when_the_higher_ones_run_out_of_permits():
    """Receiver queue 2 and slow processing: a level-0 consumer holds 3 (one in hand, two queued);
    once both are full the rest of the backlog goes to the level-1 consumer."""
    s = sim(shared_doc((2, 0), (1, 1), queue=2, processing_ms=10_000))
    for _ in range(8):
        one_message(s)
    got = deliveries(s, 0.2)
    assert [dst for dst, _ in got] == ["app0"] * 6 + ["app1"] * 2


def test_a_shared_consumer_gets_up_to_the_round_robin_batch_of_a_read():
    """sendMessagesToConsumers: each selected consumer gets min(entries left, its permits,
    dispatcherMaxRoundRobinBatchSize = 20) of the entries read before the next is chosen."""
    s = sim(shared_doc((2, 0), processing_ms=10_000))
    s.components["topic"].append(s, "prod", 0, [-1] * 50, 100)
    got = deliveries(s, 0.1)
    assert [c for _, c in got] == ["c1"] * 20 + ["c2"] * 20 + ["c1"] * 10
