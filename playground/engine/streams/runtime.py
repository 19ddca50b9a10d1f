"""The windowed aggregate's behaviour: poll any record source, aggregate per key and window, write
each emitted window result as a Record to any sink, and account for every record.

It runs as a stream task does: poll a batch from the source (a Kafka topic read by an internal
consumer group, an AMQP queue, an SQS queue... through the source's adapter), hand each record
to the aggregation (aggregator.py) with its timestamp (streams/time.py, timestamp_of: the envelope's event
time, or the task's clock for processing / ingestion time), write what it emits to the sink's
adapter, and commit the source every commit interval. With the flink preset, the watermark
generators' periodic emit happens after each poll (the poll interval plays
autoWatermarkInterval), one generator per partition of a Kafka topic source (KafkaSource's
per-split watermarks), combined by the valve with idle partitions left out.

Accounting, as one stream: produced = records taken; acknowledged = records that landed in a
window; dead_lettered = Flink's late-data side output; dropped = late (Kafka Streams' expired
windows, Flink's numLateRecordsDropped), in no window, null key, no numeric value.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from playground.engine.adapters import ReadsThroughSource, Sink, Source
from playground.engine.component import Runtime
from playground.engine.record import Hop, Record
from playground.engine.streams.aggregator import Result, Spec, WindowedAggregator
from playground.engine.streams.time import LONG_MIN, timestamp_of

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

POLL: Final = 131
COMMIT: Final = 132


def spec_of(params: dict[str, Any]) -> Spec:
    return Spec(framework=params["framework"], kind=params["window"], aggregate=params["aggregate"],
                size_ms=int(params["size_ms"]), advance_ms=int(params["advance_ms"]),
                offset_ms=int(params["offset_ms"]), gap_ms=int(params["gap_ms"]), grace_ms=int(params["grace_ms"]),
                allowed_lateness_ms=int(params["allowed_lateness_ms"]),
                out_of_orderness_ms=int(params["out_of_orderness_ms"]), emit=params["emit"],
                side_output=bool(params["side_output"]), idle_timeout_ms=int(params["idle_timeout_ms"]))


def in_partition_group_order(batch: Sequence[tuple[Record, Any]]) -> list[tuple[Record, Any]]:
    """Kafka Streams' PartitionGroup.nextRecord: a task buffers each input partition's records in
    offset order and processes next the record at the head with the smallest timestamp; a k-way
    merge of the batch's partitions by head timestamp (records of other systems keep their order)."""
    parts: dict[Any, list[tuple[Record, Any]]] = {}
    for item in batch:
        view = item[1]
        parts.setdefault((getattr(view, "topic", None), getattr(view, "partition", None)), []).append(item)
    if len(parts) < 2:
        return list(batch)
    return list(heapq.merge(*parts.values(), key=lambda item: item[0].event_time))


class WindowedAggregateRuntime(ReadsThroughSource, Runtime):
    auto_ack = False  # an AMQP source delivers to it with manual acks

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], source: Source | None,
                 sink: Sink | None, splits: int = 1) -> None:
        self.id = node_id
        self.source = source
        self.sink = sink
        self.agg = WindowedAggregator(spec_of(params), splits)
        self.field = params["value_field"]
        self.time_kind = params["time"]
        self.poll_s = params["poll_interval_ms"] / 1000.0
        self.commit_s = params["commit_interval_ms"] / 1000.0
        self.max_records = int(params["max_poll_records"])
        self.invalid = 0  # records without a numeric value field (sum / min / max / average)
        self.written = self.results = 0
        self.last: list[dict[str, Any]] = []
        if source is not None:
            sim.kernel.schedule(self.poll_s, POLL, self.id, 0)
            sim.kernel.schedule(self.commit_s, COMMIT, self.id, 0)

    def on_append(self, sim: Simulation, *where: Any) -> None:
        """It polls on its own clock."""

    # -- the loop --------------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == POLL:
            self._pump(sim)
            sim.kernel.schedule(sim.kernel.now + self.poll_s, POLL, self.id, 0)
        elif kind == COMMIT:
            self.source.commit(sim)  # type: ignore[union-attr]
            sim.kernel.schedule(sim.kernel.now + self.commit_s, COMMIT, self.id, 0)

    def _pump(self, sim: Simulation) -> None:
        assert self.source is not None
        agg, now, count_only = self.agg, sim.kernel.now, self.agg.agg == "count"
        batch = self.source.poll(sim, self.max_records)
        if agg.kafka:
            batch = in_partition_group_order(batch)
        now_ms = round(now * 1000)
        splits = len(agg.wm_gens)
        for record, view in batch:
            if count_only:
                v = 1.0
            else:
                raw = record.value.get(self.field)
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    self.invalid += 1
                    continue
                v = float(raw)
            split = getattr(view, "partition", 0) % splits
            agg.process(record.key, timestamp_of(self.time_kind, record.event_time, now, now), v, split, now_ms)
        if not agg.kafka:
            agg.periodic_emit(now_ms)
        self._write(sim, agg.drain())

    def _write(self, sim: Simulation, results: list[Result]) -> None:
        if not results:
            return
        records = [self._record(r, self.results + i + 1) for i, r in enumerate(results)]
        self.results += len(records)
        if self.sink is not None:
            self.written += self.sink.write(sim, records)
        self.last = [r.to_dict() for r in records[-3:]]

    def _record(self, r: Result, serial: int) -> Record:
        value: dict[str, Any] = {} if r.tombstone else {
            "window_start_ms": r.start, "window_end_ms": r.end, self.agg.agg: r.value, "count": r.count,
            "final": r.final, "late_firing": r.late_firing}
        headers = (("tombstone", "true"),) if r.tombstone else ()
        return Record(f"{self.id}:{serial}", r.key, value, headers, r.timestamp / 1000.0,
                      origin=(Hop(self.id),))

    # -- reading ---------------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        out = self.source.streams(sim) if self.source is not None else []
        a = self.agg
        out.append({"windowed_aggregate": self.id, "produced": a.taken + self.invalid, "acknowledged": a.in_window,
                    "in_flight": 0, "waiting": 0, "dead_lettered": a.side_output,
                    "dropped": {"late": a.late_dropped, "no_window": a.unassigned, "null_key": a.null_key,
                                "no_numeric_value": self.invalid}})
        return out

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        a = self.agg
        newest = sorted(a.cells.items(), key=lambda kv: (kv[0][1], kv[0][0]))[-8:]
        t = a.time
        return {**a.counts(), "invalid": self.invalid, "results": self.results, "written": self.written,
                "framework": a.spec.framework, "time_ms": None if t <= LONG_MIN else t,
                "time_label": "stream time" if a.kafka else "watermark",
                "windows": [{"key": k, "start": s, "end": e, "count": c[0]} for (k, s, e), c in newest],
                "source": self.source.view() if self.source else None, "recent": self.last}
