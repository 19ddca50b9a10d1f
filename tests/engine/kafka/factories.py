"""Partition logs and storage-heavy topologies for the segment, retention and compaction tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from playground import engine
from playground.engine.kafka.log import PartitionLog
from playground.engine.kafka.segments import LogConfig


def log_with(**config: Any) -> PartitionLog:
    return PartitionLog(LogConfig(**config))


def append(log: PartitionLog, keys: list[int], now: float = 0.0, tombstones: list[bool] | None = None) -> int:
    tombs = None if tombstones is None else np.array(tombstones, dtype=bool)
    return log.append(np.array(keys, dtype=np.int32), log.leo, now, tombs)


def storage_doc(*, readers: int = 1, rate: float = 200.0, keys: int = 20, partitions: int = 2,
                tombstone_share: float = 0.0, processing_ms: float = 2.0, consumers: int = 1,
                **topic: Any) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "producer", "type": "producer",
         "params": {"rate": rate, "keys": keys, "tombstone_share": tombstone_share}},
        {"id": "topic", "type": "kafka_topic", "params": {"partitions": partitions, **topic}},
    ]
    edges = [{"source": "producer", "target": "topic"}]
    for i in range(readers):
        nodes.append({"id": f"group{i}", "type": "consumer_group",
                      "params": {"consumers": consumers, "processing_ms": processing_ms}})
        edges.append({"source": "topic", "target": f"group{i}"})
    return {"fanout": 1, "name": "storage test", "nodes": nodes, "edges": edges}


def storage_sim(seed: int = 3, **kwargs: Any) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(storage_doc(**kwargs)), seed, record_flow=False)


def conserved(sim: engine.Simulation) -> None:
    for s in sim.streams():
        total = s["acknowledged"] + s["in_flight"] + s["waiting"] + s["dead_lettered"] + sum(s["dropped"].values())
        assert s["produced"] == total, s
        assert min(s["acknowledged"], s["in_flight"], s["waiting"]) >= 0, s
