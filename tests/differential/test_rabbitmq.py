"""Differential tests: the engine's RabbitMQ against a real RabbitMQ broker (127.0.0.1:5672,
guest/guest; written against 3.10, the one this machine runs).

Each test runs one small scenario through the real broker (with pika) and through the engine
(a Simulation driven by publish commands, or the queue classes directly where a consumer's
timing would otherwise decide) and compares which queue each message reaches, in what order,
how often it is delivered, and where and why it is dead-lettered (x-death). Names are unique
per run and everything declared is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from playground import engine
from playground.engine.rabbitmq.queue import ClassicQueue, ConsumerRing, Message
from tests.engine.rabbitmq.factories import doc, edge, node

pika = pytest.importorskip("pika")

pytestmark = pytest.mark.service

HOST, PORT = "127.0.0.1", 5672


class Broker:
    """A pika connection with one channel, remembering what it declared so it can clean up."""

    def __init__(self) -> None:
        params = pika.ConnectionParameters(HOST, PORT, credentials=pika.PlainCredentials("guest", "guest"),
                                           connection_attempts=1, socket_timeout=3, blocked_connection_timeout=10)
        self.conn_params = params
        self.conn = pika.BlockingConnection(params)
        self.ch = self.conn.channel()
        self.prefix = f"fanout-{uuid.uuid4().hex[:8]}"
        self.exchanges: list[str] = []
        self.queues: list[str] = []
        self.policies: list[str] = []

    def name(self, local: str) -> str:
        return f"{self.prefix}.{local}" if local else ""

    def exchange(self, local: str, kind: str) -> str:
        name = self.name(local)
        self.ch.exchange_declare(name, exchange_type=kind, auto_delete=False)
        self.exchanges.append(name)
        return name

    def queue(self, local: str, **arguments: Any) -> str:
        name = self.name(local)
        durable = arguments.get("x-queue-type") in ("quorum", "stream")  # they must be durable
        self.ch.queue_declare(name, durable=durable, arguments=arguments or None)
        self.queues.append(name)
        return name

    def publish(self, exchange: str, key: str, body: str, **props: Any) -> None:
        self.ch.basic_publish(exchange, key, body.encode(), pika.BasicProperties(**props))

    def drain(self, queue: str) -> list[tuple[str, Any, Any]]:
        """basic.get until empty, acking: [(body, method, properties)]."""
        out = []
        while True:
            method, props, body = self.ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((body.decode(), method, props))

    def bodies(self, queue: str) -> list[str]:
        return [b for b, _, _ in self.drain(queue)]

    def settle(self, seconds: float = 0.15) -> None:
        self.conn.process_data_events(time_limit=seconds)

    def wait_for(self, done: Any, timeout: float = 10.0) -> None:
        """Process deliveries until ``done()`` holds (a loaded machine may be slow), then a
        little longer so that any extra delivery would show up too."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.05)
        self.settle(0.2)

    def wait_count(self, queue: str, n: int, timeout: float = 10.0) -> None:
        """Wait until ``queue`` holds ``n`` ready messages (dead-lettering is asynchronous)."""
        deadline = time.monotonic() + timeout
        while self.ch.queue_declare(queue, passive=True).method.message_count < n and time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.05)
        self.settle(0.1)

    def set_policy(self, local: str, pattern: str, definition: dict[str, Any], *, priority: int = 0,
                   apply_to: str = "all") -> None:
        """rabbitmqctl set_policy; ``pattern`` is the engine's (on node ids), anchored here to this
        run's prefix so that no other queue on the broker is touched."""
        name = self.name(local)
        real = "^" + re.escape(self.prefix + ".") + (pattern[1:] if pattern.startswith("^") else ".*" + pattern)
        ctl("set_policy", name, real, json.dumps(definition), "--priority", str(priority), "--apply-to", apply_to)
        self.policies.append(name)

    def close(self) -> None:
        try:
            for name in self.policies:
                ctl("clear_policy", name)
            for q in self.queues:
                self.ch.queue_delete(q)
            for x in self.exchanges:
                self.ch.exchange_delete(x)
        finally:
            self.conn.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    try:
        b = Broker()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no broker here"
        message = f"RabbitMQ is not reachable on {HOST}:{PORT}: {exc!r}"
        if os.environ.get("CI") == "true" or os.environ.get("FANOUT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield b
    finally:
        b.close()


def ctl(*args: str) -> str:
    """Run rabbitmqctl (pika cannot set policies; the management plugin is not enabled here)."""
    out = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


def need_rabbitmqctl() -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed here: policies cannot be set")


class EngineRun:
    """A Simulation driven by publish commands; remembers which uid is which message."""

    def __init__(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        self.sim = engine.Simulation(engine.parse_document(doc(nodes, edges)), 1)
        self.names: dict[int, str] = {}

    def publish(self, publisher: str, body: str, **command: Any) -> None:
        self.sim.apply({"op": "publish", "node": publisher, **command})
        runtime = self.sim.components[publisher]
        self.names[runtime.uid_base | runtime.sent] = body

    def bodies(self, queue: str) -> list[str]:
        return [self.names[e.msg.uid] for e in self.sim.components[queue].q.entries()]

    def entries(self, queue: str) -> list[Any]:
        return self.sim.components[queue].q.entries()


def xdeath(headers: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The broker's x-death, reduced to what the engine models (no wall-clock time)."""
    out = []
    for d in (headers or {}).get("x-death", []):
        item = {"queue": d["queue"], "reason": d["reason"], "count": d["count"], "exchange": d["exchange"],
                "routing-keys": list(d["routing-keys"])}
        if "original-expiration" in d:
            item["original-expiration"] = int(d["original-expiration"])
        out.append(item)
    return out


def engine_xdeath(msg: Message, rename: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for d in msg.deaths:
        item = {"queue": rename.get(d.queue, d.queue), "reason": d.reason, "count": d.count,
                "exchange": rename.get(d.exchange, d.exchange),
                "routing-keys": [rename.get(k, k) for k in d.routing_keys]}
        if d.original_expiration is not None:
            item["original-expiration"] = round(d.original_expiration * 1000)
        out.append(item)
    return out


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


# -- quorum queues ------------------------------------------------------------------------------

def confirmed(broker: Broker, queue: str, body: str, **props: Any) -> bool:
    """Publish through the default exchange on a confirming channel: acked (True) or nacked."""
    try:
        broker.ch.basic_publish("", queue, body.encode(), pika.BasicProperties(**props))
        return True
    except pika.exceptions.NackError:
        return False


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


# -- policies --------------------------------------------------------------------------------

def test_policies_and_their_precedence_against_queue_arguments_match_the_broker(broker: Broker) -> None:
    """Set with rabbitmqctl set_policy. Of the policies matching a queue the highest priority
    applies (rabbit_policy match/2) and apply-to filters by kind. Against queue arguments:
    classic queues take the lower max-length and message-ttl and keep their own overflow and
    dead-letter exchange (process_args_policy/1); a quorum queue takes the policy's overflow
    (ra_machine_config/1). An exchange gets its alternate exchange from a policy. Compared: what
    stays in each queue, what is dead-lettered where (x-death), and which policy applies."""
    need_rabbitmqctl()
    dlx_p, dlx_q, ae = broker.exchange("dlx-p", "fanout"), broker.exchange("dlx-q", "fanout"), None
    dlq_p, dlq_q = broker.queue("dlq-p"), broker.queue("dlq-q")
    broker.ch.queue_bind(dlq_p, dlx_p, "")
    broker.ch.queue_bind(dlq_q, dlx_q, "")
    ae = broker.exchange("ae", "fanout")
    lost = broker.queue("lost")
    broker.ch.queue_bind(lost, ae, "")
    main = broker.exchange("lim-x", "direct")
    queues = {  # engine params, real arguments
        "lim-a": ({"max_length": 5}, {"x-max-length": 5}),
        "lim-b": ({}, {}),
        "lim-c": ({"max_length": 2, "overflow": "reject-publish"}, {"x-max-length": 2, "x-overflow": "reject-publish"}),
        "lim-d": ({}, {"x-dead-letter-exchange": dlx_q}),
        "lim-e": ({"message_ttl_ms": 20}, {"x-message-ttl": 20}),
        "qlim": ({"queue_type": "quorum", "overflow": "reject-publish"},
                 {"x-queue-type": "quorum", "x-overflow": "reject-publish"}),
    }
    nodes = [node("dlx-p", "amqp_exchange", type="fanout"), node("dlx-q", "amqp_exchange", type="fanout"),
             node("dlq-p", "amqp_queue"), node("dlq-q", "amqp_queue"), node("ae", "amqp_exchange", type="fanout"),
             node("lost", "amqp_queue"), node("lim-x", "amqp_exchange", type="direct"),
             node("pub-x", "amqp_publisher", rate=0),
             node("p1", "amqp_policy", pattern="lim", apply_to="queues", priority=1, max_length=3,
                  overflow="drop-head", dead_letter_exchange="dlx-p", message_ttl_ms=60000),
             node("p2", "amqp_policy", pattern="lim-b$", apply_to="queues", priority=5, max_length=4,
                  dead_letter_exchange="dlx-p"),
             node("p3", "amqp_policy", pattern="lim-x$", apply_to="exchanges", priority=9, alternate_exchange="ae")]
    edges = [edge("dlx-p", "dlq-p"), edge("dlx-q", "dlq-q"), edge("ae", "lost"), edge("pub-x", "lim-x")]
    for q, (params, args) in queues.items():
        broker.queue(q, **args)
        nodes += [node(q, "amqp_queue", **params), node(f"pub-{q}", "amqp_publisher", rate=0)]
        edges.append(edge(f"pub-{q}", q))
        if q == "lim-d":
            edges.append(edge(q, "dlx-q"))
    rename = {"dlx-p": dlx_p, "dlx-q": dlx_q, **{q: broker.name(q) for q in queues}}
    broker.set_policy("p1", "lim", {"max-length": 3, "overflow": "drop-head", "dead-letter-exchange": dlx_p,
                                    "message-ttl": 60000}, priority=1, apply_to="queues")
    broker.set_policy("p2", "lim-b$", {"max-length": 4, "dead-letter-exchange": dlx_p}, priority=5,
                      apply_to="queues")
    broker.set_policy("p3", "lim-x$", {"alternate-exchange": ae}, priority=9, apply_to="exchanges")
    time.sleep(1.0)  # queues pick up policy changes asynchronously
    run = EngineRun(nodes, edges)
    broker.ch.confirm_delivery()
    for i in range(6):
        for q in queues:
            if q == "lim-e" and i >= 2:
                continue  # two messages: below the limit, they only expire (TTL: the lower, 20 ms)
            confirmed(broker, broker.name(q), f"{q}-{i}")
            run.publish(f"pub-{q}", f"{q}-{i}")
    broker.publish(main, "nobody", "x-0")
    run.publish("pub-x", "x-0", key="nobody")
    time.sleep(0.3)
    run.sim.advance(0.3)
    applied = dict(line.split("\t")[:2] for line in ctl("list_queues", "name", "policy").splitlines()
                   if line.startswith(broker.prefix))
    assert {q: run.sim.metrics()["nodes"][q]["policy"] for q in queues} == {
        q: applied[broker.name(q)].removeprefix(broker.prefix + ".") for q in queues}
    for q in queues:
        assert run.bodies(q) == broker.bodies(broker.name(q)), q
    for dlq in ("dlq-p", "dlq-q"):
        real = broker.drain(broker.name(dlq))
        assert sorted(run.bodies(dlq)) == sorted(b for b, _, _ in real), dlq
        by_body = {b: props for b, _, props in real}
        for entry in run.entries(dlq):
            assert engine_xdeath(entry.msg, rename) == xdeath(by_body[run.names[entry.msg.uid]].headers)
    assert run.bodies("lost") == broker.bodies(lost) == ["x-0"]
    assert run.bodies("lim-b") == ["lim-b-2", "lim-b-3", "lim-b-4", "lim-b-5"]  # p2's 4, not p1's 3
    assert run.bodies("lim-c") == ["lim-c-0", "lim-c-1"]  # its own 2 and reject-publish


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


# -- direct reply-to -------------------------------------------------------------------------

def test_direct_reply_to_matches_the_broker(broker: Broker) -> None:
    """"Direct Reply-to": the requester consumes amq.rabbitmq.reply-to with no-ack and sends
    requests with reply_to amq.rabbitmq.reply-to; the server sees a generated
    amq.rabbitmq.reply-to.* address and publishes its reply there through the default
    exchange; replies arrive in order, with no queue. Replies to a requester whose channel has
    closed are dropped. The engine's requester gets the same replies in the same order and
    loses the same ones."""
    rpc = broker.queue("rpc")
    client = broker.conn.channel()
    replies: list[str] = []
    client.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(p.correlation_id),
                         auto_ack=True)
    for i in range(3):
        client.basic_publish("", rpc, b"req", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                                                   correlation_id=str(i)))
    broker.settle(0.2)

    def serve(n: int) -> list[str]:
        addresses = []
        for _ in range(n):
            method, props, _ = broker.ch.basic_get(rpc, auto_ack=True)
            addresses.append(props.reply_to)
            answer = pika.BasicProperties(correlation_id=props.correlation_id)
            broker.ch.basic_publish("", props.reply_to, b"resp", answer)
        return addresses

    addresses = serve(3)
    broker.wait_for(lambda: len(replies) >= 3)
    assert all(a.startswith("amq.rabbitmq.reply-to.") for a in addresses) and len(set(addresses)) == 1
    for i in range(2):
        client.basic_publish("", rpc, b"req", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                                                   correlation_id=f"late-{i}"))
    broker.settle(0.2)
    client.close()  # the requester goes away before the replies
    serve(2)
    again = broker.conn.channel()
    late: list[str] = []
    again.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: late.append(p.correlation_id), auto_ack=True)
    broker.settle(0.5)
    again.close()

    run = EngineRun([node("client", "amqp_publisher", rate=0, reply_to="amq.rabbitmq.reply-to"),
                     node("rpc", "amqp_queue"),
                     node("server", "amqp_consumer", consumers=1, prefetch=1, processing_ms=10)],
                    [edge("client", "rpc"), edge("rpc", "server")])
    for i in range(3):
        run.publish("client", str(i))
    run.sim.advance(2.0)
    for i in range(2):
        run.publish("client", f"late-{i}")
    run.sim.apply({"op": "reconnect", "node": "client"})
    run.sim.advance(2.0)
    m = run.sim.metrics()["nodes"]["client"]
    assert [run.names[uid] for uid in m["recent_replies"]] == replies == ["0", "1", "2"]
    assert m["replies_lost"] == 2 and late == []
