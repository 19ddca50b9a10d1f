"""The Kafka producer: the sender behind a slow network, send() blocked on buffer.memory, batches a
compacted topic refuses, duplicates answered with the original offsets, sequence numbers that
wrap (playground/engine/kafka/producer.py, accumulator.py, sender.py, replication.py).

Rules from the Kafka clients (RecordAccumulator, Sender, BufferPool, DefaultRecordBatch) and the
broker (LogValidator, ProducerStateEntry, ProducerAppendInfo), cited per test.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import engine
from playground.engine.kafka.accumulator import (
    DROP_BLOCKED,
    INT_MAX,
    BlockedSends,
    Req,
    decrement_sequence,
    in_sequence,
    increment_sequence,
    sender_may_start,
)
from playground.engine.kafka.compaction import records_without_key, retain_mask
from playground.engine.kafka.producer import DROP_INVALID, DROP_INVALID_BATCH
from playground.engine.kafka.replication import (
    DUPLICATE,
    INVALID_PRODUCER_EPOCH,
    OUT_OF_ORDER,
    check_producer_sequence,
    find_duplicate_batch,
)
from playground.examples import load
from tests.conftest import run as run_for
from tests.engine.factories import assert_restored_continues_identically, stream_conserved


def conserved(sim: engine.Simulation) -> None:
    for stream in sim.streams():
        assert stream_conserved(stream), stream
        assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"]) >= 0, stream


def starter_behind_a_slow_network(**producer: Any) -> engine.Simulation:
    """The starter topology sending 20,000 records/s of 200 bytes through a 1 MB/s network: the
    network takes 5,000 records/s."""
    doc = load("starter")
    doc["nodes"][0]["params"].update(rate=20_000, network_mb_s=1.0, **producer)
    return engine.Simulation(engine.parse_document(doc), 1, record_flow=False)


def one_topic(*, cluster: bool, brokers: int = 3, producer: dict[str, Any] | None = None,
              topic: dict[str, Any] | None = None) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "p", "type": "producer", "params": {"rate": 500, "keys": 40, **(producer or {})}},
        {"id": "t", "type": "kafka_topic", "params": {"partitions": 3, **(topic or {})}},
        {"id": "g", "type": "consumer_group", "params": {"consumers": 1, "processing_ms": 0.2}},
    ]
    edges = [{"source": "p", "target": "t"}, {"source": "t", "target": "g"}]
    if cluster:
        nodes.append({"id": "k", "type": "kafka_cluster",
                      "params": {"brokers": brokers, "default_replication_factor": brokers,
                                 "min_insync_replicas": 1}})
        edges.append({"source": "k", "target": "t"})
    return {"fanout": 1, "name": "producer test", "nodes": nodes, "edges": edges}


run = partial(run_for, step=0.25)

# -- the sender behind a network bottleneck, send() blocked on buffer.memory (issue 11, point 6) --


def test_sender_may_start_a_batch_larger_than_one_linger_interval_once_the_wire_is_free():
    """Sender.runOnce sends whatever the network takes: a batch that needs longer than linger.ms on
    the wire still goes once the previous one is out (it only keeps the sender busy longer)."""
    assert sender_may_start(busy_until=10.0, now=10.0, linger=0.005)
    assert sender_may_start(busy_until=10.004, now=10.0, linger=0.005)
    assert not sender_may_start(busy_until=10.005, now=10.0, linger=0.005)


def test_a_producer_behind_a_slow_network_keeps_sending_at_the_network_rate():
    """With the accumulator full behind a 1 MB/s link, Kafka's sender keeps draining at the link's
    rate (5,000 records of 200 bytes a second); it used to stall for good once buffer.memory
    filled (acknowledged 0/s, 167,772 records pinned in the accumulator, nothing in flight)."""
    sim = starter_behind_a_slow_network()
    producer = sim.components["orders-api"]
    sim.advance(10.0)
    for _ in range(5):
        before = producer.acknowledged
        sim.advance(1.0)
        assert 4_500 <= producer.acknowledged - before <= 5_500
    assert producer.queued_total > 160_000  # the accumulator is full (buffer.memory / 200 bytes)
    conserved(sim)


def test_send_blocked_longer_than_max_block_ms_fails_with_a_timeout_the_application_sees():
    """BufferPool.allocate: with buffer.memory full, send() blocks, the callers served in turn as
    memory frees, and one that waited max.block.ms fails with a TimeoutException
    (BufferExhaustedException): a drop with that reason, counted, while the rest keeps flowing."""
    sim = starter_behind_a_slow_network(max_block_ms=2000)
    producer = sim.components["orders-api"]
    run(sim, 20.0, step=1.0)
    metrics = sim.metrics()["nodes"]["orders-api"]
    timed_out = metrics["dropped"][DROP_BLOCKED]
    # 20,000 offered, 5,000 taken a second; the accumulator filled after about 11 s
    assert 80_000 < timed_out < 140_000
    assert 0 < metrics["blocked"] <= 2 * 20_000 * 1.1  # at most max.block.ms of sends wait
    before = producer.acknowledged
    sim.advance(1.0)
    assert producer.acknowledged - before > 4_500
    conserved(sim)


def test_blocked_sends_are_served_first_come_first_served_and_time_out_after_max_block_ms():
    """BufferPool's waiters: the oldest blocked send() gets memory first; a later one never
    overtakes it even if it would fit; each fails once it waited max.block.ms."""
    blocked = BlockedSends()
    keys = np.arange(10, dtype=np.int32)
    blocked.add(1.0, 0, keys[:6], None, None)
    blocked.add(1.5, 1, keys[:2], None, None)
    blocked.add(2.0, 2, keys[:3], None, None)
    assert blocked.admit(5) == []  # the oldest needs 6: nobody passes it
    assert [p for p, *_ in blocked.admit(8)] == [0, 1]
    assert blocked.records == 3
    assert blocked.expired(now=2.9, max_block=1.0) == []
    assert blocked.expired(now=3.0, max_block=1.0) == [(2, 3)]
    assert blocked.records == 0


def test_the_compiled_names_of_the_old_drop_reason_still_resolve():
    """producer.DROP_BUFFER_FULL (used by older code) names the blocked-send timeout now."""
    from playground.engine.kafka.producer import DROP_BUFFER_FULL
    assert DROP_BUFFER_FULL == DROP_BLOCKED


# -- a compacted topic refuses records without a key (issue 11, point 3) --------------------------


def test_records_without_a_key_are_counted_markers_aside():
    """LogValidator.validateKey: on a compacted topic a record without a key is INVALID_RECORD;
    transaction markers (control records) carry a key of their own and are not checked."""
    keys = np.array([3, -1, 5, -1], dtype=np.int32)
    assert records_without_key(keys, None) == 2
    flags = np.array([0, 2, 0, 0], dtype=np.uint8)  # the first null key is a control marker
    assert records_without_key(keys, flags) == 1


def test_the_cleaner_keeps_a_keyed_record_followed_by_one_without_a_key():
    """Cleaner.shouldRetainRecord: a record without a key never enters the offset map (it cannot
    hide another record) and is not kept itself (stats.invalidMessage). It used to be read as
    the highest key index: the keyed record before it was lost, and a log holding only null keys
    crashed the cleaner (IndexError)."""
    offsets = np.array([0, 1, 2], dtype=np.int64)
    keys = np.array([7, -1, 3], dtype=np.int32)
    flags = np.zeros(3, dtype=np.uint8)
    assert retain_mask(offsets, keys, flags, 0, {}, 0.0, 1.0).tolist() == [True, False, True]
    only_null = np.array([-1, -1], dtype=np.int32)
    assert retain_mask(offsets[:2], only_null, flags[:2], 0, {}, 0.0, 1.0).tolist() == [False, False]


@pytest.mark.parametrize("cluster", [False, True])
def test_a_compacted_topic_refuses_batches_holding_a_record_without_a_key(cluster):
    """LogValidator.validateKey refuses the whole batch (INVALID_RECORD, "Compacted topic cannot
    accept message without key"); Sender.failBatch fails it without a retry: the keyless records
    with an InvalidRecordException, the others of the batch with a KafkaException ("part of a
    batch which had one more more invalid records"). Each is a drop with its reason; nothing
    without a key reaches the log, and keyed batches go on. It used to crash the simulation."""
    doc = one_topic(cluster=cluster, producer={"key_null_share": 0.02, "linger_ms": 20},
                    topic={"cleanup_policy": "compact", "segment_bytes": 4096, "min_cleanable_dirty_ratio": 0.1,
                           "cleaner_backoff_ms": 500})
    sim = engine.Simulation(engine.parse_document(doc), 5)
    run(sim, 6.0)
    metrics = sim.metrics()
    producer = metrics["nodes"]["p"]
    assert producer["dropped"][DROP_INVALID] == producer["invalid"] > 0
    assert producer["dropped"][DROP_INVALID_BATCH] > 0
    assert producer["acknowledged"] > 1000
    assert producer["errors"]["InvalidRecordException"] > 0
    assert not any(e["k"] == "produce_retry" for e in sim.drain_events())  # never retried
    topic = sim.components["t"]
    assert sum(log.cleaner_runs for log in topic.logs) > 0
    for log in topic.logs:
        assert (log.keybuf[log.lo:log.hi] >= 0).all()


# -- duplicates answered with the original offsets (issue 11, point 5) ----------------------------


def test_a_duplicate_is_found_among_the_producers_last_five_batches():
    """ProducerStateEntry keeps the metadata of the last NUM_BATCHES_TO_RETAIN (5) batches;
    findDuplicateBatch matches a batch's first and last sequence against them
    (batchWithSequenceRange); records are numbered, so batches of 10 start 10 apart."""
    entries = [(s * 10, s * 100, s * 100 + 10) for s in range(5)]
    assert find_duplicate_batch(entries, 30, 10) == (30, 300, 310)
    assert find_duplicate_batch(entries, 30, 4) is None  # same first sequence, another last one
    assert find_duplicate_batch(entries, 50, 10) is None
    assert find_duplicate_batch(None, 0, 1) is None


def test_a_retried_batch_already_committed_is_answered_with_the_original_offsets():
    """A retry of a batch the leader has committed gets DUPLICATE_SEQUENCE with the base offset
    of the copy in the log (ProducerStateManager's batch metadata), and nothing is written again;
    a sequence older than the 5 batches kept is out of order."""
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True, brokers=1)), 2)
    run(sim, 1.0)
    producer = sim.components["p"]
    topic = sim.components["t"]
    p = max(range(3), key=lambda i: len(topic.parts[i].retained.get("p", ())))
    seq, first, end = topic.parts[p].retained["p"][0]
    assert end <= topic.parts[p].hw  # committed
    leo = topic.parts[p].leader_leo
    retry = Req(10**6, p, np.zeros(end - first, dtype=np.int32), None, seq, sim.now)
    producer._send(sim, topic, retry)
    assert retry.state == "done"
    assert retry.base_offset == first
    assert topic.parts[p].leader_leo == leo  # not written again
    answer = [e for e in sim.drain_events() if e["k"] == "duplicate_sequence"]
    assert answer[-1]["o"] == first and answer[-1]["committed"]
    outcome, _ = topic.produce(sim, p, np.zeros(end - first, dtype=np.int32), None, "p", "all", seq, None)
    assert outcome == DUPLICATE
    older = decrement_sequence(seq, 1)
    outcome, _ = topic.produce(sim, p, np.zeros(1, dtype=np.int32), None, "p", "all", older, None)
    assert outcome == OUT_OF_ORDER


# -- sequence numbers wrap at Integer.MAX_VALUE; epochs fence (issue 11, point 7) ------------------


def test_sequence_numbers_wrap_after_integer_max_value_to_zero():
    """DefaultRecordBatch.incrementSequence / decrementSequence and ProducerAppendInfo.inSequence:
    after 2^31 - 1 comes 0, and the broker takes 0 as the next after Integer.MAX_VALUE."""
    assert increment_sequence(5, 3) == 8
    assert increment_sequence(INT_MAX, 1) == 0
    assert increment_sequence(INT_MAX - 1, 5) == 3
    assert decrement_sequence(0, 1) == INT_MAX
    assert decrement_sequence(3, 5) == INT_MAX - 1
    assert in_sequence(INT_MAX, 0)
    assert in_sequence(41, 42)
    assert not in_sequence(INT_MAX, 1)
    assert not in_sequence(42, 42)


def test_an_idempotent_producer_whose_sequence_starts_near_the_wrap_goes_on_past_it():
    """A producer whose next sequence is just below Integer.MAX_VALUE: after it comes 0, and the
    leader takes it (inSequence); no OutOfOrderSequence, nothing lost."""
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True)), 3)
    producer = sim.components["p"]
    producer.next_seq = [INT_MAX - 2] * 3
    run(sim, 2.0)
    topic = sim.components["t"]
    assert all(0 <= part.seqs["p"] < 1000 for part in topic.parts)  # wrapped, then counted on
    assert "OutOfOrderSequence" not in producer.errors
    metrics = sim.metrics()
    assert metrics["dropped_total"] == 0 and metrics["nodes"]["p"]["acknowledged"] > 800


def test_the_leader_fences_an_older_epoch_and_a_new_epoch_starts_at_sequence_zero():
    """ProducerAppendInfo.checkProducerEpoch: an epoch below the last seen is refused
    (InvalidProducerEpochException); checkSequence: a newer epoch must start at sequence 0; no
    state yet takes any sequence."""
    assert check_producer_sequence(2, 17, 1, 18) == INVALID_PRODUCER_EPOCH
    assert check_producer_sequence(1, 17, 2, 0) is None
    assert check_producer_sequence(1, 17, 2, 5) == OUT_OF_ORDER
    assert check_producer_sequence(1, 17, 1, 18) is None
    assert check_producer_sequence(1, 17, 1, 20) == OUT_OF_ORDER
    assert check_producer_sequence(None, None, 0, 99) is None


def test_a_partition_that_saw_a_newer_epoch_refuses_the_zombies_batch():
    """A marker written with a bumped epoch (the coordinator's abort for a new instance) fences
    the old epoch at that partition: its produce gets INVALID_PRODUCER_EPOCH."""
    sim = engine.Simulation(engine.parse_document(one_topic(cluster=True, brokers=1)), 2)
    run(sim, 0.5)
    topic = sim.components["t"]
    topic.parts[0].bump_producer_epoch("p", 1)
    keys = np.zeros(1, dtype=np.int32)
    outcome, _ = topic.produce(sim, 0, keys, None, "p", "all", 0, None, 0)
    assert outcome == INVALID_PRODUCER_EPOCH
    outcome, _ = topic.produce(sim, 0, keys, None, "p", "all", 0, None, 1)
    assert outcome == "appended"


def test_producer_runs_with_a_bottleneck_and_invalid_records_resume_identically():
    """Snapshots carry the blocked sends and the new counters: a restored run goes on identically."""
    sim = starter_behind_a_slow_network(max_block_ms=1000)
    sim.advance(12.0)
    assert_restored_continues_identically(sim, steps=4, dt=0.5)


# -- batching and compression (issue 11, point 7: kafka-batching-and-compression) ----------------


def test_batches_fill_up_to_batch_size_while_the_sender_is_behind():
    """RecordAccumulator.tryAppend: records join the open batch of their partition until
    batch.size, so behind a slow link batches are full (32 records of 500 bytes in 16 KiB) where
    a producer that keeps up sends what one linger.ms gathered; compression shrinks the bytes on
    the wire, batch headers (61 bytes, DefaultRecordBatch.RECORD_BATCH_OVERHEAD) included."""
    sim = engine.Simulation(engine.parse_document(load("kafka-batching-and-compression")), 1, record_flow=False)
    run(sim, 15.0, step=1.0)
    nodes = sim.metrics()["nodes"]
    tiny, lingered, lz4 = nodes["tiny-producer"], nodes["lingered-producer"], nodes["lz4-producer"]
    slow_none, slow_zstd = nodes["slow-none-producer"], nodes["slow-zstd-producer"]
    assert tiny["records_per_batch"] < 2 < 12 < lingered["records_per_batch"] < 15
    assert tiny["requests_per_s"] > 8 * lingered["requests_per_s"]
    assert tiny["wire_bytes"] > lingered["wire_bytes"]  # a header on nearly every record
    assert lz4["wire_bytes"] == pytest.approx(lingered["wire_bytes"] * 0.48, rel=0.05)
    assert slow_none["records_per_batch"] > 30 and slow_none["accumulated"] > 20_000
    assert slow_zstd["accumulated"] < 2_000 and not slow_zstd["dropped"]


def test_the_drain_starts_after_the_partition_where_the_last_one_stopped():
    """RecordAccumulator.drain rotates its drainIndex: a sender that runs out of room does not
    always serve the first partitions first, so none starves behind them."""
    sim = starter_behind_a_slow_network()
    producer = sim.components["orders-api"]
    sim.advance(8.0)
    assert all(producer.queues)  # every partition has a backlog
    topic = sim.components["orders"]
    before = [log.leo for log in topic.logs]
    sim.advance(2.0)
    assert all(log.leo - b > 500 for log, b in zip(topic.logs, before, strict=True))


@settings(max_examples=12, deadline=None)
@given(null_share=st.sampled_from([0.0, 0.01, 0.3]), policy=st.sampled_from(["delete", "compact"]),
       network=st.sampled_from([125.0, 0.2]), max_block_ms=st.sampled_from([0, 300, 60_000]),
       cluster=st.booleans(), seed=st.integers(0, 1000))
def test_every_record_is_accounted_for_with_keyless_records_slow_links_and_blocked_sends(
        null_share, policy, network, max_block_ms, cluster, seed):
    """Conservation (produced = acknowledged + in flight + waiting + dead-lettered + dropped) at
    every step, whatever mix of refused keyless batches, a bottleneck, blocked send() calls and
    their timeouts; and the same seed gives the same run."""
    doc = one_topic(cluster=cluster, producer={"key_null_share": null_share, "network_mb_s": network,
                                               "max_block_ms": max_block_ms, "buffer_memory": 65_536,
                                               "rate": 1500},
                    topic={"cleanup_policy": policy, "segment_bytes": 8192, "cleaner_backoff_ms": 300})
    runs = []
    for _ in range(2):
        sim = engine.Simulation(engine.parse_document(doc), seed, record_flow=False)
        run(sim, 3.0, step=0.5)
        runs.append(sim.metrics())
    assert runs[0] == runs[1]
