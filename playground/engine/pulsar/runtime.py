"""Pulsar producer and topic during a run."""

from __future__ import annotations

import zlib
from array import array
from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError, Runtime
from playground.engine.pulsar.rules import partition_for_key
from playground.engine.pulsar.storage import ManagedLedger

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

TICK = 0.01
PUBLISH = 1
TRIM = 2
TRIM_EVERY = 1.0
RECENT = 50
HELD_LIMIT = 200_000  # producers block (pending queue full) past this backlog across subscriptions

DROP_NO_SUBSCRIPTION = "no subscription: deleted with its ledger (retention over)"


class ProducerRuntime(Runtime):
    """Sends at a Poisson rate; keyed messages go to the partition of their key's hash, others
    round robin (RoundRobinPartitionMessageRouter, one message at a time here)."""

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: str | None) -> None:
        self.id = node_id
        self.rate = float(params["rate"])
        self.keys = int(params["keys"])
        self.size = int(params["message_bytes"])
        self.topic = topic
        self.rng = sim.kernel.rng(f"pulsar:{node_id}")
        self.sent = 0
        self.rr = 0
        self.blocked = False
        if topic is not None and self.rate > 0:
            sim.kernel.schedule(TICK, PUBLISH, self.id)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        sim.kernel.schedule(sim.kernel.now + TICK, PUBLISH, self.id)
        n = int(self.rng.poisson(self.rate * TICK))
        if n == 0:
            return
        topic: TopicRuntime = sim.components[self.topic]
        blocked = topic.backlog(sim) >= HELD_LIMIT
        if blocked != self.blocked:
            self.blocked = blocked
            sim.emit({"k": "pulsar_blocked", "t": sim.kernel.now, "node": self.id, "blocked": blocked})
        if blocked:
            return
        batch: dict[int, list[int]] = {}
        for _ in range(n):
            key = self.sent % self.keys if self.keys else -1
            self.sent += 1
            if key >= 0:
                p = partition_for_key(f"key-{key}", topic.partitions)
            else:
                p = self.rr % topic.partitions
                self.rr += 1
            batch.setdefault(p, []).append(key)
        for p, keys in sorted(batch.items()):
            topic.append(sim, self.id, p, keys, self.size)

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"sent": self.sent, "rate": self.rate, "blocked": self.blocked}


class TopicRuntime(Runtime):
    """A (possibly partitioned) persistent topic: one managed ledger per partition, the keys of
    the entries it still stores, its subscriptions; lists the dead letters it receives."""

    commands = {"redrive": "cmd_redrive"}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], subscriptions: list[str]) -> None:
        self.id = node_id
        self.partitioned = int(params["partitions"]) > 0
        self.partitions = max(1, int(params["partitions"]))
        self.size_hint = 0
        self.ledgers = [ManagedLedger(params, 1000 * p + zlib.crc32(node_id.encode()) % 1000 * 100_000)
                        for p in range(self.partitions)]
        self.keys = [array("i") for _ in range(self.partitions)]
        self.subscriptions = subscriptions
        self.appended = 0
        self.dl_count = 0
        self.dl_recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.dl_origin: dict[tuple[int, int], str] = {}  # (partition, position) -> topic it came from
        self.redriven = 0
        self.envelopes: dict[tuple[int, int], Any] = {}  # (partition, position) -> record.Record a bridge wrote
        sim.kernel.schedule(TRIM_EVERY, TRIM, self.id)

    def key_of(self, p: int, pos: int) -> int:
        return self.keys[p][pos - self.ledgers[p].start]

    def end(self, p: int) -> int:
        return self.ledgers[p].end

    def backlog(self, sim: Simulation) -> int:
        return sum(sim.components[s].backlog() for s in self.subscriptions)

    def append(self, sim: Simulation, src: str, p: int, keys: list[int], size: int, flow: bool = True) -> int:
        now = sim.kernel.now
        ml = self.ledgers[p]
        first = ml.end
        for _ in keys:
            ml.append(now, size)
        self.keys[p].extend(keys)
        self.appended += len(keys)
        self.size_hint = size
        if flow and sim.record_flow:
            sim.emit({"k": "pulsar_produce", "t": now, "src": src, "dst": self.id, "p": p, "o": first,
                      "n": len(keys), "key": f"key-{keys[0]}" if keys[0] >= 0 else ""})
        for sub in self.subscriptions:
            sim.components[sub].appended(sim, p)
        return first

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        now = sim.kernel.now
        sim.kernel.schedule(now + TRIM_EVERY, TRIM, self.id)
        for p, ml in enumerate(self.ledgers):
            subs = [sim.components[s] for s in self.subscriptions]
            consumed = min((s.mark_delete(p) for s in subs), default=ml.end)
            start = ml.start
            gone = ml.trim(now, consumed)
            if gone:
                del self.keys[p][: ml.start - start]
            ml.offload(now)

    def receive_dead_letter(self, sim: Simulation, src: str, origin_topic: str, key: int, attempts: int,
                            reason: str) -> None:
        """A consumer's DeadLetterPolicy producer publishes the message here and acks the original."""
        self.dl_count += 1
        self.dl_recent.append({"t": sim.kernel.now, "reason": reason, "attempts": attempts,
                               "key": f"key-{key}" if key >= 0 else "",
                               "origin": f"subscription {src} of {origin_topic}",
                               "topic": origin_topic})
        sim.emit({"k": "pulsar_dead_letter", "t": sim.kernel.now, "src": src, "dst": self.id, "n": 1,
                  "key": f"key-{key}" if key >= 0 else "", "reason": reason, "attempts": attempts})
        p = partition_for_key(f"key-{key}", self.partitions) if key >= 0 else 0
        pos = self.ledgers[p].end
        self.dl_origin[(p, pos)] = origin_topic
        self.append(sim, src, p, [key], self.size_hint or 1024, flow=False)

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Pulsar has no redrive of its own: consume this dead-letter topic's subscriptions and
        republish each message to the topic it came from."""
        moved = 0
        for sub_id in self.subscriptions:
            for p0, pos, key in sim.components[sub_id].take_waiting(sim):
                origin = self.dl_origin.pop((p0, pos), None)
                target = sim.components.get(origin) if origin else None
                if not isinstance(target, TopicRuntime) or target is self:
                    continue
                p = partition_for_key(f"key-{key}", target.partitions) if key >= 0 else 0
                target.append(sim, self.id, p, [key], target.size_hint or 1024)
                moved += 1
        if not moved:
            raise CommandError(f"no subscription of topic {self.id!r} holds a dead letter to redrive")
        self.redriven += moved
        sim.emit({"k": "pulsar_redrive", "t": sim.kernel.now, "node": self.id, "n": moved})

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.subscriptions or not self.appended:
            return []
        deleted = sum(ml.deleted_entries for ml in self.ledgers)
        return [{"topic": self.id, "subscription": None, "produced": self.appended, "acknowledged": 0,
                 "in_flight": 0, "waiting": self.appended - deleted, "dead_lettered": 0,
                 "dropped": {DROP_NO_SUBSCRIPTION: deleted} if deleted else {}}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {
            "partitions": [{"p": p, "end": ml.end, "start": ml.start, "ledgers": ml.view(),
                            "bookkeeper_bytes": ml.bookkeeper_bytes(), "offloaded_bytes": ml.offloaded_bytes()}
                           for p, ml in enumerate(self.ledgers)],
            "partitioned": self.partitioned,
            "appended": self.appended,
            "bookkeeper_bytes": sum(ml.bookkeeper_bytes() for ml in self.ledgers),
            "offloaded_bytes": sum(ml.offloaded_bytes() for ml in self.ledgers),
            "stored_entries": sum(ml.end - ml.start for ml in self.ledgers),
            "deleted_ledgers": sum(ml.deleted_ledgers for ml in self.ledgers),
            "backlog": self.backlog(sim),
            "count": self.dl_count, "recent": list(self.dl_recent), "redriven": self.redriven,
        }
