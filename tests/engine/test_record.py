"""The record envelope (playground/engine/record.py) and Kafka's envelopes made from its columns."""

import pytest

from playground import engine
from playground.engine.kafka.records import records_at
from playground.engine.record import DEFAULT_TEMPLATE, AmqpView, Hop, Record, ValueTemplate, make_record, view_dict
from tests.engine.factories import kafka_doc


def test_a_record_carries_its_envelope_and_a_hop_adds_to_its_origin():
    record = make_record("orders", 42, "key-7", 1.5, headers=(("trace", "a"), ("trace", "b")))
    assert record.id == "orders:42" and record.key == "key-7" and record.event_time == 1.5
    assert record.header("trace") == "b"  # the last one, as Kafka's Headers.lastHeader
    assert record.value["seq"] == 42 and record.value["key"] == "key-7"
    again = record.hop("bridge", 2)
    assert again.origin == (Hop("orders"), Hop("bridge", 2)) and again.id == record.id
    assert record.origin == (Hop("orders"),)  # records are immutable
    assert again.to_dict()["origin"] == [{"node": "orders", "attempt": 1}, {"node": "bridge", "attempt": 2}]


def test_values_are_a_pure_function_of_the_template_and_the_id():
    template = ValueTemplate((("order", "serial"), ("qty", "int"), ("note", "text")), schema_id=3)
    assert template.value("shop:9", None) == template.value("shop:9", None)
    assert template.value("shop:9", None) != template.value("shop:10", None)
    assert make_record("shop", 9, None, 0.0, template=template).schema_id == 3


def test_a_record_needs_an_id():
    with pytest.raises(ValueError, match="stable id"):
        Record("", "k")


def test_a_view_rides_beside_the_record():
    view = AmqpView("q", 5, "orders", "order.paid", True)
    assert view_dict(view) == {"queue": "q", "delivery_tag": 5, "exchange": "orders", "routing_key": "order.paid",
                               "redelivered": True, "system": "amqp"}


def test_kafka_envelopes_are_made_from_the_log_columns_without_storing_objects():
    sim = engine.Simulation(engine.parse_document(kafka_doc(rate=100, keys=10)), 5)
    sim.advance(1.0)
    topic = sim.components["topic"]
    assert topic.envelopes is None  # the producer's hot path keeps no envelope
    log = topic.logs[0]
    out = records_at(sim, topic, 0, 0, log.leo)
    assert len(out) == log.leo > 0
    record, view = out[0]
    assert (view.topic, view.partition, view.offset) == ("topic", 0, 0)
    assert record.id == "topic/0@0" and record.key == f"key-{log.keys(0, 1)[0]}"
    assert record.origin == (Hop("producer"),) and record.event_time == float(log.timestamps(0, 1)[0])
    assert record.value == DEFAULT_TEMPLATE.value("topic/0@0", record.key)
    assert records_at(sim, topic, 0, 0, log.leo) == out  # made again, identically


def test_kafka_envelopes_take_their_id_from_the_origin_column_when_the_run_tracks_origins():
    sim = engine.Simulation(engine.parse_document(kafka_doc(rate=100, keys=10, count_duplicates=True)), 5)
    sim.advance(1.0)
    topic = sim.components["topic"]
    ids = [r.id for p in range(len(topic.logs)) for r, _ in records_at(sim, topic, p, 0, topic.logs[p].leo)]
    assert all(i.startswith("producer:") for i in ids) and len(set(ids)) == len(ids)


def test_a_bridged_topics_side_table_forgets_what_every_reader_has_committed():
    """The envelopes a bridge wrote into Kafka are kept only while a reader may read them."""
    doc = {"nodes": [{"id": "pub", "type": "amqp_publisher", "params": {"rate": 200}},
                     {"id": "q", "type": "amqp_queue"},
                     {"id": "b", "type": "bridge", "params": {"commit_interval_ms": 200}},
                     {"id": "t", "type": "kafka_topic", "params": {"partitions": 1}},
                     {"id": "g", "type": "consumer_group", "params": {"consumers": 1, "processing_ms": 0.5}}],
           "edges": [{"source": "pub", "target": "q"}, {"source": "q", "target": "b"}, {"source": "b", "target": "t"},
                     {"source": "t", "target": "g"}]}
    sim = engine.Simulation(engine.parse_document(doc), 2)
    sim.advance(20.0)
    topic = sim.components["t"]
    kept = topic.envelopes.records[0]
    committed = sim.components["g"].committed[("t", 0)]
    assert topic.logs[0].leo > 3000 and committed > 2000
    assert kept and min(kept) >= committed - 64 * 2  # only the tail a reader may still read
    assert len(kept) < topic.logs[0].leo - committed + 200
