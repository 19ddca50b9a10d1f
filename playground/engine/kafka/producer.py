"""A Kafka producer during a run: batching, partitioning, compression, acks, retries, idempotence.

Rules followed (KafkaProducer, RecordAccumulator, Sender; KIP-98 idempotence; KIP-794):

- Records are gathered per partition every linger.ms into batches of at most batch.size bytes;
  keyed records go to murmur2(key) % partitions, records without a key to the sticky partition
  (switched once batch.size bytes went to it, Kafka 3.3+).
- Each batch is compressed (compression.type) on the sender, which also has to put the bytes on
  the wire: the slower of the two stages bounds throughput. Batches the sender cannot take wait
  in the accumulator (buffer.memory; beyond it send() would block past max.block.ms and fail).
- acks=0: the batch is written if the leader is there and never acknowledged; acks=1: answered
  once the leader appended it; acks=all: once the high watermark passed it, refused with
  NotEnoughReplicas when the ISR is smaller than min.insync.replicas.
- A failed request is retried after retry.backoff.ms at the head of its partition's queue,
  while retries and delivery.timeout.ms allow; then the batch is given up (lost if it was never
  written). At most max.in.flight.requests.per.connection requests per partition are unanswered
  at once (the real limit is per broker connection).
- enable.idempotence (default since Kafka 3.0) takes effect only with acks=all (and at most 5 in
  flight): batches carry the producer id and a sequence number, the leader drops a batch it
  already has (no duplicate) and refuses one that skips a sequence (no reordering). Without it,
  a retry of a batch whose acknowledgement was lost writes it again (a duplicate, counted) and,
  with more than one request in flight, a retried batch can land after a later one (counted).

- A batch the broker refuses as invalid (a record without a key on a compacted topic:
  INVALID_RECORD) is failed at once, never retried; the duplicate of a batch the leader already
  has is answered with the original batch's offsets.
- send() blocks while buffer.memory is full, and fails with a TimeoutException after
  max.block.ms (accumulator.py: the sender's pace, sequence numbers, blocked sends).

Transactions, epochs and fencing (KIP-98; transactional=true, which needs idempotence): see
producer_txn.py.

Accounting: the producer owns a stream of the records that are not (or not yet) in a topic's
readable log: waiting in its accumulator, written above the high watermark (in flight), or lost
before being committed (dropped, with the reason). Once committed, a record belongs to the
streams of the groups that read the topic.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from playground.engine._mypyc import mypyc_attr
from playground.engine.component import CommandError, Runtime
from playground.engine.kafka.accumulator import (
    DROP_BLOCKED,
    DROP_INVALID,
    DROP_INVALID_BATCH,
    NO_SEQUENCE,
    BlockedSends,
    Req,
    decrement_sequence,
    first_drain,
    may_append_to,
    sender_may_start,
    sequence_gone,
    sequences_after_gone,
)
from playground.engine.kafka.compaction import records_without_key
from playground.engine.kafka.compression import CODECS, RECORD_BATCH_OVERHEAD, batch_cost, records_per_second
from playground.engine.kafka.log import TOMBSTONE, TXN
from playground.engine.kafka.partitioner import (
    key_name,
    partition_for_key,
)
from playground.engine.kafka.producer_txn import fence_zombie, start_instance, txn_tick
from playground.engine.kafka.replication import (
    APPENDED,
    DUPLICATE,
    INVALID_RECORD,
    NO_LEADER,
    Batch,
    find_duplicate_batch,
)
from playground.engine.kafka.sender import invalid_batch, refused, send_at_once, sticky_partitions, unblock
from playground.engine.kafka.transactions import origin_ids

if TYPE_CHECKING:
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.kernel import Kernel
    from playground.engine.simulation import Simulation

PRODUCE: Final = 1
DROP_ACKS0_DOWN: Final = "acks=0 and the leader was down"
DROP_BUFFER_FULL: Final = DROP_BLOCKED  # the old name
GIVE_UP: Final = "delivery.timeout.ms expired"
RETRIES_EXHAUSTED: Final = "retries exhausted"
KEY_BLOCK: Final = 4096  # keys drawn at a time (see _keys)
MAX_SEQ_IN_FLIGHT: Final = 5  # idempotence keeps ordering for at most 5 requests in flight
INF: Final = float("inf")


def producer_stream(topic: str, producer: str, waiting: int, in_flight: int,
                    dropped: dict[str, int]) -> dict[str, Any]:
    """The accounting stream of records a producer owns: waiting to be written, written above a
    high watermark (in flight), or dropped before being committed."""
    return {"topic": topic, "group": None, "producer": producer,
            "produced": waiting + in_flight + sum(dropped.values()), "acknowledged": 0,
            "in_flight": in_flight, "waiting": waiting, "dead_lettered": 0, "dropped": dict(dropped)}


__all__ = ["DROP_INVALID", "DROP_INVALID_BATCH", "ProducerRuntime", "Req", "producer_stream", "sequence_gone"]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class ProducerRuntime(Runtime):
    commands = {"start_instance": "cmd_start_instance"}
    command_labels = {"start_instance": "Start a second instance"}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: TopicRuntime | None,
                 track_origins: bool = False) -> None:
        self.id = node_id
        self.track_origins = track_origins  # some group counts end-to-end duplicates: give origin ids
        self.transactional = bool(params.get("transactional", False))
        self.txn_s = float(params.get("transaction_ms", 100)) / 1000.0
        self.abort_share = float(params.get("abort_share", 0.0))
        self.txn = 1  # the open transaction
        self.txn_started = 0.0
        self.txn_closing = False  # commitTransaction() called: flushing
        self.txn_failed = False  # a batch was given up: the transaction can only abort
        self.txn_markers: list[int] | None = None  # partitions still waiting for their marker
        self.txn_commit = True
        self.txn_records: dict[int, list[tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None]]] = {}
        self.txn_commits = 0
        self.txn_aborts = 0
        self.epoch = 0  # the producer epoch (InitProducerId bumps it; see producer_txn.py)
        self.epoch_bumps = 0
        self.zombie: dict[str, Any] | None = None  # the fenced old instance, until its next request
        self.fenced_instances = 0
        self.fenced_records = 0
        self.handed_over = 0  # the zombie's unsent records, waiting for the new instance to send them
        self.rate = float(params["rate"])
        self.linger = float(params["linger_ms"]) / 1000.0
        self.topic = topic.id if topic else None
        self.tombstone_share = float(params.get("tombstone_share", 0.0))
        self.key_null_share = float(params["key_null_share"])
        self.acks = str(params["acks"])
        self.retries = int(params["retries"])
        self.backoff = float(params["retry_backoff_ms"]) / 1000.0
        self.delivery_timeout = float(params["delivery_timeout_ms"]) / 1000.0
        self.request_timeout = float(params["request_timeout_ms"]) / 1000.0
        self.max_in_flight = int(params["max_in_flight"])
        self.idempotent = bool(params["enable_idempotence"]) and self.acks == "all" \
            and self.max_in_flight <= MAX_SEQ_IN_FLIGHT
        self.record_bytes = int(params["record_bytes"])
        self.batch_records = max(1, int(params["batch_size"]) // self.record_bytes)
        codec = CODECS[params["compression"]]
        self.ratio = float(params["compression_ratio"]) or codec.ratio
        self.cpu_ms_per_mb = float(params["compression_cpu_ms_per_mb"]) if params["compression_cpu_ms_per_mb"] >= 0 \
            else codec.cpu_ms_per_mb
        self.capacity = records_per_second(self.record_bytes, self.ratio, self.cpu_ms_per_mb,
                                           float(params["network_mb_s"]))
        self.buffer_records = max(1, int(params["buffer_memory"]) // self.record_bytes)
        self.max_block = float(params.get("max_block_ms", 60_000)) / 1000.0
        self.blocked = BlockedSends()  # send() calls waiting for buffer.memory
        self.batches = 0  # batches made (each sent at least once)
        self.batched = 0  # records in them
        self.wire_bytes = 0  # bytes of the batches on the wire, batch headers included (first sends)
        self.invalid = 0  # records refused as invalid by the broker
        self.duplicate_answers = 0  # batches answered DUPLICATE_SEQUENCE with the original offsets
        self.costs: dict[int, tuple[int, float]] = {}  # records -> (bytes on the wire, CPU seconds) of a batch
        self.sent = 0
        self.acknowledged = 0
        self.duplicates = 0
        self.reordered = 0
        self.send_retries = 0
        self.bytes_sent = 0
        self.bytes_compressed = 0
        self.cpu_s = 0.0
        self.busy_until = 0.0
        self.waiting_n = 0  # records in the accumulator not written anywhere
        self.pending_n = 0  # records written above a high watermark
        self.dropped: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.rng = sim.kernel.rng(f"producer:{node_id}")
        self.number = 0
        keys = int(params["keys"])
        skew = float(params["key_skew"])
        self.uniform_keys = keys if skew == 0 else 0
        self.cumulative: np.ndarray | None
        if skew:
            weights = 1.0 / np.arange(1, keys + 1, dtype=np.float64) ** skew
            self.cumulative = np.cumsum(weights / weights.sum())
            self.cumulative[-1] = 1.0
        else:
            self.cumulative = None
        count = topic.partition_count if topic is not None else 0
        self.queues: list[deque[Req]] = [deque() for _ in range(count)]
        self.outstanding: dict[int, Req] = {}  # sent and unanswered, oldest first
        self.in_flight = [0] * count
        self.next_seq = [0] * count
        self.last_written = [-1] * count
        self.drain_index = 0  # where the next drain starts (RecordAccumulator's drainIndex)
        self.sticky: int | None = None
        self.sticky_bytes = 0
        self.queued_total = 0
        if topic is not None:
            # The partition of each key, in the smallest integer type that holds every partition
            # (8 bits up to 256 partitions): the stable argsort that groups a linger's records by
            # partition is a radix sort for 8- and 16-bit integers, quicker than a merge sort.
            self.partition_of = np.fromiter(
                (partition_for_key(key_name(k).encode(), count) for k in range(keys)),
                dtype=np.min_scalar_type(count - 1), count=keys
            )
            self.key_rng = sim.kernel.rng(f"producer:{node_id}:keys")
            self.key_block = np.empty(0, dtype=np.int32)  # drawn keys not used yet start at key_pos
            self.part_block = self.partition_of[:0]  # the partition of each key in key_block
            self.key_pos = 0
        if topic is not None and self.rate > 0:
            sim.kernel.schedule(self.linger, PRODUCE, self.id)

    # -- the send loop ----------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        rng = self.rng
        n = int(rng.poisson(self.rate * self.linger))
        kernel: Kernel = sim.kernel
        kernel.schedule(kernel.now + self.linger, PRODUCE, self.id)
        topic: TopicRuntime = sim.components[self.topic]  # type: ignore[index]
        if self.zombie is not None:
            fence_zombie(self, sim)
        if self.blocked.records:
            unblock(self, sim, topic)
        if n:
            self._accumulate(sim, topic, n)
        if self.transactional:
            txn_tick(self, sim, topic)
        if topic.parts is not None or self.queued_total:
            self._expire(sim)
            self._drain(sim, topic)

    def _keys(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` keys of the producer's key stream, and the partition of each.

        The keys are drawn KEY_BLOCK at a time from a random source of their own (a draw of
        thousands costs about what a draw of a hundred does) and partitioned once per block; the
        stream does not depend on how the linger intervals cut it.
        """
        pos = self.key_pos
        end = pos + n
        if end > len(self.key_block):
            rng = self.key_rng
            size = KEY_BLOCK if n < KEY_BLOCK else n
            if self.cumulative is None:
                fresh = rng.integers(self.uniform_keys, size=size, dtype=np.int32)
            else:
                fresh = np.searchsorted(self.cumulative, rng.random(size), side="right").astype(np.int32)
            self.key_block = np.concatenate((self.key_block[pos:], fresh))
            self.part_block = np.concatenate((self.part_block[pos:], self.partition_of.take(fresh)))
            pos, end = 0, n
        self.key_pos = end
        # Views of the blocks: the caller may mark null keys in them, which only touches keys taken
        return self.key_block[pos:end], self.part_block[pos:end]

    def _accumulate(self, sim: Simulation, topic: TopicRuntime, n: int) -> None:
        rng = self.rng
        keys, parts = self._keys(n)
        origins = None
        if self.track_origins:
            origins = origin_ids(self.id, np.arange(self.sent, self.sent + n, dtype=np.int64))
        self.sent += n
        raw = n * self.record_bytes
        self.bytes_sent += raw
        if self.key_null_share > 0:
            null = rng.random(n) < self.key_null_share
            if null.any():
                keys[null] = -1
                parts[null] = sticky_partitions(self, sim, topic, int(null.sum()))
        order = parts.argsort(kind="stable")
        counts = np.bincount(parts, minlength=len(self.queues)).tolist()  # records per partition
        keys = keys[order]
        if origins is not None:
            origins = origins[order]
        # A tombstone is a record with a null value: "delete this key" on a compacted topic.
        tombs: np.ndarray | None = rng.random(n)[order] < self.tombstone_share if self.tombstone_share > 0 else None
        if self.transactional:  # per-record flags: transactional, and tombstone where it is one
            flags = np.full(n, TXN, dtype=np.uint8)
            if tombs is not None:
                flags[tombs] |= TOMBSTONE
            tombs = flags
        now = sim.kernel.now
        if topic.parts is not None:
            if (not self.queued_total and not self.transactional and n <= self.buffer_records
                    and not self.blocked.records and not self.drain_index and not self._request_timed_out(now)):
                send_at_once(self, sim, topic, counts, keys, tombs, origins, now)
                return
            direct = False
        else:
            direct = (not self.queued_total and not self.transactional and not self.blocked.records
                      and self._sender_free(now, n))
        start = 0
        batch_records = self.batch_records
        for p, count in enumerate(counts):
            if not count:
                continue
            end = start + count
            for lo in range(start, end, batch_records):
                hi = lo + batch_records if lo + batch_records < end else end
                batch_tombs = None if tombs is None else tombs[lo:hi]
                batch_origins = None if origins is None else origins[lo:hi]
                if direct and not refused(self, sim, topic, p, keys[lo:hi], batch_tombs):
                    # the single ideal broker: written and committed at once
                    self._compress(hi - lo, now)
                    first = topic.append(sim, p, keys[lo:hi], batch_tombs, batch_origins)
                    self._emit_produce(sim, topic.id, p, first, keys[lo:hi])
                    self.acknowledged += hi - lo
                    for reader in topic.readers:
                        sim.components[reader].on_append(sim, topic.id, p)
                    continue
                if direct:
                    continue  # refused as invalid
                if self.blocked.records or self.queued_total + hi - lo > self.buffer_records:
                    # send() blocks until buffer.memory has room, behind the calls already waiting
                    self.blocked.add(now, p, keys[lo:hi], batch_tombs, batch_origins)
                    self.waiting_n += hi - lo
                    continue
                self._enqueue(p, keys[lo:hi], batch_tombs, batch_origins, now)
            start = end

    def _enqueue(self, p: int, keys: np.ndarray, tombs: np.ndarray | None, origins: np.ndarray | None,
                 now: float) -> None:
        queue = self.queues[p]
        txn = (self.txn + 1 if self.txn_closing or self.txn_markers is not None else self.txn) \
            if self.transactional else 0
        if queue and may_append_to(queue[-1], self.batch_records, txn, self.epoch, tombs, origins):
            room = self.batch_records - queue[-1].n  # the open batch takes what fits; the rest opens the next
            self._append_to(queue[-1], keys[:room], None if tombs is None else tombs[:room],
                            None if origins is None else origins[:room])
            if len(keys) <= room:
                return
            keys = keys[room:]
            tombs = None if tombs is None else tombs[room:]
            origins = None if origins is None else origins[room:]
        self.number += 1
        req = Req(self.number, p, keys, tombs, NO_SEQUENCE, now)  # its sequence comes when first drained
        req.origins = origins
        req.epoch = self.epoch
        if self.transactional:
            req.txn = txn
            self.txn_records.setdefault(txn, []).append((p, keys, tombs, origins))
        queue.append(req)
        n = req.n
        self.queued_total += n
        self.waiting_n += n

    def _append_to(self, req: Req, keys: np.ndarray, tombs: np.ndarray | None, origins: np.ndarray | None) -> None:
        """Records appended to the open batch at the tail of their partition's queue."""
        n = len(keys)
        req.keys = np.concatenate((req.keys, keys))
        if tombs is not None and req.tombs is not None:
            req.tombs = np.concatenate((req.tombs, tombs))
        if origins is not None and req.origins is not None:
            req.origins = np.concatenate((req.origins, origins))
        req.n += n
        if self.transactional:
            self.txn_records.setdefault(req.txn, []).append((req.p, keys, tombs, origins))
        self.queued_total += n
        self.waiting_n += n

    # -- commands ---------------------------------------------------------------------------

    def cmd_start_instance(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Start a second instance with the same transactional.id: the epoch is bumped, the old
        instance's open transaction aborted, and the old instance (a zombie) is fenced at its next
        request (ProducerFencedException)."""
        if self.topic is None:
            raise CommandError(f"{self.id!r} is connected to no topic")
        start_instance(self, sim, sim.components[self.topic])  # type: ignore[arg-type]

    def _sender_free(self, now: float, n: int) -> bool:
        """The sender can start on more records within this linger interval (sender_may_start)."""
        return sender_may_start(self.busy_until, now, self.linger) if self.capacity != INF else True

    def _compress(self, n: int, now: float) -> None:
        cost = self.costs.get(n)
        if cost is None:  # batches come in a few sizes: each size's cost is worked out once
            _, wire, cpu = batch_cost(n, self.record_bytes, self.ratio, self.cpu_ms_per_mb)
            cost = self.costs[n] = (wire, cpu)
        wire, cpu = cost
        self.bytes_compressed += wire
        self.wire_bytes += wire + RECORD_BATCH_OVERHEAD
        self.batches += 1
        self.batched += n
        self.cpu_s += cpu
        if self.capacity != INF:
            self.busy_until = max(self.busy_until, now) + n / self.capacity

    def _request_timed_out(self, now: float) -> bool:
        """Some request was unanswered for request.timeout.ms (the oldest sent is the first)."""
        for req in self.outstanding.values():
            return now - req.sent_at >= self.request_timeout
        return False

    def _drain(self, sim: Simulation, topic: TopicRuntime) -> None:
        now = sim.kernel.now
        if self.busy_until < now:
            self.busy_until = now
        if not self.queued_total:
            return  # every queue is empty
        drain = self._drain_partition
        queues = self.queues
        count = len(queues)
        start = self.drain_index % count
        for i in range(count):
            p = start + i if start + i < count else start + i - count
            if queues[p] and not drain(sim, topic, p, now):
                # RecordAccumulator.drain's drainIndex: the next drain starts after the partition
                # where this one stopped, so no partition starves behind the first ones
                self.drain_index = p + 1 if p + 1 < count else 0
                return
        self.drain_index = 0  # nothing held back: the order no longer matters (the fast path starts at 0)

    def _drain_partition(self, sim: Simulation, topic: TopicRuntime, p: int, now: float) -> bool:
        """Send the head batches of partition ``p`` that may go (RecordAccumulator.drain); False
        once the sender has no time left in this linger interval."""
        queue = self.queues[p]
        txn = self.txn  # does not change while draining
        limited = self.acks != "0"
        capacity = self.capacity
        paced = capacity != INF
        while queue:
            req = queue[0]
            if req.txn > txn:
                break  # the next transaction's: sent once the commit in progress is over
            if req.due > now:
                break  # the head is backing off: the partition waits
            if limited and self.in_flight[p] >= self.max_in_flight:
                break
            if paced and self.busy_until >= now + self.linger:
                return False  # not sender_may_start, inline
            queue.popleft()
            self.queued_total -= req.n
            if not req.in_log:
                self.waiting_n -= req.n
            self._send(sim, topic, req)
        return True

    def _send(self, sim: Simulation, topic: TopicRuntime, req: Req) -> None:
        now = sim.kernel.now
        if req.attempts == 0:
            self._compress(req.n, now)
            first_drain(req, self.next_seq)
        else:
            self.send_retries += 1
            self.busy_until += req.n / self.capacity if self.capacity != INF else 0.0
        req.attempts += 1
        if topic.parts is None:
            first = topic.append(sim, req.p, req.keys, req.tombs, req.origins)
            if self.transactional:
                topic.txn_add(req.p, self.id, first, first + req.n)
            self._emit_produce(sim, topic.id, req.p, first, req.keys)
            self.acknowledged += req.n
            req.state = "done"
            for reader in topic.readers:
                sim.components[reader].on_append(sim, topic.id, req.p)
            return
        p = req.p
        acks = self.acks
        outcome, batch = topic.produce(sim, p, req.keys, req.tombs, self.id, acks,
                                       req.seq if self.idempotent else None, req if acks == "all" else None,
                                       req.epoch)
        if outcome == APPENDED:
            assert batch is not None
            n = req.n
            if req.in_log:
                self.duplicates += n  # written again: its first copy is still in the log
            last_written = self.last_written
            if req.number < last_written[p]:
                self.reordered += n
                sim.emit({"k": "reorder", "t": now, "node": self.id, "topic": topic.id, "p": p, "n": n,
                          "o": batch.first})
            else:
                last_written[p] = req.number
            req.base_offset = batch.first
            self.pending_n += n
            req.in_log = True
            batch.origins = req.origins
            if self.transactional:
                topic.txn_add(p, self.id, batch.first, batch.end)
            if sim.record_flow:
                self._emit_produce(sim, topic.id, p, batch.first, req.keys)
            if acks == "all":
                req.state = "sent"  # _outstanding, inline
                req.sent_at = now
                self.outstanding[req.number] = req
                self.in_flight[p] += 1
            else:
                req.state = "done"
                if acks == "1":
                    self.acknowledged += n
            topic.advance_hw(sim, p)  # a leader alone in the ISR commits at once
            return
        if outcome == DUPLICATE:
            # The leader has it already (DUPLICATE_SEQUENCE), and answers with the offsets of the
            # copy it has (ProducerStateEntry's batch metadata), once that copy is committed.
            original = find_duplicate_batch(topic.parts[p].retained.get(self.id), req.seq, req.n)  # type: ignore[index]
            if original is not None:
                req.base_offset = original[1]
            self.duplicate_answers += 1
            sim.emit({"k": "duplicate_sequence", "t": now, "node": self.id, "topic": topic.id, "p": p,
                      "seq": req.seq, "o": req.base_offset, "n": req.n, "committed": batch is None})
            if batch is None:
                self._done(req, acked=True)
            else:
                batch.req = req
                req.in_log = True
                self._outstanding(req, now)
            return
        if outcome == INVALID_RECORD:  # not retriable: the batch fails, and the application sees it
            req.state = "done"
            invalid_batch(self, sim, topic.id, p, req.n, records_without_key(req.keys, req.tombs))
            self._sequence_gone(req)
            return
        if self.acks == "0":
            self._drop(sim, req.n, DROP_ACKS0_DOWN if outcome == NO_LEADER else outcome, topic.id, req.p)
            req.state = "done"
            return
        self._retry_or_give_up(sim, req, outcome)

    def _outstanding(self, req: Req, now: float) -> None:
        req.state = "sent"
        req.sent_at = now
        self.outstanding[req.number] = req
        self.in_flight[req.p] += 1

    def _emit_produce(self, sim: Simulation, topic: str, p: int, first: int, keys: np.ndarray) -> None:
        if sim.record_flow:
            key = int(keys[0])
            sim.emit({"k": "produce", "t": sim.kernel.now, "src": self.id, "dst": topic, "p": p, "o": first,
                      "n": len(keys), "key": key_name(key) if key >= 0 else None})

    # -- answers ----------------------------------------------------------------------------

    def _done(self, req: Req, acked: bool) -> None:
        if req.state == "sent":
            del self.outstanding[req.number]
            self.in_flight[req.p] -= 1
        req.state = "done"
        if acked:
            self.acknowledged += req.n

    def acked(self, sim: Simulation, req: Req) -> None:
        if req.state == "sent":  # _done(req, acked=True), inline: every acks=all batch comes here
            del self.outstanding[req.number]
            self.in_flight[req.p] -= 1
            req.state = "done"
            self.acknowledged += req.n

    def request_failed(self, sim: Simulation, req: Req, error: str, keep_link: Batch | None = None) -> None:
        """The leader answered with an error, or the connection to it broke."""
        if keep_link is not None and req.state != "done":
            keep_link.req = req  # the copy in the log still tells us if it is truncated later
        if req.state != "sent":
            return
        del self.outstanding[req.number]
        self.in_flight[req.p] -= 1
        self._retry_or_give_up(sim, req, error)

    def copy_truncated(self, sim: Simulation, req: Req, n: int) -> None:
        """The copy of ``req`` in the log was truncated by a leader change before it was acknowledged."""
        self.pending_n -= n
        if req.epoch != self.epoch:
            return  # the fenced instance's copy: the new instance sends its records again
        if req.state == "done":
            self._drop(sim, n, f"{GIVE_UP}, then its copy was truncated", sim.components[self.topic].id, req.p)  # type: ignore[index]
            self._sequence_gone(req)
            return
        req.in_log = False
        if req.state == "queued":
            self.waiting_n += req.n
            return
        del self.outstanding[req.number]
        self.in_flight[req.p] -= 1
        self._retry_or_give_up(sim, req, "NotLeaderOrFollower: the leader changed")

    def committed(self, n: int) -> None:
        self.pending_n -= n

    def lost(self, sim: Simulation, n: int, reason: str, topic: str, p: int) -> None:
        """Records written to a leader were truncated away."""
        self.pending_n -= n
        self._drop(sim, n, reason, topic, p)

    def _retry_or_give_up(self, sim: Simulation, req: Req, error: str) -> None:
        now = sim.kernel.now
        short = error.split(":")[0]
        self.errors[short] = self.errors.get(short, 0) + 1
        req.error = short
        if req.attempts > self.retries or now + self.backoff - req.created > self.delivery_timeout:
            req.state = "done"
            if not req.in_log:
                reason = f"{GIVE_UP if req.attempts <= self.retries else RETRIES_EXHAUSTED}: {short}"
                self._drop(sim, req.n, reason, self.topic or "", req.p)
                self._sequence_gone(req)
            return
        req.state = "queued"
        req.due = now + self.backoff
        queue = self.queues[req.p]
        # Back at the head of its partition's queue, in sequence order (RecordAccumulator.reenqueue).
        i = 0
        while i < len(queue) and queue[i].number < req.number:
            i += 1
        queue.insert(i, req)
        self.queued_total += req.n
        if not req.in_log:
            self.waiting_n += req.n
        sim.emit({"k": "produce_retry", "t": now, "node": self.id, "topic": self.topic, "p": req.p, "n": req.n,
                  "error": short, "attempt": req.attempts + 1, "due": req.due})

    def _expire(self, sim: Simulation) -> None:
        """request.timeout.ms: a request unanswered that long fails (and is retried)."""
        now = sim.kernel.now
        while self.outstanding:
            req = next(iter(self.outstanding.values()))
            if now - req.sent_at < self.request_timeout:
                break
            self.request_failed(sim, req, "request timed out")
        if not self.queued_total:
            return  # every queue is empty (queued_total counts the records of the queued batches)
        for queue in self.queues:
            while queue and now - queue[0].created > self.delivery_timeout and queue[0].due <= now:
                req = queue.popleft()
                self.queued_total -= req.n
                if not req.in_log:
                    self.waiting_n -= req.n
                    self._drop(sim, req.n, f"{GIVE_UP}: {req.error or 'waiting in the accumulator'}",
                               self.topic or "", req.p)
                    self._sequence_gone(req)
                req.state = "done"

    def _sequence_gone(self, gone: Req) -> None:
        """``gone`` will never be in the log: the batches after it in its partition take one
        sequence number less per record of ``gone`` (the Java producer's
        TransactionManager.adjustSequencesDueToFailedBatch), or the leader would refuse every one
        of them as OutOfOrderSequence for ever. A batch never drained had no sequence: nothing moves."""
        if not self.idempotent:
            return
        p = gone.p
        if gone.epoch != self.epoch or gone.seq == NO_SEQUENCE:
            return
        sequences_after_gone(self.queues[p], gone)
        sequences_after_gone((req for req in self.outstanding.values() if req.p == p), gone)
        self.next_seq[p] = decrement_sequence(self.next_seq[p], gone.n)

    def _drop(self, sim: Simulation, n: int, reason: str, topic: str, p: int) -> None:
        if self.transactional:
            self.txn_failed = True  # an abortable error: the transaction can only abort
        self.dropped[reason] = self.dropped.get(reason, 0) + n
        sim.emit({"k": "drop", "t": sim.kernel.now, "reason": reason, "n": n, "node": self.id, "topic": topic,
                  "p": p})

    # -- accounting and view ----------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.topic is None:
            return []
        return [producer_stream(self.topic, self.id, self.waiting_n, self.pending_n, self.dropped)]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        now = max(sim.kernel.now, 1e-9)
        return {"sent": self.sent, "rate": self.rate, "acks": self.acks, "idempotent": self.idempotent,
                "acknowledged": self.acknowledged, "duplicates": self.duplicates, "reordered": self.reordered,
                "send_retries": self.send_retries, "errors": dict(self.errors), "dropped": dict(self.dropped),
                "accumulated": self.queued_total, "in_flight_requests": len(self.outstanding),
                "bytes_sent": self.bytes_sent, "bytes_compressed": self.bytes_compressed,
                "batches": self.batches, "wire_bytes": self.wire_bytes,
                "records_per_batch": round(self.batched / self.batches, 1) if self.batches else None,
                "requests_per_s": round(self.batches / now, 1), "linger_ms": self.linger * 1000,
                "blocked": self.blocked.records, "invalid": self.invalid,
                "duplicate_answers": self.duplicate_answers, "epoch": self.epoch,
                "fenced": {"instances": self.fenced_instances, "records": self.fenced_records,
                           "pending": self.zombie is not None} if self.transactional else None,
                "compression_ratio": self.ratio, "cpu_busy": min(1.0, self.cpu_s / now),
                "max_records_per_s": None if self.capacity == float("inf") else round(self.capacity),
                "transactions": {"commits": self.txn_commits, "aborts": self.txn_aborts, "open": self.txn,
                                 "state": "writing markers" if self.txn_markers is not None
                                 else "committing" if self.txn_closing else "open"}
                if self.transactional else None}
