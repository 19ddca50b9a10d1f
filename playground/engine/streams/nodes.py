"""Declaration of the windowed aggregate node type: count / sum / min / max / average per key and
window, as Kafka Streams or Flink computes it, between any record source and any record sink.

Like the bridge (engine/bridge/), its input reads any record source through that system's
adapter and its output writes any record sink; the window rules are windows.py, the time rules
time.py, the aggregation aggregator.py. A window the chosen engine would refuse (a hopping advance
larger than the size in Kafka Streams, |offset| >= size in Flink...) is refused by validation
with the engine's own message, naming the parameter.
"""

from __future__ import annotations

from typing import Any

from playground.engine.adapters import sink_for, sink_types, source_for, source_types
from playground.engine.ports import ANY, In, Out
from playground.engine.registry import FieldError, NodeType, Param, get_node_type, register
from playground.engine.streams.aggregator import AGGREGATES, EMITS, FRAMEWORKS, KINDS
from playground.engine.streams.runtime import WindowedAggregateRuntime, spec_of
from playground.engine.streams.time import TIME_KINDS
from playground.engine.streams.windows import WindowError

_MS = {"min": 0, "max": 86_400_000, "step": 100, "unit": "ms"}


@register
class WindowedAggregate(NodeType):
    name = "windowed_aggregate"
    label = "Windowed aggregate"
    category = "Stream processing"
    color = "#7c3aed"
    help = ("Counts, sums, or takes the min / max / average of a numeric field per key over time windows, as Kafka "
            "Streams (windowedBy(...).aggregate) or Flink (keyBy().window(...).aggregate) computes it: tumbling, "
            "hopping (Flink: sliding), Kafka Streams' sliding (time difference) or session windows. It reads any "
            "record source, takes each record's event time from its envelope, and writes each window result as "
            "a record to any sink. Late records are counted where they go: dropped (Kafka Streams' grace period "
            "over stream time; Flink's watermark and allowed lateness), Flink's late-data side output, or a "
            "late firing that updates a window already emitted.")
    ports = (
        In("records", "records", "consume", ANY, help="any record source: what a consumer of its system reads"),
        Out("records", "records", "publish", ANY, help="any record sink: each emitted window result, as a record"),
    )
    max_in = 1
    max_out = 1
    build_order = 36
    runtime_class = WindowedAggregateRuntime
    params = (
        Param("framework", "Framework", "enum", "kafka_streams",
              "Whose rules: kafka_streams (stream time and grace period; emit every update or on window close) "
              "or flink (bounded out-of-orderness watermark, EventTimeTrigger, allowed lateness, side output).",
              choices=FRAMEWORKS),
        Param("window", "Window", "enum", "tumbling",
              "tumbling (size), hopping (size and advance; Flink's SlidingEventTimeWindows), sliding (Kafka "
              "Streams' SlidingWindows: the size is the time difference) or session (inactivity gap).",
              choices=KINDS),
        Param("aggregate", "Aggregate", "enum", "count", "What each window computes per key.", choices=AGGREGATES),
        Param("value_field", "Value field", "string", "amount",
              "The numeric field of the record's value that sum / min / max / average read (count reads none).",
              max_length=64),
        Param("size_ms", "Size", "int", 10_000, "Window size (Kafka Streams' sliding windows: the time difference).",
              **_MS),
        Param("advance_ms", "Advance / slide", "int", 0,
              "Hopping windows' advance (Flink: slide); 0 means the size. Kafka Streams refuses an advance larger "
              "than the size; Flink allows it (records between windows fall in none).", **_MS),
        Param("offset_ms", "Offset (Flink)", "int", 0,
              "Flink's window offset: windows start at offset + k * slide (|offset| must be below the slide). "
              "Kafka Streams' windows are aligned to the epoch and take none.",
              min=-86_400_000, max=86_400_000, step=100, unit="ms"),
        Param("gap_ms", "Session gap", "int", 5_000, "Session windows' inactivity gap.", **_MS),
        Param("grace_ms", "Grace (Kafka Streams)", "int", 0,
              "How long after a window's end it still takes records, in stream time (ofSizeAndGrace).", **_MS),
        Param("allowed_lateness_ms", "Allowed lateness (Flink)", "int", 0,
              "How long after the watermark passes a window's end it still takes records, each firing it again.",
              **_MS),
        Param("out_of_orderness_ms", "Out-of-orderness (Flink)", "int", 0,
              "The watermark trails the largest timestamp by this much (forBoundedOutOfOrderness): max - delay - 1.",
              **_MS),
        Param("emit", "Emit", "enum", "update",
              "update: every change of a window (Kafka Streams' default, caching off); close: once, when the window "
              "closes (EmitStrategy.onWindowClose / suppress(untilWindowCloses); Flink's EventTimeTrigger, which "
              "flink requires).", choices=EMITS),
        Param("idle_timeout_ms", "Idle timeout (Flink)", "int", 0,
              "WatermarkStrategy.withIdleness: a source partition without records for this long (processing "
              "time) is marked idle and no longer holds the watermark back; 0: never idle, so one empty "
              "partition stalls the watermark (each Kafka partition has its own watermark).", **_MS),
        Param("side_output", "Late side output (Flink)", "bool", False,
              "Flink's sideOutputLateData: late records are counted in the side output instead of dropped."),
        Param("time", "Time", "enum", "event",
              "event: the record's event time; processing: the task's clock when it handles it; ingestion: when "
              "the task read it from the source.", choices=TIME_KINDS),
        Param("poll_interval_ms", "Poll interval", "int", 200,
              "How often it polls its source (with flink, the watermark is emitted after each poll, as "
              "autoWatermarkInterval, 200 ms by default).", min=1, max=60_000, step=10, unit="ms"),
        Param("max_poll_records", "Max records per poll", "int", 500, "At most this many records a poll.",
              min=1, max=10_000, step=10),
        Param("commit_interval_ms", "Commit interval", "int", 30_000,
              "How often it commits its source position (Kafka Streams' commit.interval.ms, 30,000 by default).",
              min=10, max=600_000, step=100, unit="ms"),
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
        splits = int(sources[0].params.get("partitions", 1)) if sources and sources[0].type == "kafka_topic" else 1
        return WindowedAggregateRuntime(sim, node.id, node.params, source, sink, splits)

    @classmethod
    def check_graph(cls, node: Any, edges: list[Any], paths: dict[str, str], nodes: dict[str, Any]) -> list[FieldError]:
        errors = []
        try:
            spec_of(node.params).check()
        except WindowError as exc:
            index = list(nodes).index(node.id)
            errors.append(FieldError(f"nodes[{index}].params.{_param_of(exc.field)}",
                                     str(exc).split(": ", 1)[1]))
        for edge in edges:
            if edge.target == node.id and source_for(nodes[edge.source].type) is None:
                port = get_node_type(nodes[edge.source].type).outputs()[0]
                readable = ", ".join(get_node_type(t).label for t in source_types())
                errors.append(FieldError(paths[edge.id], (
                    f"{edge.source}'s output '{port.title}' cannot feed {node.id}'s input 'records (any)': "
                    f"a windowed aggregate reads only what has a record adapter ({readable})")))
            if edge.source == node.id and sink_for(nodes[edge.target].type) is None:
                port = get_node_type(nodes[edge.target].type).inputs()[0]
                writable = ", ".join(get_node_type(t).label for t in sink_types())
                errors.append(FieldError(paths[edge.id], (
                    f"{node.id}'s output 'records (any)' cannot feed {edge.target}'s input '{port.title}': "
                    f"a windowed aggregate writes only to what has a record adapter ({writable})")))
        return errors


def _param_of(field: str) -> str:
    return {"kind": "window", "time_difference_ms": "size_ms"}.get(field, field)
