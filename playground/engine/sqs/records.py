"""SQS's record adapter: ReceiveMessage and DeleteMessage on a queue, SendMessage into one.

``QueueSource`` receives (up to 10 messages a call, "ReceiveMessage": MaxNumberOfMessages 1-10),
and deletes what it handed out when the reader commits ("DeleteMessage" with the receipt handle
of that receive). A crash deletes nothing: the messages come back when their visibility timeout
ends, with a higher ApproximateReceiveCount (and to the dead-letter queue past maxReceiveCount).
A long poll that waits is answered by the queue through ``deliver``, as for an SQS consumer.

``QueueSink`` is SendMessage: body the record's key (or id), and on a FIFO queue MessageGroupId
the key and MessageDeduplicationId the record's id, so a record written twice within the 5-minute
deduplication interval is accepted but not delivered again ("Exactly-once processing in Amazon
SQS"). The envelope travels with the message (Msg.record).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from playground.engine.adapters import Sink, Source, register_sink, register_source
from playground.engine.record import DEFAULT_TEMPLATE, Hop, Record, SqsView

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation
    from playground.engine.sqs.queue import QueueRuntime
    from playground.engine.sqs.rules import Msg

MAX_MESSAGES = 10  # ReceiveMessage's MaxNumberOfMessages upper bound


def envelope(msg: Msg) -> Record:
    if msg.record is not None:
        record: Record = msg.record
        return record
    record_id = f"sqs:{msg.uid:x}"
    key = msg.group if msg.group is not None else msg.body
    return Record(record_id, key, DEFAULT_TEMPLATE.value(record_id, key), (), msg.sent_at, None,
                  (Hop(msg.origin or "sqs"),))


class QueueSource(Source):
    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.token = 0
        self.waiting = False
        self.ready: list[tuple[int, int, int, str]] = []
        self.unacked: list[tuple[int, int]] = []  # (seq, receipt) handed out, deleted at the next commit
        self.deleted = 0

    def _queue(self, sim: Simulation) -> QueueRuntime:
        queue: QueueRuntime = sim.components[self.node_id]
        return queue

    def deliver(self, sim: Simulation, worker: str, token: int, picks: list[tuple[int, int, int, str]]) -> None:
        """A long poll answered."""
        if token == self.token and self.waiting:
            self.waiting = False
            self.ready.extend(picks)

    def poll(self, sim: Simulation, max_records: int) -> list[tuple[Record, SqsView]]:
        queue = self._queue(sim)
        while not self.waiting and len(self.ready) < max_records:
            want = min(MAX_MESSAGES, max_records - len(self.ready))
            picks = queue.receive(sim, self.owner, "bridge", self.token, want)
            if picks is None:
                self.waiting = True
            elif not picks:
                break
            else:
                self.ready.extend(picks)
        taken, self.ready = self.ready[:max_records], self.ready[max_records:]
        out = []
        for seq, receipt, uid, _ in taken:
            msg = queue.msgs.get(seq)
            if msg is None:  # deleted or moved since the receive: nothing to hand out
                continue
            self.unacked.append((seq, receipt))
            out.append((envelope(msg), SqsView(self.node_id, f"{uid:x}", f"{seq}:{receipt}", msg.receives)))
        return out

    def commit(self, sim: Simulation) -> None:
        queue = self._queue(sim)
        held, self.unacked = self.unacked, []
        for seq, receipt in held:
            queue.delete(sim, seq, receipt)
            self.deleted += 1

    def crash(self, sim: Simulation) -> None:
        """Nothing is deleted: the messages come back after their visibility timeout."""
        if self.waiting:
            self._queue(sim).cancel_wait(self.owner, "bridge", self.token)
        self.token += 1
        self.waiting = False
        self.ready, self.unacked = [], []

    def view(self) -> dict[str, Any]:
        return {"in_flight": len(self.unacked) + len(self.ready), "deleted": self.deleted}


class QueueSink(Sink):
    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.fifo = node.params.get("queue_type") == "fifo"
        self.uid_base = zlib.crc32(owner.encode()) << 32
        self.sent = 0

    def write(self, sim: Simulation, records: list[Record]) -> int:
        queue: QueueRuntime = sim.components[self.node_id]
        accepted = 0
        for record in records:
            self.sent += 1
            body = record.key if record.key is not None else record.id
            group = (record.key or "bridge") if self.fifo else None
            stored = queue.send(sim, self.uid_base | self.sent, body, group=group,
                                dedup_id=record.id if self.fifo else None, sent_at=record.event_time)
            if stored:
                queue.msgs[queue.seq].record = record
            accepted += 1
        if sim.record_flow and records:
            sim.emit({"k": "sqs_send", "t": sim.kernel.now, "src": self.owner, "dst": self.node_id,
                      "n": len(records), "key": records[0].key})
        return accepted


register_source("sqs_queue", QueueSource)
register_sink("sqs_queue", QueueSink)
