"""Quorum queues (quorum.py, queue_lifecycle.py): returns in front, the delivery limit and
x-delivery-count, reject-publish with its soft limit, at-least-once dead-lettering, failover.
Each rule cites rabbit_fifo / rabbit_quorum_queue (RabbitMQ 3.10)."""

import pytest

from playground import engine
from playground.engine.component import CommandError
from playground.engine.rabbitmq import flow
from playground.engine.rabbitmq.queue import Message
from playground.engine.rabbitmq.quorum import QuorumQueue, ReplicaSet, effective_dead_letter_strategy
from tests.engine.rabbitmq.factories import conserved, edge, node, sim


def test_with_a_delivery_limit_returned_messages_come_first_in_return_order():
    """rabbit_fifo take_next_msg/1: the returns queue is served first; a classic queue would put
    them back in their original places instead."""
    q = QuorumQueue("q", returns_in_front=True)
    for i in range(4):
        q.publish(Message(i, "", "q"), 0.0)
    first, second = q.pop(), q.pop()
    q.requeue(second)
    q.requeue(first)
    assert [e.msg.uid for e in q.entries()] == [1, 0, 2, 3]
    assert q.pop().msg.uid == 1 and q.pop().redelivered


def test_without_a_delivery_limit_returned_messages_go_to_the_back():
    """rabbit_fifo handle_aux/6: with no delivery limit a return is appended as a requeue."""
    q = QuorumQueue("q")
    for i in range(4):
        q.publish(Message(i, "", "q"), 0.0)
    first, second = q.pop(), q.pop()
    q.requeue(second)
    q.requeue(first)
    assert [e.msg.uid for e in q.entries()] == [2, 3, 1, 0]


def test_reject_publish_accepts_one_over_the_limit_then_refuses_until_eighty_percent():
    """rabbit_fifo evaluate_limit/5 and is_below_soft_limit/1: the publish that takes the queue
    over x-max-length is accepted; later ones are refused until it is back to 80% of it."""
    q = QuorumQueue("q", max_length=5, overflow="reject-publish")
    accepted = [q.publish(Message(i, "", "q"), 0.0)[0] is not None for i in range(8)]
    assert accepted == [True] * 6 + [False] * 2
    q.pop()
    assert q.publish(Message(9, "", "q"), 0.0)[0] is None  # 5 ready: above 80% of 5
    q.pop()
    assert q.publish(Message(10, "", "q"), 0.0)[0] is not None  # 4 ready: at most trunc(5 * 0.8)


def test_reject_publish_dlx_falls_back_to_drop_head_and_at_least_once_needs_reject_publish():
    """rabbit_quorum_queue overflow/3 and dlh/5."""
    assert QuorumQueue("q", overflow="reject-publish-dlx").overflow == "drop-head"
    assert effective_dead_letter_strategy("dlx", "at-least-once", "reject-publish") == "at-least-once"
    assert effective_dead_letter_strategy("dlx", "at-least-once", "drop-head") == "at-most-once"
    assert effective_dead_letter_strategy(None, "at-least-once", "reject-publish") == "none"


def quorum_doc(**queue):
    params = {"queue_type": "quorum", **queue}
    return ([node("pub", "amqp_publisher", rate=0), node("q", "amqp_queue", **params),
             node("dlx", "amqp_exchange", type="fanout"), node("dead", "amqp_queue")],
            [edge("pub", "q"), edge("q", "dlx"), edge("dlx", "dead")])


def test_delivery_limit_dead_letters_a_poison_message_after_limit_plus_one_deliveries():
    """rabbit_fifo return_one/6: each return adds one to the delivery count; the return that
    takes it above x-delivery-limit (2) dead-letters it with reason delivery_limit."""
    nodes, edges = quorum_doc(delivery_limit=2)
    nodes.append(node("w", "amqp_consumer", consumers=1, prefetch=1, processing_ms=1, poison_rate=1.0,
                      on_failure="requeue"))
    edges.append(edge("q", "w"))
    s = sim(nodes, edges)
    s.apply({"op": "publish", "node": "pub"})
    s.advance(1.0)
    q, dead = s.metrics()["nodes"]["q"], s.metrics()["nodes"]["dead"]
    assert q["delivered"] == 3 and dead["count"] == 1
    assert dead["recent"][0]["reason"] == "delivery_limit" and dead["recent"][0]["attempts"] == 3
    assert all(conserved(st) for st in s.streams())


def test_delivery_limit_without_a_dead_letter_exchange_drops_with_a_reason():
    s = sim([node("pub", "amqp_publisher", rate=0), node("q", "amqp_queue", queue_type="quorum", delivery_limit=0),
             node("w", "amqp_consumer", consumers=1, prefetch=1, processing_ms=1, poison_rate=1.0,
                  on_failure="requeue")], [edge("pub", "q"), edge("q", "w")])
    s.apply({"op": "publish", "node": "pub"})
    s.advance(1.0)
    assert s.metrics()["dropped"] == {flow.DROP_DELIVERY_LIMIT: 1}


def test_basic_get_carries_x_delivery_count_of_the_returns_so_far():
    """rabbit_fifo_client dequeue/3 adds x-delivery-count (0 on the first delivery); a nack with
    requeue counts one return; a classic queue has no such header."""
    nodes, edges = quorum_doc()
    s = sim(nodes, edges)
    s.apply({"op": "publish", "node": "pub"})
    for _ in range(3):
        s.apply({"op": "get_messages", "node": "q", "ack_mode": "requeue"})
    got = s.metrics()["nodes"]["q"]["got"]
    assert [g["headers"]["x-delivery-count"] for g in got] == [0, 1, 2]
    assert [g["redelivered"] for g in got] == [False, True, True]


def test_at_least_once_keeps_a_dead_letter_nobody_takes_and_counts_it_toward_the_limit():
    """rabbit_fifo_dlx_worker: with at-least-once a dead letter the exchange routes nowhere stays
    in the source queue (retried every settle timeout) instead of being dropped, and counts
    toward x-max-length (rabbit_fifo is_over_limit/1)."""
    s = sim([node("pub", "amqp_publisher", rate=0),
             node("q", "amqp_queue", queue_type="quorum", dead_letter_strategy="at-least-once",
                  overflow="reject-publish", max_length=2),
             node("dlx", "amqp_exchange", type="direct")], [edge("pub", "q"), edge("q", "dlx")])
    s.apply({"op": "publish", "node": "pub", "count": 2})
    s.apply({"op": "get_messages", "node": "q", "ack_mode": "reject", "count": 2})
    m = s.metrics()["nodes"]["q"]
    assert m["ready"] == 0 and m["dlx_held"] == 2 and s.metrics()["dropped_total"] == 0
    s.apply({"op": "publish", "node": "pub", "count": 2})
    assert s.metrics()["nodes"]["q"]["ready"] == 1  # 0 ready + 2 held + 1 = over the limit: blocked
    assert s.metrics()["dropped"] == {flow.DROP_MAXLEN_REJECT: 1}
    s.advance(400.0)  # retried twice, still nowhere to go: still held
    assert s.metrics()["nodes"]["q"]["dlx_held"] == 2
    assert all(conserved(st) for st in s.streams())


def test_at_most_once_drops_what_the_dead_letter_exchange_routes_nowhere():
    s = sim([node("pub", "amqp_publisher", rate=0), node("q", "amqp_queue", queue_type="quorum"),
             node("dlx", "amqp_exchange", type="direct")], [edge("pub", "q"), edge("q", "dlx")])
    s.apply({"op": "publish", "node": "pub"})
    s.apply({"op": "get_and_reject", "node": "q"})
    assert s.metrics()["dropped"] == {flow.DROP_DLX_NOWHERE: 1}


def test_replica_set_elects_among_the_survivors_while_a_majority_is_up():
    r = ReplicaSet(3)
    assert r.leader == "r1" and r.kill("r1") and not r.available()
    assert r.elect() == "r2" and r.term == 2
    r.kill("r2")
    assert r.elect() is None and not r.has_quorum()
    r.restart("r1")
    assert r.elect() == "r1" and r.available()


def test_killing_the_leader_returns_in_flight_deliveries_and_they_come_back_after_the_election():
    """A leader failure: the consumers' unacked deliveries are returned (delivery count +1) and
    delivered again once a new leader is elected among the surviving members."""
    nodes, edges = quorum_doc()
    nodes.append(node("w", "amqp_consumer", consumers=1, prefetch=5, processing_ms=1000))
    edges.append(edge("q", "w"))
    s = sim(nodes, edges)
    s.apply({"op": "publish", "node": "pub", "count": 3})
    s.advance(0.01)
    assert s.metrics()["nodes"]["q"]["unacked"] == 3
    s.apply({"op": "kill_leader", "node": "q"})
    m = s.metrics()["nodes"]["q"]
    assert m["unacked"] == 0 and m["ready"] == 3 and not m["available"] and m["leader"] is None
    s.advance(0.5)
    assert s.metrics()["nodes"]["q"]["unacked"] == 0  # no leader yet: nothing delivered
    s.advance(0.6)
    m = s.metrics()["nodes"]["q"]
    assert m["leader"] == "r2" and m["unacked"] == 3 and m["duplicates"] == 3
    s.advance(20.0)
    assert s.metrics()["acknowledged"] == 3 and all(conserved(st) for st in s.streams())


def test_without_a_majority_publishes_are_not_confirmed_until_a_replica_restarts():
    nodes, edges = quorum_doc()
    s = sim(nodes, edges)
    s.apply({"op": "kill_leader", "node": "q"})
    s.advance(1.5)
    s.apply({"op": "kill_leader", "node": "q"})
    s.apply({"op": "publish", "node": "pub"})
    assert s.metrics()["dropped"] == {flow.DROP_NO_QUORUM: 1}
    with pytest.raises(CommandError):
        s.apply({"op": "kill_leader", "node": "q"})
    s.apply({"op": "restart_replica", "node": "q"})
    s.advance(1.5)
    assert s.metrics()["nodes"]["q"]["available"]


def test_quorum_queues_refuse_priorities_and_reject_publish_dlx():
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document({"fanout": 1, "name": "t", "edges": [], "nodes": [
            {"id": "q", "type": "amqp_queue", "params": {"queue_type": "quorum", "max_priority": 5,
                                                         "overflow": "reject-publish-dlx"}}]})
    assert {e.path for e in err.value.errors} == {"nodes[0].params.max_priority", "nodes[0].params.overflow"}


def test_classic_queue_commands_for_replicas_say_why_not():
    nodes, edges = quorum_doc()
    nodes[1]["params"]["queue_type"] = "classic"
    with pytest.raises(CommandError, match="not a quorum queue"):
        sim(nodes, edges).apply({"op": "kill_leader", "node": "q"})


def test_a_closed_channel_returns_its_deliveries_to_the_front_even_without_a_delivery_limit():
    """rabbit_fifo return_all/5 (consumer down): returned in delivery order ahead of the rest,
    each with its delivery count grown by one."""
    nodes, edges = quorum_doc()
    nodes.append(node("w", "amqp_consumer", consumers=1, prefetch=2, processing_ms=60_000))
    edges.append(edge("q", "w"))
    s = sim(nodes, edges)
    s.apply({"op": "publish", "node": "pub", "count": 3})
    s.advance(0.01)
    s.apply({"op": "kill_consumer", "node": "w"})
    s.apply({"op": "get_messages", "node": "q", "count": 3})
    base = s.components["pub"].uid_base
    got = s.metrics()["nodes"]["q"]["got"]
    assert [(g["uid"] - base, g["headers"]["x-delivery-count"]) for g in got] == [(1, 1), (2, 1), (3, 0)]
