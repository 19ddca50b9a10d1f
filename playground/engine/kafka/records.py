"""Kafka's record adapter: envelopes made lazily from the columnar log, and the bridge's ends.

The log keeps no Python object per record (log.py): ``envelope`` builds a ``Record`` on demand
from the columns of one offset (key index -> key, timestamp -> event time, origin id -> id and
first hop), its value generated from the writer's ``ValueTemplate`` and the id (record.py). A
record that came in with an envelope of its own (a bridge wrote it from another system) is kept
whole in the topic's side table, ``TopicRuntime.envelopes`` (partition, offset) -> Record.

``TopicSource`` reads a topic as an internal consumer group with committed offsets, as a Kafka
Connect sink task does (WorkerSinkTask: poll, put, and commit the consumed offsets every
offset.flush.interval.ms): a crash rewinds to the committed offsets, so what was written since
is read and written again (duplicates, counted by the reader). ``TopicSink`` produces into a
topic: the partition is Kafka's default partitioner for a keyed record (murmur2 of the key,
DefaultPartitioner / BuiltInPartitioner.partitionForKey), else round robin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.adapters import Sink, Source, register_sink, register_source, template_of
from playground.engine.kafka.log import CONTROL
from playground.engine.kafka.partitioner import key_name, partition_for_key
from playground.engine.kafka.transactions import ORIGIN_MASK, ORIGIN_SHIFT, origin_ids
from playground.engine.record import Hop, KafkaView, Record

if TYPE_CHECKING:
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.simulation import Simulation

#: key indexes of keys that are not the simulated producers' ``key-N``: interned per topic from here
FOREIGN_KEYS = 1 << 30
DROP_RETENTION = "retention deleted it before the bridge read it"
MAX_KEPT = 100_000  # envelopes kept per partition of a topic written by bridges (SideTable)


class SideTable:
    """Envelopes of records that came in with values of their own, and their interned keys.

    One dict per partition, offset -> Record, in offset order (appends only grow the offsets), so
    forgetting the oldest is popping from the front. Kept while a reader may still read them (down
    to the lowest committed offset of the topic's readers, or the log start without readers), and
    at most ``MAX_KEPT`` a partition: past that the oldest lose their envelope, and readers get one
    made from the columns (documented limit: memory stays bounded on a long run).
    """

    def __init__(self) -> None:
        self.records: list[dict[int, Record]] = []
        self.key_index: dict[str, int] = {}
        self.key_names: list[str] = []
        self.forgotten = 0  # envelopes dropped by the MAX_KEPT cap while a reader could still read them

    def get(self, p: int, offset: int) -> Record | None:
        return self.records[p].get(offset) if p < len(self.records) else None

    def put(self, p: int, offset: int, record: Record) -> None:
        while len(self.records) <= p:
            self.records.append({})
        kept = self.records[p]
        kept[offset] = record
        if len(kept) > MAX_KEPT:
            del kept[next(iter(kept))]
            self.forgotten += 1

    def intern(self, key: str | None) -> int:
        if key is None:
            return -2
        if key.startswith("key-") and key[4:].isdigit() and int(key[4:]) < FOREIGN_KEYS:
            return int(key[4:])
        index = self.key_index.get(key)
        if index is None:
            index = self.key_index[key] = FOREIGN_KEYS + len(self.key_names)
            self.key_names.append(key)
        return index

    def name(self, index: int) -> str | None:
        if index >= FOREIGN_KEYS:
            return self.key_names[index - FOREIGN_KEYS]
        return None if index == -2 else key_name(index)

    def forget_below(self, p: int, offset: int) -> None:
        kept = self.records[p] if p < len(self.records) else {}
        while kept:
            first = next(iter(kept))
            if first >= offset:
                break
            del kept[first]


def side_table(topic: TopicRuntime) -> SideTable:
    if topic.envelopes is None:
        topic.envelopes = SideTable()
    table: SideTable = topic.envelopes
    return table


def writers_by_tag(sim: Simulation, topic: str) -> dict[int, str]:
    """origin tag -> producer node id, for the producers in the document (origin_ids' tag)."""
    out: dict[int, str] = {}
    for node in sim.document.nodes:
        tag = int(origin_ids(node.id, np.zeros(1, dtype=np.int64))[0]) >> ORIGIN_SHIFT
        out[tag] = node.id
    return out


def envelope(sim: Simulation, topic: TopicRuntime, p: int, offset: int, key: int, ts: float, origin: int,
             tags: dict[int, str]) -> Record:
    """The record at ``offset`` of partition ``p``, from its columns (or the side table)."""
    if topic.envelopes is not None:
        kept = topic.envelopes.get(p, offset)
        if kept is not None:
            return kept
    key_text = side_table(topic).name(key) if key >= FOREIGN_KEYS else (None if key == -2 else key_name(key))
    if origin >= 0:
        writer = tags.get(origin >> ORIGIN_SHIFT, topic.id)
        record_id = f"{writer}:{origin & ORIGIN_MASK}"
    else:
        writers = [n.id for n in sim.document.sources(topic.id) if n.type == "producer"]
        writer = writers[0] if len(writers) == 1 else topic.id
        record_id = f"{topic.id}/{p}@{offset}"
    template = template_of(sim, writer)
    return Record(record_id, key_text, template.value(record_id, key_text), (), float(ts),
                  template.schema_id, (Hop(writer),), topic.storage.config.record_bytes)


def records_at(sim: Simulation, topic: TopicRuntime, p: int, first: int, end: int) -> list[tuple[Record, KafkaView]]:
    """Envelopes of offsets [first, end) of partition ``p``, control markers and gaps left out."""
    log = topic.logs[p]
    keys, times, flags, origins = (log.keys(first, end), log.timestamps(first, end), log.flags(first, end),
                                   log.origins(first, end))
    tags = writers_by_tag(sim, topic.id) if (origins >= 0).any() else {}
    out = []
    for i in range(end - first):
        if flags[i] & CONTROL or (keys[i] == -1 and np.isnan(times[i])):
            continue
        out.append((envelope(sim, topic, p, first + i, int(keys[i]), float(times[i]), int(origins[i]), tags),
                    KafkaView(topic.id, p, first + i)))
    return out


def forget_read(sim: Simulation, topic: TopicRuntime, p: int) -> None:
    """Forget the envelopes below what every reader of the topic has committed (no reader: below
    the log start, what retention deleted)."""
    log = topic.logs[p]
    floor = min((sim.components[r].keep_from(topic.id, p) for r in topic.readers), default=log.log_start)
    side_table(topic).forget_below(p, max(floor, log.log_start))


class TopicSource(Source):
    """A topic read by an internal consumer group (one member, every partition): positions,
    committed offsets, and the books of the copy it reads (a topic's readers each keep theirs)."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        topic: TopicRuntime = sim.components[node.id]
        topic.readers.append(owner)
        n = topic.partition_count
        self.position = [0] * n
        self.committed = [0] * n
        self.lost = [0] * n  # offsets retention deleted before they were read
        self.acked = 0

    def _topic(self, sim: Simulation) -> TopicRuntime:
        topic: TopicRuntime = sim.components[self.node_id]
        return topic

    # what a topic asks of its readers (see group.py)
    def keep_from(self, topic: str, partition: int) -> int:
        return self.committed[partition]

    def marker_floor(self, topic: str, partition: int) -> int:
        return self.committed[partition]

    def on_append(self, sim: Simulation, topic: str, partition: int) -> None:
        """The bridge polls on its own clock: nothing to wake."""

    def poll(self, sim: Simulation, max_records: int) -> list[tuple[Record, KafkaView]]:
        topic = self._topic(sim)
        out: list[tuple[Record, KafkaView]] = []
        for p, log in enumerate(topic.logs):
            if len(out) >= max_records:
                break
            start = log.log_start
            if self.position[p] < start:  # retention deleted what it had not read yet
                self.lost[p] += start - self.position[p]
                self.position[p] = start
                self.committed[p] = max(self.committed[p], start)
            end = min(log.leo, self.position[p] + max_records - len(out))
            if end > self.position[p]:
                out.extend(records_at(sim, topic, p, self.position[p], end))
                self.position[p] = end
        return out

    def commit(self, sim: Simulation) -> None:
        topic = self._topic(sim)
        for p in range(len(self.position)):
            done = self.position[p] - self.committed[p]
            if topic.transactional and done:
                done -= topic.markers_in(p, self.committed[p], self.position[p])
            self.acked += done
            self.committed[p] = self.position[p]
            if topic.envelopes is not None:
                forget_read(sim, topic, p)

    def crash(self, sim: Simulation) -> None:
        """The positions die with the process; the committed offsets stay with the coordinator."""
        self.position = list(self.committed)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        topic = self._topic(sim)
        in_flight = waiting = markers = 0
        for p, log in enumerate(topic.logs):
            in_flight += self.position[p] - self.committed[p]
            waiting += log.leo - self.position[p] - topic.gap_ahead(self.owner, p, self.position[p])
            if topic.transactional:
                in_flight -= topic.markers_in(p, self.committed[p], self.position[p])
                waiting -= topic.markers_in(p, self.position[p])
                markers += topic.marker_count(p)
        lost = sum(self.lost)
        return [{"topic": topic.id, "group": self.owner, "produced": topic.leo_total() - markers,
                 "acknowledged": self.acked, "in_flight": in_flight, "waiting": waiting, "dead_lettered": 0,
                 "dropped": {DROP_RETENTION: lost} if lost else {}}]

    def view(self) -> dict[str, Any]:
        return {"committed": list(self.committed), "position": list(self.position)}


class TopicSink(Sink):
    """Produces into a topic as an idempotent producer with acks=all to a single broker: each
    record is appended and acknowledged at once, its envelope kept in the side table."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.round_robin = 0
        self.written = 0

    def write(self, sim: Simulation, records: list[Record]) -> int:
        topic: TopicRuntime = sim.components[self.node_id]
        table = side_table(topic)
        n = topic.partition_count
        by_partition: dict[int, list[Record]] = {}
        for record in records:
            if record.key is None:
                p = self.round_robin % n
                self.round_robin += 1
            else:
                p = partition_for_key(record.key.encode(), n)
            by_partition.setdefault(p, []).append(record)
        for p in sorted(by_partition):
            batch = by_partition[p]
            keys = np.array([table.intern(r.key) for r in batch], dtype=np.int32)
            first = topic.append(sim, p, keys)
            for i, record in enumerate(batch):
                table.put(p, first + i, record)
            if first % 64 < len(batch) or len(batch) >= 64:  # now and then: what every reader has read
                forget_read(sim, topic, p)
            if sim.record_flow:
                sim.emit({"k": "produce", "t": sim.kernel.now, "src": self.owner, "dst": topic.id, "p": p,
                          "o": first, "n": len(batch), "key": batch[0].key})
            for reader in topic.readers:
                sim.components[reader].on_append(sim, topic.id, p)
        self.written += len(records)
        return len(records)


register_source("kafka_topic", TopicSource)
register_sink("kafka_topic", TopicSink)
