"""Producer epochs and fencing: a second instance with the same transactional.id (KIP-98).

The coordinator's InitProducerId bumps the epoch and aborts the transaction the old instance
left open (TransactionCoordinator.handleInitProducerId); the old instance, now a zombie, is
refused at its next request (ProducerFencedException / INVALID_PRODUCER_EPOCH) and closes
(playground/engine/kafka/producer_txn.py).
"""

from __future__ import annotations

import pytest

from playground import engine
from playground.engine.kafka.producer_txn import FENCED
from playground.engine.kafka.transactions import DROP_ABORTED
from tests.engine.factories import assert_restored_continues_identically, stream_conserved
from tests.engine.kafka.test_transactions import producer_doc


def fenced_run(seed: int = 1, at: float = 1.0, seconds: float = 4.0, **kwargs):
    sim = engine.Simulation(engine.parse_document(producer_doc(cluster=True, transaction_ms=500, **kwargs)), seed)
    events = []
    for i in range(round(seconds / 0.1)):
        if abs(i * 0.1 - at) < 1e-9:
            sim.apply({"op": "start_instance", "node": "src"})
        sim.advance(0.1)
        events.extend(sim.drain_events())
        for stream in sim.streams():
            assert stream_conserved(stream), stream
    return sim, events


def test_a_second_instance_bumps_the_epoch_aborts_the_open_transaction_and_fences_the_zombie():
    """initTransactions() of the new instance: the epoch goes from 0 to 1, the coordinator writes
    ABORT markers (with the new epoch) to every partition the open transaction wrote, and the old
    instance's next request is refused: fenced, it closes with what it had queued or in flight."""
    sim, events = fenced_run()
    kinds = [e["k"] for e in events]
    bump = kinds.index("producer_epoch")
    fenced = kinds.index("fenced")
    assert bump < fenced
    assert events[bump]["epoch"] == 1 and events[bump]["fenced_epoch"] == 0
    aborts = [e for e in events[bump:fenced] if e["k"] == "txn" and e["outcome"] == "abort"]
    assert aborts and {e["p"] for e in aborts} <= {0, 1, 2}
    assert events[fenced]["error"] == FENCED and events[fenced]["epoch"] == 0
    producer = sim.metrics()["nodes"]["src"]
    assert producer["epoch"] == 1
    assert producer["fenced"] == {"instances": 1, "records": events[fenced]["records"], "pending": False}
    assert producer["errors"]["ProducerFencedException"] == 1
    topic = sim.components["t"]
    assert all(part.producer_epochs["src"] == 1 for part in topic.parts)


def test_after_the_fencing_read_committed_sees_each_record_once_and_the_new_instance_commits():
    """The new instance sends the aborted transaction's records again (an application restarted
    from its last commit): read_committed readers skip the zombie's aborted copies and see no
    duplicate; read_uncommitted readers see those copies too. Transactions commit again."""
    sim, _ = fenced_run(seconds=5.0)
    metrics = sim.metrics()
    producer = metrics["nodes"]["src"]
    assert producer["transactions"]["aborts"] == 1
    commits_after = producer["transactions"]["commits"]
    assert commits_after >= 6
    assert metrics["nodes"]["rc"]["e2e_duplicates"] == 0
    assert metrics["nodes"]["ru"]["e2e_duplicates"] > 0
    assert metrics["dropped"][DROP_ABORTED] > 0
    assert "OutOfOrderSequence" not in producer["errors"]


def test_starting_an_instance_of_a_producer_without_a_transactional_id_is_refused():
    """Without a transactional.id a new instance gets a producer id of its own: nothing to fence."""
    doc = producer_doc(cluster=True)
    doc["nodes"][0]["params"]["transactional"] = False
    sim = engine.Simulation(engine.parse_document(doc), 1)
    with pytest.raises(engine.CommandError, match="transactional"):
        sim.apply({"op": "start_instance", "node": "src"})


def test_the_command_waits_while_the_coordinator_writes_markers():
    """InitProducerId during a commit's marker writes answers CONCURRENT_TRANSACTIONS: refused,
    with nothing changed; the user tries again a moment later."""
    sim = engine.Simulation(engine.parse_document(producer_doc(cluster=True, transaction_ms=500)), 1)
    sim.advance(1.0)
    producer = sim.components["src"]
    producer.txn_markers = [0]  # a commit whose marker to partition 0 is not written yet
    with pytest.raises(engine.CommandError, match="CONCURRENT_TRANSACTIONS"):
        sim.apply({"op": "start_instance", "node": "src"})
    assert producer.epoch == 0


def test_fenced_runs_are_deterministic_and_resume_identically():
    first, events = fenced_run(seed=9, seconds=2.0)
    again, events_again = fenced_run(seed=9, seconds=2.0)
    assert events == events_again
    assert first.metrics() == again.metrics()
    assert_restored_continues_identically(first, steps=6, dt=0.2)
