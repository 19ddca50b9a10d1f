"""Differential tests: the engine's RabbitMQ against a real RabbitMQ broker (127.0.0.1:5672,
guest/guest; written against 3.10, the one this machine runs).

Each test runs one small scenario through the real broker (with pika) and through the engine
(a Simulation driven by publish commands, or the queue classes directly where a consumer's
timing would otherwise decide) and compares which queue each message reaches, in what order,
how often it is delivered, and where and why it is dead-lettered (x-death). Names are unique
per run and everything declared is deleted afterwards.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from playground.engine.rabbitmq.queue import ClassicQueue, ConsumerRing, Message
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


# -- routing ----------------------------------------------------------------------------------

TOPIC_BINDINGS = {
    "t-hash": "#", "t-a-hash-b": "a.#.b", "t-star-x": "*.x", "t-a-star": "a.*", "t-a-hash": "a.#",
    "t-hash-b": "#.b", "t-star": "*", "t-empty": "", "t-a-star-b": "a.*.b", "t-hash-hash": "#.#",
    "t-exact": "a.b",
}
TOPIC_KEYS = ["a.b", "a", "a.x", "x", "a.c.d.b", "b", "", "q.a.b", "a.b.c", "x.x", "a..b", ".b", "a.b.b"]
DIRECT_BINDINGS = {"d-a": "a", "d-ab": "a.b", "d-empty": "", "d-a2": "a"}
HEADERS_BINDINGS = {
    "h-all": ("all", {"format": "pdf", "type": "report"}),
    "h-any": ("any", {"format": "pdf", "type": "log"}),
    "h-all-x-ignored": ("all", {"format": "pdf", "x-tenant": "acme"}),
    "h-any-only-x": ("any", {"x-tenant": "acme"}),
    "h-all-empty": ("all", {}),
    "h-any-with-x": ("any-with-x", {"x-tenant": "acme"}),
    "h-all-with-x": ("all-with-x", {"format": "pdf", "x-tenant": "acme"}),
    # Arguments without a value (None: AMQP void), presence only:
    "h-void-all": ("all", {"format": None, "type": "report"}),
    "h-void-any": ("any", {"format": None, "type": "log"}),
    "h-void-x-all": ("all", {"format": None, "x-tenant": None}),
    "h-void-x-any": ("any", {"x-tenant": None}),
    "h-void-all-with-x": ("all-with-x", {"format": None, "x-tenant": None}),
    "h-void-any-with-x": ("any-with-x", {"x-tenant": None, "type": "none-such"}),
}
HEADER_MESSAGES = [
    {"format": "pdf", "type": "report"},
    {"format": "pdf"},
    {"type": "log"},
    {"format": "zip", "type": "report"},
    {"x-tenant": "acme"},
    {"format": "pdf", "x-tenant": "acme"},
    {},
    {"format": "PDF", "type": "report"},
    {"format": "", "x-tenant": "other"},
    {"x-tenant": ""},
    {"type": "report", "format": "zip"},
]


def test_routing_of_every_exchange_type_matches_the_broker(broker: Broker) -> None:
    """Direct, topic (with '#' alone, 'a.#.b', '*.x', the empty key, empty words), fanout and
    headers (x-match all / any / all-with-x / any-with-x, x- arguments ignored, arguments
    without a value matching on presence: rabbit_exchange_type_headers) route each message to
    the same set of queues, in the same order within each queue."""
    nodes = [node("topic", "amqp_exchange", type="topic"), node("direct", "amqp_exchange", type="direct"),
             node("fanout", "amqp_exchange", type="fanout"), node("headers", "amqp_exchange", type="headers")]
    edges = []
    for kind in ("topic", "direct", "fanout", "headers"):
        nodes.append(node(f"p-{kind}", "amqp_publisher", rate=0))
        edges.append(edge(f"p-{kind}", kind))
    real = {k: broker.exchange(k, k) for k in ("topic", "direct", "fanout", "headers")}
    for q, key in TOPIC_BINDINGS.items():
        broker.ch.queue_bind(broker.queue(q), real["topic"], key)
        nodes.append(node(q, "amqp_queue"))
        edges.append(edge("topic", q, binding_key=key))
    for q, key in DIRECT_BINDINGS.items():
        broker.ch.queue_bind(broker.queue(q), real["direct"], key)
        nodes.append(node(q, "amqp_queue"))
        edges.append(edge("direct", q, binding_key=key))
    for q in ("f-1", "f-2"):
        broker.ch.queue_bind(broker.queue(q), real["fanout"], "ignored")
        nodes.append(node(q, "amqp_queue"))
        edges.append(edge("fanout", q, binding_key="ignored"))
    for q, (match, headers) in HEADERS_BINDINGS.items():
        broker.ch.queue_bind(broker.queue(q), real["headers"], "", arguments={"x-match": match, **headers})
        nodes.append(node(q, "amqp_queue"))
        edges.append(edge("headers", q, x_match=match,
                          binding_headers={k: v for k, v in headers.items() if v is not None},
                          binding_present=", ".join(k for k, v in headers.items() if v is None)))
    run = EngineRun(nodes, edges)

    broker.ch.confirm_delivery()
    for i, key in enumerate(TOPIC_KEYS + ["a", "a.b", "", "b"]):
        for kind in ("topic", "direct", "fanout"):
            body = f"{kind}-{i}"
            broker.publish(real[kind], key, body)
            run.publish(f"p-{kind}", body, key=key)
    for i, headers in enumerate(HEADER_MESSAGES):
        body = f"headers-{i}"
        broker.publish(real["headers"], "any.key", body, headers=headers)
        run.publish("p-headers", body, key="any.key", headers=headers)
    broker.settle()

    queues = [*TOPIC_BINDINGS, *DIRECT_BINDINGS, "f-1", "f-2", *HEADERS_BINDINGS]
    real_contents = {q: broker.bodies(broker.name(q)) for q in queues}
    engine_contents = {q: run.bodies(q) for q in queues}
    assert engine_contents == real_contents
    # The scenario means something: every topic edge case reached or missed some queue.
    assert real_contents["t-hash"] and real_contents["t-empty"] == ["topic-6", "topic-15"]
    assert real_contents["h-void-all"] == ["headers-0", "headers-3", "headers-7", "headers-10"]
    assert real_contents["h-void-x-any"] == [] and real_contents["h-void-any-with-x"] == [
        "headers-4", "headers-5", "headers-8", "headers-9"]


def test_alternate_exchange_and_exchange_to_exchange_bindings_match_the_broker(broker: Broker) -> None:
    """Unroutable messages go to the alternate exchange; an exchange-to-exchange binding forwards
    what matches; a queue reachable by two paths gets one copy."""
    ae = broker.exchange("ae", "fanout")
    broker.ch.exchange_declare(broker.name("main"), exchange_type="direct", arguments={"alternate-exchange": ae})
    broker.exchanges.append(broker.name("main"))
    inner = broker.exchange("inner", "topic")
    broker.ch.exchange_bind(inner, broker.name("main"), "orders")
    lost, orders = broker.queue("lost"), broker.queue("orders")
    broker.ch.queue_bind(lost, ae, "")
    broker.ch.queue_bind(orders, inner, "#")
    broker.ch.queue_bind(orders, broker.name("main"), "orders")
    nodes = [node("pub", "amqp_publisher", rate=0), node("main", "amqp_exchange", type="direct"),
             node("ae", "amqp_exchange", type="fanout"), node("inner", "amqp_exchange", type="topic"),
             node("lost", "amqp_queue"), node("orders", "amqp_queue")]
    edges = [edge("pub", "main"), edge("main", "ae", alternate=True), edge("main", "inner", binding_key="orders"),
             edge("main", "orders", binding_key="orders"), edge("inner", "orders", binding_key="#"),
             edge("ae", "lost")]
    run = EngineRun(nodes, edges)
    broker.ch.confirm_delivery()
    for i, key in enumerate(["orders", "refunds", "orders", "misc"]):
        broker.publish(broker.name("main"), key, str(i))
        run.publish("pub", str(i), key=key)
    broker.settle()
    assert run.bodies("orders") == broker.bodies(orders) == ["0", "2"]
    assert run.bodies("lost") == broker.bodies(lost) == ["1", "3"]


# -- queue order, priority, length limit ------------------------------------------------------

PRIORITIES = [0, 3, 5, 9, None, 3, 1, 5, 0, 2]


def test_priority_queue_order_matches_the_broker(broker: Broker) -> None:
    """x-max-priority 5: higher first, FIFO within a priority, 9 counts as 5, none as 0."""
    q = broker.queue("prio", **{"x-max-priority": 5})
    run = EngineRun([node("pub", "amqp_publisher", rate=0), node("prio", "amqp_queue", max_priority=5)],
                    [edge("pub", "prio")])
    broker.ch.confirm_delivery()
    for i, p in enumerate(PRIORITIES):
        broker.publish("", q, str(i), priority=p)
        run.publish("pub", str(i), priority=p)
    assert run.bodies("prio") == broker.bodies(q)


def test_plain_queue_ignores_priorities_like_the_broker(broker: Broker) -> None:
    q = broker.queue("fifo")
    run = EngineRun([node("pub", "amqp_publisher", rate=0), node("fifo", "amqp_queue")], [edge("pub", "fifo")])
    broker.ch.confirm_delivery()
    for i, p in enumerate(PRIORITIES):
        broker.publish("", q, str(i), priority=p)
        run.publish("pub", str(i), priority=p)
    assert run.bodies("fifo") == broker.bodies(q) == [str(i) for i in range(len(PRIORITIES))]


@pytest.mark.parametrize("overflow", ["drop-head", "reject-publish", "reject-publish-dlx"])
@pytest.mark.parametrize("priority", [False, True])
def test_max_length_overflow_matches_the_broker(broker: Broker, overflow: str, priority: bool) -> None:
    """x-max-length 3 with each x-overflow, with a dead-letter exchange: what stays, what is
    dead-lettered (reason maxlen, in what order), what is refused; with priorities, drop-head
    takes the next message to deliver (the highest priority)."""
    dlx = broker.exchange("dlx", "fanout")
    dlq = broker.queue("dlq")
    broker.ch.queue_bind(dlq, dlx, "")
    args: dict[str, Any] = {"x-max-length": 3, "x-overflow": overflow, "x-dead-letter-exchange": dlx}
    if priority:
        args["x-max-priority"] = 9
    q = broker.queue("limited", **args)
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0),
         node("limited", "amqp_queue", max_length=3, overflow=overflow, max_priority=9 if priority else 0),
         node("dlx", "amqp_exchange", type="fanout"), node("dlq", "amqp_queue")],
        [edge("pub", "limited"), edge("limited", "dlx"), edge("dlx", "dlq")])
    prios = [1, 1, 1, 5, 0, 9] if priority else [None] * 6
    for i, p in enumerate(prios):
        broker.publish("", q, str(i), priority=p)
        run.publish("pub", str(i), priority=p)
    broker.wait_count(dlq, len(run.bodies("dlq")))
    real_dead = broker.drain(dlq)
    assert run.bodies("limited") == broker.bodies(q)
    assert run.bodies("dlq") == [b for b, _, _ in real_dead]
    rename = {"limited": q, "dlx": dlx}
    for entry, (_, _, props) in zip(run.entries("dlq"), real_dead, strict=True):
        assert engine_xdeath(entry.msg, rename) == xdeath(props.headers)


# -- delivery: round robin within prefetch, requeue, redelivery -------------------------------

def test_round_robin_within_prefetch_matches_the_broker(broker: Broker) -> None:
    """Two consumers with prefetch 2: deliveries alternate until both are full; the rest wait;
    acking B's two gives B the next two."""
    q = broker.queue("rr")
    got: dict[str, list[tuple[str, int]]] = {"A": [], "B": []}
    channels = {}
    for name in ("A", "B"):
        ch = broker.conn.channel()
        ch.basic_qos(prefetch_count=2)
        ch.basic_consume(q, lambda c, m, p, body, name=name: got[name].append((body.decode(), m.delivery_tag)))
        channels[name] = ch
    broker.settle()
    ring = ConsumerRing()
    ring.add("A", 2)
    ring.add("B", 2)
    cq = ClassicQueue("rr")
    engine_got: dict[str, list[str]] = {"A": [], "B": []}

    def engine_dispatch() -> None:
        while len(cq) and (tag := ring.next()) is not None:
            engine_got[tag].append(str(cq.pop().msg.uid))

    for i in range(7):
        broker.publish("", q, str(i))
        cq.publish(Message(i, "", "rr"), 0.0)
        engine_dispatch()
    broker.wait_for(lambda: sum(map(len, got.values())) >= 4)
    assert engine_got == {k: [b for b, _ in v] for k, v in got.items()}
    for _, tag in got["B"]:
        channels["B"].basic_ack(tag)
    ring.settle("B", 2)
    engine_dispatch()
    broker.wait_for(lambda: sum(map(len, got.values())) >= 6)
    assert engine_got == {k: [b for b, _ in v] for k, v in got.items()}
    assert engine_got == {"A": ["0", "2"], "B": ["1", "3", "4", "5"]}
    for ch in channels.values():
        ch.close()


def test_nack_with_requeue_redelivers_in_original_position_like_the_broker(broker: Broker) -> None:
    """Requeued messages go back to their original place, flagged redelivered; a message
    nacked with requeue on every delivery is delivered as often as it is asked for."""
    q = broker.queue("requeue")
    cq = ClassicQueue("requeue")
    for i in range(4):
        broker.publish("", q, str(i))
        cq.publish(Message(i, "", "requeue"), 0.0)
    broker.settle()
    real_log, engine_log = [], []
    # Script: take two, requeue the second then the first; take three, ack "2", requeue the rest.
    script = [("get", 2), ("nack", [1, 0]), ("get", 3), ("ack_body", "2"), ("nack", [1, 0]),
              ("get", 4), ("ack_all", None)]
    real_held: list[tuple[str, int]] = []
    engine_held: list[Any] = []
    for op, arg in script:
        if op == "get":
            for _ in range(arg):
                method, _, body = broker.ch.basic_get(q, auto_ack=False)
                if method is None:
                    break
                real_held.append((body.decode(), method.delivery_tag))
                real_log.append((body.decode(), method.redelivered))
                entry = cq.pop()
                if entry is None:
                    break
                engine_held.append(entry)
                engine_log.append((str(entry.msg.uid), entry.redelivered))
        elif op == "nack":
            for i in arg:
                broker.ch.basic_nack(real_held[i][1], requeue=True)
                cq.requeue(engine_held[i])
            real_held = [h for j, h in enumerate(real_held) if j not in arg]
            engine_held = [h for j, h in enumerate(engine_held) if j not in arg]
        elif op == "ack_body":
            tag = next(t for b, t in real_held if b == arg)
            broker.ch.basic_ack(tag)
            real_held = [h for h in real_held if h[0] != arg]
            engine_held = [e for e in engine_held if str(e.msg.uid) != arg]
        else:
            for _, tag in real_held:
                broker.ch.basic_ack(tag)
            real_held, engine_held = [], []
        broker.settle(0.05)
    assert engine_log == real_log
    deliveries = {b: sum(1 for x, _ in real_log if x == b) for b in "0123"}
    assert deliveries == {"0": 3, "1": 3, "2": 1, "3": 1}


# -- dead letters ----------------------------------------------------------------------------

def test_reject_dead_letters_with_x_death_and_count_grows_on_the_second_death(broker: Broker) -> None:
    """basic.reject requeue=false dead-letters through the DLX with x-death {queue, reason
    rejected, count 1, exchange, routing-keys}; the same message moved back (a shovel) and
    rejected again has count 2 in the same entry. The engine runs a consumer that rejects and
    the redrive command."""
    dlx = broker.exchange("dlx", "fanout")
    dlq = broker.queue("dlq")
    broker.ch.queue_bind(dlq, dlx, "")
    work = broker.queue("work", **{"x-dead-letter-exchange": dlx})
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0), node("work", "amqp_queue"),
         node("dlx", "amqp_exchange", type="fanout"), node("dlq", "amqp_queue"),
         node("workers", "amqp_consumer", consumers=1, prefetch=1, processing_ms=1, poison_rate=1.0,
              on_failure="reject")],
        [edge("pub", "work"), edge("work", "dlx"), edge("dlx", "dlq"), edge("work", "workers")])
    rename = {"work": work, "dlx": dlx, "dlq": dlq}
    real: list[tuple[str, Any, Any]] = []
    for rnd in range(2):
        if rnd == 0:
            broker.publish("", work, "m")
            run.publish("pub", "m")
        else:
            # The shovel: take it from the DLQ and publish it to the work queue as it is.
            _, _, props = real[0]
            broker.publish("", work, "m", headers=props.headers)
            run.sim.apply({"op": "redrive", "node": "dlq"})
        broker.settle()
        method, _, _ = broker.ch.basic_get(work, auto_ack=False)
        broker.ch.basic_reject(method.delivery_tag, requeue=False)
        broker.wait_count(dlq, 1)
        run.sim.advance(1.0)
        real = broker.drain(dlq)
        assert len(real) == 1 and len(run.entries("dlq")) == 1
        assert engine_xdeath(run.entries("dlq")[0].msg, rename) == xdeath(real[0][2].headers)
        assert real[0][2].headers["x-first-death-reason"] == "rejected"
        assert real[0][2].headers["x-first-death-queue"] == work
    assert xdeath(real[0][2].headers)[0]["count"] == 2
    stream = next(s for s in run.sim.streams() if s.get("queue") == "work")
    assert stream["dead_lettered"] == 2 and stream["produced"] == 2


def test_queue_ttl_dead_letters_expired_messages_in_order_like_the_broker(broker: Broker) -> None:
    """x-message-ttl 100 ms with a DLX and a dead-letter routing key: all expire, in order,
    reason expired, routed with the dead-letter routing key."""
    dlx = broker.exchange("dlx", "direct")
    dlq = broker.queue("expired")
    broker.ch.queue_bind(dlq, dlx, "late")
    work = broker.queue("ttl", **{"x-message-ttl": 100, "x-dead-letter-exchange": dlx,
                                  "x-dead-letter-routing-key": "late"})
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0), node("ttl", "amqp_queue", message_ttl_ms=100,
                                                     dead_letter_routing_key="late"),
         node("dlx", "amqp_exchange", type="direct"), node("expired", "amqp_queue")],
        [edge("pub", "ttl"), edge("ttl", "dlx"), edge("dlx", "expired", binding_key="late")])
    for i in range(3):
        broker.publish("", work, str(i))
        run.publish("pub", str(i))
    run.sim.advance(0.5)
    broker.wait_count(dlq, 3)
    real = broker.drain(dlq)
    assert run.bodies("expired") == [b for b, _, _ in real] == ["0", "1", "2"]
    rename = {"ttl": work, "dlx": dlx, "expired": dlq}
    for entry, (_, _, props) in zip(run.entries("expired"), real, strict=True):
        assert engine_xdeath(entry.msg, rename) == xdeath(props.headers)
    assert run.bodies("ttl") == broker.bodies(work) == []


def test_per_message_ttl_expires_only_at_the_head_like_the_broker(broker: Broker) -> None:
    """A message with a 50 ms expiration behind one with 60 s is not dead-lettered while the
    long-lived one is at the head; once that one is consumed, it is (with original-expiration)."""
    dlx = broker.exchange("dlx", "fanout")
    dlq = broker.queue("dlq")
    broker.ch.queue_bind(dlq, dlx, "")
    work = broker.queue("work", **{"x-dead-letter-exchange": dlx})
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0), node("work", "amqp_queue"),
         node("dlx", "amqp_exchange", type="fanout"), node("dlq", "amqp_queue")],
        [edge("pub", "work"), edge("work", "dlx"), edge("dlx", "dlq")])
    broker.publish("", work, "long", expiration="60000")
    broker.publish("", work, "short", expiration="50")
    run.publish("pub", "long", expiration_ms=60000)
    run.publish("pub", "short", expiration_ms=50)
    time.sleep(0.3)
    run.sim.advance(0.3)
    assert run.bodies("dlq") == broker.bodies(dlq) == []
    # Consume the head: the expired one behind it is dead-lettered at once.
    method, _, body = broker.ch.basic_get(work, auto_ack=True)
    assert body == b"long"
    queue = run.sim.components["work"]
    assert queue.q.pop() is not None
    queue.dispatch(run.sim)
    broker.wait_count(dlq, 1)
    real = broker.drain(dlq)
    assert run.bodies("dlq") == [b for b, _, _ in real] == ["short"]
    assert engine_xdeath(run.entries("dlq")[0].msg, {"work": work, "dlx": dlx}) == xdeath(real[0][2].headers)


def test_dead_letter_cycle_without_rejection_is_dropped_like_the_broker(broker: Broker) -> None:
    """A queue whose expired messages are dead-lettered back to itself: the broker drops the
    message on the first expiry (a cycle with no rejection) instead of looping it."""
    dlx = broker.exchange("dlx", "fanout")
    loop = broker.queue("loop", **{"x-message-ttl": 50, "x-dead-letter-exchange": dlx})
    broker.ch.queue_bind(loop, dlx, "")
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0), node("loop", "amqp_queue", message_ttl_ms=50),
         node("dlx", "amqp_exchange", type="fanout")],
        [edge("pub", "loop"), edge("loop", "dlx"), edge("dlx", "loop")])
    broker.publish("", loop, "m")
    run.publish("pub", "m")
    time.sleep(0.4)
    run.sim.advance(0.4)
    assert run.bodies("loop") == broker.bodies(loop) == []
    stream = next(s for s in run.sim.streams() if s.get("queue") == "loop")
    assert stream["produced"] == 1 and sum(stream["dropped"].values()) == 1


def first_death_headers(headers: dict[str, Any]) -> tuple[str, str, str]:
    return headers["x-first-death-queue"], headers["x-first-death-reason"], headers["x-first-death-exchange"]


def test_first_death_headers_stay_when_a_message_dies_through_two_queues_and_back(broker: Broker) -> None:
    """rabbit_dead_letter update_x_death_header: x-first-death-* are written once, on the first
    death, and never change. A (TTL 50 ms) expires into B; B's message is got and rejected back
    to A; A expires it into B again: x-death [A expired 2, B rejected 1], whose oldest entry is
    B's, while x-first-death still names A, expired, and the exchange it was published to."""
    to_b, to_a = broker.exchange("to-b", "fanout"), broker.exchange("to-a", "fanout")
    inbound = broker.exchange("in", "direct")
    a = broker.queue("a", **{"x-message-ttl": 50, "x-dead-letter-exchange": to_b})
    b = broker.queue("b", **{"x-dead-letter-exchange": to_a})
    broker.ch.queue_bind(a, inbound, "k")
    broker.ch.queue_bind(b, to_b, "")
    broker.ch.queue_bind(a, to_a, "")
    run = EngineRun(
        [node("pub", "amqp_publisher", rate=0), node("in", "amqp_exchange", type="direct"),
         node("a", "amqp_queue", message_ttl_ms=50), node("to-b", "amqp_exchange", type="fanout"),
         node("b", "amqp_queue"), node("to-a", "amqp_exchange", type="fanout")],
        [edge("pub", "in"), edge("in", "a", binding_key="k"), edge("a", "to-b"), edge("to-b", "b"),
         edge("b", "to-a"), edge("to-a", "a")])
    rename = {"a": a, "b": b, "in": inbound, "to-a": to_a, "to-b": to_b}
    broker.publish(inbound, "k", "m")
    run.publish("pub", "m", key="k")
    broker.wait_count(b, 1)
    run.sim.advance(0.2)
    method, _, _ = broker.ch.basic_get(b, auto_ack=False)
    broker.ch.basic_reject(method.delivery_tag, requeue=False)
    run.sim.apply({"op": "get_messages", "node": "b", "ack_mode": "reject"})
    broker.wait_count(b, 1)
    run.sim.advance(0.2)
    real = broker.drain(b)
    assert len(real) == 1 and run.bodies("b") == ["m"]
    msg = run.entries("b")[0].msg
    headers = real[0][2].headers
    assert engine_xdeath(msg, rename) == xdeath(headers)
    assert [(d["queue"], d["reason"], d["count"]) for d in xdeath(headers)] == [(a, "expired", 2), (b, "rejected", 1)]
    engine_first = msg.first_death
    assert (rename[engine_first.queue], engine_first.reason, rename[engine_first.exchange]) == first_death_headers(
        headers) == (a, "expired", inbound)


def queue_exists(broker: Broker, queue: str) -> bool:
    ch = broker.conn.channel()
    try:
        ch.queue_declare(queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as err:
        assert err.reply_code == 404
        return False
    ch.close()
    return True


def test_x_expires_deletes_an_unused_queue_like_the_broker(broker: Broker) -> None:
    """Queue TTL (x-expires 400 ms): a basic.get counts as use and restarts the timer; once
    unused that long the queue is gone with its messages (rabbit_amqqueue_process)."""
    q = broker.queue("exp", **{"x-expires": 400})
    run = EngineRun([node("pub", "amqp_publisher", rate=0), node("exp", "amqp_queue", expires_ms=400)],
                    [edge("pub", "exp")])
    broker.ch.confirm_delivery()
    for i in range(2):
        broker.publish("", q, str(i))
        run.publish("pub", str(i))
    steps = []
    for wait, get in ((0.25, True), (0.25, False), (0.45, False)):
        time.sleep(wait)
        run.sim.advance(wait)
        if get:
            broker.ch.basic_get(q, auto_ack=True)
            run.sim.apply({"op": "get_messages", "node": "exp"})
        steps.append((queue_exists(broker, q), not run.sim.metrics()["nodes"]["exp"]["deleted"]))
    assert [real for real, _ in steps] == [engine for _, engine in steps] == [True, True, False]
    assert run.sim.metrics()["dropped"] == {"queue deleted by x-expires with its messages": 1}


@pytest.mark.parametrize("overflow", ["drop-head", "reject-publish"])
def test_max_length_bytes_counts_body_bytes_like_the_broker(broker: Broker, overflow: str) -> None:
    """x-max-length-bytes 250 with bodies of 100, 100, 60, 100, 40 bytes: drop-head drops from
    the head while the ready bodies exceed it (over_max_length/1); reject-publish refuses a
    message that would take them over (will_overflow/2)."""
    dlx = broker.exchange("dlx", "fanout")
    dlq = broker.queue("dlq")
    broker.ch.queue_bind(dlq, dlx, "")
    q = broker.queue("bytes", **{"x-max-length-bytes": 250, "x-overflow": overflow, "x-dead-letter-exchange": dlx})
    run = EngineRun([node("pub", "amqp_publisher", rate=0),
                     node("bytes", "amqp_queue", max_length_bytes=250, overflow=overflow),
                     node("dlx", "amqp_exchange", type="fanout"), node("dlq", "amqp_queue")],
                    [edge("pub", "bytes"), edge("bytes", "dlx"), edge("dlx", "dlq")])
    broker.ch.confirm_delivery()
    real_ok, engine_ok = [], []
    for i, size in enumerate((100, 100, 60, 100, 40)):
        body = str(i) * size
        real_ok.append(confirmed(broker, q, body))
        refused = run.sim.metrics()["dropped_total"]
        run.publish("pub", body, size=size)
        engine_ok.append(run.sim.metrics()["dropped_total"] == refused)
    broker.wait_count(dlq, len(run.bodies("dlq")))
    assert run.bodies("bytes") == broker.bodies(q)
    assert run.bodies("dlq") == broker.bodies(dlq)
    if overflow == "reject-publish":
        assert engine_ok == real_ok == [True, True, False, False, True]


# -- a bridge reading a queue (engine/rabbitmq/records.py) -------------------------------------

def test_bridge_source_prefetch_deferred_acks_and_crash_redelivery_match_the_broker(broker: Broker) -> None:
    """The bridge's AMQP source is basic.consume with basic.qos prefetch and acks deferred to its
    commit: with prefetch 4 it holds 4 deliveries; acking them lets the next 4 come; closing the
    channel with those unacked requeues them in place, so a new consumer gets them first, marked
    redelivered (AMQP 0-9-1, basic.qos, basic.ack, and channel.close requeueing unacked messages)."""
    q = broker.queue("bridge-src")
    for i in range(10):
        broker.publish("", q, f"m{i}")
    broker.settle()
    seen: list[tuple[str, bool]] = []
    held: list[int] = []

    def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
        seen.append((body.decode(), method.redelivered))
        held.append(method.delivery_tag)

    ch1 = broker.conn.channel()
    ch1.basic_qos(prefetch_count=4)
    ch1.basic_consume(q, on_message, auto_ack=False)
    broker.wait_for(lambda: len(seen) >= 4)
    first_window = list(seen)
    for tag in held:  # the commit: ack what was written
        ch1.basic_ack(tag)
    held.clear()
    broker.wait_for(lambda: len(seen) >= 8)
    ch1.close()  # the crash: the 4 unacked deliveries go back
    seen.clear()
    ch2 = broker.conn.channel()
    ch2.basic_qos(prefetch_count=4)
    ch2.basic_consume(q, on_message, auto_ack=False)
    broker.wait_for(lambda: len(seen) >= 4)
    real_after = list(seen)
    ch2.close()

    nodes = [node("pub", "amqp_publisher", rate=0), node("src", "amqp_queue"),
             node("bridge", "bridge", prefetch=4, poll_interval_ms=100, commit_interval_ms=150, max_poll_records=500),
             node("t", "kafka_topic", partitions=1)]
    run = EngineRun(nodes, [edge("pub", "src"), edge("src", "bridge"), edge("bridge", "t")])
    for i in range(10):
        run.publish("pub", f"m{i}")
    source = run.sim.components["bridge"].source
    names = {f"amqp:{uid:x}": body for uid, body in run.names.items()}
    run.sim.advance(0.12)  # one poll: the first prefetch window, written to the topic
    written = [names[r.id] for part in run.sim.components["t"].envelopes.records for r in part.values()]
    assert run.sim.metrics()["nodes"]["src"]["unacked"] == 4
    run.sim.advance(0.1)  # the commit at 0.15 s acks them; the poll at 0.2 s takes the next window
    run.sim.apply({"op": "crash_bridge", "node": "bridge"})
    run.sim.apply({"op": "restart_bridge", "node": "bridge"})
    engine_after = [(names[r.id], v.redelivered) for r, v in source.poll(run.sim, 10)]
    assert written == [b for b, _ in first_window] == [f"m{i}" for i in range(4)]
    assert all(not redelivered for _, redelivered in first_window)
    assert engine_after == real_after == [(f"m{i}", True) for i in range(4, 8)]
