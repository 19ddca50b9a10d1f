"""Pulsar producer and topic during a run."""

from __future__ import annotations

import zlib
from array import array
from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.clients import poisson_tick
from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.pulsar import rules
from playground.engine.pulsar.replication import REPLICATE
from playground.engine.pulsar.rules import partition_for_key
from playground.engine.pulsar.storage import ManagedLedger
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

TICK = 0.01
PUBLISH = 1
TRIM = 2
RESEND = 3
RESEND_AFTER_S = 1.0  # the client reconnects and sends its pending messages again about this much later
TRIM_EVERY = 1.0
RECENT = 50
HELD_LIMIT = 200_000  # producers block (pending queue full) past this backlog across subscriptions

DROP_NO_SUBSCRIPTION = "no subscription: deleted with its ledger (retention over)"


class ProducerRuntime(Runtime):
    """Sends at a Poisson rate; keyed messages go to the partition of their key's hash, others
    round robin (RoundRobinPartitionMessageRouter, one message at a time here). Each message
    carries the producer's name (its node id) and a sequence id, one counter per partition (each
    partition has its own producer in the Java client), and a deliverAt time when delayed."""

    commands = {"send": "cmd_send"}
    command_specs = {"send": CommandSpec(args=(
        Param("count", "Count", "int", 1, "How many messages to send now", min=1, max=1000),
        Param("key", "Key number", "int", 0, "The key of the messages (empty: drawn as the producer draws)", min=0,
              max=1_000_000),
        Param("deliver_after_s", "Deliver after", "float", 0.0, "deliverAfter: held until then (Shared and "
              "Key_Shared subscriptions)", min=0, max=86_400, unit="s"),
        Param("deliver_at", "Deliver at", "float", 0.0, "deliverAt: a simulated time", min=0, unit="s"),
    ))}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: str | None) -> None:
        self.id = node_id
        self.rate = float(params["rate"])
        self.keys = int(params["keys"])
        self.size = int(params["message_bytes"])
        self.deliver_after = float(params["deliver_after_s"])
        self.resend_p = float(params["resend_probability"])
        self.topic = topic
        self.rng = sim.kernel.rng(f"pulsar:{node_id}")
        self.sent = self.resent = 0
        self.rr = 0
        self.seq: dict[int, int] = {}
        self.blocked = False
        self.failed = 0
        if topic is not None and self.rate > 0:
            sim.kernel.schedule(TICK, PUBLISH, self.id)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == RESEND:
            p, key, seq, deliver_at = arg
            topic = sim.components[self.topic]
            if topic.down:
                self.failed += 1  # the retry fails too: the application sees the send error
                return
            self.resent += 1
            topic.append(sim, self.id, p, [key], self.size, seqs=[seq], deliver_at=[deliver_at], resend=True)
            return
        n = poisson_tick(sim, self.id, PUBLISH, TICK, self.rng, self.rate)
        if n:
            self.publish(sim, n, None, self.deliver_after)

    def publish(self, sim: Simulation, n: int, fixed_key: int | None, delay: float,
                deliver_at: float | None = None) -> None:
        topic: TopicRuntime = sim.components[self.topic]
        blocked = topic.backlog(sim) >= HELD_LIMIT
        if blocked != self.blocked:
            self.blocked = blocked
            sim.emit({"k": "pulsar_blocked", "t": sim.kernel.now, "node": self.id, "blocked": blocked})
        if blocked or topic.down:
            self.failed += n if topic.down else 0
            return
        now = sim.kernel.now
        at = deliver_at if deliver_at is not None else (now + delay if delay > 0 else 0.0)
        batch: dict[int, list[int]] = {}
        for _ in range(n):
            if fixed_key is not None:
                key = fixed_key
            else:
                key = self.sent % self.keys if self.keys else -1
            self.sent += 1
            if key >= 0:
                p = partition_for_key(f"key-{key}", topic.partitions)
            else:
                p = self.rr % topic.partitions
                self.rr += 1
            batch.setdefault(p, []).append(key)
        for p, keys in sorted(batch.items()):
            first = self.seq.get(p, 0)
            seqs = list(range(first, first + len(keys)))
            self.seq[p] = first + len(keys)
            topic.append(sim, self.id, p, keys, self.size, seqs=seqs, deliver_at=[at] * len(keys))
            if self.resend_p > 0:
                for key, seq in zip(keys, seqs, strict=True):
                    if self.rng.random() < self.resend_p:
                        sim.kernel.schedule(now + RESEND_AFTER_S, RESEND, self.id, (p, key, seq, at))

    def cmd_send(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Send ``count`` messages now (optionally with ``key``, a key number, and a delay:
        ``deliver_after_s`` seconds, or ``deliver_at``, a simulated time)."""
        count = command.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise CommandError("count must be a whole number from 1 to 1000")
        key = command.get("key")
        if key is not None and (isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 1_000_000):
            raise CommandError("key must be a key number from 0 to 1000000")
        delay = command.get("deliver_after_s", self.deliver_after)
        at = command.get("deliver_at")
        for name, value in (("deliver_after_s", delay), ("deliver_at", at)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise CommandError(f"{name} must be a number of seconds, at least 0")
        if self.topic is None:
            raise CommandError(f"producer {self.id!r} is connected to no topic")
        if sim.components[self.topic].down:
            self.failed += count
            raise CommandError(f"topic {self.topic!r}: its cluster is down, the send fails")
        self.publish(sim, count, key, float(delay), None if at is None else float(at))

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"sent": self.sent, "rate": self.rate, "blocked": self.blocked, "resent": self.resent,
                "failed": self.failed, "deliver_after_s": self.deliver_after}


class TopicRuntime(Runtime):
    """A (possibly partitioned) persistent topic: one managed ledger per partition, the keys of
    the entries it still stores, its subscriptions; lists the dead letters it receives."""

    commands = {"redrive": "cmd_redrive", "fail_cluster": "cmd_fail_cluster", "restore_cluster": "cmd_restore_cluster"}

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
        self.deliver_ats = [array("d") for _ in range(self.partitions)]
        self.replicated = [array("b") for _ in range(self.partitions)]  # 1: written by a replicator
        self.dedup = bool(params["deduplication"])
        self.last_seq: dict[tuple[str, int], int] = {}  # (producer name, partition) -> highest sequence id
        self.deduplicated = self.stored_duplicates = 0
        self.cluster = str(params["cluster"]) or node_id
        self.down = False
        self.replicators: list[Any] = []  # replication.Replicator, set up by the node type's build
        self.envelopes: dict[tuple[int, int], Any] = {}  # (partition, position) -> record.Record a bridge wrote
        sim.kernel.schedule(TRIM_EVERY, TRIM, self.id)

    def key_of(self, p: int, pos: int) -> int:
        return self.keys[p][pos - self.ledgers[p].start]

    def deliver_at(self, p: int, pos: int) -> float:
        return self.deliver_ats[p][pos - self.ledgers[p].start]

    def is_replicated(self, p: int, pos: int) -> bool:
        return bool(self.replicated[p][pos - self.ledgers[p].start])

    def end(self, p: int) -> int:
        return self.ledgers[p].end

    def backlog(self, sim: Simulation) -> int:
        return sum(sim.components[s].backlog() for s in self.subscriptions)

    def append(self, sim: Simulation, src: str, p: int, keys: list[int], size: int, flow: bool = True,
               seqs: list[int] | None = None, deliver_at: list[float] | None = None, resend: bool = False,
               replicated: bool = False) -> int:
        """Persist messages at the end of partition ``p``; returns the position of the first.
        With deduplication on, a message whose sequence id is not above the highest one persisted
        for its producer is acknowledged but not stored (MessageDeduplication.isDuplicate)."""
        now = sim.kernel.now
        ml = self.ledgers[p]
        first = ml.end
        ats = deliver_at if deliver_at is not None else [0.0] * len(keys)
        if seqs is not None and (self.dedup or resend):
            kept_keys, kept_ats = [], []
            for key, seq, at in zip(keys, seqs, ats, strict=True):
                if self.dedup:
                    if rules.is_duplicate(self.last_seq.get((src, p)), seq):
                        self.deduplicated += 1
                        sim.emit({"k": "pulsar_deduplicated", "t": now, "node": self.id, "src": src, "p": p,
                                  "seq": seq})
                        continue
                    self.last_seq[(src, p)] = seq
                elif resend:
                    self.stored_duplicates += 1  # deduplication off: the retry is stored a second time
                kept_keys.append(key)
                kept_ats.append(at)
            keys, ats = kept_keys, kept_ats
            if not keys:
                return first
        for _ in keys:
            ml.append(now, size)
        self.keys[p].extend(keys)
        self.deliver_ats[p].extend(ats)
        self.replicated[p].extend([1 if replicated else 0] * len(keys))
        self.appended += len(keys)
        self.size_hint = size
        if flow and sim.record_flow:
            sim.emit({"k": "pulsar_produce", "t": now, "src": src, "dst": self.id, "p": p, "o": first,
                      "n": len(keys), "key": f"key-{keys[0]}" if keys[0] >= 0 else ""})
        for sub in self.subscriptions:
            sim.components[sub].appended(sim, p)
        if not replicated:
            for replicator in self.replicators:
                replicator.appended(sim, p)
        return first

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == REPLICATE:
            self.replicators[arg].arrive(sim)
            return
        now = sim.kernel.now
        sim.kernel.schedule(now + TRIM_EVERY, TRIM, self.id)
        for p, ml in enumerate(self.ledgers):
            subs = [sim.components[s] for s in self.subscriptions]
            consumed = min([s.mark_delete(p) for s in subs] + [r.mark_delete(p) for r in self.replicators],
                           default=ml.end)
            start = ml.start
            gone = ml.trim(now, consumed)
            if gone:
                del self.keys[p][: ml.start - start]
                del self.deliver_ats[p][: ml.start - start]
                del self.replicated[p][: ml.start - start]
            ml.offload(now)
        for replicator in self.replicators:
            replicator.tick(sim)

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

    def _cluster(self, sim: Simulation) -> list[TopicRuntime]:
        return [c for c in sim.components.values() if isinstance(c, TopicRuntime) and c.cluster == self.cluster]

    def cmd_fail_cluster(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Take down the cluster this topic lives in (every topic with the same cluster name):
        sends to it fail, its consumers are disconnected, replication to and from it stops and
        its replicators' backlog waits in the other clusters."""
        if self.down:
            raise CommandError(f"cluster {self.cluster!r} is already down")
        for topic in self._cluster(sim):
            topic.down = True
            for sub in topic.subscriptions:
                sim.components[sub].outage(sim)
        sim.emit({"k": "pulsar_cluster", "t": sim.kernel.now, "node": self.id, "cluster": self.cluster,
                  "change": "down"})

    def cmd_restore_cluster(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Bring the cluster back: consumers reconnect, replication catches up."""
        if not self.down:
            raise CommandError(f"cluster {self.cluster!r} is not down")
        topics = self._cluster(sim)
        for topic in topics:
            topic.down = False
            for sub in topic.subscriptions:
                sim.components[sub].restore(sim)
        for topic in (c for c in sim.components.values() if isinstance(c, TopicRuntime)):
            for replicator in topic.replicators:
                for p in range(topic.partitions):
                    replicator.appended(sim, p)
        sim.emit({"k": "pulsar_cluster", "t": sim.kernel.now, "node": self.id, "cluster": self.cluster,
                  "change": "restored"})

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
            "deduplication": self.dedup, "deduplicated": self.deduplicated, "duplicates": self.stored_duplicates,
            "cluster": self.cluster, "down": self.down,
            "replication": [r.view(sim) for r in self.replicators],
        }
