"""Tiny document factories for engine tests."""

from __future__ import annotations

from typing import Any

from playground import engine


def kafka_doc(*, rate: float = 200.0, keys: int = 50, partitions: int = 6, consumers: int = 2,
              processing_ms: float = 2.0, poison_rate: float = 0.0, failure_rate: float = 0.0,
              max_attempts: int = 4, backoff_ms: float = 50.0, dlq: bool = True,
              **group: Any) -> dict[str, Any]:
    nodes = [
        {"id": "producer", "type": "producer", "params": {"rate": rate, "keys": keys}},
        {"id": "topic", "type": "kafka_topic", "params": {"partitions": partitions}},
        {"id": "group", "type": "consumer_group",
         "params": {"consumers": consumers, "processing_ms": processing_ms, "poison_rate": poison_rate,
                    "failure_rate": failure_rate, "max_attempts": max_attempts, "backoff_ms": backoff_ms,
                    **group}},
    ]
    edges = [{"source": "producer", "target": "topic"}, {"source": "topic", "target": "group"}]
    if dlq:
        nodes.append({"id": "dlq", "type": "dlq"})
        edges.append({"source": "group", "target": "dlq"})
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def simulation(seed: int = 7, *, record_flow: bool = True, **kwargs: Any) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(kafka_doc(**kwargs)), seed, record_flow=record_flow)


def conserved(metrics: dict[str, Any]) -> bool:
    return metrics["produced"] == (metrics["acknowledged"] + metrics["in_flight"] + metrics["waiting"]
                                   + metrics["dead_lettered"] + metrics["dropped_total"])


def stream_conserved(stream: dict[str, Any]) -> bool:
    """One accounting stream: produced = acknowledged + in flight + waiting + dead-lettered + dropped."""
    return stream["produced"] == (stream["acknowledged"] + stream["in_flight"] + stream["waiting"]
                                  + stream["dead_lettered"] + sum(stream["dropped"].values()))


def assert_restored_continues_identically(sim: engine.Simulation, *, steps: int, dt: float) -> None:
    """Snapshot now; the original and the restored copy must then produce the same events and
    metrics, step for step (the design's time-travel and crash-recovery promise)."""
    sim.drain_events()
    restored = engine.Simulation.restore(sim.snapshot())
    for _ in range(steps):
        sim.advance(dt)
        restored.advance(dt)
    assert sim.drain_events() == restored.drain_events()
    assert sim.metrics() == restored.metrics()


def scripted_trace(sim: engine.Simulation, script: list[tuple[int, str]], command_for, *, ticks: int,
                   dt: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run ``ticks`` steps of ``dt``, applying at each tick the script's ops (``command_for(op)``
    gives the command, or None to skip it; a refused command is part of the trace too), and check
    after every step that each stream conserves its messages. Returns (events, final metrics), so
    two runs with the same seed can be compared."""
    events: list[dict[str, Any]] = []
    for tick in range(ticks):
        for at, op in script:
            command = command_for(op) if at == tick else None
            if command is not None:
                try:
                    sim.apply(command)
                except engine.CommandError:
                    pass
        sim.advance(dt)
        events.extend(sim.drain_events())
        for stream in sim.streams():
            assert stream_conserved(stream), stream
            assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"]) >= 0, stream
    return events, sim.metrics()
