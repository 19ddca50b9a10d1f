"""The producer inside a consume-process-produce group, writing to a replicated topic.

A group's output records reach a topic on a Kafka cluster as any producer's do: an idempotent
producer with acks=all (what Kafka Streams configures), through the partition leader and the
followers, acknowledged once the high watermark passes them. Rules followed:

- One request in flight per partition, carrying every record queued for it (of one
  transaction): order is kept, as idempotence keeps it. A request refused before the append (no
  leader, NotEnoughReplicas) is sent again after retry.backoff.ms (100 ms), without end
  (retries = Integer.MAX_VALUE, and the group waits as long as it takes).
- A copy cut away by a new leader before it was committed goes back to the head of its queue
  and is sent again with its sequence number; an error answer while the copy is still in the
  leader's log settles nothing by itself (an idempotent retry of it would be answered
  DUPLICATE_SEQUENCE once it is committed), so the copy's fate decides.
- A copy that will never be written (cut away, and its transaction aborted meanwhile) gives its
  sequence numbers (one per record) to the requests after it (adjustSequencesDueToFailedBatch), so the leader
  does not refuse them as out of order.
- commitTransaction() flushes first, then ends the transaction (KafkaProducer.commitTransaction:
  TransactionManager.beginCommit queues EndTxn(COMMIT) behind every record sent in the
  transaction, and it is sent once they are all acknowledged). A member's commit asks for the
  flush (``flush``); once every record of its transaction is acknowledged the writer tells the
  group (GroupRuntime.txn_flushed), which sends EndTxn(COMMIT): its offsets become committed and
  the COMMIT markers are written, after all of the transaction's records in every partition. A
  member that dies, or is fenced, before that never sends EndTxn: its transaction stays open
  until it is aborted (transaction.timeout.ms, or initTransactions at restart). The group's
  retries writer is no process that can die: its commit is decided at once, its markers written
  once flushed (``end_txn``). An abort drops the transaction's records not yet written and writes
  ABORT markers at once.

Accounting: records queued here wait, records above the high watermark are in flight, both in
this writer's own stream (as a producer's); once committed they belong to the readers' streams.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.component import Runtime
from playground.engine.kafka.accumulator import DROP_INVALID, DROP_INVALID_BATCH, decrement_sequence, increment_sequence
from playground.engine.kafka.compaction import records_without_key
from playground.engine.kafka.partitioner import key_name
from playground.engine.kafka.producer import producer_stream, sequence_gone
from playground.engine.kafka.replication import APPENDED, DUPLICATE, INVALID_RECORD

if TYPE_CHECKING:
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.simulation import Simulation

RETRY = 31
BACKOFF_S = 0.1  # retry.backoff.ms
DROP_ABORTED_UNSENT = "its transaction was aborted before it was written"


class OutRequest:
    __slots__ = ("p", "keys", "flags", "origins", "txn", "seq", "state")

    def __init__(self, p: int, keys: np.ndarray, flags: np.ndarray | None, origins: np.ndarray | None,
                 txn: str | None) -> None:
        self.p = p
        self.keys = keys
        self.flags = flags
        self.origins = origins
        self.txn = txn  # the transaction it belongs to (its writer id), or None
        self.seq: int | None = None  # given when first sent
        self.state = "queued"  # queued | sent | done

    @property
    def n(self) -> int:
        return len(self.keys)


class GroupOutput(Runtime):
    """One per group with an output topic on a cluster; registered as ``<group>/out``."""

    def __init__(self, group: str, topic: TopicRuntime) -> None:
        self.id = f"{group}/out"
        self.group = group
        self.topic = topic.id
        count = topic.partition_count
        self.queues: list[deque[OutRequest]] = [deque() for _ in range(count)]
        self.sent: list[OutRequest | None] = [None] * count
        self.seq = [0] * count
        self.waiting_n = 0
        self.pending_n = 0
        self.written = 0
        self.dropped: dict[str, int] = {}
        self.retry_at: float | None = None
        self.closing: dict[str, bool] = {}  # transaction -> commit decided, markers once flushed
        self.flushing: set[str] = set()  # transactions in commitTransaction: the group is told once flushed
        self.markers_due: list[tuple[int, str, bool]] = []  # markers that could not be written yet
        self.aborted: set[str] = set()  # aborted transactions with a request still in flight

    # -- writing ----------------------------------------------------------------------------

    def write(self, sim: Simulation, p: int, keys: np.ndarray, flags: np.ndarray | None,
              origins: np.ndarray | None, txn: str | None) -> None:
        self.queues[p].append(OutRequest(p, keys, flags, origins, txn))
        self.waiting_n += len(keys)
        self._pump(sim, p)

    def _pump(self, sim: Simulation, p: int) -> None:
        """Send the head of partition p's queue if nothing is in flight there."""
        queue = self.queues[p]
        topic: TopicRuntime = sim.components[self.topic]
        while self.sent[p] is None and queue:
            req = queue[0]
            if req.seq is None:  # never sent: take the next never-sent ones of its transaction along
                while len(queue) > 1 and queue[1].seq is None and queue[1].txn == req.txn:
                    more = queue[1]
                    del queue[1]
                    req.keys = np.concatenate([req.keys, more.keys])
                    req.origins = None if req.origins is None else np.concatenate([req.origins, more.origins])
                    req.flags = None if req.flags is None else np.concatenate([req.flags, more.flags])
                req.seq = self.seq[p]  # records are numbered: the next request starts req.n later
                self.seq[p] = increment_sequence(self.seq[p], req.n)
            outcome, batch = topic.produce(sim, p, req.keys, req.flags, self.id, "all", req.seq, req)
            if outcome == DUPLICATE:  # the leader has it already: answered when it is committed
                queue.popleft()
                self.waiting_n -= req.n
                if batch is None:
                    req.state = "done"
                    continue
                batch.req = req
                self.pending_n += req.n
                req.state = "sent"
                self.sent[p] = req
                return
            if outcome == INVALID_RECORD:
                # Not retriable (Sender.failBatch): the batch fails, its records are dropped with
                # the reason, and the application's handler goes on with the next ones (Kafka
                # Streams' ProductionExceptionHandler answering CONTINUE); retrying would hold
                # everything after it back for ever.
                queue.popleft()
                self.waiting_n -= req.n
                req.state = "done"
                invalid = records_without_key(req.keys, req.flags)
                self.dropped[DROP_INVALID] = self.dropped.get(DROP_INVALID, 0) + invalid
                if req.n > invalid:
                    self.dropped[DROP_INVALID_BATCH] = self.dropped.get(DROP_INVALID_BATCH, 0) + req.n - invalid
                self._sequence_dropped(p, req.seq, req.n)
                continue
            if outcome != APPENDED or batch is None:
                self._retry_later(sim)
                return
            queue.popleft()
            self.waiting_n -= req.n
            self.pending_n += req.n
            req.state = "sent"
            self.sent[p] = req
            batch.origins = req.origins
            if req.txn is not None:
                topic.txn_add(p, req.txn, batch.first, batch.end)
            if sim.record_flow:
                key = int(req.keys[0])
                sim.emit({"k": "produce", "t": sim.kernel.now, "src": self.group, "dst": self.topic, "p": p,
                          "o": batch.first, "n": req.n, "key": key_name(key) if key >= 0 else None})
            topic.advance_hw(sim, p)  # a leader alone in the ISR commits at once

    def _retry_later(self, sim: Simulation) -> None:
        if self.retry_at is None:
            self.retry_at = sim.kernel.now + BACKOFF_S
            sim.kernel.schedule(self.retry_at, RETRY, self.id, None)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        self.retry_at = None
        for p in range(len(self.queues)):
            self._pump(sim, p)
        self._write_markers(sim)
        self._close_flushed(sim)  # a re-sent request answered as a duplicate settles without an answer

    # -- transactions -----------------------------------------------------------------------

    def flush(self, txn: str) -> bool:
        """commitTransaction's flush: True when every record of ``txn`` is acknowledged already;
        else False, and the group is told (GroupRuntime.txn_flushed) once they all are."""
        if txn not in self._busy():
            return True
        self.flushing.add(txn)
        return False

    def _busy(self) -> set[str | None]:
        """Transactions with a record queued or not yet acknowledged."""
        busy = {r.txn for r in self.sent if r is not None}
        busy.update(r.txn for queue in self.queues for r in queue)
        return busy

    def end_txn(self, sim: Simulation, txn: str, commit: bool) -> None:
        """EndTxn: COMMIT markers once every record is acknowledged (at once after a flush), or an
        abort (a flush in progress is given up)."""
        if commit:
            self.closing[txn] = True
            self._close_flushed(sim)
            return
        self.flushing.discard(txn)
        for queue in self.queues:  # never written: dropped with the transaction
            for req in [r for r in queue if r.txn == txn]:
                queue.remove(req)
                self.waiting_n -= req.n
                self.dropped[DROP_ABORTED_UNSENT] = self.dropped.get(DROP_ABORTED_UNSENT, 0) + req.n
                if req.seq is not None:  # sent once, cut away by a new leader, never written again
                    self._sequence_dropped(req.p, req.seq, req.n)
        if any(r is not None and r.txn == txn for r in self.sent):
            self.aborted.add(txn)
        topic: TopicRuntime = sim.components[self.topic]
        self.markers_due.extend((p, txn, False) for p in topic.txn_partitions(txn))
        self._write_markers(sim)

    def _close_flushed(self, sim: Simulation) -> None:
        """Transactions whose commit was decided and whose records are all acknowledged get
        their COMMIT markers; the group is told of the flushes that are over."""
        if not self.closing and not self.flushing:
            return
        busy = self._busy()
        if self.closing:
            topic: TopicRuntime = sim.components[self.topic]
            for txn in [t for t in self.closing if t not in busy]:
                del self.closing[txn]
                self.markers_due.extend((p, txn, True) for p in topic.txn_partitions(txn))
            self._write_markers(sim)
        flushed = sorted(t for t in self.flushing if t not in busy)
        for txn in flushed:
            self.flushing.discard(txn)
        group = sim.components[self.group]
        for txn in flushed:  # EndTxn(COMMIT) from the member, which goes on (it may write again)
            group.txn_flushed(sim, txn)

    def _write_markers(self, sim: Simulation) -> None:
        topic: TopicRuntime = sim.components[self.topic]
        due, self.markers_due = self.markers_due, []
        for p, txn, commit in due:
            if not topic.end_txn(sim, p, txn, commit):
                self.markers_due.append((p, txn, commit))  # no leader: the coordinator retries
        if self.markers_due:
            self._retry_later(sim)

    # -- answers from the partition leader (the calls replication.py makes on a batch's producer) --

    def _finish(self, sim: Simulation, req: OutRequest) -> None:
        if req.state != "sent":
            return
        req.state = "done"
        self.written += req.n
        if self.sent[req.p] is req:
            self.sent[req.p] = None
        if req.txn in self.aborted and not any(r is not None and r.txn == req.txn for r in self.sent):
            self.aborted.discard(req.txn)
        self._pump(sim, req.p)
        self._close_flushed(sim)

    def committed(self, n: int) -> None:
        self.pending_n -= n

    def acked(self, sim: Simulation, req: OutRequest) -> None:
        self._finish(sim, req)

    def request_failed(self, sim: Simulation, req: OutRequest, error: str, keep_link: Any = None) -> None:
        if keep_link is not None:
            keep_link.req = req  # the copy in the log decides (committed or cut away)
            return
        # NotEnoughReplicasAfterAppend: the copy is committed; the idempotent retry would be
        # answered DUPLICATE_SEQUENCE, a success.
        self._finish(sim, req)

    def copy_truncated(self, sim: Simulation, req: OutRequest, n: int) -> None:
        """A new leader cut the copy away before it was committed: send it again (same sequence),
        unless its transaction was aborted meanwhile (then it is dropped with it)."""
        self.pending_n -= n
        if self.sent[req.p] is req:
            self.sent[req.p] = None
        if req.txn in self.aborted:
            req.state = "done"
            self.dropped[DROP_ABORTED_UNSENT] = self.dropped.get(DROP_ABORTED_UNSENT, 0) + n
            self._sequence_dropped(req.p, req.seq, req.n)
        else:
            req.state = "queued"
            self.queues[req.p].appendleft(req)
            self.waiting_n += n
        self._retry_later(sim)

    def _sequence_dropped(self, p: int, seq: int | None, count: int) -> None:
        """A request of ``count`` records that had a sequence number will never be written: the
        requests after it take ``count`` less, as the Java producer's
        TransactionManager.adjustSequencesDueToFailedBatch does (baseSequence - recordCount), so
        that the leader does not refuse them as OutOfOrderSequence for ever."""
        if seq is None:
            return
        sequence_gone(self.queues[p], seq, count)
        self.seq[p] = decrement_sequence(self.seq[p], count)

    def lost(self, sim: Simulation, n: int, reason: str, topic: str, p: int) -> None:
        self.pending_n -= n
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    # -- accounting -------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [producer_stream(self.topic, self.id, self.waiting_n, self.pending_n, self.dropped)]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"written": self.written, "queued": self.waiting_n, "in_flight_records": self.pending_n,
                "dropped": dict(self.dropped),
                "closing": len(self.closing) + len(self.flushing)}
