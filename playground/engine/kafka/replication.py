"""One partition replicated across brokers: replicas, leader, ISR, each replica's LEO, the HW.

Rules followed (Kafka's Partition and ReplicaManager; KIP-16 time-based ISR; KIP-101 epochs):

- The leader appends produced batches; each follower fetches from its log end offset (LEO) and
  receives everything up to the leader's LEO at the time of its fetch.
- High watermark = the smallest LEO over the in-sync replicas (ISR). Consumers read only below
  it, and acks=all is acknowledged when it passes the batch.
- A follower leaves the ISR when it has not caught up with the leader's LEO for
  replica.lag.time.max.ms (lastCaughtUpTimeMs), and rejoins once its LEO reaches the HW.
- A new leader keeps its own log; every other replica truncates to the new leader's LEO, so
  what only the old leader had is gone.

Storage: records up to the HW live in the topic's PartitionLog (what consumers read); the
batches between the HW and the leader's LEO are kept here, one object per produced batch, so
replication and truncation cost per batch, not per record. Offsets stay monotonic: when an
unclean election makes a replica whose LEO is below the HW the leader, the log goes on from the
old HW and the records in between are reported lost (readers skip them).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from playground.engine._mypyc import mypyc_attr
from playground.engine.kafka.accumulator import (
    NO_SEQUENCE,
    decrement_sequence,
    in_sequence,
    increment_sequence,
    last_sequence,
)
from playground.engine.kafka.compaction import records_without_key

if TYPE_CHECKING:
    from playground.engine.kafka.cluster import ClusterRuntime
    from playground.engine.kafka.group import GroupRuntime
    from playground.engine.kafka.log import PartitionLog
    from playground.engine.kafka.storage import TopicStorage
    from playground.engine.kernel import Kernel
    from playground.engine.simulation import Simulation


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Batch:
    """A produced batch in the leader's log above the high watermark."""

    __slots__ = ("first", "end", "keys", "tombs", "producer", "seq", "acks", "req", "epoch", "origins")

    def __init__(self, first: int, keys: np.ndarray, tombs: np.ndarray | None, producer: str | None,
                 seq: int | None, acks: str, req: Any, epoch: int) -> None:
        self.first = first
        self.end = first + len(keys)
        self.keys = keys
        self.tombs = tombs
        self.producer = producer
        self.seq = seq
        self.acks = acks
        self.req = req  # the producer's request still waiting for this batch (acks=all), or None
        self.epoch = epoch
        self.origins: np.ndarray | None = None  # origin ids, when the run counts end-to-end duplicates


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class PartitionState:
    __slots__ = ("replicas", "leader", "isr", "leo", "caught_up", "fetch_sent", "fetch_upto", "fetch_due",
                 "hw", "pending", "epoch", "seqs", "lost", "retained", "producer_epochs")

    def __init__(self, replicas: list[int], now: float) -> None:
        self.replicas = replicas
        self.leader: int | None = replicas[0]  # the preferred leader: the first replica
        self.isr = list(replicas)
        self.leo = dict.fromkeys(replicas, 0)
        self.caught_up = dict.fromkeys(replicas, now)  # lastCaughtUpTimeMs per follower
        self.fetch_sent = dict.fromkeys(replicas, now)
        self.fetch_upto = dict.fromkeys(replicas, 0)  # the leader's LEO when that fetch was sent
        self.fetch_due = dict.fromkeys(replicas, now)
        self.hw = 0
        self.pending: deque[Batch] = deque()
        self.epoch = 0
        self.seqs: dict[str, int] = {}  # idempotent producer state: last sequence (of the last record) per producer
        self.lost = 0  # records truncated away, counted
        # ProducerStateEntry: the metadata (sequence, first offset, end offset) of the last
        # NUM_BATCHES_TO_RETAIN batches of each producer, and each producer's epoch
        self.retained: dict[str, deque[tuple[int, int, int]]] = {}
        self.producer_epochs: dict[str, int] = {}

    @property
    def leader_leo(self) -> int:
        return self.pending[-1].end if self.pending else self.hw

    def append(self, keys: np.ndarray, tombs: np.ndarray | None, producer: str | None, seq: int | None, acks: str,
               req: Any) -> Batch:
        pending = self.pending
        batch = Batch(pending[-1].end if pending else self.hw, keys, tombs, producer, seq, acks, req, self.epoch)
        pending.append(batch)
        self.leo[self.leader] = batch.end  # type: ignore[index]
        if producer is not None and seq is not None:
            self.seqs[producer] = last_sequence(seq, len(keys))
            self.retain(producer, seq, batch.first, batch.end)
        return batch

    def retain(self, producer: str, seq: int, first: int, end: int) -> None:
        """Keep the metadata of a batch just appended (ProducerStateEntry.addBatch: the last 5)."""
        entries = self.retained.get(producer)
        if entries is None:
            entries = self.retained[producer] = deque(maxlen=NUM_BATCHES_TO_RETAIN)
        entries.append((seq, first, end))

    def bump_producer_epoch(self, producer: str, epoch: int) -> None:
        """A control record (a transaction marker) written with a newer epoch: the producer's
        state starts over (ProducerStateEntry.maybeUpdateProducerEpoch clears its batches), and
        older epochs are fenced from now on."""
        known = self.producer_epochs.get(producer)
        if known is None:
            self.producer_epochs[producer] = epoch
        elif known < epoch:
            self.producer_epochs[producer] = epoch
            self.retained.pop(producer, None)
            self.seqs[producer] = NO_SEQUENCE

    def find_seq(self, producer: str, seq: int) -> Batch | None:
        for batch in self.pending:
            if batch.producer == producer and batch.seq == seq:
                return batch
        return None

    def new_hw(self) -> int:
        """min LEO over the ISR (never below the current HW: the HW does not go back)."""
        if not self.isr:
            return self.hw
        leo = self.leo
        low = min([leo[r] for r in self.isr])
        return low if low > self.hw else self.hw

    def view(self, brokers_up: dict[int, bool]) -> dict[str, Any]:
        return {"leader": self.leader, "replicas": list(self.replicas), "isr": list(self.isr),
                "leo": self.leader_leo, "hw": self.hw, "epoch": self.epoch,
                "replica_leo": {str(r): self.leo[r] for r in self.replicas},
                "offline": self.leader is None or not brokers_up.get(self.leader, False), "lost": self.lost}


DROP_UNCLEAN: Final = "unclean leader election truncated it"
DROP_ACKS1: Final = "acks=1 and the leader died before followers copied it"
DROP_ACKS0: Final = "acks=0 and the leader died before followers copied it"

NUM_BATCHES_TO_RETAIN: Final = 5  # ProducerStateEntry.NUM_BATCHES_TO_RETAIN


def find_duplicate_batch(entries: Any, seq: int, count: int) -> tuple[int, int, int] | None:
    """The retained batch with the same first and last sequence as a batch of ``count`` records
    starting at ``seq``, or None (ProducerStateEntry.findDuplicateBatch, batchWithSequenceRange:
    ``firstSeq == batch.firstSeq() && lastSeq == batch.lastSeq()``; entries are (base sequence,
    first offset, end offset), so an entry's record count is end - first). The leader answers a
    duplicate with that batch's offsets (DUPLICATE_SEQUENCE, the original base offset), writing
    nothing."""
    if entries:
        last = last_sequence(seq, count)
        for entry in entries:
            if entry[0] == seq and last_sequence(entry[0], entry[2] - entry[1]) == last:
                return entry  # type: ignore[no-any-return]
    return None


def check_producer_sequence(known_epoch: int | None, last_seq: int | None, epoch: int, seq: int) -> str | None:
    """ProducerAppendInfo.checkProducerEpoch and checkSequence, for a batch that is no duplicate:
    an epoch older than the last seen is refused (InvalidProducerEpochException, the producer is
    fenced); a newer epoch must start at sequence 0; within an epoch the batch's first sequence
    must follow ``last_seq``, the last record's sequence of the last batch (base + count - 1:
    ``in_sequence``, wrapping after Integer.MAX_VALUE). A producer with no state yet
    may start anywhere. Returns the error outcome, or None to append."""
    if known_epoch is not None and epoch < known_epoch:
        return INVALID_PRODUCER_EPOCH
    if known_epoch is not None and epoch > known_epoch:
        return None if seq == 0 else OUT_OF_ORDER
    if last_seq is None:
        return None
    return None if in_sequence(last_seq, seq) else OUT_OF_ORDER


# Outcomes of a produce request at the partition leader
APPENDED: Final = "appended"
DUPLICATE: Final = "duplicate"  # idempotent producer: already in the log (DUPLICATE_SEQUENCE)
NO_LEADER: Final = "no leader for the partition"
NOT_ENOUGH_REPLICAS: Final = "NotEnoughReplicas: the ISR is smaller than min.insync.replicas"
OUT_OF_ORDER: Final = "OutOfOrderSequence: an earlier batch is missing"
INVALID_PRODUCER_EPOCH: Final = "InvalidProducerEpoch: a newer instance with the same transactional.id fenced it"
INVALID_RECORD: Final = "InvalidRecord: Compacted topic cannot accept message without key"


@mypyc_attr(allow_interpreted_subclasses=True)
class ReplicatedTopic:
    """The replicated side of a topic (mixed into TopicRuntime): ``parts`` is None for a topic
    with no cluster, which keeps the single ideal broker (every record committed at once)."""

    id: str
    readers: list[str]
    parts: list[PartitionState] | None
    cluster: str | None
    min_isr: int
    logs: list[PartitionLog]
    storage: TopicStorage
    transactional: bool  # TransactionalTopic's: declared here, so that compiled code reads it directly

    def add_gap(self, reader: str, p: int, start: int, end: int) -> None:
        """Offsets [start, end) are lost for ``reader``: its fetches skip them (fetch_range)."""
        gaps = self.gaps.setdefault((reader, p), [])  # type: ignore[attr-defined]
        gaps.append((start, end))

    def gap_ahead(self, reader: str, p: int, offset: int) -> int:
        """Records at or after ``offset`` that ``reader`` will skip (already counted as lost)."""
        return sum(end - max(start, offset) for start, end in self.gaps.get((reader, p), ())  # type: ignore[attr-defined]
                   if end > offset)

    def fetch_range(self, reader: str, p: int, position: int, handled: int) -> tuple[int, int]:
        """(position, end) of what ``reader`` may fetch next: up to the HW, or to the next lost
        range; once nothing before the range is in hand, the position jumps over it (KIP-320: the
        consumer notices the truncation and goes on where the new leader's log goes on)."""
        end = self.readable_end(reader, p)  # type: ignore[attr-defined]  # the HW, or the LSO (read_committed)
        gaps = self.gaps.get((reader, p))  # type: ignore[attr-defined]
        while gaps:
            start, stop = gaps[0]
            if position < start:
                return position, min(end, start)
            if handled < start:
                return position, position  # a batch below the range is still being processed
            position = max(position, stop)
            gaps.pop(0)
        return position, end

    def fetchable_end(self, p: int) -> int:
        """The offset below which consumers may read: the high watermark."""
        return self.logs[p].leo  # type: ignore[attr-defined]  # the readable log ends at the HW

    def leader_leo(self, p: int) -> int:
        return self.parts[p].leader_leo if self.parts else self.logs[p].leo  # type: ignore[attr-defined]

    def produce(self, sim: Simulation, p: int, keys: np.ndarray, tombs: np.ndarray | None, producer: str, acks: str,
                seq: int | None, req: Any, producer_epoch: int = 0) -> tuple[str, Batch | None]:
        """A produce request reaches partition ``p``'s leader (Kafka's Partition.appendRecordsToLeader).

        acks=all is refused with NotEnoughReplicas when the ISR is smaller than
        min.insync.replicas (checked before the append, so nothing is written). A compacted topic
        refuses a batch holding a record without a key (LogValidator.validateKey: INVALID_RECORD,
        "Compacted topic cannot accept message without key"). With a producer id and sequence
        (idempotence), a sequence among the producer's last 5 batches is a duplicate and is not
        written again (answered with the original batch's offsets: ``find_duplicate_batch``);
        one that does not follow the last is refused as out of order, and an epoch older than
        the last seen as fenced (``check_producer_sequence``).

        ProducerRuntime._send_at_once appends a batch that passes every check here without this
        call (the producer's fresh batches of each linger): a rule changed here changes there too.
        """
        part = self.parts[p]  # type: ignore[index]
        leader = part.leader
        if leader is None or not sim.components[self.cluster].brokers[leader].up:  # type: ignore[index]  # cluster.serving
            return NO_LEADER, None
        if acks == "all" and len(part.isr) < self.min_isr:
            return NOT_ENOUGH_REPLICAS, None
        if self.storage.config.compacts and records_without_key(keys, tombs):
            return INVALID_RECORD, None  # LogValidator.validateKey refuses the whole batch
        if seq is not None:
            known = part.producer_epochs.get(producer)
            if known is None or producer_epoch == known:
                duplicate = find_duplicate_batch(part.retained.get(producer), seq, len(keys))
                if duplicate is not None:
                    return DUPLICATE, part.find_seq(producer, seq)
            error = check_producer_sequence(known, part.seqs.get(producer), producer_epoch, seq)
            if error is not None:
                return error, None
            if known is None or producer_epoch > known:
                part.producer_epochs[producer] = producer_epoch
                part.retained.pop(producer, None)
            part.seqs[producer] = last_sequence(seq, len(keys))
        # PartitionState.append, inline (once per produced batch)
        pending = part.pending
        batch = Batch(pending[-1].end if pending else part.hw, keys, tombs, producer, seq, acks, req, part.epoch)
        pending.append(batch)
        part.leo[leader] = batch.end
        if seq is not None:
            part.retain(producer, seq, batch.first, batch.end)
        return APPENDED, batch

    def advance_hw(self, sim: Simulation, p: int) -> None:
        """Move the HW to the smallest LEO over the ISR and commit what it passes (``commit``)."""
        parts = self.parts
        assert parts is not None
        part = parts[p]
        isr = part.isr
        leo = part.leo
        # PartitionState.new_hw, inline (this runs for every batch appended): the HW moves only if
        # every replica in the ISR is past it, and most calls find one that is not.
        hw = part.hw
        low = -1
        for r in isr:
            r_leo = leo[r]
            if r_leo <= hw:
                return
            if low < 0 or r_leo < low:
                low = r_leo
        if low < 0:
            return
        pending = part.pending
        if not pending or pending[0].end > low:
            return  # the HW moves by whole batches: none is below the new one yet
        leader = part.leader
        if leader is None:
            return
        cluster: ClusterRuntime = sim.components[self.cluster]  # type: ignore[index]
        if not cluster.brokers[leader].up:
            return
        self.commit(sim, p, part, low)

    def commit(self, sim: Simulation, p: int, part: PartitionState, hw: int) -> None:
        """The HW moves to ``hw``: the pending batches below it go into the readable log, readers
        are told, acks=all requests answered (NotEnoughReplicasAfterAppend when the ISR shrank
        below min.insync.replicas meanwhile: the record stays, the producer retries).

        The caller has checked that the leader is up and that the first pending batch ends at or
        below ``hw`` (the HW moves by whole batches).
        """
        components = sim.components
        pending = part.pending
        short = len(part.isr) < self.min_isr
        # TopicRuntime.append's common case, tried here first (once per committed batch)
        log: PartitionLog | None = self.logs[p] if self.storage.started else None
        kernel: Kernel = sim.kernel
        now = kernel.now
        producer: Any = None
        producer_id = None
        while pending and pending[0].end <= hw:
            batch = pending.popleft()
            part.hw = end = batch.end
            if (batch.tombs is not None or batch.origins is not None or log is None
                    or not log.append_plain(batch.keys, now)):
                self.append(sim, p, batch.keys, batch.tombs, batch.origins)  # type: ignore[attr-defined]
            writer = batch.producer
            if writer is not None:
                if writer != producer_id:
                    producer_id = writer
                    producer = components[writer]
                producer.committed(end - batch.first)
                req = batch.req
                if req is not None:
                    if short:
                        producer.request_failed(sim, req, "NotEnoughReplicasAfterAppend")
                    else:
                        producer.acked(sim, req)
                    batch.req = None
        topic_id = self.id
        for reader_id in self.readers:
            reader: GroupRuntime = components[reader_id]
            reader.on_append(sim, topic_id, p)

    def leader_lost(self, sim: Any, p: int) -> None:
        """The partition went offline: requests waiting on its old leader fail (it is gone)."""
        for batch in self.parts[p].pending:  # type: ignore[index]
            if batch.req is not None:
                req, batch.req = batch.req, None
                sim.components[batch.producer].request_failed(sim, req, NO_LEADER, keep_link=batch)

    def truncate(self, sim: Any, p: int, new_leo: int, unclean: bool) -> int:
        """A new leader with LEO ``new_leo``: every batch above it is gone from the partition.

        A batch still waiting for acks=all goes back to its producer, which retries it (it was
        never acknowledged); any other is lost, counted with the reason. Requests waiting on the
        batches that survive fail too (NOT_LEADER_OR_FOLLOWER: the producer retries; without
        idempotence the retry writes a duplicate). Returns the number of records lost.
        """
        part = self.parts[p]  # type: ignore[index]
        lost = 0
        removed_seq: dict[str, int] = {}
        while part.pending and part.pending[-1].end > new_leo:
            batch = part.pending.pop()
            n = len(batch.keys)
            if batch.first < new_leo:  # keep the part the new leader has (batches align, but be safe)
                keep = new_leo - batch.first
                kept = Batch(batch.first, batch.keys[:keep], None if batch.tombs is None else batch.tombs[:keep],
                             batch.producer, batch.seq, batch.acks, batch.req, batch.epoch)
                kept.origins = None if batch.origins is None else batch.origins[:keep]
                part.pending.append(kept)
                n -= keep
            if batch.producer is None:
                continue
            if batch.seq is not None:  # the sequence of its first record cut away (records are numbered)
                removed_seq[batch.producer] = (batch.seq if batch.first >= new_leo
                                               else increment_sequence(batch.seq, new_leo - batch.first))
            producer = sim.components[batch.producer]
            if batch.req is not None and batch.first >= new_leo:
                producer.copy_truncated(sim, batch.req, n)
                continue
            reason = DROP_UNCLEAN if unclean else DROP_ACKS0 if batch.acks == "0" else DROP_ACKS1
            producer.lost(sim, n, reason, self.id, p)
            lost += n
        for producer_id, seq in removed_seq.items():
            part.seqs[producer_id] = decrement_sequence(seq, 1)
            entries = part.retained.get(producer_id)
            if entries:  # the batches cut away are no longer duplicates of anything
                kept_entries = [e for e in entries if e[2] <= new_leo]
                entries.clear()
                entries.extend(kept_entries)
        for batch in part.pending:
            if batch.req is not None:
                req, batch.req = batch.req, None
                sim.components[batch.producer].request_failed(sim, req, "NotLeaderOrFollower: the leader changed",
                                                              keep_link=batch)
        if new_leo < part.hw:
            # Unclean election below the HW: committed records the new leader never had.
            below = part.hw - new_leo
            lost += below
            part.seqs.clear()  # the producers' state went with them (UnknownProducerId)
            part.retained.clear()
            for reader in self.readers:
                # Readers that can skip a truncated range count what they had not read as lost;
                # until then the range stays readable here (see "left" in the module docstring).
                hook = getattr(sim.components[reader], "on_truncate", None)
                if hook is not None:
                    hook(sim, self.id, p, new_leo, part.hw, DROP_UNCLEAN)
            for r in part.replicas:
                part.leo[r] = min(part.leo[r], new_leo)
            part.leo[part.leader] = part.hw  # type: ignore[index]  # offsets go on from the old HW (see the module docstring)
            sim.emit({"k": "drop", "t": sim.kernel.now, "reason": DROP_UNCLEAN, "n": below, "node": self.id,
                      "topic": self.id, "p": p, "below_hw": True})
        part.lost += lost
        if self.transactional:
            self.txn_truncated(sim, p, new_leo)  # type: ignore[attr-defined]
        return lost

    def replication_views(self, sim: Any) -> list[dict[str, Any]] | None:
        if not self.parts:
            return None
        cluster = sim.components[self.cluster]
        up = {b: broker.up for b, broker in cluster.brokers.items()}
        return [part.view(up) for part in self.parts]
