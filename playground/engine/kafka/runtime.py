"""Behaviour of the Kafka producer, topic and dead letter queue during a run."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.component import CommandError, Runtime
from playground.engine.kafka.log import PartitionLog
from playground.engine.kafka.producer import ProducerRuntime  # noqa: F401  (moved to producer.py)
from playground.engine.kafka.replication import PartitionState, ReplicatedTopic
from playground.engine.kafka.storage import TopicStorage

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

PRODUCE = 1


class TopicRuntime(ReplicatedTopic, Runtime):
    """A topic's partitions. Groups reading it register as readers to be told of new records.

    With a cluster (``attach_cluster``) each partition is replicated (see replication.py) and
    ``logs`` hold what is committed, up to the high watermark.
    """

    def __init__(self, node_id: str, partitions: int, params: dict[str, Any] | None = None) -> None:
        self.id = node_id
        self.storage = TopicStorage(node_id, params or {})  # segments, retention, compaction
        self.logs = [PartitionLog(self.storage.config) for _ in range(partitions)]
        self.readers: list[str] = []
        self.parts: list[PartitionState] | None = None  # replication state, with a cluster
        self.cluster: str | None = None
        self.min_isr = 1
        self.gaps: dict[tuple[str, int], list[tuple[int, int]]] = {}  # (reader, p) -> ranges it skips

    def attach_cluster(self, sim: Simulation, cluster: Any, replication_factor: int, min_isr: int) -> None:
        self.cluster = cluster.id
        self.min_isr = min_isr
        self.parts = cluster.register_topic(sim, self, replication_factor)

    @property
    def partition_count(self) -> int:
        return len(self.logs)

    def append(self, sim: Simulation, partition: int, keys: np.ndarray, tombstones: np.ndarray | None = None) -> int:
        log = self.logs[partition]
        keep_from = log.leo
        if not log.has_room(len(keys)):  # the rows are full: find what readers still need
            for reader in self.readers:
                keep_from = min(keep_from, sim.components[reader].keep_from(self.id, partition))
        if not self.storage.started:
            self.storage.start(sim)
        return log.append(keys, keep_from, sim.kernel.now, tombstones)

    def log_start_offset(self, partition: int) -> int:
        """The first offset a fetch may ask for: a reader below it has lost what retention deleted."""
        return self.logs[partition].log_start

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if not self.storage.on_event(sim, self.logs, self.readers, kind):
            super().on_event(sim, kind, arg)

    def leo_total(self) -> int:
        return sum(log.leo for log in self.logs)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.readers:
            return []  # each group reading it accounts for its own copy
        return [{"topic": self.id, "group": None, **self.storage.unread_stream(self.logs)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        views = self.storage.partition_views(self.logs, sim.kernel.now)
        replicated = self.replication_views(sim)  # leader, replicas, ISR, leo (the leader's), hw
        if replicated:
            for view, rep in zip(views, replicated, strict=True):
                view.update(rep)
        return {
            "leo": self.leo_total(),
            "partitions": [{"p": p, "leo": log.leo, "hw": log.leo, "tail": log.tail(), **views[p]}
                           for p, log in enumerate(self.logs)],
            "storage": self.storage.summary(self.logs),
            "cluster": self.cluster,
        }


class DlqRuntime(Runtime):
    """A dead letter topic: what was given up on, why, and after how many attempts.

    Redrive is what a small redrive application does (Kafka has none built in): it reads the
    dead letters and produces each again, with its key, to the partition it came from, as a new
    record at the end of the log. The dead letter topic keeps its records (a Kafka log deletes
    nothing on read); ``redriven`` counts what was sent back.
    """

    RECENT = 50
    MAX_PENDING = 200_000  # dead letters remembered for redrive; older ones can no longer be sent back
    commands = {"redrive": "cmd_redrive"}
    command_labels = {"redrive": "Redrive"}

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.count = 0
        self.redriven = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.RECENT)
        self.pending: deque[tuple[str, int, int]] = deque(maxlen=self.MAX_PENDING)

    def add(self, entry: dict[str, Any], key_index: int = -1) -> None:
        self.count += 1
        self.recent.append(entry)
        if not entry.get("duplicate"):
            self.pending.append((entry["topic"], entry["p"], key_index))

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Send every dead letter not yet redriven back to its topic and partition."""
        if not self.pending:
            raise CommandError(f"{self.id!r} has no dead letters waiting to be redriven")
        batches: dict[tuple[str, int], list[int]] = {}
        for topic, p, key in self.pending:
            if getattr(sim.components[topic], "cluster", None):
                raise CommandError("redrive into a replicated topic (one on a Kafka cluster) is not modelled yet")
            batches.setdefault((topic, p), []).append(max(key, 0))
        for (topic_id, p), keys in batches.items():
            topic = sim.components[topic_id]
            first = topic.append(sim, p, np.array(keys, dtype=np.int32))
            sim.emit({"k": "redrive", "t": sim.kernel.now, "src": self.id, "dst": topic_id, "p": p, "o": first,
                      "n": len(keys)})
            for reader in topic.readers:
                sim.components[reader].on_append(sim, topic_id, p)
        self.redriven += len(self.pending)
        self.pending.clear()

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"count": self.count, "recent": list(self.recent), "redriven": self.redriven}
