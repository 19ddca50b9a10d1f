"""The windowed_aggregate node (playground/engine/streams/nodes.py, runtime.py): reads any record
source through its adapter (as the bridge does), aggregates by event time from the envelope,
writes each result as a Record to any sink; validation refuses what the engine refuses."""

import pytest

from playground import engine
from tests.engine.factories import stream_conserved


def doc(win_params, source="kafka_topic", sink="kafka_topic"):
    nodes = [{"id": "producer", "type": "producer", "params": {"rate": 200, "keys": 5}},
             {"id": "topic", "type": "kafka_topic", "params": {"partitions": 3}},
             {"id": "win", "type": "windowed_aggregate", "params": win_params},
             {"id": "out", "type": sink}]
    edges = [("producer", "topic"), ("topic", "win"), ("win", "out")]
    if source == "amqp_queue":
        nodes[0] = {"id": "producer", "type": "amqp_publisher", "params": {"rate": 200}}
        nodes[1] = {"id": "topic", "type": "amqp_queue"}
    return {"fanout": 1, "name": "streams test", "nodes": nodes,
            "edges": [{"source": s, "target": t} for s, t in edges]}


def run(document, seconds=5.0, seed=3):
    sim = engine.Simulation(engine.parse_document(document), seed)
    sim.advance(seconds)
    return sim


def test_kafka_topic_to_kafka_topic_emits_final_window_sums_as_records():
    """Kafka Streams preset, emit on close: one result per key and closed 1 s window, written to
    the output topic as a record with window bounds, the sum and the count; every record taken is
    in a window (the task merges its partitions by timestamp: PartitionGroup)."""
    sim = run(doc({"size_ms": 1000, "emit": "close", "aggregate": "sum"}))
    m = sim.metrics()["nodes"]["win"]
    assert m["taken"] == m["in_window"] > 800 and m["late_dropped"] == 0
    assert m["results"] == m["written"] == 20  # 5 keys x windows [0,1) .. [3,4) closed by stream time 4.x
    r = m["recent"][-1]
    assert set(r["value"]) == {"window_start_ms", "window_end_ms", "sum", "count", "final", "late_firing"}
    assert r["origin"][0]["node"] == "win" and m["time_label"] == "stream time" and m["time_ms"] >= 4000
    assert all(stream_conserved(s) for s in sim.streams())


def test_flink_preset_reads_an_amqp_queue_and_counts_by_watermark():
    """Any source: a RabbitMQ queue read with acks; Flink's watermark (max - delay - 1) fires the windows."""
    sim = run(doc({"framework": "flink", "size_ms": 1000, "emit": "close", "out_of_orderness_ms": 200},
                  source="amqp_queue", sink="sqs_queue"))
    m = sim.metrics()["nodes"]["win"]
    assert m["taken"] > 500 and m["emitted"] > 0 and m["time_label"] == "watermark"
    assert m["written"] == m["results"]
    assert all(stream_conserved(s) for s in sim.streams())


def test_runs_are_deterministic():
    a = run(doc({"window": "hopping", "size_ms": 2000, "advance_ms": 500}), 3.0)
    b = run(doc({"window": "hopping", "size_ms": 2000, "advance_ms": 500}), 3.0)
    assert a.metrics()["nodes"]["win"] == b.metrics()["nodes"]["win"]


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"window": "hopping", "size_ms": 1000, "advance_ms": 2000}, "advance_ms", "advancement interval"),
    ({"framework": "flink", "emit": "close", "size_ms": 1000, "offset_ms": 1000}, "offset_ms", "abs(offset) < size"),
    ({"offset_ms": 100}, "offset_ms", "no offset"),
    ({"framework": "flink", "emit": "close", "window": "sliding"}, "window", "time-difference"),
    ({"size_ms": 0}, "size_ms", "larger than zero"),
])
def test_a_window_the_engine_refuses_is_refused_naming_the_field(params, field, words):
    with pytest.raises(engine.DocumentError) as e:
        engine.parse_document(doc(params))
    assert f"nodes[2].params.{field}" in str(e.value) and words in str(e.value)


def test_a_source_without_an_adapter_is_refused():
    """A windowed aggregate reads only what has a record adapter (as the bridge)."""
    d = doc({})
    d["nodes"][1] = {"id": "topic", "type": "redis_channel"}
    with pytest.raises(engine.DocumentError) as e:
        engine.parse_document(d)
    assert "edges[1]: topic's output 'messages (redis-pubsub)' cannot feed win's input" in str(e.value)
    assert "a windowed aggregate reads only what has a record adapter" in str(e.value)


def test_an_empty_partition_stalls_the_flink_watermark_until_it_is_marked_idle():
    """KafkaSource: one watermark per partition, the min over them (StatusWatermarkValve); with 3
    partitions and one key, two partitions get no record and hold the watermark at Long.MIN_VALUE
    (nothing fires); withIdleness(1 s) leaves them out and the windows fire."""
    def flink(idle):
        d = doc({"framework": "flink", "emit": "close", "size_ms": 1000, "idle_timeout_ms": idle})
        d["nodes"][0]["params"]["keys"] = 1
        return run(d, 4.0).metrics()["nodes"]["win"]

    stalled, moving = flink(0), flink(1000)
    assert stalled["time_ms"] is None and stalled["emitted"] == 0 and stalled["open_windows"] >= 3
    assert moving["time_ms"] > 2000 and moving["emitted"] >= 2
