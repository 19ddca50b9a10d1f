"""Tiny RabbitMQ document factories for engine tests."""

from __future__ import annotations

from typing import Any

from playground import engine
from tests.engine.factories import stream_conserved


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


def work_queue_doc(*, rate: float = 100.0, consumers: int = 2, prefetch: int = 10, processing_ms: float = 5.0,
                   failure_rate: float = 0.0, poison_rate: float = 0.0, on_failure: str = "reject",
                   ack_mode: str = "manual", message_ttl_ms: float = 0.0, max_length: int = 0,
                   overflow: str = "drop-head", max_priority: int = 0, priorities: str = "",
                   dlx: bool = True, exchange_type: str = "topic", keys: str = "a.b, a.c, x.y",
                   binding_key: str = "a.*", delayed: bool = False, delay_ms: int = 0,
                   msg_ttl_ms: float = 0.0) -> dict[str, Any]:
    nodes = [
        node("pub", "amqp_publisher", rate=rate, routing_keys=keys, priorities=priorities,
             message_ttl_ms=msg_ttl_ms, delay_ms=delay_ms),
        node("ex", "amqp_exchange", type=exchange_type, delayed=delayed),
        node("work", "amqp_queue", message_ttl_ms=message_ttl_ms, max_length=max_length, overflow=overflow,
             max_priority=max_priority),
        node("workers", "amqp_consumer", consumers=consumers, prefetch=prefetch, processing_ms=processing_ms,
             failure_rate=failure_rate, poison_rate=poison_rate, on_failure=on_failure, ack_mode=ack_mode),
    ]
    edges = [edge("pub", "ex"), edge("ex", "work", binding_key=binding_key), edge("work", "workers")]
    if dlx:
        nodes += [node("dlx", "amqp_exchange", type="fanout"), node("dead", "amqp_queue")]
        edges += [edge("work", "dlx"), edge("dlx", "dead")]
    return doc(nodes, edges)


conserved = stream_conserved
