"""An AMQP publisher during a run: Poisson arrivals, routing keys, headers, priorities."""

from __future__ import annotations

import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.clients import poisson_tick
from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.rabbitmq.flow import DIRECT_REPLY_TO, MEMORY_WATERMARK, PUBLISH_TICK, TICK_S
from playground.engine.rabbitmq.queue import Message
from playground.engine.rabbitmq.queue_runtime import QueueRuntime
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation


def parse_keys(text: str) -> list[str]:
    """A publisher's routing keys: comma- or newline-separated; an empty entry is the empty key."""
    parts = [p.strip() for p in text.replace("\n", ",").split(",")]
    keys = [p for p in parts if p]
    return keys or [""]


def parse_priorities(text: str) -> list[tuple[int, float]]:
    """``"0:80, 9:20"`` -> [(0, 80.0), (9, 20.0)]; ``"5"`` -> [(5, 1.0)]; ``""`` -> [] (no priority
    property). Raises ValueError with a message for people."""
    out: list[tuple[int, float]] = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        value, sep, weight = part.partition(":")
        try:
            priority = int(value.strip())
            w = float(weight.strip()) if sep else 1.0
        except ValueError:
            raise ValueError(f"{part!r} is not priority:weight (e.g. 0:80, 9:20)") from None
        if not 0 <= priority <= 255:
            raise ValueError(f"priority {priority} is not between 0 and 255")
        if not w > 0 or w != w or w == float("inf"):
            raise ValueError(f"weight of priority {priority} must be a positive number")
        out.append((priority, w))
    return out

def _queues(sim: Simulation) -> list[QueueRuntime]:
    return [c for c in sim.components.values() if isinstance(c, QueueRuntime)]


def _held_by_broker(sim: Simulation) -> int:
    return sum(q.held() for q in _queues(sim))

class PublisherRuntime(Runtime):
    """Publishes messages at a Poisson rate to one exchange (or, through the default exchange,
    straight to one queue), cycling through or drawing from its routing keys."""

    commands = {"publish": "cmd_publish", "reconnect": "cmd_reconnect"}
    command_specs = {"publish": CommandSpec(args=(
        Param("count", "Count", "int", 1, "How many messages to publish now", min=1, max=1000),
        Param("key", "Routing key", "string", "", "Empty: the publisher's routing key"),
        Param("headers", "Headers", "map", {}, "key=value, one a line"),
        Param("priority", "Priority", "int", 0, "Message priority (a priority queue orders by it)", min=0, max=255),
        Param("expiration_ms", "Expiration", "int", 0, "Per-message TTL (empty: none)", min=0, max=86_400_000,
              unit="ms"),
    ))}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], target: str | None,
                 target_is_queue: bool) -> None:
        self.id = node_id
        self.rate = float(params["rate"])
        self.keys = parse_keys(params["routing_keys"])
        self.random_keys = params["key_order"] == "random"
        self.cursor = 0
        self.headers = {k: [v.strip() for v in str(alts).split("|")] for k, alts in params["headers"].items()}
        prios = parse_priorities(params["priorities"])
        self.priorities = [p for p, _ in prios]
        weights = np.array([w for _, w in prios], dtype=np.float64)
        self.priority_cdf = np.cumsum(weights / weights.sum()) if prios else None
        self.ttl = params["message_ttl_ms"] / 1000.0 if params["message_ttl_ms"] > 0 else None
        self.delay_ms = int(params["delay_ms"])
        self.mandatory = bool(params["mandatory"])
        self.persistent = bool(params["persistent"])
        self.reply_to = params["reply_to"].strip() or None
        self.direct = self.reply_to == DIRECT_REPLY_TO
        self.body_bytes = int(params["body_bytes"])
        self.epoch = 1  # direct reply-to: the channel's incarnation, part of the reply address
        self.replies = self.replies_lost = 0
        self.recent_replies: deque[int] = deque(maxlen=20)  # correlation ids, newest last
        self.rtt_total = 0.0
        self.target = target
        self.target_is_queue = target_is_queue
        self.rng = sim.kernel.rng(f"rabbitmq:{node_id}")
        self.uid_base = zlib.crc32(node_id.encode()) << 32
        self.sent = 0
        self.blocked = False
        self.blocked_ticks = 0
        if target is not None and self.rate > 0:
            sim.kernel.schedule(TICK_S, PUBLISH_TICK, self.id)

    def _next_key(self) -> str:
        if self.random_keys:
            return self.keys[int(self.rng.integers(0, len(self.keys)))]
        key = self.keys[self.cursor % len(self.keys)]
        self.cursor += 1
        return key

    def make_message(self, sim: Simulation, key: str | None = None, headers: dict[str, str] | None = None,
                     priority: int | None = None, expiration: float | None = None,
                     size: int | None = None) -> Message:
        if headers is None and self.headers:
            headers = {k: (alts[0] if len(alts) == 1 else alts[int(self.rng.integers(0, len(alts)))])
                       for k, alts in self.headers.items()}
        if self.delay_ms and (headers is None or "x-delay" not in headers):
            headers = dict(headers or {}, **{"x-delay": str(self.delay_ms)})
        if priority is None and self.priority_cdf is not None:
            index = int(np.searchsorted(self.priority_cdf, self.rng.random(), side="right"))
            priority = self.priorities[min(index, len(self.priorities) - 1)]
        self.sent += 1
        return Message(
            self.uid_base | self.sent, "" if self.target_is_queue else (self.target or ""),
            self.target if self.target_is_queue and self.target else (key if key is not None else self._next_key()),
            headers=headers, priority=priority, expiration=self.ttl if expiration is None else expiration,
            published_at=sim.kernel.now,
            reply_to=f"{DIRECT_REPLY_TO}.{self.id}.{self.epoch}" if self.direct else self.reply_to,
            correlation_id=None, size=self.body_bytes if size is None else size,
        )

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        n = poisson_tick(sim, self.id, PUBLISH_TICK, TICK_S, self.rng, self.rate)
        if n == 0:
            return
        blocked = _held_by_broker(sim) >= MEMORY_WATERMARK
        if blocked != self.blocked:
            self.blocked = blocked
            sim.emit({"k": "amqp_blocked", "t": sim.kernel.now, "node": self.id, "blocked": blocked})
        if blocked:
            self.blocked_ticks += 1
            return
        self.send(sim, [self.make_message(sim) for _ in range(n)])

    def send(self, sim: Simulation, messages: list[Message]) -> None:
        if self.target is None or not messages:
            return
        if sim.record_flow:
            first = messages[0]
            sim.emit({"k": "amqp_publish", "t": sim.kernel.now, "src": self.id, "dst": self.target,
                      "n": len(messages), "key": first.routing_key, "p": first.priority or 0})
        target = sim.components[self.target]
        if self.target_is_queue:
            for msg in messages:
                target.enqueue(sim, msg)
        else:
            target.publish(sim, messages, mandatory=self.mandatory)

    def cmd_publish(self, sim: Simulation, command: dict[str, Any]) -> None:
        count = command.get("count", 1)
        key = command.get("key")
        headers = command.get("headers")
        priority = command.get("priority")
        expiration_ms = command.get("expiration_ms")
        if expiration_ms is not None and (isinstance(expiration_ms, bool) or not isinstance(expiration_ms, (int, float))
                                          or not 0 <= expiration_ms <= 86_400_000):
            raise CommandError("expiration_ms must be a number of milliseconds from 0 to 86,400,000")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise CommandError("count must be a whole number from 1 to 1000")
        if key is not None and (not isinstance(key, str) or len(key) > 255):
            raise CommandError("key must be text of at most 255 characters")
        if headers is not None and (not isinstance(headers, dict)
                                    or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
            raise CommandError("headers must be an object of text values")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                     or not 0 <= priority <= 255):
            raise CommandError("priority must be a whole number from 0 to 255")
        if self.target is None:
            raise CommandError(f"publisher {self.id!r} is connected to no exchange or queue")
        size = command.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 134_217_728):
            raise CommandError("size must be a whole number of bytes from 0 to 134,217,728")
        expiration = expiration_ms / 1000.0 if expiration_ms is not None else None
        self.send(sim, [self.make_message(sim, key, dict(headers) if headers is not None else None, priority,
                                          expiration, size) for _ in range(count)])

    def cmd_reconnect(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Close the publisher's channel and open a new one. With direct reply-to, the replies to
        requests sent on the old channel have nowhere to go and are dropped by the broker."""
        self.epoch += 1
        sim.emit({"k": "amqp_consumer", "t": sim.kernel.now, "node": self.id, "c": f"channel {self.epoch}",
                  "change": "reconnected"})

    def direct_reply(self, sim: Simulation, reply: Message, sender: str) -> bool:
        """Direct reply-to ("Direct Reply-to" guide): a reply published to the default exchange
        with the amq.rabbitmq.reply-to.* key the request carried goes straight to the requesting
        channel's no-ack consumer, with no queue in between; if that channel is gone, the broker
        drops it. Returns whether it arrived."""
        if reply.routing_key != f"{DIRECT_REPLY_TO}.{self.id}.{self.epoch}":
            self.replies_lost += 1
            return False
        self.replies += 1
        self.rtt_total += sim.kernel.now - reply.published_at
        self.recent_replies.append(reply.correlation_id or 0)
        if sim.record_flow:
            sim.emit({"k": "amqp_publish", "t": sim.kernel.now, "src": sender, "dst": self.id, "n": 1,
                      "key": DIRECT_REPLY_TO, "p": 0, "reply": True})
        return True

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if not self.direct or not self.replies:
            return []
        return [{"publisher": self.id, "queue": None, "produced": self.replies, "acknowledged": self.replies,
                 "in_flight": 0, "waiting": 0, "dead_lettered": 0, "dropped": {}}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        out: dict[str, Any] = {"sent": self.sent, "rate": self.rate, "blocked": self.blocked}
        if self.direct:
            out.update(direct_reply_to=True, replies=self.replies, replies_lost=self.replies_lost,
                       channel=self.epoch, recent_replies=list(self.recent_replies),
                       rtt_ms=round(1000.0 * self.rtt_total / self.replies, 3) if self.replies else None)
        return out
