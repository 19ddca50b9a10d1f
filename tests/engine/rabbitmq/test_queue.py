"""Classic queue and consumer ring rules (queue.py)."""

from playground.engine.rabbitmq.queue import ClassicQueue, ConsumerRing, Message


def msg(uid, priority=None, expiration=None):
    return Message(uid, "", "q", priority=priority, expiration=expiration)


def uids(q):
    return [e.msg.uid for e in q.entries()]


def test_ready_messages_are_delivered_first_in_first_out():
    q = ClassicQueue("q")
    for i in range(3):
        q.publish(msg(i), 0.0)
    assert [q.pop().msg.uid for _ in range(3)] == [0, 1, 2]


def test_priority_queue_delivers_higher_first_and_fifo_within_a_priority():
    """"Classic Queues Support Priorities": above x-max-priority counts as the maximum, none as 0."""
    q = ClassicQueue("q", max_priority=5)
    for i, p in enumerate([0, 3, 9, None, 3, 5]):
        q.publish(msg(i, p), 0.0)
    assert uids(q) == [2, 5, 1, 4, 0, 3]


def test_priorities_are_ignored_without_x_max_priority():
    q = ClassicQueue("q")
    for i, p in enumerate([0, 9, 5]):
        q.publish(msg(i, p), 0.0)
    assert uids(q) == [0, 1, 2]


def test_requeued_message_returns_to_its_original_position_marked_redelivered():
    """"Negative Acknowledgement and Requeuing": placed back at its original position if possible."""
    q = ClassicQueue("q")
    for i in range(4):
        q.publish(msg(i), 0.0)
    first, second = q.pop(), q.pop()
    q.requeue(second)
    q.requeue(first)
    assert uids(q) == [0, 1, 2, 3]
    assert [e.redelivered for e in q.entries()] == [True, True, False, False]


def test_lower_of_queue_and_message_ttl_applies():
    q = ClassicQueue("q", message_ttl=1.0)
    e1, _ = q.publish(msg(1, expiration=0.2), 0.0)
    e2, _ = q.publish(msg(2, expiration=5.0), 0.0)
    assert (e1.expires_at, e2.expires_at) == (0.2, 1.0)


def test_expired_messages_are_removed_only_at_the_head():
    """Classic queues discard expired messages only when they reach the head."""
    q = ClassicQueue("q")
    q.publish(msg(1, expiration=60.0), 0.0)
    q.publish(msg(2, expiration=0.05), 0.0)
    assert q.expire(1.0) == []
    q.pop()
    assert [e.msg.uid for e in q.expire(1.0)] == [2]


def test_ttl_zero_reaches_a_waiting_consumer_but_otherwise_expires():
    q = ClassicQueue("q", message_ttl=0.0)
    q.publish(msg(1), 2.0)
    assert q.expire(2.0, inclusive=False) == []  # a delivery attempt at that instant wins
    assert len(q.expire(2.0)) == 1


def test_max_length_drop_head_drops_the_oldest():
    """"Queue Length Limit": the default overflow drops (or dead-letters) from the front."""
    q = ClassicQueue("q", max_length=2)
    removed = [r.msg.uid for i in range(4) for r in q.publish(msg(i), 0.0)[1]]
    assert removed == [0, 1] and uids(q) == [2, 3]


def test_max_length_reject_publish_refuses_the_newest():
    q = ClassicQueue("q", max_length=2, overflow="reject-publish")
    results = [q.publish(msg(i), 0.0) for i in range(3)]
    assert results[2][0] is None and results[2][1][0].msg.uid == 2
    assert uids(q) == [0, 1]


def test_drop_head_in_a_priority_queue_drops_the_next_to_deliver():
    """rabbit_priority_queue drops from the highest priority: a new urgent message can be the one dropped."""
    q = ClassicQueue("q", max_length=2, max_priority=9)
    q.publish(msg(0, 1), 0.0)
    q.publish(msg(1, 1), 0.0)
    _, removed = q.publish(msg(2, 9), 0.0)
    assert [r.msg.uid for r in removed] == [2]


def test_consumers_take_turns_within_their_prefetch():
    """rabbit_queue_consumers: round robin; a consumer at its prefetch is skipped."""
    ring = ConsumerRing()
    ring.add("a", 1)
    ring.add("b", 2)
    assert [ring.next() for _ in range(4)] == ["a", "b", "b", None]


def test_a_consumer_given_credit_back_rejoins_at_the_back():
    ring = ConsumerRing()
    ring.add("a", 1)
    ring.add("b", 1)
    ring.add("c", 0)  # unlimited
    assert [ring.next() for _ in range(3)] == ["a", "b", "c"]
    assert ring.next() == "c"  # a and b are found blocked and set aside
    ring.settle("b")
    ring.settle("a")
    assert [ring.next() for _ in range(3)] == ["c", "b", "a"]


def test_x_expires_deletes_an_unused_queue_with_its_messages_and_its_bindings():
    """"Time-To-Live and Expiration", queue TTL: x-expires deletes a queue unused that long (no
    consumer, no basic.get); its messages go with it and later messages are unroutable."""
    from playground.engine.rabbitmq import flow
    from tests.engine.rabbitmq.factories import edge, node, sim

    s = sim([node("pub", "amqp_publisher", rate=0), node("ex", "amqp_exchange", type="fanout"),
             node("q", "amqp_queue", expires_ms=300)], [edge("pub", "ex"), edge("ex", "q")])
    s.apply({"op": "publish", "node": "pub", "count": 2})
    s.advance(0.2)
    s.apply({"op": "get_messages", "node": "q"})  # a basic.get uses it: the timer starts again
    s.advance(0.2)
    assert not s.metrics()["nodes"]["q"]["deleted"]
    s.advance(0.2)
    s.apply({"op": "publish", "node": "pub"})
    m = s.metrics()
    assert m["nodes"]["q"]["deleted"]
    assert m["dropped"] == {flow.DROP_QUEUE_EXPIRED: 1, flow.DROP_UNROUTABLE: 1}


def test_a_queue_with_a_consumer_never_expires_until_the_consumer_leaves():
    from tests.engine.rabbitmq.factories import edge, node, sim

    s = sim([node("pub", "amqp_publisher", rate=0), node("q", "amqp_queue", expires_ms=100),
             node("c", "amqp_consumer", consumers=1)], [edge("pub", "q"), edge("q", "c")])
    s.advance(1.0)
    assert not s.metrics()["nodes"]["q"]["deleted"]
    s.apply({"op": "remove_consumer", "node": "c"})
    s.advance(0.05)
    assert not s.metrics()["nodes"]["q"]["deleted"]
    s.advance(0.1)
    assert s.metrics()["nodes"]["q"]["deleted"]
