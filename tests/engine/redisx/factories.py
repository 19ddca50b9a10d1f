"""Tiny document factories for the Redis engine tests."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from playground import engine
from playground.engine.redisx.group import GroupState
from playground.engine.redisx.ids import make_id
from playground.engine.redisx.stream import StreamLog
from tests.conftest import run as run_for


def stream_doc(*, rate: float = 100.0, maxlen: int = 0, trim: str = "exact", dlq: bool = True,
               **group: Any) -> dict[str, Any]:
    nodes = [
        {"id": "pub", "type": "redis_publisher", "params": {"rate": rate}},
        {"id": "stream", "type": "redis_stream", "params": {"maxlen": maxlen, "trim": trim}},
        {"id": "group", "type": "redis_consumer_group", "params": {"processing_ms": 2.0, **group}},
    ]
    edges = [{"source": "pub", "target": "stream"}, {"source": "stream", "target": "group"}]
    if dlq:
        nodes.append({"id": "dlq", "type": "redis_dead_letter_stream"})
        edges.append({"source": "group", "target": "dlq"})
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def pubsub_doc(*, rate: float = 100.0, subscribers: int = 1, pattern: str = "", channel: str = "orders",
               with_stream: bool = False, **sub: Any) -> dict[str, Any]:
    nodes = [{"id": "pub", "type": "redis_publisher", "params": {"rate": rate}},
             {"id": "ch", "type": "redis_channel", "params": {"channel": channel}}]
    edges = [{"source": "pub", "target": "ch"}]
    for i in range(1, subscribers + 1):
        nodes.append({"id": f"sub{i}", "type": "redis_subscriber", "params": {"processing_ms": 1.0, **sub}})
        edges.append({"source": "ch", "target": f"sub{i}", "params": {"pattern": pattern}})
    if with_stream:
        nodes += [{"id": "stream", "type": "redis_stream", "params": {}},
                  {"id": "group", "type": "redis_consumer_group", "params": {"consumers": 1, "processing_ms": 1.0}}]
        edges += [{"source": "pub", "target": "stream"}, {"source": "stream", "target": "group"}]
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def sim_of(doc: dict[str, Any], seed: int = 7) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(doc), seed)


run = partial(run_for, step=0.1)

def conserved(metrics: dict[str, Any]) -> bool:
    return metrics["produced"] == (metrics["acknowledged"] + metrics["in_flight"] + metrics["waiting"]
                                   + metrics["dead_lettered"] + metrics["dropped_total"])


def log_with(n: int, node_entries: int = 100) -> StreamLog:
    """A stream holding entries 1-0 .. n-0."""
    log = StreamLog(node_entries)
    log.add(np.array([make_id(i, 0) for i in range(1, n + 1)], dtype=np.int64), np.arange(n, dtype=np.int32), 0)
    return log


def group_on(n: int, start: str | int = 0) -> GroupState:
    return GroupState(log_with(n), start)
