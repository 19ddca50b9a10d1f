"""RabbitMQ behaviour during a run: delivery, acks, failures, dead letters, delays, replies."""


import pytest

from playground import engine
from playground.engine.rabbitmq import flow, publisher
from tests.conftest import run as run_for
from tests.engine.rabbitmq.factories import conserved, edge, node, sim, work_queue_doc


def run(document, seconds=5.0, seed=3, step=0.25, check=None):
    """This package's defaults for tests.conftest.run."""
    return run_for(document, seconds, step=step, seed=seed, check=check)

def stream(s, queue):
    return next(st for st in s.streams() if st.get("queue") == queue)


def test_a_consumer_never_holds_more_unacked_deliveries_than_its_prefetch():
    """basic.qos prefetch_count: at most that many unacknowledged deliveries per consumer."""
    def check(s):
        for ch in s.metrics()["nodes"]["workers"]["channels"]:
            assert ch["unacked"] <= 3
        assert s.components["work"].held() >= 0

    s = run(work_queue_doc(rate=200, consumers=2, prefetch=3, processing_ms=50), check=check)
    assert s.metrics()["nodes"]["work"]["ready"] > 0  # the rest waits in the queue, not in the consumers


def test_auto_ack_loses_messages_whose_processing_fails():
    """Automatic acknowledgement is "fire and forget": the broker already deleted the message."""
    s = run(work_queue_doc(ack_mode="auto", failure_rate=0.3, binding_key="#"))
    st = stream(s, "work")
    assert st["dropped"][flow.DROP_AUTOACK_FAILED] > 0 and st["dead_lettered"] == 0


def test_poison_message_nacked_with_requeue_is_redelivered_forever_and_counted():
    s = run(work_queue_doc(rate=20, poison_rate=1.0, on_failure="requeue", binding_key="#", processing_ms=1))
    m = s.metrics()
    assert m["duplicates"] > 100 and m["dead_lettered"] == 0 and m["acknowledged"] == 0


def test_requeue_once_delivers_twice_then_dead_letters_with_reason_rejected():
    s = run(work_queue_doc(rate=20, poison_rate=1.0, on_failure="requeue_once", binding_key="#", processing_ms=1))
    dead = s.metrics()["nodes"]["dead"]
    assert dead["count"] > 0
    assert {(e["reason"], e["attempts"], e["origin"]) for e in dead["recent"]} == {("rejected", 2, "queue work")}


def test_reject_without_a_dead_letter_exchange_drops_with_a_reason():
    s = run(work_queue_doc(poison_rate=1.0, dlx=False, binding_key="#"))
    assert stream(s, "work")["dropped"][flow.DROP_REJECTED] > 0


def test_unroutable_messages_are_dropped_by_the_exchange_with_a_reason():
    s = run(work_queue_doc(keys="x.y", binding_key="a.*"))
    m = s.metrics()
    assert m["dropped"] == {"unroutable": m["sent"]} and m["sent"] > 0


def test_killed_consumer_unacked_deliveries_are_requeued_and_redelivered():
    """A closed channel's unacknowledged deliveries are requeued, then redelivered (duplicates)."""
    s = engine.Simulation(engine.parse_document(work_queue_doc(rate=50, consumers=2, prefetch=20,
                                                               processing_ms=200, binding_key="#")), 1)
    s.advance(2.0)
    held = s.components["work"].held() - len(s.components["work"].q)
    s.apply({"op": "kill_consumer", "node": "workers", "member": "c1"})
    assert any(e["k"] == "amqp_requeue" for e in s.drain_events())
    s.advance(3.0)
    assert held > 0 and s.metrics()["duplicates"] > 0
    assert [c["id"] for c in s.metrics()["nodes"]["workers"]["channels"]] == ["c2"]
    for st in s.streams():
        assert conserved(st)


def test_added_consumer_shares_the_queue():
    s = engine.Simulation(engine.parse_document(work_queue_doc(consumers=1, binding_key="#")), 1)
    s.advance(1.0)
    s.apply({"op": "add_consumer", "node": "workers"})
    s.advance(2.0)
    channels = s.metrics()["nodes"]["workers"]["channels"]
    assert [c["id"] for c in channels] == ["c1", "c2"] and channels[1]["processed"] > 0


def test_queue_ttl_without_dlx_drops_expired_messages_with_a_reason():
    s = run(work_queue_doc(consumers=0, message_ttl_ms=100, dlx=False, binding_key="#"))
    assert stream(s, "work")["dropped"][flow.DROP_EXPIRED] > 0


def test_delayed_message_exchange_holds_messages_for_their_x_delay():
    """rabbitmq_delayed_message_exchange: routed only once x-delay ms have passed."""
    s = engine.Simulation(engine.parse_document(work_queue_doc(delayed=True, delay_ms=1000, consumers=0,
                                                               binding_key="#", rate=50)), 1)
    s.advance(0.9)
    assert s.metrics()["nodes"]["work"]["produced"] == 0
    assert s.metrics()["nodes"]["ex"]["holding"] > 0
    s.advance(0.5)
    assert s.metrics()["nodes"]["work"]["produced"] > 0
    for st in s.streams():
        assert conserved(st)


def test_request_reply_answers_arrive_on_the_reply_queue_with_their_correlation_id():
    """RPC tutorial: the server publishes to reply_to through the default exchange, with correlation_id."""
    s = sim([node("client", "amqp_publisher", rate=20, routing_keys="rpc", reply_to="replies"),
             node("rpc", "amqp_queue"), node("server", "amqp_consumer", processing_ms=20),
             node("replies", "amqp_queue"), node("client-replies", "amqp_consumer", processing_ms=1)],
            [edge("client", "rpc"), edge("rpc", "server"), edge("replies", "client-replies")])
    s.advance(5.0)
    m = s.metrics()["nodes"]
    assert m["server"]["replies_sent"] > 50
    assert m["client-replies"]["replies"] > 50 and m["client-replies"]["rtt_ms"] > 0


def test_publishers_are_blocked_at_the_memory_watermark(monkeypatch):
    monkeypatch.setattr(publisher, "MEMORY_WATERMARK", 50)
    s = engine.Simulation(engine.parse_document(work_queue_doc(consumers=0, binding_key="#", rate=200)), 1)
    s.advance(2.0)
    assert s.metrics()["nodes"]["pub"]["blocked"]
    assert any(e["k"] == "amqp_blocked" for e in s.drain_events())
    assert s.metrics()["nodes"]["work"]["ready"] < 60


def test_redrive_moves_dead_letters_back_to_their_queue():
    s = engine.Simulation(engine.parse_document(work_queue_doc(poison_rate=1.0, binding_key="#", rate=20)), 1)
    s.advance(1.0)
    before = s.metrics()["nodes"]["dead"]["ready"]
    s.apply({"op": "redrive", "node": "dead"})
    assert before > 0 and s.metrics()["nodes"]["dead"]["ready"] == 0
    s.advance(1.0)
    counts = {e["x_death"][0]["count"] for e in s.metrics()["nodes"]["dead"]["recent"]}
    assert counts == {1, 2}  # new ones die once; redriven ones die a second time in the same entry


def test_bad_commands_are_refused_with_a_message():
    s = engine.Simulation(engine.parse_document(work_queue_doc()), 1)
    with pytest.raises(engine.CommandError, match="count"):
        s.apply({"op": "publish", "node": "pub", "count": 0})
    with pytest.raises(engine.CommandError, match="no running consumer"):
        s.apply({"op": "kill_consumer", "node": "workers", "member": "c9"})


def test_bad_priority_distribution_is_refused_by_name():
    with pytest.raises(engine.DocumentError, match="priorities"):
        engine.parse_document(work_queue_doc(priorities="high:3"))
