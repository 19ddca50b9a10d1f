"""Tiny SQS / SNS document factories for engine tests."""

from __future__ import annotations

from typing import Any

from playground import engine
from tests.engine.factories import stream_conserved as conserved  # noqa: F401  (re-exported)


def node(node_id: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "params": params}


def edge(source: str, target: str, **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"source": source, "target": target}
    if params:
        out["params"] = params
    return out


def doc(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def sim(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], seed: int = 7, **kw: Any) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(doc(nodes, edges)), seed, **kw)


def queue_sim(*, queue: dict[str, Any] | None = None, producer: dict[str, Any] | None = None,
              consumer: dict[str, Any] | None = None, dlq: dict[str, Any] | None = None, seed: int = 7
              ) -> engine.Simulation:
    """producer p -> queue q [-> consumer c] [-> dead-letter queue dlq]. The producer's rate is 0
    unless given: tests send with the ``send`` command."""
    qp = {"duplicate_probability": 0.0, "reorder_probability": 0.0, "short_poll_miss": 0.0, **(queue or {})}
    nodes = [node("p", "sqs_producer", **{"rate": 0, **(producer or {})}), node("q", "sqs_queue", **qp)]
    edges = [edge("p", "q")]
    if consumer is not None:
        nodes.append(node("c", "sqs_consumer", **consumer))
        edges.append(edge("q", "c"))
    if dlq is not None:
        nodes.append(node("dlq", "sqs_queue", **dlq))
        edges.append(edge("q", "dlq"))
    return sim(nodes, edges, seed)


def stream(s: engine.Simulation, **names: str) -> dict[str, Any]:
    return next(st for st in s.streams() if all(st.get(k) == v for k, v in names.items()))


def receive(s: engine.Simulation, queue: str = "q", n: int = 10) -> list[tuple[int, int, int, str]]:
    """A short-poll ReceiveMessage straight on the queue (no consumer node involved)."""
    picks = s.components[queue].receive(s, "test", "w", 0, n)
    assert picks is not None
    return picks
