"""Broker-side message deduplication and delayed delivery."""

import pytest

from playground import engine
from playground.engine.pulsar import delayed, rules
from tests.engine.pulsar.factories import conserved, edge, node, sim, stream


def doc(*, type_="shared", dedup=False, resend=0.0, rate=0.0, deliver_after=0.0, consumers=1):
    nodes = [node("prod", "pulsar_producer", rate=rate, resend_probability=resend, deliver_after_s=deliver_after),
             node("topic", "pulsar_topic", deduplication=dedup),
             node("sub", "pulsar_subscription", type=type_),
             node("app", "pulsar_consumer", consumers=consumers, processing_ms=1.0)]
    edges = [edge("prod", "topic"), edge("topic", "sub"), edge("sub", "app")]
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def run_checked(s, seconds, step=0.25):
    events = []
    t = 0.0
    while t < seconds - 1e-9:
        s.advance(step)
        t += step
        events += s.drain_events()
        assert all(conserved(x) for x in s.streams())
    return events


def test_is_duplicate_compares_with_the_highest_sequence_id_persisted():
    """MessageDeduplication.isDuplicate: a sequence id at or below the producer's highest persisted
    one is a duplicate; the first message of a producer never is."""
    assert not rules.is_duplicate(None, 0)
    assert rules.is_duplicate(5, 5) and rules.is_duplicate(5, 3)
    assert not rules.is_duplicate(5, 6)


def test_with_deduplication_a_retried_message_is_stored_once():
    """"Message deduplication": with it enabled, a message the producer sends again with the same
    producer name and sequence id (its receipt was lost) is not persisted a second time."""
    s = sim(doc(dedup=True, resend=0.3, rate=50))
    run_checked(s, 6)
    prod, topic = s.metrics()["nodes"]["prod"], s.metrics()["nodes"]["topic"]
    assert prod["resent"] > 20 and topic["deduplicated"] == prod["resent"]
    assert topic["appended"] == prod["sent"] and topic["duplicates"] == 0


def test_without_deduplication_a_retried_message_is_stored_twice_and_counted():
    """Deduplication off (Pulsar's default): the retry is a new entry; consumers get it twice."""
    s = sim(doc(dedup=False, resend=0.3, rate=50))
    run_checked(s, 6)
    prod, topic = s.metrics()["nodes"]["prod"], s.metrics()["nodes"]["topic"]
    assert prod["resent"] > 20 and topic["duplicates"] == prod["resent"]
    assert topic["appended"] == prod["sent"] + prod["resent"] and s.metrics()["duplicates"] >= prod["resent"]


def test_the_tracker_holds_only_messages_due_later_than_one_tick():
    """InMemoryDelayedDeliveryTracker.addMessage (not strict, tick 1 s): deliverAt <= now + tick
    is delivered at once; getScheduledMessages releases what is due within one tick."""
    assert not delayed.held(10.0, 9.0) and delayed.held(10.01, 9.0)
    tracker = delayed.DelayedDeliveryTracker()
    assert tracker.add(7, 5.0, 0.0) and tracker.add(3, 8.0, 0.0) and not tracker.add(9, 0.5, 0.0)
    assert tracker.next_timer() == 4.0 and tracker.take_due(3.9) == [] and tracker.take_due(4.0) == [7]
    assert len(tracker) == 1


@pytest.mark.parametrize("type_", ["shared", "key_shared"])
def test_a_delayed_message_is_held_on_shared_subscriptions_until_due(type_):
    """"Delayed message delivery": deliverAfter holds the message in the broker; a Shared or
    Key_Shared consumer gets it when due (up to the 1 s tick early), not before."""
    s = sim(doc(type_=type_))
    s.apply({"op": "send", "node": "prod", "count": 3, "deliver_after_s": 5})
    s.apply({"op": "send", "node": "prod", "count": 2})
    events = run_checked(s, 8)
    times = sorted(e["t"] for e in events if e["k"] == "pulsar_deliver")
    assert len(times) == 5 and times[1] < 0.5 and 4.0 <= times[2] <= 5.0
    assert stream(s, "sub")["acknowledged"] == 5


def test_a_delayed_message_waits_in_the_backlog_and_is_counted():
    """While held, a delayed message is part of the subscription's backlog (waiting)."""
    s = sim(doc())
    s.apply({"op": "send", "node": "prod", "count": 4, "deliver_at": 30})
    run_checked(s, 2)
    assert stream(s, "sub")["waiting"] == 4 and s.metrics()["nodes"]["sub"]["delayed"] == 4


@pytest.mark.parametrize("type_", ["exclusive", "failover"])
def test_exclusive_and_failover_subscriptions_deliver_delayed_messages_at_once(type_):
    """"Delayed message delivery": only Shared and Key_Shared subscriptions honour the delay;
    Exclusive and Failover deliver the message immediately."""
    s = sim(doc(type_=type_))
    s.apply({"op": "send", "node": "prod", "count": 3, "deliver_after_s": 60})
    events = run_checked(s, 1)
    assert sum(1 for e in events if e["k"] == "pulsar_deliver") == 3


def test_send_command_refuses_bad_values_with_the_field_named():
    s = sim(doc())
    with pytest.raises(engine.CommandError, match="deliver_after_s"):
        s.apply({"op": "send", "node": "prod", "deliver_after_s": -1})
    with pytest.raises(engine.CommandError, match="count"):
        s.apply({"op": "send", "node": "prod", "count": 0})
