"""The producer's record accumulator and sender, as small rules: batches on their way, sequence
numbers, the sender's pace and the send() calls blocked on buffer.memory.

Rules followed (Kafka's clients: RecordAccumulator, Sender, BufferPool, DefaultRecordBatch):

- Sequence numbers are 32-bit: after Integer.MAX_VALUE (2^31 - 1) comes 0
  (``DefaultRecordBatch.incrementSequence`` / ``decrementSequence``), and the broker takes 0
  after Integer.MAX_VALUE as the next one (``ProducerAppendInfo.inSequence``).
- Sequence numbers count records: a batch gets the partition's next sequence as its base when it
  is first drained to the sender (RecordAccumulator.drain sets the producer id, epoch and base
  sequence of a batch with none yet), and the next one starts ``record count`` later
  (TransactionManager.incrementSequenceNumber). A batch never sent has none (``NO_SEQUENCE``),
  so it may still grow (``may_append_to``); its last sequence is base + count - 1, wrapping
  (``last_sequence``, DefaultRecordBatch.lastSequence).
- Records join the open batch of their partition while it has room (batch.size) and has not
  been sent (``may_append_to``, RecordAccumulator.tryAppend); the playground makes one batch
  per partition per linger.ms when the sender keeps up.
- The sender thread puts one batch on the wire after another: a batch may start once the
  previous one is out, whatever its size, so a producer behind a slow link keeps sending at the
  link's rate (``sender_may_start``).
- ``send()`` needs buffer.memory for its record; when the accumulator is full it blocks, the
  callers waiting in turn (BufferPool's ``waiters``, first come first served), and fails with a
  TimeoutException (BufferExhaustedException: "Failed to allocate ... within the configured max
  blocking time") once it waited max.block.ms (``BlockedSends``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, Final

import numpy as np

from playground.engine._mypyc import mypyc_attr

INT_MAX: Final = 2**31 - 1  # java.lang.Integer.MAX_VALUE
NO_SEQUENCE: Final = -1  # RecordBatch.NO_SEQUENCE
DROP_BLOCKED: Final = ("TimeoutException: send() blocked longer than max.block.ms "
                       "(buffer.memory full)")
DROP_INVALID: Final = "InvalidRecordException: Compacted topic cannot accept message without key"
DROP_INVALID_BATCH: Final = ("KafkaException: part of a batch which had one or more invalid records "
                             "(a record without a key on a compacted topic)")


def increment_sequence(sequence: int, increment: int) -> int:
    """The sequence ``increment`` after ``sequence``, wrapping after Integer.MAX_VALUE to 0
    (DefaultRecordBatch.incrementSequence)."""
    if sequence > INT_MAX - increment:
        return increment - (INT_MAX - sequence) - 1
    return sequence + increment


def decrement_sequence(sequence: int, decrement: int) -> int:
    """The sequence ``decrement`` before ``sequence``, wrapping below 0 to Integer.MAX_VALUE
    (DefaultRecordBatch.decrementSequence)."""
    if sequence < decrement:
        return INT_MAX - (decrement - sequence) + 1
    return sequence - decrement


def last_sequence(base: int, count: int) -> int:
    """The sequence of the last record of a batch of ``count`` records starting at ``base``
    (DefaultRecordBatch.lastSequence: incrementSequence(baseSequence, lastOffsetDelta))."""
    return increment_sequence(base, count - 1)


def in_sequence(last_seq: int, next_seq: int) -> bool:
    """Whether the broker takes ``next_seq`` after ``last_seq`` (ProducerAppendInfo.inSequence):
    the next number, or 0 after Integer.MAX_VALUE."""
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT_MAX)


def sender_may_start(busy_until: float, now: float, linger: float) -> bool:
    """The sender may put another batch on the wire during this linger interval: the previous
    batches are out before the interval ends (Sender.runOnce drains whatever the network takes;
    a batch larger than one interval's worth still goes, it just keeps the sender busy longer)."""
    return busy_until < now + linger


def may_append_to(tail: Req, batch_records: int, txn: int, epoch: int, tombs: np.ndarray | None,
                  origins: np.ndarray | None) -> bool:
    """Whether new records join the batch at the tail of their partition's queue
    (RecordAccumulator.tryAppend: the last batch of the deque takes records while it has room
    for batch.size and has not been drained to the sender; a record that does not fit opens the
    next batch). So batches fill up while the sender is behind, instead of one small batch per
    linger.ms."""
    return (tail.attempts == 0 and tail.state == "queued" and tail.n < batch_records and tail.txn == txn
            and tail.epoch == epoch and (tail.tombs is None) == (tombs is None)
            and (tail.origins is None) == (origins is None))


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Req:
    """A batch on its way: waiting to be sent (again), or sent and unanswered."""

    __slots__ = ("n", "p", "keys", "tombs", "seq", "created", "attempts", "due", "in_log", "state", "sent_at",
                 "error", "number", "origins", "txn", "epoch", "base_offset")

    def __init__(self, number: int, p: int, keys: np.ndarray, tombs: np.ndarray | None, seq: int,
                 created: float) -> None:
        """``seq`` is its base sequence, NO_SEQUENCE until it is first drained (``first_drain``)."""
        self.number = number  # rises with every batch the producer makes: its order within a partition
        self.n = len(keys)
        self.p = p
        self.keys = keys
        self.tombs = tombs
        self.seq = seq
        self.created = created
        self.attempts = 0
        self.due = created
        self.in_log = False  # a copy of it is in the partition (the broker wrote it)
        self.state = "queued"  # queued | sent | done
        self.sent_at = created
        self.error = ""
        self.origins: np.ndarray | None = None  # origin ids (end-to-end duplicate counting)
        self.txn = 0  # the transaction it belongs to (transactional producer)
        self.epoch = 0  # the producer epoch it was made under (a fenced instance's are refused)
        self.base_offset = -1  # the offset its answer gave (RecordMetadata.offset of its first record)


def sequence_gone(requests: Iterable[Any], seq: int, count: int) -> None:
    """A request with base sequence ``seq`` and ``count`` records will never be in the log: the
    later ``requests`` of its partition that have a sequence take ``count`` less
    (TransactionManager.adjustSequencesDueToFailedBatch: baseSequence - failed recordCount)."""
    for req in requests:
        if req.seq is not None and req.seq > seq:
            req.seq -= count


def first_drain(req: Req, next_seq: list[int]) -> None:
    """``req`` is drained for the first time: it takes its partition's next sequence as its base,
    and the next batch will start ``req.n`` later (RecordAccumulator.drain: ``batch.setProducerState
    (producerIdAndEpoch, transactionManager.sequenceNumber(tp), ...)`` then
    ``transactionManager.incrementSequenceNumber(tp, batch.recordCount)``). A retried batch keeps
    the sequence it has."""
    if req.seq == NO_SEQUENCE:
        p = req.p
        req.seq = next_seq[p]
        next_seq[p] = increment_sequence(next_seq[p], req.n)


def sequences_after_gone(requests: Iterable[Req], gone: Req) -> None:
    """``gone`` will never be in the log: each later batch of its partition (made after it) that
    has a sequence takes ``gone``'s record count less, wrapping like the producer's counter
    (TransactionManager.adjustSequencesDueToFailedBatch, in newer clients TxnPartitionEntry
    .adjustSequencesDueToFailedBatch, with decrementSequence). Batches not
    drained yet have no sequence and take theirs when they are."""
    for req in requests:
        if req.number > gone.number and req.epoch == gone.epoch and req.seq != NO_SEQUENCE:
            req.seq = decrement_sequence(req.seq, gone.n)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class BlockedSends:
    """Batches whose send() calls wait for buffer.memory, oldest first (BufferPool's waiters):
    (time send() was called, partition, keys, flags, origin ids)."""

    __slots__ = ("chunks", "records")

    def __init__(self) -> None:
        self.chunks: deque[tuple[float, int, np.ndarray, np.ndarray | None, np.ndarray | None]] = deque()
        self.records = 0

    def __len__(self) -> int:
        return len(self.chunks)

    def add(self, now: float, p: int, keys: np.ndarray, tombs: np.ndarray | None,
            origins: np.ndarray | None) -> None:
        self.chunks.append((now, p, keys, tombs, origins))
        self.records += len(keys)

    def expired(self, now: float, max_block: float) -> list[tuple[int, int]]:
        """The waiting calls that blocked max.block.ms fail: ``[(partition, records)]``."""
        out: list[tuple[int, int]] = []
        chunks = self.chunks
        while chunks and now - chunks[0][0] >= max_block:
            _, p, keys, _, _ = chunks.popleft()
            self.records -= len(keys)
            out.append((p, len(keys)))
        return out

    def admit(self, room: int) -> list[tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """The oldest waiting batches that fit in ``room`` records of buffer.memory, in order
        (a waiter is served only once the ones before it are)."""
        out: list[tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None]] = []
        chunks = self.chunks
        while chunks and len(chunks[0][2]) <= room:
            _, p, keys, tombs, origins = chunks.popleft()
            room -= len(keys)
            self.records -= len(keys)
            out.append((p, keys, tombs, origins))
        return out
