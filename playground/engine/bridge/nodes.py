"""Declaration of the bridge node type: a Kafka Connect-like worker between two systems.

Its input port reads records from any record source (what consumers read: a Kafka topic, an
AMQP queue, an SQS queue), its output port writes them to any record sink (what clients publish
to: a Kafka topic, an AMQP exchange or queue, an SQS queue), each through that system's adapter
(adapters.py, the system's ``records.py``). A source or sink whose system has no adapter yet is
refused by validation, naming the port.
"""

from __future__ import annotations

from typing import Any

from playground.engine.adapters import sink_for, sink_types, source_for, source_types
from playground.engine.bridge.runtime import BridgeRuntime
from playground.engine.ports import ANY, In, Out
from playground.engine.registry import FieldError, NodeType, Param, get_node_type, register, register_flow_kinds

register_flow_kinds("bridge_write")


@register
class Bridge(NodeType):
    name = "bridge"
    label = "Bridge"
    category = "Integration"
    color = "#0f766e"
    help = ("Moves records from one system to another, as a Kafka Connect connector does: it reads a Kafka "
            "topic (an internal consumer group with committed offsets), a RabbitMQ queue (a consumer with "
            "manual acks) or an SQS queue (ReceiveMessage/DeleteMessage), and writes each record to a Kafka "
            "topic, a RabbitMQ exchange or queue, or an SQS queue, keeping its id, key, value, headers and "
            "origin (with the bridge as one more hop). It commits what it read every commit interval: a "
            "crash before that makes it write those records again, and they are counted as duplicates.")
    ports = (
        In("records", "records", "consume", ANY, help="any record source: what a consumer of its system reads"),
        Out("records", "records", "publish", ANY, help="any record sink: what a client of its system writes to"),
    )
    max_in = 1
    max_out = 1
    build_order = 35
    runtime_class = BridgeRuntime
    params = (
        Param("poll_interval_ms", "Poll interval", "int", 100,
              "How often it polls the source for records (the consumer's poll loop).", min=1, max=60_000, step=10,
              unit="ms"),
        Param("max_poll_records", "Max records per poll", "int", 500,
              "At most this many records a poll (Kafka's max.poll.records; an SQS receive takes 10 a call).",
              min=1, max=10_000, step=10),
        Param("commit_interval_ms", "Commit interval", "int", 5_000,
              "How often it commits what it read: Kafka offsets, AMQP acks, SQS deletes (Kafka Connect's "
              "offset.flush.interval.ms, 60,000 by default). Records written since the last commit are written "
              "again after a crash.", min=10, max=600_000, step=100, unit="ms"),
        Param("prefetch", "Prefetch (AMQP)", "int", 1000,
              "basic.qos prefetch for a RabbitMQ source: unacked deliveries it may hold. Acks come at each "
              "commit, so the window bounds what it reads per commit interval.", min=1, max=65_535, step=10),
        Param("routing_key", "Routing key (AMQP)", "string", "",
              "The routing key it publishes with to a RabbitMQ exchange (empty: each record's key).",
              max_length=255),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        sources = sim.document.sources(node.id)
        targets = sim.document.targets(node.id)
        source = sink = None
        if sources and (src_adapter := source_for(sources[0].type)) is not None:
            source = src_adapter(sim, node.id, sources[0], node.params)
        if targets and (sink_adapter := sink_for(targets[0].type)) is not None:
            sink = sink_adapter(sim, node.id, targets[0], node.params)
        return BridgeRuntime(sim, node.id, node.params, source, sink)

    @classmethod
    def check_graph(cls, node: Any, edges: list[Any], paths: dict[str, str], nodes: dict[str, Any]) -> list[FieldError]:
        errors = []
        for edge in edges:
            if edge.target == node.id and source_for(nodes[edge.source].type) is None:
                port = get_node_type(nodes[edge.source].type).outputs()[0]
                readable = ", ".join(get_node_type(t).label for t in source_types())
                errors.append(FieldError(paths[edge.id], (
                    f"{edge.source}'s output '{port.title}' cannot feed {node.id}'s input 'records (any)': "
                    f"a bridge reads only what has a record adapter ({readable})")))
            if edge.source == node.id:
                target = nodes[edge.target]
                if sink_for(target.type) is None:
                    port = get_node_type(target.type).inputs()[0]
                    writable = ", ".join(get_node_type(t).label for t in sink_types())
                    errors.append(FieldError(paths[edge.id], (
                        f"{node.id}'s output 'records (any)' cannot feed {edge.target}'s input '{port.title}': "
                        f"a bridge writes only to what has a record adapter ({writable})")))
                elif target.type == "kafka_topic" and any(
                        e.target == target.id and nodes[e.source].type == "kafka_cluster" for e in edges):
                    errors.append(FieldError(paths[edge.id], (
                        f"{node.id} cannot write to {target.id}: a bridge writes to a topic without a cluster "
                        "(replicated topics are not modelled for bridges yet)")))
        return errors
