"""Pub/Sub publisher and topic during a run. A topic copies each message to every subscription
that existed when it was published ("Subscription overview": a subscription receives the
messages published after it was created); a topic without one loses the message."""

from __future__ import annotations

import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.clients import poisson_tick
from playground.engine.component import Runtime

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

TICK = 0.01
PUBLISH = 1
RECENT = 50
#: publisher flow control ("Flow control", publisher, limit_exceeded_behavior=BLOCK): publishers
#: pause while the subscriptions together hold this many messages (it also bounds memory)
HELD_LIMIT = 200_000

DROP_NO_SUBSCRIPTION = "published to a topic with no subscription (lost)"


class Message:
    """One published message (what every subscription's copy refers to)."""

    __slots__ = ("uid", "key", "size", "published", "topic", "attrs", "record")

    def __init__(self, uid: int, key: str | None, size: int, published: float, topic: str,
                 attrs: dict[str, str] | None = None, record: Any = None) -> None:
        self.uid = uid
        self.key = key
        self.size = size
        self.published = published
        self.topic = topic
        self.attrs = attrs
        self.record = record  # its envelope (record.Record) when it came in with one, e.g. from a bridge



def key_index(key: str | None) -> int:
    """A small number per ordering key, for colours."""
    if not key:
        return 0
    digits = "".join(ch for ch in key if ch.isdigit())
    return int(digits) % 1000 if digits else zlib.crc32(key.encode()) % 1000


class PublisherRuntime(Runtime):
    """Publishes at a Poisson rate; with ordering keys, each message carries one of ``keys``
    (key-0 ... key-N, in turn)."""

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: str | None) -> None:
        self.id = node_id
        self.rate = float(params["rate"])
        self.keys = int(params["ordering_keys"])
        self.size = int(params["message_bytes"])
        self.attrs = dict(params["attributes"]) or None
        self.varying = [(k, str(v).split("|")) for k, v in sorted(dict(params["attribute_values"]).items())]
        self.topic = topic
        self.rng = sim.kernel.rng(f"gcp_pubsub:{node_id}")
        self.uid_base = zlib.crc32(node_id.encode()) << 32
        self.sent = 0
        self.blocked = False
        if topic is not None and self.rate > 0:
            sim.kernel.schedule(TICK, PUBLISH, self.id)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        now = sim.kernel.now
        n = poisson_tick(sim, self.id, PUBLISH, TICK, self.rng, self.rate)
        if n == 0:
            return
        from playground.engine.gcp_pubsub.subscription import SubscriptionRuntime

        held = sum(c.held() for c in sim.components.values() if isinstance(c, SubscriptionRuntime))
        blocked = held >= HELD_LIMIT
        if blocked != self.blocked:
            self.blocked = blocked
            sim.emit({"k": "pubsub_blocked", "t": now, "node": self.id, "blocked": blocked})
        if blocked:
            return
        messages = []
        for _ in range(n):
            key = f"key-{self.sent % self.keys}" if self.keys else None
            self.sent += 1
            messages.append(Message(self.uid_base | self.sent, key, self.size, now, self.topic or "",
                                    self._attributes(self.sent - 1)))
        sim.components[self.topic].publish(sim, self.id, messages)

    def _attributes(self, number: int) -> dict[str, str] | None:
        """The fixed attributes plus, for each varying one, value number ``number`` mod its count
        (an empty value: the message does not carry that attribute)."""
        if not self.varying:
            return self.attrs
        attrs = dict(self.attrs or {})
        for key, values in self.varying:
            value = values[number % len(values)]
            if value:
                attrs[key] = value
        return attrs or None

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"sent": self.sent, "rate": self.rate, "blocked": self.blocked}


class TopicRuntime(Runtime):
    """A topic: fans each message out to its subscriptions; keeps published messages for its
    message retention duration (shown, for seek); lists the dead letters it receives."""

    commands = {"redrive": "cmd_redrive"}

    def __init__(self, node_id: str, params: dict[str, Any], subscriptions: list[str]) -> None:
        self.id = node_id
        self.retention = float(params["message_retention_s"])
        self.subscriptions = subscriptions
        self.published = 0
        self.lost = 0
        self.retained: deque[tuple[float, int, int]] = deque()  # (t, n, bytes)
        self.dl_count = 0
        self.dl_recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.dl_sources: dict[str, int] = {}
        self.redriven = 0

    def publish(self, sim: Simulation, src: str, messages: list[Any], flow: bool = True) -> None:
        now = sim.kernel.now
        n = len(messages)
        self.published += n
        if self.retention > 0:
            self.retained.append((now, n, sum(m.size for m in messages)))
            while self.retained and self.retained[0][0] < now - self.retention:
                self.retained.popleft()
        if flow and sim.record_flow:
            first = messages[0]
            sim.emit({"k": "pubsub_publish", "t": now, "src": src, "dst": self.id, "n": n,
                      "key": first.key or "", "p": key_index(first.key)})
        live = [sim.components[s] for s in self.subscriptions if sim.components[s].created_at <= now]
        if not live:
            self.lost += n
            return
        for sub in live:
            sub.enqueue(sim, messages)

    def receive_dead_letter(self, sim: Simulation, src: str, message: Any, attempts: int, reason: str) -> None:
        """A subscription forwards a message that failed max delivery attempts ("Dead-letter
        topics"): it is published here with CloudPubSubDeadLetterSource* attributes."""
        self.dl_count += 1
        self.dl_sources[src] = self.dl_sources.get(src, 0) + 1
        self.dl_recent.append({"t": sim.kernel.now, "reason": reason, "attempts": attempts,
                               "key": message.key or "", "origin": f"subscription {src}",
                               "topic": message.topic})
        sim.emit({"k": "pubsub_dead_letter", "t": sim.kernel.now, "src": src, "dst": self.id, "n": 1,
                  "key": message.key or "", "p": key_index(message.key), "reason": reason, "attempts": attempts})
        dead = Message(message.uid, message.key, message.size, sim.kernel.now, message.topic,
                       dict(message.attrs or {}, CloudPubSubDeadLetterSourceSubscription=src,
                            CloudPubSubDeadLetterSourceDeliveryCount=str(attempts)), record=message.record)
        self.publish(sim, src, [dead], flow=False)

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Pub/Sub has no redrive of its own: the documented way is to pull the dead-letter
        subscription and republish to the original topic (every subscription of that topic gets
        the message again). Done here for the messages waiting in this topic's subscriptions."""
        from playground.engine.component import CommandError

        moved = 0
        for sub_id in self.subscriptions:
            sub = sim.components[sub_id]
            for message in sub.take_waiting(sim):
                target = sim.components.get(message.topic)
                if not isinstance(target, TopicRuntime) or target is self:
                    continue
                moved += 1
                again = Message(message.uid, message.key, message.size, sim.kernel.now, message.topic,
                                record=message.record)
                target.publish(sim, self.id, [again])
        if not moved:
            raise CommandError(f"no subscription of topic {self.id!r} holds a dead letter to redrive")
        self.redriven += moved
        sim.emit({"k": "pubsub_redrive", "t": sim.kernel.now, "node": self.id, "n": moved})

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if not self.lost:
            return []
        return [{"topic": self.id, "subscription": None, "produced": self.lost, "acknowledged": 0,
                 "in_flight": 0, "waiting": 0, "dead_lettered": 0, "dropped": {DROP_NO_SUBSCRIPTION: self.lost}}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        now = sim.kernel.now
        kept = [r for r in self.retained if r[0] >= now - self.retention] if self.retention > 0 else []
        return {"published": self.published, "lost": self.lost, "subscriptions": len(self.subscriptions),
                "retention_s": self.retention, "retained": sum(r[1] for r in kept),
                "retained_bytes": sum(r[2] for r in kept), "count": self.dl_count,
                "recent": list(self.dl_recent), "dead_letter_sources": dict(self.dl_sources),
                "redriven": self.redriven}
