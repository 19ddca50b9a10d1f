"""Tiny Pub/Sub documents for engine tests."""

from __future__ import annotations

from typing import Any

from playground import engine
from tests.conftest import run as run_for
from tests.engine.factories import stream_conserved as conserved  # noqa: F401  (re-exported)


def node(node_id: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "params": params}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"source": source, "target": target}


def pubsub_doc(*, rate: float = 50.0, keys: int = 0, size: int = 1024, delivery: str = "pull",
               ack_deadline_s: int = 10, retry_policy: str = "immediate", min_backoff_s: float = 10.0,
               max_backoff_s: float = 600.0, max_delivery_attempts: int = 5, ordering: bool = False,
               exactly_once: bool = False, ack_loss_rate: float = 0.0, dlq: bool = True,
               dlq_sub: bool = True, consumers: int = 2, threads: int = 4, processing_ms: float = 10.0,
               max_outstanding_messages: int = 1000, max_outstanding_bytes: int = 104_857_600,
               lease_management: bool = True, max_lease_s: float = 3600.0, failure_rate: float = 0.0,
               poison_rate: float = 0.0, on_failure: str = "nack", second_sub: bool = False,
               created_at_s: float = 0.0, retention_s: float = 604_800.0, filter: str = "",
               retain_acked: bool = False, attribute_values: dict[str, str] | None = None,
               topic_retention_s: float = 0.0) -> dict[str, Any]:
    nodes = [
        node("pub", "pubsub_publisher", rate=rate, ordering_keys=keys, message_bytes=size,
             attribute_values=attribute_values or {}),
        node("topic", "pubsub_topic", message_retention_s=topic_retention_s),
        node("sub", "pubsub_subscription", delivery=delivery, ack_deadline_s=ack_deadline_s,
             retry_policy=retry_policy, min_backoff_s=min_backoff_s, max_backoff_s=max_backoff_s,
             max_delivery_attempts=max_delivery_attempts, message_ordering=ordering, exactly_once=exactly_once,
             ack_loss_rate=ack_loss_rate, message_retention_s=retention_s, filter=filter,
             retain_acked_messages=retain_acked),
        node("workers", "pubsub_subscriber", consumers=consumers, threads=threads, processing_ms=processing_ms,
             max_outstanding_messages=max_outstanding_messages, max_outstanding_bytes=max_outstanding_bytes,
             lease_management=lease_management, max_lease_s=max_lease_s, failure_rate=failure_rate,
             poison_rate=poison_rate, on_failure=on_failure),
    ]
    edges = [edge("pub", "topic"), edge("topic", "sub"), edge("sub", "workers")]
    if dlq:
        nodes.append(node("dead", "pubsub_topic"))
        edges.append(edge("sub", "dead"))
        if dlq_sub:
            nodes.append(node("dead-sub", "pubsub_subscription"))
            edges.append(edge("dead", "dead-sub"))
    if second_sub:
        nodes.append(node("audit", "pubsub_subscription", created_at_s=created_at_s))
        edges.append(edge("topic", "audit"))
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def sim(document: dict[str, Any], seed: int = 7) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(document), seed)


def run(document, seconds=10.0, step=0.25, seed=7, check=None):
    """This package's defaults for tests.conftest.run."""
    return run_for(document, seconds, step=step, seed=seed, check=check)

def stream(s: engine.Simulation, sub: str) -> dict[str, Any]:
    return next(st for st in s.streams() if st.get("subscription") == sub)
