"""The producer's fast path (a linger's fresh batches sent as they are made), its partitioning
of records without a key (the sticky partitioner, KIP-794), its send() calls blocked on
buffer.memory and the batches the broker refuses as invalid.

The steps of ProducerRuntime._enqueue, _drain and _send (producer.py) and of the leader's append
(ReplicatedTopic.produce, replication.py) inlined for the common case, where nothing waits: it
must decide exactly what they would (the fingerprint runs in bench/fingerprint.py check it). A
rule changed there changes here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from playground.engine.kafka.accumulator import (
    DROP_BLOCKED,
    DROP_INVALID,
    DROP_INVALID_BATCH,
    Req,
    increment_sequence,
    last_sequence,
)
from playground.engine.kafka.compaction import records_without_key
from playground.engine.kafka.compression import RECORD_BATCH_OVERHEAD
from playground.engine.kafka.partitioner import sticky_next_partition, sticky_switch_points
from playground.engine.kafka.replication import Batch

if TYPE_CHECKING:
    from playground.engine.kafka.cluster import Broker
    from playground.engine.kafka.producer import ProducerRuntime
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.simulation import Simulation

INF = float("inf")


def send_at_once(producer: ProducerRuntime, sim: Simulation, topic: TopicRuntime, counts: list[int], keys: np.ndarray,
                  tombs: np.ndarray | None, origins: np.ndarray | None, now: float) -> None:
    """Queue this linger's batches and drain them, partition by partition, as they are made.

    Called when nothing waits in the accumulator, no request has timed out (_expire has
    nothing to do) and the batches fit in buffer.memory: then queueing every batch before
    draining sends the same requests in the same order as draining each partition right
    after queueing its batches. A batch that the leader would append (it is up, the ISR is
    large enough for acks=all, its sequence is the next) and that the sender may send now
    (_drain_partition's checks) is sent here, the steps of _enqueue, _drain and _send inline;
    any other goes through them.
    """
    if producer.busy_until < now:
        producer.busy_until = now  # as _drain does first
    parts = topic.parts
    assert parts is not None
    brokers: dict[int, Broker] = sim.components[topic.cluster].brokers  # type: ignore[index]
    acks = producer.acks
    acks_all = acks == "all"
    limited = acks != "0"
    max_in_flight = producer.max_in_flight
    min_isr = topic.min_isr
    producer_id = producer.id
    idempotent = producer.idempotent
    record_flow = sim.record_flow
    queues = producer.queues
    in_flight = producer.in_flight
    next_seq = producer.next_seq
    last_written = producer.last_written
    outstanding = producer.outstanding
    capacity = producer.capacity
    paced = capacity != INF
    horizon = now + producer.linger  # the end of this linger interval, for the sender's pace
    costs = producer.costs
    batch_records = producer.batch_records
    epoch = producer.epoch
    compacts = topic.storage.config.compacts
    sender_free = True
    start = 0
    for p, count in enumerate(counts):
        if not count:
            continue
        end = start + count
        part = parts[p]
        lo = start
        start = end
        while lo < end:
            hi = lo + batch_records
            if hi > end:
                hi = end
            n = hi - lo
            batch_keys = keys[lo:hi]
            batch_tombs = None if tombs is None else tombs[lo:hi]
            batch_origins = None if origins is None else origins[lo:hi]
            lo = hi
            seq = next_seq[p]
            leader = part.leader
            if (not sender_free or queues[p] or (limited and in_flight[p] >= max_in_flight)
                    or (paced and producer.busy_until >= horizon)  # not sender_may_start
                    or leader is None or not brokers[leader].up or (acks_all and len(part.isr) < min_isr)
                    or (compacts and records_without_key(batch_keys, batch_tombs))
                    or (idempotent and (part.producer_epochs.get(producer_id, epoch) != epoch
                                        or (producer_id in part.seqs
                                            and seq != increment_sequence(part.seqs[producer_id], 1))))):
                producer._enqueue(p, batch_keys, batch_tombs, batch_origins, now)
                if sender_free:
                    sender_free = producer._drain_partition(sim, topic, p, now)
                    if not sender_free:
                        producer.drain_index = p + 1 if p + 1 < len(counts) else 0  # as _drain stops
                continue
            # _enqueue, then _send: sent at once (req.sent_at is its creation time, now)
            producer.number = number = producer.number + 1
            req = Req(number, p, batch_keys, batch_tombs, seq, now)
            req.origins = batch_origins
            req.attempts = 1
            req.in_log = True
            req.epoch = epoch
            next_seq[p] = increment_sequence(seq, n)  # records are numbered (incrementSequenceNumber)
            # _compress
            cost = costs.get(n)
            if cost is None:
                producer._compress(n, now)
            else:
                producer.bytes_compressed += cost[0]
                producer.wire_bytes += cost[0] + RECORD_BATCH_OVERHEAD
                producer.batches += 1
                producer.batched += n
                producer.cpu_s += cost[1]
                if paced:
                    producer.busy_until += n / capacity  # not before now: set above
            # the leader appends (ReplicatedTopic.produce, PartitionState.append)
            if idempotent:
                part.seqs[producer_id] = last_sequence(seq, n)
                if producer_id not in part.producer_epochs:
                    part.producer_epochs[producer_id] = epoch
            pending = part.pending
            first = pending[-1].end if pending else part.hw
            batch = Batch(first, batch_keys, batch_tombs, producer_id, seq if idempotent else None, acks,
                          req if acks_all else None, part.epoch)
            batch.origins = batch_origins
            pending.append(batch)
            part.leo[leader] = batch.end
            req.base_offset = first
            if idempotent:
                part.retain(producer_id, seq, first, batch.end)
            # _send, the APPENDED answer of a batch written for the first time
            if number < last_written[p]:
                producer.reordered += n
                sim.emit({"k": "reorder", "t": now, "node": producer_id, "topic": topic.id, "p": p, "n": n,
                          "o": first})
            else:
                last_written[p] = number
            producer.pending_n += n
            if record_flow:
                producer._emit_produce(sim, topic.id, p, first, batch_keys)
            if acks_all:
                req.state = "sent"
                outstanding[number] = req
                in_flight[p] += 1
            else:
                req.state = "done"
                if acks == "1":
                    producer.acknowledged += n
            # advance_hw returns at once unless every replica in the ISR is past the HW (a
            # leader alone in the ISR commits at once): ask it only then
            hw = part.hw
            leo = part.leo
            for r in part.isr:
                if leo[r] <= hw:
                    break
            else:
                topic.advance_hw(sim, p)


def sticky_partitions(producer: ProducerRuntime, sim: Simulation, topic: TopicRuntime, count: int) -> np.ndarray:
    """Partitions of ``count`` records without a key, in order (KIP-794)."""
    weights = partition_weights(sim, topic)
    if producer.sticky is None or weights[producer.sticky] == 0:
        producer.sticky = sticky_next_partition(float(producer.rng.random()), weights, None)
        producer.sticky_bytes = 0
    out = np.empty(count, dtype=np.int32)
    previous = 0
    for point in sticky_switch_points(producer.sticky_bytes, count, producer.record_bytes, producer.batch_records
                                      * producer.record_bytes):
        out[previous:point] = producer.sticky
        previous = point
        producer.sticky = sticky_next_partition(float(producer.rng.random()), weights, producer.sticky)
        producer.sticky_bytes = 0
    out[previous:] = producer.sticky
    producer.sticky_bytes += (count - previous) * producer.record_bytes
    return out


def partition_weights(sim: Simulation, topic: TopicRuntime) -> list[float]:
    """Adaptive partitioning: a partition whose leader is slow gets proportionally less, one
    with no leader none (the producer's metadata lists it without a leader)."""
    if topic.parts is None:
        return [1.0] * topic.partition_count
    cluster = sim.components[topic.cluster]  # type: ignore[index]
    out = []
    for part in topic.parts:
        if not cluster.serving(part.leader):
            out.append(0.0)
        else:
            out.append(1.0 / cluster.brokers[part.leader].slow)
    return out


def unblock(producer: ProducerRuntime, sim: Simulation, topic: TopicRuntime) -> None:
    """send() calls blocked on buffer.memory: those that waited max.block.ms fail with a
    TimeoutException (the application sees it); then the oldest get the room freed since."""
    now = sim.kernel.now
    for p, n in producer.blocked.expired(now, producer.max_block):
        producer.waiting_n -= n
        producer._drop(sim, n, DROP_BLOCKED, topic.id, p)
    room = producer.buffer_records - producer.queued_total
    if room > 0:
        for p, keys, tombs, origins in producer.blocked.admit(room):
            producer.waiting_n -= len(keys)
            producer._enqueue(p, keys, tombs, origins, now)

def refused(producer: ProducerRuntime, sim: Simulation, topic: TopicRuntime, p: int, keys: np.ndarray,
             tombs: np.ndarray | None) -> bool:
    """The single ideal broker validates a batch (LogValidator.validateKey, see
    compaction.records_without_key): a refused batch is failed at once, never retried."""
    if not topic.storage.config.compacts:
        return False
    invalid = records_without_key(keys, tombs)
    if not invalid:
        return False
    invalid_batch(producer, sim, topic.id, p, len(keys), invalid)
    return True

def invalid_batch(producer: ProducerRuntime, sim: Simulation, topic: str, p: int, n: int, invalid: int) -> None:
    producer.invalid += invalid
    producer.errors["InvalidRecordException"] = producer.errors.get("InvalidRecordException", 0) + 1
    producer._drop(sim, invalid, DROP_INVALID, topic, p)
    if n > invalid:
        producer._drop(sim, n - invalid, DROP_INVALID_BATCH, topic, p)
