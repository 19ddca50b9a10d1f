"""Tiny Pulsar documents for engine tests."""

from __future__ import annotations

from typing import Any

from playground import engine
from tests.conftest import run as run_for
from tests.engine.factories import stream_conserved as conserved  # noqa: F401  (re-exported)


def node(node_id: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "params": params}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"source": source, "target": target}


def pulsar_doc(*, rate: float = 50.0, keys: int = 0, size: int = 1024, partitions: int = 0,
               retention_minutes: float = 0.0, retention_mb: float = 0.0, ledger_max_entries: int = 50_000,
               ledger_min_rollover_s: float = 600.0, offload_threshold_mb: float = -1.0,
               offload_deletion_lag_s: float = 14_400.0, type_: str = "shared", ack_mode: str = "individual",
               nack_ms: int = 100, ack_timeout_ms: int = 0, max_redeliver_count: int = 3, dlq: bool = True,
               dlq_sub: bool = True, consumers: int = 2, processing_ms: float = 5.0, queue: int = 1000,
               failure_rate: float = 0.0, poison_rate: float = 0.0, on_failure: str = "nack",
               subscribe: bool = True, deliver_after_s: float = 0.0, resend_probability: float = 0.0,
               deduplication: bool = False, priority_level: int = 0) -> dict[str, Any]:
    nodes = [
        node("prod", "pulsar_producer", rate=rate, keys=keys, message_bytes=size, deliver_after_s=deliver_after_s,
             resend_probability=resend_probability),
        node("topic", "pulsar_topic", partitions=partitions, retention_minutes=retention_minutes,
             retention_mb=retention_mb, ledger_max_entries=ledger_max_entries,
             ledger_min_rollover_s=ledger_min_rollover_s, offload_threshold_mb=offload_threshold_mb,
             offload_deletion_lag_s=offload_deletion_lag_s, deduplication=deduplication),
    ]
    edges = [edge("prod", "topic")]
    if subscribe:
        nodes += [
            node("sub", "pulsar_subscription", type=type_, ack_mode=ack_mode, nack_redelivery_delay_ms=nack_ms,
                 ack_timeout_ms=ack_timeout_ms, max_redeliver_count=max_redeliver_count),
            node("app", "pulsar_consumer", consumers=consumers, processing_ms=processing_ms,
                 receiver_queue_size=queue, failure_rate=failure_rate, poison_rate=poison_rate,
                 on_failure=on_failure, priority_level=priority_level),
        ]
        edges += [edge("topic", "sub"), edge("sub", "app")]
        if dlq:
            nodes.append(node("dlq", "pulsar_topic"))
            edges.append(edge("sub", "dlq"))
            if dlq_sub:
                nodes.append(node("dlq-sub", "pulsar_subscription", type="shared"))
                edges.append(edge("dlq", "dlq-sub"))
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def sim(document: dict[str, Any], seed: int = 7) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(document), seed)


def run(document, seconds=10.0, step=0.25, seed=7, check=None):
    """This package's defaults for tests.conftest.run."""
    return run_for(document, seconds, step=step, seed=seed, check=check)

def stream(s: engine.Simulation, sub: str) -> dict[str, Any]:
    return next(st for st in s.streams() if st.get("subscription") == sub)
