"""Redis Streams' record adapter: a consumer group read with XREADGROUP and XACK, and XADD.

``StreamSource`` is one consumer (``bridge``) in a consumer group of its own, created with
``XGROUP CREATE key group $`` when the run starts (groups.py's GroupState). It reads new entries
with ``XREADGROUP ... STREAMS key >`` (each enters the pending entries list, PEL) and XACKs them
when the reader commits. After a crash, as the Redis documentation's consumer recipe says
("Recovering from permanent failures" / XREADGROUP with an ID), it first reads its own pending
history (``XREADGROUP ... STREAMS key 0``) until that is empty, then new entries again: what it
had read but not acknowledged comes back.

``StreamSink`` is ``XADD key * ...`` with an auto-generated ID (ms of the simulated clock); the
record's envelope is kept beside the entry (StreamRuntime.envelopes) for readers that want it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.adapters import Sink, Source, register_sink, register_source, template_of
from playground.engine.record import Hop, Record, RedisStreamView
from playground.engine.redisx.group import GroupState, Nack
from playground.engine.redisx.ids import format_id, split_id
from playground.engine.redisx.runtime import msg

if TYPE_CHECKING:
    from playground.engine.redisx.runtime import StreamRuntime
    from playground.engine.simulation import Simulation

CONSUMER = "bridge"
MAX_KEPT = 100_000  # envelopes kept beside a stream's entries (the oldest go first)
DROP_TRIMMED = "trimmed by MAXLEN before the bridge read it"


def envelope(sim: Simulation, stream: StreamRuntime, nack: Nack) -> Record:
    """The entry's record: the one a bridge wrote, or one made from the entry (its ID gives the
    event time, the publisher's message number the key)."""
    kept = stream.envelopes.get(nack.id)
    if kept is not None:
        record: Record = kept
        return record
    record_id = f"{stream.id}@{format_id(nack.id)}"
    key = msg(nack.key)
    writers = [n.id for n in sim.document.sources(stream.id) if n.type == "redis_publisher"]
    writer = writers[0] if len(writers) == 1 else stream.id
    template = template_of(sim, writer)
    return Record(record_id, key, template.value(record_id, key), (), split_id(nack.id)[0] / 1000.0,
                  template.schema_id, (Hop(writer),))


class StreamSource(Source):
    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        stream: StreamRuntime = sim.components[node.id]
        self.group = GroupState(stream.log, "$")
        stream.readers.append(owner)
        self.for_group = self.acked = 0
        self.dropped = 0
        self.recovering = False
        self.unacked: list[int] = []

    def _stream(self, sim: Simulation) -> StreamRuntime:
        stream: StreamRuntime = sim.components[self.node_id]
        return stream

    # what a stream asks of its readers (see redisx/consumers.py)
    def keep_from(self) -> int:
        return self.group.next_pos

    def oldest_pending_pos(self) -> int | None:
        g = self.group
        return g.pel[g.pel_ids[0]].pos if g.pel_ids else None

    def on_added(self, n: int, redriven_by: str | None) -> None:
        self.for_group += n

    def on_trim(self, sim: Simulation, start: int, end: int) -> None:
        self.dropped += max(0, end - max(start, self.group.next_pos))

    def poll(self, sim: Simulation, max_records: int) -> list[tuple[Record, RedisStreamView]]:
        now_ms = sim.kernel.now * 1000.0
        if self.recovering:
            nacks = self.group.read_history(CONSUMER, 0, max_records, now_ms)
            nacks = [n for n in nacks if n.id not in self.unacked]
            if not nacks:
                self.recovering = False
        if not self.recovering:
            nacks = self.group.read_new(CONSUMER, max_records, now_ms)
        stream = self._stream(sim)
        out = []
        for nack in nacks:
            self.unacked.append(nack.id)
            out.append((envelope(sim, stream, nack), RedisStreamView(stream.id, format_id(nack.id), self.owner)))
        return out

    def commit(self, sim: Simulation) -> None:
        ids, self.unacked = self.unacked, []
        self.acked += len(self.group.ack(ids))

    def crash(self, sim: Simulation) -> None:
        """The PEL keeps what was read and not acknowledged."""
        self.unacked = []

    def restart(self, sim: Simulation) -> None:
        self.recovering = True

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"stream": self.node_id, "group": self.owner, "produced": self.for_group, "acknowledged": self.acked,
                 "in_flight": len(self.group.pel), "waiting": self.group.unread(), "dead_lettered": 0,
                 "dropped": {DROP_TRIMMED: self.dropped} if self.dropped else {}}]

    def view(self) -> dict[str, Any]:
        return {"pending": len(self.group.pel), "last_delivered": format_id(self.group.last_id)}


class StreamSink(Sink):
    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.sent = 0

    def write(self, sim: Simulation, records: list[Record]) -> int:
        if not records:
            return 0
        stream: StreamRuntime = sim.components[self.node_id]
        arrival = np.full(len(records), int(sim.kernel.now * 1000.0), dtype=np.int64)
        ids = stream.log.auto_ids(arrival)
        keys = np.arange(self.sent, self.sent + len(records), dtype=np.int64).astype(np.int32)
        self.sent += len(records)
        for entry_id, record in zip(ids.tolist(), records, strict=True):
            stream.envelopes[entry_id] = record
        stream.add(sim, self.owner, ids, keys)
        self._forget(sim, stream)
        return len(records)

    @staticmethod
    def _forget(sim: Simulation, stream: StreamRuntime) -> None:
        """Forget envelopes of entries no group may read again (below every group's last-delivered
        position and oldest pending entry; no group: trimmed ones), and past MAX_KEPT the oldest."""
        log = stream.log
        floor = max(log.first, log.base)  # (rows below base are gone from the buffers)
        if stream.readers:
            floor = max(floor, min(min(g.keep_from(), g.oldest_pending_pos() or g.keep_from())
                                   for g in (sim.components[r] for r in stream.readers)))
            floor = max(floor, log.base)
        kept = stream.envelopes
        floor_id = log.id_at(floor) if floor < log.appended else log.last_id + 1
        while kept:
            first = next(iter(kept))
            if first >= floor_id and len(kept) <= MAX_KEPT:
                break
            del kept[first]


register_source("redis_stream", StreamSource)
register_sink("redis_stream", StreamSink)
