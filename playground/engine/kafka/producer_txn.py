"""The transactional producer's side of KIP-98: committing, aborting, and fencing an older instance.

Rules followed (KafkaProducer, TransactionManager; the coordinator's TransactionCoordinator):

- Each transaction lasts transaction.ms. Then commitTransaction() flushes: the records sent
  meanwhile wait in the application until every request of the transaction is answered; the
  coordinator writes a COMMIT marker to each partition the transaction wrote (retrying a
  partition without a leader), and the next transaction begins. A transaction whose batch was
  given up, or that the application aborts (abort_share), gets ABORT markers instead, and its
  records are sent again in the next transaction (the application's retry).
- Epochs and fencing: a new instance with the same transactional.id calls initTransactions();
  its InitProducerId makes the coordinator bump the producer epoch and abort the transaction the
  old instance left open (ABORT markers written with the new epoch; the new instance waits for
  that: CONCURRENT_TRANSACTIONS until it is done). The old instance is now a zombie: its next
  request carries the old epoch and is refused (the coordinator: ProducerFencedException; a
  partition that saw the new epoch: INVALID_PRODUCER_EPOCH), which is fatal to it: it closes,
  and whatever it had queued or in flight is never acknowledged to it. The new instance starts
  its sequence numbers at 0 under the new epoch and, like an application restarted from its
  last commit, sends the aborted transaction's records again: read_committed readers see each
  record once, read_uncommitted ones also the zombie's aborted copies.

Functions over a ProducerRuntime (producer.py): the compiled producer calls them; they use its
fields only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from playground.engine.component import CommandError

if TYPE_CHECKING:
    from playground.engine.kafka.producer import ProducerRuntime
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.simulation import Simulation

FENCED: Final = "ProducerFencedException: a newer instance with the same transactional.id bumped the epoch"


def txn_tick(producer: ProducerRuntime, sim: Simulation, topic: TopicRuntime) -> None:
    """Every linger tick: begin committing once transaction.ms has passed; once the flush is
    over, write the markers (a partition without a leader is retried at the next tick)."""
    now = sim.kernel.now
    if producer.txn_markers is None and not producer.txn_closing:
        if now - producer.txn_started < producer.txn_s:
            return
        if not producer.txn_records.get(producer.txn):
            producer.txn_started = now  # nothing was sent in it: nothing to commit
            return
        producer.txn_closing = True
    if producer.txn_markers is None:
        txn = producer.txn
        if any(req.txn == txn for req in producer.outstanding.values()) or any(
                req.txn == txn for queue in producer.queues for req in queue):
            return  # still flushing
        producer.txn_commit = not producer.txn_failed and not (
            producer.abort_share > 0 and float(producer.rng.random()) < producer.abort_share)
        producer.txn_markers = topic.txn_partitions(producer.id)
    epoch = producer.epoch
    producer.txn_markers = [p for p in producer.txn_markers
                            if not topic.end_txn(sim, p, producer.id, producer.txn_commit, epoch)]
    if producer.txn_markers:
        return
    records = producer.txn_records.pop(producer.txn, [])
    if producer.txn_commit:
        producer.txn_commits += 1
    else:
        producer.txn_aborts += 1
    producer.txn += 1
    producer.txn_started = now
    producer.txn_closing = False
    producer.txn_failed = False
    producer.txn_markers = None
    if not producer.txn_commit:  # the application sends the aborted records again
        producer.waiting_n -= producer.handed_over  # the zombie's unsent records: counted once, here
        producer.handed_over = 0
        for p, keys, tombs, origins in records:
            producer._enqueue(p, keys, tombs, origins, now)


def start_instance(producer: ProducerRuntime, sim: Simulation, topic: TopicRuntime) -> None:
    """A new instance with the same transactional.id starts (initTransactions): the coordinator
    bumps the epoch and aborts the open transaction; the old instance becomes a zombie, fenced at
    its next request (see the module docstring)."""
    if not producer.transactional:
        raise CommandError(f"{producer.id!r} has no transactional.id: a second instance would get a producer id of "
                           "its own, and nothing would be fenced (make the producer transactional)")
    if producer.txn_markers is not None:
        raise CommandError(f"the coordinator is still writing the markers of {producer.id!r}'s transaction "
                           f"{producer.txn} (InitProducerId answers CONCURRENT_TRANSACTIONS): try again in a moment")
    now = sim.kernel.now
    # The old instance's batches: queued ones it will send and see refused, sent ones whose
    # answers it will get as a zombie (they are in the log, in the transaction now aborted).
    requests = records = handed_over = 0
    for queue in producer.queues:
        for req in queue:
            requests += 1
            records += req.n
            producer.queued_total -= req.n
            if not req.in_log:
                handed_over += req.n  # still counted as waiting until the new instance sends them
            req.state = "done"
        queue.clear()
    for req in list(producer.outstanding.values()):
        requests += 1
        records += req.n
        del producer.outstanding[req.number]
        producer.in_flight[req.p] -= 1
        req.state = "done"
    old = producer.epoch
    producer.epoch = old + 1
    producer.next_seq = [0] * len(producer.next_seq)  # a new epoch starts at sequence 0
    producer.zombie = {"epoch": old, "requests": requests, "records": records, "since": now}
    producer.handed_over += handed_over
    # The transaction begun after a commit started (records queued for txn + 1) goes with the zombie.
    later = producer.txn_records.pop(producer.txn + 1, [])
    producer.txn_records.setdefault(producer.txn, []).extend(later)
    sim.emit({"k": "producer_epoch", "t": now, "node": producer.id, "epoch": producer.epoch, "fenced_epoch": old,
              "aborting": producer.txn if producer.txn_records.get(producer.txn) else None})
    if producer.txn_records.get(producer.txn):
        producer.txn_closing = True
        producer.txn_commit = False  # the coordinator aborts what the old instance left open
        producer.txn_markers = topic.txn_partitions(producer.id)
        txn_tick(producer, sim, topic)
    else:
        producer.txn_started = now
    producer.epoch_bumps += 1


def fence_zombie(producer: ProducerRuntime, sim: Simulation) -> None:
    """The zombie sends its next request with the old epoch and is refused: fatal, it closes."""
    zombie: dict[str, Any] = producer.zombie  # type: ignore[assignment]
    producer.zombie = None
    producer.fenced_instances += 1
    producer.fenced_records += zombie["records"]
    producer.errors["ProducerFencedException"] = producer.errors.get("ProducerFencedException", 0) + 1
    sim.emit({"k": "fenced", "t": sim.kernel.now, "node": producer.id, "epoch": zombie["epoch"],
              "current_epoch": producer.epoch, "requests": zombie["requests"], "records": zombie["records"],
              "error": FENCED})
