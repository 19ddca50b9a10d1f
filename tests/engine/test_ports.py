"""Ports (playground/engine/ports.py): what a node type emits and accepts decides every edge."""

import pytest

from playground import engine
from playground.engine.ports import In, Out, Port, match, why_not
from playground.engine.registry import node_types

# Every connection the node types allowed by name before ports (accepts_from), pinned: ports
# must keep exactly these, and allow across systems only through a node speaking "any". (Pulsar
# topic -> topic came with geo-replication, on the same day as ports.)
BEFORE_PORTS = {
    ("amqp_exchange", "amqp_exchange"), ("amqp_exchange", "amqp_queue"), ("amqp_publisher", "amqp_exchange"),
    ("amqp_publisher", "amqp_queue"), ("amqp_queue", "amqp_consumer"), ("amqp_queue", "amqp_exchange"),
    ("consumer_group", "dlq"), ("consumer_group", "kafka_topic"), ("kafka_cluster", "kafka_topic"),
    ("kafka_topic", "consumer_group"), ("producer", "kafka_topic"), ("pubsub_publisher", "pubsub_topic"),
    ("pubsub_subscription", "pubsub_subscriber"), ("pubsub_subscription", "pubsub_topic"),
    ("pubsub_topic", "pubsub_subscription"), ("pulsar_producer", "pulsar_topic"),
    ("pulsar_subscription", "pulsar_consumer"), ("pulsar_subscription", "pulsar_topic"),
    ("pulsar_topic", "pulsar_subscription"), ("pulsar_topic", "pulsar_topic"), ("redis_channel", "redis_subscriber"),
    ("redis_consumer_group", "redis_dead_letter_stream"), ("redis_publisher", "redis_channel"),
    ("redis_publisher", "redis_stream"), ("redis_stream", "redis_consumer_group"), ("sns_topic", "sqs_queue"),
    ("sqs_producer", "sns_topic"), ("sqs_producer", "sqs_queue"), ("sqs_queue", "sqs_consumer"),
    ("sqs_queue", "sqs_queue"),
}


def connections():
    return {(s.name, t.name) for t in node_types() for s in node_types() if t.connection(s) is not None}


def test_ports_allow_exactly_the_connections_type_names_allowed_within_each_system():
    # nodes speaking any protocol (the bridge, the windowed aggregate) connect across systems
    any_nodes = {"bridge", "windowed_aggregate"}
    assert {pair for pair in connections() if not any_nodes & set(pair)} == BEFORE_PORTS


def test_every_type_declares_its_ports():
    """(A type that takes no edge, an AMQP policy applied by name pattern, declares none.)"""
    assert all(t.ports or t.max_in == t.max_out == 0 for t in node_types())
    assert not any(t.accepts_from for t in node_types())


def test_a_bridge_reads_what_consumers_read_and_writes_what_clients_write_to():
    into_bridge = {s for s, t in connections() if t == "bridge"}
    out_of_bridge = {t for s, t in connections() if s == "bridge"}
    assert {"kafka_topic", "amqp_queue", "sqs_queue", "redis_stream", "pulsar_subscription",
            "pubsub_subscription"} <= into_bridge
    assert "producer" not in into_bridge and "amqp_exchange" not in into_bridge
    assert {"kafka_topic", "amqp_exchange", "amqp_queue", "sqs_queue", "sns_topic", "redis_stream",
            "pulsar_topic", "pubsub_topic"} <= out_of_bridge
    assert "consumer_group" not in out_of_bridge and "bridge" not in out_of_bridge


def test_protocols_must_match_unless_one_side_speaks_any():
    kafka_out = Out("records", "records", "consume", "kafka")
    assert why_not(kafka_out, In("x", "records", "consume", "amqp")).startswith("they speak different protocols")
    assert why_not(kafka_out, In("x", "records", "consume", "any")) is None
    assert why_not(Out("x", "records", "publish", "any"), In("y", "records", "publish", "sqs")) is None


def test_mode_and_flows_must_match():
    publish, consume = Out("a", "records", "publish", "kafka"), In("b", "records", "consume", "kafka")
    assert "read by consumers" in why_not(publish, consume)
    assert "dead letters" in why_not(Out("a", "dead_letters", protocol="kafka"), In("b", "records", "publish", "kafka"))
    assert match((Out("a", "placement", protocol="kafka"),), (In("b", "records", "publish", "kafka"),)) is None


def test_a_port_declaration_is_checked():
    with pytest.raises(ValueError, match="need a mode"):
        Port("x", "in", "records")
    with pytest.raises(ValueError, match="flows must be one of"):
        Port("x", "in", "bytes", "publish")


def test_cross_system_edge_is_refused_naming_both_ports():
    doc = {"nodes": [{"id": "orders-topic", "type": "kafka_topic"}, {"id": "q1", "type": "amqp_consumer"}],
           "edges": [{"source": "orders-topic", "target": "q1"}]}
    with pytest.raises(engine.DocumentError) as excinfo:
        engine.parse_document(doc)
    (error,) = excinfo.value.errors
    assert error.path == "edges[0]"
    assert error.message.startswith(
        "orders-topic's output 'records (kafka)' cannot feed q1's input 'deliveries (amqp)': "
        "they speak different protocols (kafka and amqp)")


def test_palette_declaration_lists_ports_and_the_sources_they_accept():
    topic = engine.get_node_type("kafka_topic").to_dict()
    assert [p["title"] for p in topic["ports"]] == ["records (kafka)", "placement (kafka)", "records (kafka)"]
    assert set(topic["accepts_from"]) == {"producer", "kafka_cluster", "consumer_group", "bridge",
                                          "windowed_aggregate"}
