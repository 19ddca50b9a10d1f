"""Behaviour of the Kafka producer, topic and dead letter queue during a run."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.component import Runtime
from playground.engine.kafka.log import PartitionLog
from playground.engine.kafka.partitioner import key_name, partition_for_key

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

PRODUCE = 1


class TopicRuntime(Runtime):
    """A topic's partitions. Groups reading it register as readers to be told of new records."""

    def __init__(self, node_id: str, partitions: int) -> None:
        self.id = node_id
        self.logs = [PartitionLog() for _ in range(partitions)]
        self.readers: list[str] = []

    @property
    def partition_count(self) -> int:
        return len(self.logs)

    def append(self, sim: Simulation, partition: int, keys: np.ndarray) -> int:
        keep_from = self.logs[partition].leo
        for reader in self.readers:
            keep_from = min(keep_from, sim.components[reader].keep_from(self.id, partition))
        return self.logs[partition].append(keys, keep_from)

    def leo_total(self) -> int:
        return sum(log.leo for log in self.logs)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.readers:
            return []  # each group reading it accounts for its own copy
        produced = self.leo_total()
        return [{"topic": self.id, "group": None, "produced": produced, "acknowledged": 0, "in_flight": 0,
                 "waiting": produced, "dead_lettered": 0, "dropped": {}}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {
            "leo": self.leo_total(),
            "partitions": [{"p": p, "leo": log.leo, "tail": log.tail()} for p, log in enumerate(self.logs)],
        }


class ProducerRuntime(Runtime):
    """Sends keyed records in batches every linger.ms: Poisson arrivals, Zipf-skewed keys.

    Records gathered during one linger interval are sent as one batch per partition, the way a
    producer's accumulator does; each record's partition is Kafka's murmur2 of its key.
    """

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: TopicRuntime | None) -> None:
        self.id = node_id
        self.rate = float(params["rate"])
        self.linger = float(params["linger_ms"]) / 1000.0
        self.topic = topic.id if topic else None
        self.sent = 0
        self.rng = sim.kernel.rng(f"producer:{node_id}")
        keys = int(params["keys"])
        skew = float(params["key_skew"])
        self.uniform_keys = keys if skew == 0 else 0
        if skew:
            weights = 1.0 / np.arange(1, keys + 1, dtype=np.float64) ** skew
            self.cumulative = np.cumsum(weights / weights.sum())
            self.cumulative[-1] = 1.0
        else:
            self.cumulative = None
        if topic is not None:
            count = topic.partition_count
            self.partition_of = np.fromiter(
                (partition_for_key(key_name(k).encode(), count) for k in range(keys)), dtype=np.int32, count=keys
            )
        if topic is not None and self.rate > 0:
            sim.kernel.schedule(self.linger, PRODUCE, self.id)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        rng = self.rng
        n = int(rng.poisson(self.rate * self.linger))
        sim.kernel.schedule(sim.kernel.now + self.linger, PRODUCE, self.id)
        if n == 0:
            return
        if self.cumulative is None:
            keys = rng.integers(0, self.uniform_keys, n, dtype=np.int32)
        else:
            keys = np.searchsorted(self.cumulative, rng.random(n), side="right").astype(np.int32)
        self.sent += n
        topic: TopicRuntime = sim.components[self.topic]
        parts = self.partition_of[keys]
        order = np.argsort(parts, kind="stable")
        counts = np.bincount(parts, minlength=topic.partition_count)
        keys = keys[order]
        start = 0
        now = sim.kernel.now
        for p in np.flatnonzero(counts).tolist():
            end = start + int(counts[p])
            batch = keys[start:end]
            first = topic.append(sim, p, batch)
            if sim.record_flow:
                sim.emit({"k": "produce", "t": now, "src": self.id, "dst": topic.id, "p": p, "o": first,
                          "n": end - start, "key": key_name(int(batch[0]))})
            for reader in topic.readers:
                sim.components[reader].on_append(sim, topic.id, p)
            start = end

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"sent": self.sent, "rate": self.rate}


class DlqRuntime(Runtime):
    """A dead letter topic: what was given up on, why, and after how many attempts."""

    RECENT = 50

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.count = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.RECENT)

    def add(self, entry: dict[str, Any]) -> None:
        self.count += 1
        self.recent.append(entry)

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"count": self.count, "recent": list(self.recent)}
