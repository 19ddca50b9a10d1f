"""A consume-process-produce group whose output topic is compacted and whose input records have no
key: the broker refuses each output batch as INVALID_RECORD (LogValidator.validateKey), which is not
retriable (Sender.failBatch: InvalidRecordException), so the group's writer fails the batch, counts
its records as dropped with the reason, and goes on with the next ones; it must not retry for ever
and hold back everything after it."""

from playground import engine
from playground.engine.kafka.accumulator import DROP_INVALID


def _doc(null_share: float) -> dict:
    """Through a cluster: the group's output goes through its writer (kafka/output.py)."""
    return {"fanout": 1, "name": "invalid output", "nodes": [
        {"id": "k", "type": "kafka_cluster", "params": {}},
        {"id": "p", "type": "producer", "params": {"rate": 200, "keys": 20, "key_null_share": null_share}},
        {"id": "in", "type": "kafka_topic", "params": {"partitions": 2}},
        {"id": "g", "type": "consumer_group", "params": {"consumers": 1, "processing_ms": 0.5}},
        {"id": "out", "type": "kafka_topic", "params": {"partitions": 2, "cleanup_policy": "compact"}},
    ], "edges": [{"id": "e1", "source": "p", "target": "in"}, {"id": "e2", "source": "in", "target": "g"},
                 {"id": "e3", "source": "g", "target": "out"}, {"id": "c1", "source": "k", "target": "in"},
                 {"id": "c2", "source": "k", "target": "out"}]}


def test_keyless_records_written_to_a_compacted_output_topic_fail_and_the_writer_goes_on() -> None:
    sim = engine.Simulation(engine.parse_document(_doc(0.01)), 5)
    sim.advance(10.0)
    m = sim.metrics()
    out = m["nodes"]["g"]["output"] if "output" in m["nodes"]["g"] else None
    streams = [s for s in sim.streams() if s.get("topic") == "out"]
    dropped = {reason: n for s in streams for reason, n in s["dropped"].items()}
    assert dropped.get(DROP_INVALID, 0) > 0, (out, dropped)
    # the writer keeps writing: the batches without a keyless record reach the output topic (whose
    # records wait there: nobody reads it), after the first refusal as before it
    assert max(s["produced"] for s in streams) > 1500
    for s in sim.streams():
        assert s["produced"] == s["acknowledged"] + s["in_flight"] + s["waiting"] + s["dead_lettered"] + sum(
            s["dropped"].values()), s
