"""Idempotent producer sequence numbers count records, not batches (producer.py, sender.py,
accumulator.py, replication.py, output.py).

Rules from Kafka's clients and broker, cited per test:
- RecordAccumulator.drain: a batch with no sequence yet gets the partition's next sequence as its
  base when it is first drained (``batch.setProducerState(producerIdAndEpoch,
  transactionManager.sequenceNumber(tp), ...)``), then
  TransactionManager.incrementSequenceNumber(tp, batch.recordCount).
- DefaultRecordBatch.incrementSequence / lastSequence: wraps after Integer.MAX_VALUE to 0.
- ProducerAppendInfo.checkSequence / inSequence: a batch's firstSeq must follow the last batch's
  lastSeq (base + count - 1); ProducerStateEntry.findDuplicateBatch / batchWithSequenceRange
  matches (firstSeq, lastSeq) among the last 5 batches.
- TransactionManager.adjustSequencesDueToFailedBatch: the later in-flight batches of a failed
  batch's partition take its record count less, and so does the next sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playground import engine
from playground.engine.kafka.accumulator import (
    INT_MAX,
    NO_SEQUENCE,
    Req,
    first_drain,
    increment_sequence,
    last_sequence,
    sequence_gone,
    sequences_after_gone,
)
from playground.engine.kafka.replication import APPENDED, DUPLICATE, OUT_OF_ORDER, find_duplicate_batch
from tests.engine.kafka.test_producer import one_topic, run
from tests.engine.kafka.test_transactions import replicated_pipeline


def keys(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int32)


def contiguous_by_records(entries: Any) -> bool:
    """Each retained batch (base sequence, first offset, end offset) starts where the one before
    it ended, counted in records."""
    entries = list(entries)
    return all(b[0] == increment_sequence(a[0], a[2] - a[1]) for a, b in zip(entries, entries[1:], strict=False))


def test_two_batches_of_3_and_4_records_get_base_sequences_0_and_3():
    """RecordAccumulator.drain + TransactionManager.incrementSequenceNumber: the first batch takes
    0 (records 0..2), the next starts at 3 (records 3..6), the next after that at 7."""
    next_seq = [0]
    a, b = Req(1, 0, keys(3), None, NO_SEQUENCE, 0.0), Req(2, 0, keys(4), None, NO_SEQUENCE, 0.0)
    first_drain(a, next_seq)
    first_drain(b, next_seq)
    assert (a.seq, b.seq, next_seq[0]) == (0, 3, 7)
    first_drain(a, next_seq)  # a retry keeps its sequence
    assert (a.seq, next_seq[0]) == (0, 7)


def test_a_batch_gets_its_base_sequence_when_first_sent_not_when_made():
    """RecordAccumulator.tryAppend keeps adding records to the open batch while it waits; the
    base sequence is set in drain, so a batch that grew numbers all its records."""
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True, brokers=1)), 2)
    producer, topic = sim.components["p"], sim.components["t"]
    producer._enqueue(0, keys(2), None, None, sim.now)
    producer._enqueue(0, keys(3), None, None, sim.now)  # joins the open batch
    req = producer.queues[0][0]
    assert req.n == 5 and req.seq == NO_SEQUENCE
    start = producer.next_seq[0]
    producer._drain_partition(sim, topic, 0, sim.now)
    assert req.seq == start and producer.next_seq[0] == increment_sequence(start, 5)


def test_the_leader_takes_0_to_2_then_3_to_6_refuses_a_gap_and_answers_a_duplicate_with_its_offsets():
    """ProducerAppendInfo.checkSequence: firstSeq must be lastSeq + 1 of the last batch (2, then 6);
    a gap is OutOfOrderSequence; a retry of the first batch (same first and last sequence) is a
    duplicate answered with the original offsets (findDuplicateBatch)."""
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True, brokers=1)), 2)
    topic = sim.components["t"]
    part = topic.parts[0]
    outcome, first = topic.produce(sim, 0, keys(3), None, "x", "all", 0, None)
    assert outcome == APPENDED and part.seqs["x"] == 2
    outcome, second = topic.produce(sim, 0, keys(4), None, "x", "all", 3, None)
    assert outcome == APPENDED and part.seqs["x"] == 6
    outcome, _ = topic.produce(sim, 0, keys(1), None, "x", "all", 8, None)
    assert outcome == OUT_OF_ORDER
    outcome, _ = topic.produce(sim, 0, keys(3), None, "x", "all", 0, None)
    assert outcome == DUPLICATE
    assert find_duplicate_batch(part.retained["x"], 0, 3) == (0, first.first, first.first + 3)
    assert find_duplicate_batch(part.retained["x"], 3, 4) == (3, second.first, second.first + 4)


def test_a_failed_batch_of_3_shifts_the_later_in_flight_batches_down_by_3():
    """TransactionManager.adjustSequencesDueToFailedBatch: each later in-flight batch with a
    sequence takes baseSequence - failed recordCount; a batch not drained yet has none and keeps
    none; the next sequence goes down by 3 as well."""
    gone = Req(1, 0, keys(3), None, 0, 0.0)
    later = [Req(2, 0, keys(4), None, 3, 0.0), Req(3, 0, keys(2), None, 7, 0.0),
             Req(4, 0, keys(5), None, NO_SEQUENCE, 0.0)]
    sequences_after_gone(later, gone)
    assert [r.seq for r in later] == [0, 4, NO_SEQUENCE]
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True, brokers=1)), 2)
    producer = sim.components["p"]
    producer.next_seq[0] = 9
    failed, after = Req(100, 0, keys(3), None, 0, sim.now), Req(101, 0, keys(6), None, 3, sim.now)
    producer.queues[0].append(after)
    producer._sequence_gone(failed)
    assert (after.seq, producer.next_seq[0]) == (0, 6)


def test_the_output_writer_shifts_later_requests_by_the_dropped_requests_record_count():
    """The consumer group's output writer, adjustSequencesDueToFailedBatch as above."""
    requests = [type("R", (), {"seq": s})() for s in (3, 7, None)]
    sequence_gone(requests, 0, 3)
    assert [r.seq for r in requests] == [0, 4, None]


def test_a_batch_of_5_starting_at_int_max_minus_1_ends_at_2_and_the_next_starts_at_3():
    """DefaultRecordBatch.lastSequence / incrementSequence wrap after Integer.MAX_VALUE; the
    leader takes the next batch at 3 (inSequence)."""
    assert last_sequence(INT_MAX - 1, 5) == 2
    next_seq = [INT_MAX - 1]
    req = Req(1, 0, keys(5), None, NO_SEQUENCE, 0.0)
    first_drain(req, next_seq)
    assert (req.seq, next_seq[0]) == (INT_MAX - 1, 3)
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True, brokers=1)), 2)
    topic = sim.components["t"]
    assert topic.produce(sim, 0, keys(5), None, "x", "all", INT_MAX - 1, None)[0] == APPENDED
    assert topic.parts[0].seqs["x"] == 2
    assert topic.produce(sim, 0, keys(2), None, "x", "all", 3, None)[0] == APPENDED
    assert topic.parts[0].seqs["x"] == 4


def test_a_running_idempotent_producer_numbers_records():
    """End to end: every partition's retained batches follow one another in record sequence,
    and the leader's last sequence is the last batch's base + count - 1."""
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True)), 3)
    run(sim, 2.0)
    topic = sim.components["t"]
    counts = []
    for part in topic.parts:
        entries = list(part.retained["p"])
        counts += [e[2] - e[1] for e in entries]
        assert contiguous_by_records(entries), entries
        base, first, end = entries[-1]
        assert part.seqs["p"] == last_sequence(base, end - first)
    assert max(counts) > 1  # batches of several records: numbering batches would fail above


def test_the_consumer_groups_output_writer_numbers_records():
    """The exactly-once output writer (GroupOutput) is an idempotent producer too."""
    sim = engine.Simulation(engine.parse_document(replicated_pipeline()), 5, record_flow=False)
    sim.advance(4.0)
    out = sim.components["out"]
    counts = []
    for part in out.parts:
        entries = list(part.retained.get("proc/out", ()))
        counts += [e[2] - e[1] for e in entries]
        assert contiguous_by_records(entries), entries
    assert counts and max(counts) > 1
