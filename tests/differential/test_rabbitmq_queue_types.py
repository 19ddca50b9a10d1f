"""Differential tests of quorum queues and streams: the engine against the real RabbitMQ broker
(127.0.0.1:5672, guest/guest; 3.10), compared on deliveries, order, headers and counters."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.differential.rabbitmq_broker import (
    Broker,
    EngineRun,
    confirmed,
    engine_xdeath,
    pika,
    xdeath,
)
from tests.engine.rabbitmq.factories import edge, node

pytestmark = pytest.mark.service


# -- quorum queues ------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [None, 10])
def test_quorum_returns_order_and_basic_get_carries_x_delivery_count(broker: Broker, limit: int | None) -> None:
    """rabbit_fifo_client dequeue/3 (x-delivery-count on every basic.get) and where returns go:
    nack the second then the first of two taken messages. Without a delivery limit the leader
    requeues them at the back (handle_aux/6: 2, 3, 1, 0); with one they are served first, in
    return order (take_next_msg/1: 1, 0, 2, 3)."""
    args: dict[str, Any] = {"x-queue-type": "quorum"}
    if limit is not None:
        args["x-delivery-limit"] = limit
    q = broker.queue("qq", **args)
    run = EngineRun([node("pub", "amqp_publisher", rate=0),
                     node("qq", "amqp_queue", queue_type="quorum", delivery_limit=-1 if limit is None else limit)],
                    [edge("pub", "qq")])
    broker.ch.confirm_delivery()
    for i in range(4):
        broker.publish("", q, str(i))
        run.publish("pub", str(i))
    first, _, _ = broker.ch.basic_get(q, auto_ack=False)
    second, _, _ = broker.ch.basic_get(q, auto_ack=False)
    broker.ch.basic_nack(second.delivery_tag, requeue=True)
    broker.ch.basic_nack(first.delivery_tag, requeue=True)
    broker.settle()
    real = []
    while True:
        method, props, body = broker.ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        real.append((body.decode(), (props.headers or {}).get("x-delivery-count"), method.redelivered))
    queue = run.sim.components["qq"]
    a, b = queue.q.pop(), queue.q.pop()
    queue.requeue_entry(run.sim, b)
    queue.requeue_entry(run.sim, a)
    run.sim.apply({"op": "get_messages", "node": "qq", "count": 4})
    got = run.sim.metrics()["nodes"]["qq"]["got"]
    engine = [(run.names[g["uid"]], g["headers"]["x-delivery-count"], g["redelivered"]) for g in got]
    returned, fresh = [("1", 1, True), ("0", 1, True)], [("2", 0, False), ("3", 0, False)]
    assert engine == real == (returned + fresh if limit is not None else fresh + returned)


def test_quorum_delivery_limit_dead_letters_with_reason_delivery_limit(broker: Broker) -> None:
    """x-delivery-limit 2: a message nacked with requeue on each delivery is delivered 3 times,
    then dead-lettered (rabbit_fifo return_one/6) with x-death reason delivery_limit."""
    dlx = broker.exchange("dlx", "fanout")
    dlq = broker.queue("dlq")
    broker.ch.queue_bind(dlq, dlx, "")
    q = broker.queue("qq", **{"x-queue-type": "quorum", "x-delivery-limit": 2, "x-dead-letter-exchange": dlx})
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0), node("qq", "amqp_queue", queue_type="quorum", delivery_limit=2),
         node("dlx", "amqp_exchange", type="fanout"), node("dlq", "amqp_queue")],
        [edge("pub", "qq"), edge("qq", "dlx"), edge("dlx", "dlq")])
    broker.ch.confirm_delivery()
    broker.publish("", q, "m")
    run.publish("pub", "m")
    real_counts = []
    for _ in range(5):
        method, props, _ = broker.ch.basic_get(q, auto_ack=False)
        if method is None:
            break
        real_counts.append((props.headers or {}).get("x-delivery-count"))
        broker.ch.basic_nack(method.delivery_tag, requeue=True)
        broker.settle(0.05)
    for _ in range(5):
        run.sim.apply({"op": "get_messages", "node": "qq", "ack_mode": "requeue"})
    engine_counts = [g["headers"]["x-delivery-count"] for g in run.sim.metrics()["nodes"]["qq"]["got"]]
    broker.wait_count(dlq, 1)
    real = broker.drain(dlq)
    assert engine_counts == real_counts == [0, 1, 2]
    assert run.bodies("dlq") == [b for b, _, _ in real] == ["m"]
    assert engine_xdeath(run.entries("dlq")[0].msg, {"qq": q, "dlx": dlx}) == xdeath(real[0][2].headers)
    assert xdeath(real[0][2].headers)[0]["reason"] == "delivery_limit"
    assert "x-delivery-count" not in (real[0][2].headers or {})


def test_quorum_reject_publish_takes_one_over_the_limit_then_refuses_until_eighty_percent(broker: Broker) -> None:
    """rabbit_fifo evaluate_limit/5: x-max-length 5 with reject-publish accepts 6, refuses the
    next ones (publisher confirms nack), and accepts again only once 4 (80%) are left."""
    q = broker.queue("qq", **{"x-queue-type": "quorum", "x-max-length": 5, "x-overflow": "reject-publish"})
    run = EngineRun([node("pub", "amqp_publisher", rate=0),
                     node("qq", "amqp_queue", queue_type="quorum", max_length=5, overflow="reject-publish")],
                    [edge("pub", "qq")])
    broker.ch.confirm_delivery()
    real, engine_accepted = [], []

    def engine_publish(body: str) -> bool:
        before = run.sim.metrics()["nodes"]["qq"]["ready"]
        run.publish("pub", body)
        return run.sim.metrics()["nodes"]["qq"]["ready"] > before

    for i in range(8):
        real.append(confirmed(broker, q, str(i)))
        engine_accepted.append(engine_publish(str(i)))
    for take in (1, 1):
        for _ in range(take):
            broker.ch.basic_get(q, auto_ack=True)
            run.sim.apply({"op": "get_messages", "node": "qq"})
        broker.settle(0.1)
        real.append(confirmed(broker, q, f"after-{take}"))
        engine_accepted.append(engine_publish("after"))
    assert engine_accepted == real == [True] * 6 + [False] * 2 + [False, True]


def test_quorum_at_least_once_holds_unroutable_dead_letters_against_the_limit(broker: Broker) -> None:
    """x-dead-letter-strategy at-least-once (with reject-publish): two rejected messages whose
    dead-letter exchange routes nowhere stay held by the queue and count toward x-max-length 2,
    so of two more publishes one is accepted (taking it over the limit) and one refused."""
    dlx = broker.exchange("dlx", "direct")
    q = broker.queue("qq", **{"x-queue-type": "quorum", "x-max-length": 2, "x-overflow": "reject-publish",
                              "x-dead-letter-exchange": dlx, "x-dead-letter-strategy": "at-least-once"})
    run = EngineRun([node("pub", "amqp_publisher", rate=0),
                     node("qq", "amqp_queue", queue_type="quorum", max_length=2, overflow="reject-publish",
                          dead_letter_strategy="at-least-once"),
                     node("dlx", "amqp_exchange", type="direct")], [edge("pub", "qq"), edge("qq", "dlx")])
    broker.ch.confirm_delivery()
    for i in range(2):
        assert confirmed(broker, q, str(i))
        run.publish("pub", str(i))
    for _ in range(2):
        method, _, _ = broker.ch.basic_get(q, auto_ack=False)
        broker.ch.basic_reject(method.delivery_tag, requeue=False)
    run.sim.apply({"op": "get_messages", "node": "qq", "ack_mode": "reject", "count": 2})
    broker.settle(0.3)
    real = [confirmed(broker, q, "a"), confirmed(broker, q, "b")]
    engine_accepted = []
    for body in ("a", "b"):
        before = run.sim.metrics()["nodes"]["qq"]["ready"]
        run.publish("pub", body)
        engine_accepted.append(run.sim.metrics()["nodes"]["qq"]["ready"] > before)
    assert engine_accepted == real == [True, False]
    ready = broker.ch.queue_declare(q, passive=True).method.message_count
    assert run.sim.metrics()["nodes"]["qq"]["ready"] == ready == 1
    assert run.sim.metrics()["dropped_total"] == 1  # the refused publish; the dead letters are held


# -- streams ---------------------------------------------------------------------------------

def stream_consume(broker: Broker, queue: str, offset: Any, n: int, prefetch: int = 10) -> list[tuple[str, int]]:
    """Consume from a stream with x-stream-offset, acking, until ``n`` deliveries (or a timeout):
    [(body, x-stream-offset header)]."""
    ch = broker.conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    got: list[tuple[str, int]] = []

    def on_message(c: Any, method: Any, props: Any, body: bytes) -> None:
        got.append((body.decode(), props.headers["x-stream-offset"]))
        c.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_message, arguments={"x-stream-offset": offset})
    broker.wait_for(lambda: len(got) >= n, timeout=5.0)
    ch.close()
    return got


def test_stream_offsets_and_non_destructive_reads_match_the_broker(broker: Broker) -> None:
    """x-stream-offset first, a number, last, next (rabbit_stream_queue parse_offset_arg/1):
    each consumer gets the messages from there with their offsets in the x-stream-offset
    header; acks remove nothing, so every consumer reads them again. Messages are published
    one at a time with confirms: one chunk each."""
    s = broker.queue("s", **{"x-queue-type": "stream"})
    run = EngineRun([node("pub", "amqp_publisher", rate=0), node("s", "amqp_queue", queue_type="stream")]
                    + [node(f"c-{spec}", "amqp_consumer", consumers=0, stream_offset=spec, processing_ms=0)
                       for spec in ("first", "2", "last", "next")],
                    [edge("pub", "s")] + [edge("s", f"c-{spec}") for spec in ("first", "2", "last", "next")])
    broker.ch.confirm_delivery()
    for i in range(5):
        broker.publish("", s, str(i))
        run.publish("pub", str(i))
        run.sim.advance(0.01)
    real = {"first": stream_consume(broker, s, "first", 5), "2": stream_consume(broker, s, 2, 3),
            "last": stream_consume(broker, s, "last", 1)}
    ch = broker.conn.channel()
    ch.basic_qos(prefetch_count=10)
    late: list[tuple[str, int]] = []
    ch.basic_consume(s, lambda c, m, p, b: (late.append((b.decode(), p.headers["x-stream-offset"])),
                                            c.basic_ack(m.delivery_tag)), arguments={"x-stream-offset": "next"})
    broker.settle(0.3)
    for spec in ("first", "2", "last", "next"):
        run.sim.apply({"op": "add_consumer", "node": f"c-{spec}"})
    for i in (5, 6):
        broker.publish("", s, str(i))
        run.publish("pub", str(i))
        run.sim.advance(0.01)
    broker.wait_for(lambda: len(late) >= 2, timeout=5.0)
    real["next"] = late
    run.sim.advance(0.5)
    events = [e for e in run.sim.drain_events() if e["k"] == "amqp_deliver"]
    engine_got = {spec: [(str(int(e["offset"])), e["offset"]) for e in events if e["dst"] == f"c-{spec}"]
                  for spec in ("first", "2", "last", "next")}
    real_trimmed = {"first": real["first"], "2": real["2"], "last": real["last"], "next": real["next"]}
    engine_trimmed = {"first": engine_got["first"][:5], "2": engine_got["2"][:3], "last": engine_got["last"][:1],
                      "next": engine_got["next"]}
    assert engine_trimmed == real_trimmed
    assert real["first"] == [(str(i), i) for i in range(5)] and real["last"] == [("4", 4)]
    assert real["next"] == [("5", 5), ("6", 6)]
    assert run.sim.metrics()["nodes"]["s"]["retained"] == 7
    ch.close()


def test_stream_refuses_auto_ack_no_prefetch_and_nack_like_the_broker(broker: Broker) -> None:
    """rabbit_stream_queue consume/3 and settle/4: basic.consume with no-ack is refused (540),
    without basic.qos too (406), and basic.nack closes the channel (540); the engine's consumers
    get the same channel errors and the stream keeps the message."""
    s = broker.queue("s", **{"x-queue-type": "stream"})
    broker.ch.confirm_delivery()
    broker.publish("", s, "m")
    codes = []
    for case in ("auto_ack", "no_qos", "nack"):
        conn = pika.BlockingConnection(broker.conn_params)  # 540 is a connection error: one each
        ch = conn.channel()
        if case != "no_qos":
            ch.basic_qos(prefetch_count=10)
        try:
            ch.basic_consume(s, lambda c, m, p, b: c.basic_nack(m.delivery_tag, requeue=True),
                             auto_ack=case == "auto_ack", arguments={"x-stream-offset": "first"})
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                conn.process_data_events(time_limit=0.05)
        except (pika.exceptions.ChannelClosedByBroker, pika.exceptions.ConnectionClosedByBroker) as err:
            codes.append(err.reply_code)
        finally:
            if conn.is_open:
                conn.close()
    assert codes == [540, 406, 540]
    run = EngineRun([node("pub", "amqp_publisher", rate=0), node("s", "amqp_queue", queue_type="stream"),
                     node("auto", "amqp_consumer", consumers=1, ack_mode="auto"),
                     node("zero", "amqp_consumer", consumers=1, prefetch=0),
                     node("nack", "amqp_consumer", consumers=1, stream_offset="first", poison_rate=1.0,
                          on_failure="requeue", processing_ms=1)],
                    [edge("pub", "s"), edge("s", "auto"), edge("s", "zero"), edge("s", "nack")])
    run.publish("pub", "m")
    run.sim.advance(0.5)
    m = run.sim.metrics()["nodes"]
    assert all(m[c]["channels"] == [] and m[c]["errors"] for c in ("auto", "zero", "nack"))
    assert m["s"]["retained"] == 1


def test_quorum_channel_close_returns_deliveries_with_their_count_like_the_broker(broker: Broker) -> None:
    """rabbit_fifo return_all/5: a consumer's channel closing returns its unacked deliveries,
    each counted (x-delivery-count 1 on the next basic.get), in delivery order and in front of
    the rest (the returns queue), even without a delivery limit: unlike a nack, no requeue at
    the back."""
    q = broker.queue("qq", **{"x-queue-type": "quorum"})
    run = EngineRun([node("pub", "amqp_publisher", rate=0), node("qq", "amqp_queue", queue_type="quorum"),
                     node("c", "amqp_consumer", consumers=1, prefetch=2, processing_ms=60_000)],
                    [edge("pub", "qq"), edge("qq", "c")])
    broker.ch.confirm_delivery()
    ch = broker.conn.channel()
    ch.basic_qos(prefetch_count=2)
    held: list[str] = []
    ch.basic_consume(q, lambda c, m, p, b: held.append(b.decode()))
    for i in range(3):
        broker.publish("", q, str(i))
        run.publish("pub", str(i))
    broker.wait_for(lambda: len(held) >= 2)
    ch.close()
    run.sim.advance(0.1)
    run.sim.apply({"op": "kill_consumer", "node": "c"})
    broker.settle(0.3)
    real = []
    while True:
        method, props, body = broker.ch.basic_get(q, auto_ack=True)
        if method is None:
            break
        real.append((body.decode(), props.headers["x-delivery-count"]))
    run.sim.apply({"op": "get_messages", "node": "qq", "count": 3})
    got = run.sim.metrics()["nodes"]["qq"]["got"]
    assert [(run.names[g["uid"]], g["headers"]["x-delivery-count"]) for g in got] == real == [
        ("0", 1), ("1", 1), ("2", 0)]


def test_quorum_message_ttl_dead_letters_expired_messages_like_the_broker(broker: Broker) -> None:
    """Quorum queues support x-message-ttl since 3.10 (rabbit_fifo expire_msgs/4): expired
    messages are dead-lettered with reason expired, in order."""
    dlx = broker.exchange("dlx", "fanout")
    dlq = broker.queue("dlq")
    broker.ch.queue_bind(dlq, dlx, "")
    q = broker.queue("qq", **{"x-queue-type": "quorum", "x-message-ttl": 100, "x-dead-letter-exchange": dlx})
    run = EngineRun([node("pub", "amqp_publisher", rate=0),
                     node("qq", "amqp_queue", queue_type="quorum", message_ttl_ms=100),
                     node("dlx", "amqp_exchange", type="fanout"), node("dlq", "amqp_queue")],
                    [edge("pub", "qq"), edge("qq", "dlx"), edge("dlx", "dlq")])
    broker.ch.confirm_delivery()
    for i in range(3):
        broker.publish("", q, str(i))
        run.publish("pub", str(i))
    run.sim.advance(0.5)
    broker.wait_count(dlq, 3)
    real = broker.drain(dlq)
    assert run.bodies("dlq") == [b for b, _, _ in real] == ["0", "1", "2"]
    for entry, (_, _, props) in zip(run.entries("dlq"), real, strict=True):
        assert engine_xdeath(entry.msg, {"qq": q, "dlx": dlx}) == xdeath(props.headers)


def test_stream_retention_and_segment_offsets_behave_like_the_broker(broker: Broker) -> None:
    """Retention by x-max-length-bytes deletes whole old segments, evaluated when a segment
    fills (osiris_log write_chunk/6); each new segment opens with a tracking snapshot chunk that
    takes an offset (evaluate_tracking_snapshot/2). Segment sizes differ (the broker counts
    headers and properties too), so this compares the shape: a prefix is gone, what is left is
    every message from some point on with nothing missing, the newest kept, and offsets skip one
    at segment boundaries."""
    s = broker.queue("s", **{"x-queue-type": "stream", "x-max-length-bytes": 3000,
                             "x-stream-max-segment-size-bytes": 1000})
    run = EngineRun([node("pub", "amqp_publisher", rate=0),
                     node("s", "amqp_queue", queue_type="stream", max_length_bytes=3000, segment_bytes=1000),
                     node("c", "amqp_consumer", consumers=0, stream_offset="first", processing_ms=0, prefetch=100)],
                    [edge("pub", "s"), edge("s", "c")])
    broker.ch.confirm_delivery()
    for i in range(60):
        broker.publish("", s, str(i), headers={"pad": "x" * 80})
        run.publish("pub", str(i), size=100)
        run.sim.advance(0.01)
    real = stream_consume(broker, s, "first", 60, prefetch=100)
    run.sim.apply({"op": "add_consumer", "node": "c"})
    run.sim.advance(0.5)
    delivered = [e["offset"] for e in run.sim.drain_events() if e["k"] == "amqp_deliver"]
    engine = [(run.names[msg.uid], chunk.first + i) for chunk in run.sim.components["s"].log.chunks()
              for i, msg in enumerate(chunk.messages)]
    assert delivered == [offset for _, offset in engine]  # the consumer from "first" got all of them

    def shape(got: list[tuple[str, int]]) -> tuple[bool, bool, bool, bool]:
        bodies = [int(b) for b, _ in got]
        gaps = {b - a for (_, a), (_, b) in zip(got, got[1:], strict=False)}
        return (bodies[0] > 0, bodies == list(range(bodies[0], 60)), gaps <= {1, 2} and 2 in gaps,
                got[-1][1] > 59)

    assert shape(engine) == shape(real) == (True, True, True, True)
