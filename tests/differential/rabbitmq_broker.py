"""The real RabbitMQ broker and the engine side by side, for the differential tests
(tests/differential/test_rabbitmq*.py): a pika connection that cleans up what it declared, the
engine run driven by commands, x-death in comparable form, rabbitmqctl for policies."""


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
from playground.engine.rabbitmq.queue import Message
from tests.engine.rabbitmq.factories import doc

pika = pytest.importorskip("pika")

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


def connect() -> Iterator[Broker]:
    """The body of each test module's ``broker`` fixture: a Broker, or a skip (a failure in CI)."""
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


def confirmed(broker: Broker, queue: str, body: str, **props: Any) -> bool:
    """Publish through the default exchange on a confirming channel: acked (True) or nacked."""
    try:
        broker.ch.basic_publish("", queue, body.encode(), pika.BasicProperties(**props))
        return True
    except pika.exceptions.NackError:
        return False
