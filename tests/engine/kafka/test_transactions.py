"""Kafka transactions: markers, the last stable offset, isolation levels, exactly-once pipelines.

Rules from KIP-98 (exactly-once delivery and transactional messaging) and KIP-447 (producer
scalability for exactly-once: one transactional producer per consumer, fenced by generation),
as the Kafka broker, consumer and Streams implement them.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playground import engine
from playground.engine.kafka.transactions import DROP_ABORTED
from tests.engine.factories import assert_restored_continues_identically, stream_conserved


def doc(nodes: list[dict[str, Any]], edges: list[tuple[str, str]]) -> dict[str, Any]:
    return {"fanout": 1, "name": "txn", "nodes": nodes,
            "edges": [{"source": a, "target": b} for a, b in edges]}


def producer_doc(*, abort_share: float = 0.0, transaction_ms: int = 200, cluster: bool = False,
                 rate: float = 400, **producer: Any) -> dict[str, Any]:
    """A transactional producer, one topic, a read_committed and a read_uncommitted group."""
    nodes = [
        {"id": "src", "type": "producer",
         "params": {"rate": rate, "keys": 100, "transactional": True, "abort_share": abort_share,
                    "transaction_ms": transaction_ms, **producer}},
        {"id": "t", "type": "kafka_topic", "params": {"partitions": 3}},
        {"id": "rc", "type": "consumer_group",
         "params": {"consumers": 1, "processing_ms": 0.2, "isolation_level": "read_committed",
                    "count_duplicates": True, "commit": "after_processing"}},
        {"id": "ru", "type": "consumer_group",
         "params": {"consumers": 1, "processing_ms": 0.2, "count_duplicates": True, "commit": "after_processing"}},
    ]
    edges = [("src", "t"), ("t", "rc"), ("t", "ru")]
    if cluster:
        nodes.append({"id": "k", "type": "kafka_cluster", "params": {}})
        edges.append(("k", "t"))
    return doc(nodes, edges)


def pipeline_doc(*, guarantee: str = "exactly_once", isolation: str = "read_committed", restart_every_ms: int = 3000,
                 **processor: Any) -> dict[str, Any]:
    """producer -> in -> processor (consume-process-produce) -> out -> sink counting duplicates."""
    return doc([
        {"id": "src", "type": "producer", "params": {"rate": 300, "keys": 100}},
        {"id": "in", "type": "kafka_topic", "params": {"partitions": 4}},
        {"id": "proc", "type": "consumer_group",
         "params": {"consumers": 2, "processing_ms": 4, "commit": "after_processing", "max_poll_records": 100,
                    "processing_guarantee": guarantee, "static_membership": True,
                    "restart_every_ms": restart_every_ms, "restart_down_ms": 1000, **processor}},
        {"id": "out", "type": "kafka_topic", "params": {"partitions": 4}},
        {"id": "sink", "type": "consumer_group",
         "params": {"consumers": 2, "processing_ms": 0.5, "isolation_level": isolation, "count_duplicates": True,
                    "commit": "after_processing"}},
    ], [("src", "in"), ("in", "proc"), ("proc", "out"), ("out", "sink")])


def run(document: dict[str, Any], seconds: float, seed: int = 7, check_books: bool = True) -> engine.Simulation:
    sim = engine.Simulation(engine.parse_document(document), seed, record_flow=False)
    for _ in range(int(seconds / 0.5)):
        sim.advance(0.5)
        if check_books:
            for stream in sim.streams():
                assert stream_conserved(stream), (sim.now, stream)
    return sim


def test_markers_take_offsets_and_are_never_delivered() -> None:
    """A COMMIT marker is a control record: it takes an offset in every partition the
    transaction wrote, and a consumer's position steps over it without returning it."""
    sim = run(producer_doc(), 10)
    topic, src, rc = sim.components["t"], sim.components["src"], sim.components["rc"]
    markers = topic.markers_total()
    assert markers == topic.commits > 0
    assert src.txn_commits * 3 >= markers >= src.txn_commits  # one marker per partition written
    assert sum(log.leo for log in topic.logs) == src.acknowledged + markers
    assert rc.acked["t"] <= src.acknowledged
    assert rc.e2e_duplicates == 0


def test_read_committed_stops_at_the_last_stable_offset() -> None:
    """The LSO is the first offset of the earliest open transaction: a read_committed consumer
    fetches nothing past it, while read_uncommitted reads up to the high watermark."""
    sim = run(producer_doc(transaction_ms=60_000), 5)
    topic, rc, ru = sim.components["t"], sim.components["rc"], sim.components["ru"]
    assert all(topic.lso(p) == 0 for p in range(3))  # one transaction open since offset 0
    assert rc.processed == 0
    assert ru.processed > 1000
    view = topic.metrics(sim)["partitions"][0]["txn"]
    assert view["lso"] == 0 and view["open"] == 1


def test_aborted_records_are_skipped_by_read_committed_and_seen_by_read_uncommitted() -> None:
    """read_committed drops the records of aborted transactions (the aborted-transaction index);
    read_uncommitted delivers them, so the application's resend shows up as duplicates."""
    sim = run(producer_doc(abort_share=0.3), 20)
    topic, rc, ru = sim.components["t"], sim.components["rc"], sim.components["ru"]
    assert topic.aborts > 0 and topic.aborted_records > 0
    assert rc.e2e_duplicates == 0
    assert rc.dropped["t"][DROP_ABORTED] > 0.9 * topic.aborted_records
    assert ru.e2e_duplicates > 0.9 * topic.aborted_records
    assert DROP_ABORTED not in ru.dropped["t"]


def test_aborts_on_a_replicated_topic_flag_batches_above_the_high_watermark() -> None:
    """On a cluster the markers are replicated like any record and the LSO waits for the
    marker to pass the high watermark; with a broker killed and restarted on the way, a
    read_committed reader still sees each record exactly once."""
    document = producer_doc(abort_share=0.3, cluster=True)
    sim = engine.Simulation(engine.parse_document(document), 5, record_flow=False)
    for i in range(40):
        sim.advance(0.5)
        if i == 8:
            sim.apply({"op": "kill_broker", "node": "k", "broker": 1})
        if i == 20:
            sim.apply({"op": "restart_broker", "node": "k", "broker": 1})
        for stream in sim.streams():
            assert stream_conserved(stream), (sim.now, stream)
    topic, rc, ru = sim.components["t"], sim.components["rc"], sim.components["ru"]
    assert topic.aborts > 0
    assert rc.e2e_duplicates == 0
    assert ru.e2e_duplicates > 0


def test_a_transactional_producer_needs_idempotence() -> None:
    """KafkaProducer refuses transactional.id without enable.idempotence (ConfigException)."""
    document = producer_doc(enable_idempotence=False)
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(document)
    assert "transactional" in str(err.value) and "enable.idempotence" in str(err.value)


def test_exactly_once_pipeline_has_no_duplicates_under_crashes() -> None:
    """Consume-process-produce with the input offsets in the output transaction: a member that
    crashes mid-transaction is aborted, its records are processed again, and a read_committed
    sink sees every origin once."""
    sim = run(pipeline_doc(), 20)
    proc, sink, out = sim.components["proc"], sim.components["sink"], sim.components["out"]
    assert proc.duplicates > 0  # the processor did reprocess records after crashes
    assert proc.txn_aborts > 0 and out.aborted_records > 0
    assert sink.e2e_duplicates == 0
    assert sink.dropped["out"][DROP_ABORTED] > 0


def test_at_least_once_pipeline_duplicates_what_was_written_before_the_crash() -> None:
    """Without transactions the outputs are written at once and the offsets committed later (here
    by auto-commit, every second): a crash in between writes them again when the records are
    reprocessed. (Committing after each batch narrows that window to a batch, so few restarts
    land in it.)"""
    sim = run(pipeline_doc(guarantee="at_least_once", commit="auto", auto_commit_interval_ms=1000), 20)
    proc, sink = sim.components["proc"], sim.components["sink"]
    assert proc.duplicates > 0
    assert sink.e2e_duplicates > 0
    assert sim.components["out"].markers_total() == 0


def test_read_uncommitted_sink_sees_the_aborted_outputs() -> None:
    """The transactions are there, but a read_uncommitted reader does not honour them."""
    sim = run(pipeline_doc(isolation="read_uncommitted"), 20)
    assert sim.components["proc"].txn_aborts > 0
    assert sim.components["sink"].e2e_duplicates > 0


def test_a_crashed_members_open_transaction_holds_the_lso_until_transaction_timeout() -> None:
    """A consumer that dies mid-transaction leaves it open: the output's LSO stays at its first
    offset (read_committed readers stall) until the coordinator aborts it after
    transaction.timeout.ms, when the LSO moves on."""
    document = pipeline_doc(restart_every_ms=0, transaction_timeout_ms=5000, commit_interval_ms=60_000)
    sim = engine.Simulation(engine.parse_document(document), 3, record_flow=False)
    sim.advance(2.0)
    proc, out = sim.components["proc"], sim.components["out"]
    victim = next(iter(proc.txns))
    held = min(out.lso(p) for p in range(4))
    sim.apply({"op": "kill_consumer", "node": "proc", "member": victim})
    sim.advance(4.0)  # within the timeout: still open
    assert victim in proc.txns
    assert min(out.lso(p) for p in range(4)) == held
    sim.advance(2.0)  # past transaction.timeout.ms: aborted
    assert victim not in proc.txns
    assert out.aborts >= 1


def test_a_group_cannot_write_to_a_topic_it_reads() -> None:
    document = pipeline_doc()
    document["edges"].append({"source": "out", "target": "proc"})
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(document)
    assert "reads topic 'out'" in str(err.value)


def replicated_pipeline(guarantee: str = "exactly_once", isolation: str = "read_committed") -> dict[str, Any]:
    """The pipeline with both topics on a 3-broker cluster (RF 3, min ISR 2)."""
    document = pipeline_doc(guarantee=guarantee, isolation=isolation, restart_every_ms=2500)
    document["nodes"].append({"id": "k", "type": "kafka_cluster", "params": {}})
    document["edges"] += [{"source": "k", "target": "in"}, {"source": "k", "target": "out"}]
    return document


def run_with_faults(document: dict[str, Any], seconds: float, seed: int = 5) -> engine.Simulation:
    """Kill broker 1, then 2 (the ISR shrinks below min.insync.replicas: writes are refused),
    restart both; books checked at every tick."""
    sim = engine.Simulation(engine.parse_document(document), seed, record_flow=False)
    script = {6: ("kill_broker", 1), 10: ("kill_broker", 2), 16: ("restart_broker", 1), 20: ("restart_broker", 2)}
    for i in range(int(seconds / 0.5)):
        sim.advance(0.5)
        if i in script:
            op, broker = script[i]
            sim.apply({"op": op, "node": "k", "broker": broker})
        for stream in sim.streams():
            assert stream_conserved(stream), (sim.now, stream)
    return sim


def test_exactly_once_into_a_replicated_topic_survives_broker_failures() -> None:
    """The group writes its outputs as an idempotent acks=all producer: refused while the ISR is
    below min.insync.replicas, retried, committed once the high watermark passes them; the
    COMMIT markers follow every record of their transaction. A read_committed sink still sees
    every origin once."""
    sim = run_with_faults(replicated_pipeline(), 20)
    proc, sink, out = sim.components["proc"], sim.components["sink"], sim.components["out"]
    writer = sim.components["proc/out"]
    assert proc.txn_commits > 10 and proc.txn_aborts > 0
    assert writer.written > 1000
    assert out.commits > 0 and out.markers_total() > 0
    assert sink.processed > 1000
    assert sink.e2e_duplicates == 0
    sim.advance(10)  # the brokers are back: nothing stays stuck in the writer or open in the topic
    assert writer.waiting_n + writer.pending_n < 200 and not writer.markers_due
    assert all(out.logs[p].leo - out.lso(p) < 200 for p in range(4)), [(out.lso(p), out.logs[p].leo) for p in range(4)]


def test_at_least_once_into_a_replicated_topic_duplicates_after_crashes() -> None:
    sim = run_with_faults(replicated_pipeline(guarantee="at_least_once"), 20)
    assert sim.components["sink"].e2e_duplicates > 0
    assert sim.components["out"].markers_total() == 0


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), abort_share=st.sampled_from([0.0, 0.2, 0.5]),
       guarantee=st.sampled_from(["exactly_once", "at_least_once"]))
def test_transactions_conserve_messages_and_are_deterministic(seed: int, abort_share: float, guarantee: str) -> None:
    """Books balance at every tick with markers, aborts and crashes; the same seed gives the
    same run."""
    document = pipeline_doc(guarantee=guarantee, restart_every_ms=2000)
    document["nodes"][0]["params"].update(transactional=True, abort_share=abort_share)
    a = run(document, 8, seed=seed)
    b = run(document, 8, seed=seed, check_books=False)
    assert a.metrics() == b.metrics()
    if guarantee == "exactly_once":
        assert a.components["sink"].e2e_duplicates == 0


def test_a_snapshot_mid_transaction_restores_and_continues_identically() -> None:
    """Open transactions, markers above the high watermark and the group's writer survive a
    snapshot (the live layer's crash recovery)."""
    document = replicated_pipeline()
    document["nodes"][0]["params"].update(transactional=True, abort_share=0.2)
    sim = engine.Simulation(engine.parse_document(document), 9, record_flow=True)
    sim.advance(3.3)
    assert sim.components["proc"].txns  # a transaction is open right now
    assert_restored_continues_identically(sim, steps=8, dt=0.5)


FAULTS = st.lists(
    st.tuples(st.integers(1, 6),  # ticks of 0.5 s before the fault
              st.sampled_from(["kill_broker", "restart_broker", "isolate_broker", "reconnect_broker",
                               "kill_consumer", "restart_consumer", "remove_consumer", "add_consumer"]),
              st.integers(1, 3)),  # the broker, or which consumer
    min_size=1, max_size=6)


@settings(max_examples=int(os.environ.get("FANOUT_TXN_EXAMPLES", "10")), deadline=None)
@given(faults=FAULTS, seed=st.integers(0, 1000), failure_rate=st.sampled_from([0.0, 0.05]),
       assignor=st.sampled_from(["range", "cooperative-sticky", "roundrobin"]), static=st.booleans())
# Cases hypothesis found: aborted input records taken for lost ones; an open transaction whose
# records a new leader cut away entirely; a truncated copy of an aborted transaction leaving a
# gap in the writer's sequence numbers; a retried record (failure_rate) whose output was written
# again after its offset was committed, by a rolling restart's transaction abort; a cooperative
# rebalance that revoked partitions of a dead member committed its offsets past what it handled.
@example(faults=[(1, "kill_consumer", 1), (2, "restart_broker", 1), (6, "kill_broker", 1), (1, "kill_broker", 1),
                 (4, "kill_broker", 1)], seed=419, failure_rate=0.0, assignor="range", static=True)
@example(faults=[(5, "kill_broker", 1), (5, "kill_consumer", 2), (4, "kill_broker", 3), (5, "kill_broker", 3),
                 (6, "kill_broker", 1), (1, "kill_broker", 1)], seed=5, failure_rate=0.0, assignor="range",
         static=True)
@example(faults=[(5, "isolate_broker", 1), (5, "reconnect_broker", 2), (3, "kill_broker", 2), (5, "kill_broker", 2),
                 (6, "kill_broker", 1)], seed=5, failure_rate=0.0, assignor="range", static=True)
@example(faults=[(6, "kill_consumer", 1), (1, "kill_broker", 1), (1, "kill_broker", 1), (5, "kill_broker", 1),
                 (6, "kill_broker", 1), (2, "kill_consumer", 1)], seed=579, failure_rate=0.0, assignor="range",
         static=True)
@example(faults=[(1, "kill_broker", 1), (1, "kill_broker", 1)], seed=0, failure_rate=0.05, assignor="range",
         static=True)
@example(faults=[(5, "restart_broker", 1), (5, "restart_broker", 2), (5, "kill_broker", 1), (4, "kill_broker", 1)],
         seed=0, failure_rate=0.0, assignor="cooperative-sticky", static=False)
def test_exactly_once_holds_under_random_broker_and_consumer_faults(faults: list[tuple[int, str, int]],
                                                                    seed: int, failure_rate: float, assignor: str,
                                                                    static: bool) -> None:
    """Whatever brokers and consumers fail, and in whatever order: every stream keeps its books
    at every tick, and the read_committed sink of an exactly-once pipeline never counts a
    duplicate (KIP-98/447: outputs and offsets commit together or not at all), also when records
    fail and are retried (failure_rate), whatever the assignor and with or without static
    membership."""
    document = replicated_pipeline()
    document["nodes"][0]["params"].update(transactional=True, abort_share=0.1)
    document["nodes"][2]["params"].update(failure_rate=failure_rate, max_attempts=3, assignor=assignor,
                                          static_membership=static)
    sim = engine.Simulation(engine.parse_document(document), seed, record_flow=False)
    proc = sim.components["proc"]
    for ticks, op, which in faults:
        for _ in range(ticks):
            sim.advance(0.5)
            for stream in sim.streams():
                assert stream_conserved(stream), (sim.now, stream)
        command: dict[str, Any] = {"op": op}
        if op.endswith("_broker"):
            command.update(node="k", broker=which)
        else:
            members = sorted(proc.members)
            if op == "add_consumer":
                command.update(node="proc")
            elif not members:  # every member was killed and has left the group
                continue
            else:
                command.update(node="proc", member=members[which % len(members)])
        try:
            sim.apply(command)
        except engine.CommandError:
            pass  # refused (a broker already down, a member already dead): part of the trace
    for op in ("restart_broker", "reconnect_broker"):
        for broker in (1, 2, 3):
            try:
                sim.apply({"op": op, "node": "k", "broker": broker})
            except engine.CommandError:
                pass
    for _ in range(20):
        sim.advance(0.5)
        for stream in sim.streams():
            assert stream_conserved(stream), (sim.now, stream)
    sink = sim.components["sink"]
    assert sink.e2e_duplicates == 0
    # Nothing lost either: every input record below the offsets the processor committed has its
    # output committed, and the sink reads it once the LSO passes it.
    committed = {p: proc.committed[("in", p)] for p in range(4)}
    sim.advance(5)
    assert_all_seen(sim, committed)


def assert_all_seen(sim: engine.Simulation, committed: dict[int, int]) -> None:
    """Every committed input record of the pipeline (by origin) was processed by the sink.

    Records of an aborted input transaction are left out: read_committed skips them, and the
    producer sends them again in a later transaction, whose copy is checked once the processor's
    committed offset passes it. So are records the processor gave up on after max_attempts
    (retries exhausted, no dead letter queue: counted as dropped with that reason)."""
    from playground.engine.kafka.group import DROP_NO_DLQ
    from playground.engine.kafka.log import ABORTED, CONTROL
    from playground.engine.kafka.transactions import ORIGIN_MASK, ORIGIN_SHIFT

    sink, log_of = sim.components["sink"], sim.components["in"].logs
    given_up = sim.components["proc"].dropped["in"].get(DROP_NO_DLQ, 0)
    lost = []
    for p, end in committed.items():
        origins = log_of[p].origins(0, end)
        origins = origins[(origins >= 0) & (log_of[p].flags(0, end) & (ABORTED | CONTROL) == 0)]
        for tag in set((origins >> ORIGIN_SHIFT).tolist()):
            serials = origins[(origins >> ORIGIN_SHIFT) == tag] & ORIGIN_MASK
            seen = sink.seen.get(tag)
            assert seen is not None and len(seen) > int(serials.max()), (p, tag)
            missing = serials[~seen[serials]]
            lost += [(p, int(m)) for m in missing[:5]]
            given_up -= len(missing)
            assert given_up >= 0, lost


def test_a_retried_record_is_processed_once_when_its_owner_is_killed() -> None:
    """Under exactly_once the processing of an input record, its output records and the consumer
    offset that passes it commit or abort together (KIP-98, KIP-447; Kafka Streams' EOS). A record
    whose processing failed and is retried after a backoff (the non-blocking retry of Spring
    Kafka's retry topics) is no exception: its retry is handed on in the transaction that commits
    the offset past it, so a transaction that aborts (here the owner is killed: its open
    transaction is aborted at transaction.timeout.ms) takes the retry with it and the record is
    delivered again from the committed offset; a retry of a committed hand-over is run once, its
    output committed once. The read_committed sink sees every record exactly once."""
    document = replicated_pipeline()
    document["nodes"][2]["params"].update(restart_every_ms=0, failure_rate=0.05, max_attempts=3)
    sim = engine.Simulation(engine.parse_document(document), 1, record_flow=False)
    proc = sim.components["proc"]
    sim.advance(2.0)
    sim.apply({"op": "kill_consumer", "node": "proc", "member": "consumer-1"})
    sim.advance(20)
    assert proc.retried > 0 and proc.txn_aborts > 0
    sink = sim.components["sink"]
    assert sink.e2e_duplicates == 0
    committed = {p: proc.committed[("in", p)] for p in range(4)}
    sim.advance(5)
    assert_all_seen(sim, committed)


def test_markers_every_reader_passed_are_counted_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long run does not keep every marker's offset: those below every reader's position are
    only counted, and the books still leave every marker out."""
    from playground.engine.kafka import transactions

    monkeypatch.setattr(transactions, "MARKERS_KEPT", 8)
    sim = run(pipeline_doc(), 15)
    out = sim.components["out"]
    assert sum(out.markers_trimmed) > 0
    assert max(len(m) for m in out.markers) < 60
    assert out.markers_total() == out.commits + out.aborts  # one marker per partition per ending


def test_a_member_killed_while_its_commit_flushes_has_its_transaction_aborted() -> None:
    """KafkaProducer.commitTransaction() flushes first (TransactionManager waits for every record
    sent in the transaction to be acknowledged) and only then sends EndTxn(COMMIT); the offsets
    sent with sendOffsetsToTransaction become the group's committed offsets only when that
    transaction commits. Kafka Streams' stream thread is blocked in it meanwhile (TaskExecutor
    commits through StreamsProducer.commitTransaction). A process that dies during the flush never
    sends EndTxn: its transaction stays open until transaction.timeout.ms aborts it, its offsets
    stay at the previous commit, and its records are processed again by the next owner.

    Here a broker of the output is killed, so acknowledgements (acks=all) wait until the ISR
    shrinks; a member whose commit is flushing meanwhile is killed. Its transaction ends with
    ABORT markers, no offset commit of it is ever recorded, and once the run settles a
    read_committed sink has seen every record exactly once."""
    document = replicated_pipeline()
    document["nodes"][2]["params"].update(restart_every_ms=0, transaction_timeout_ms=3000, session_timeout_ms=6000)
    sim = engine.Simulation(engine.parse_document(document), 3, record_flow=True)
    proc, writer, out = sim.components["proc"], sim.components["proc/out"], sim.components["out"]
    sim.advance(2.0)
    sim.drain_events()
    sim.apply({"op": "kill_broker", "node": "k", "broker": 1})  # acks wait for it until it leaves the ISR
    sim.advance(0.5)
    victim = "consumer-1"
    unacknowledged = {r.txn for r in writer.sent if r is not None} | {r.txn for q in writer.queues for r in q}
    flushing = {t for t in unacknowledged if t is not None and t.startswith(f"proc/{victim}#")}
    assert flushing, unacknowledged  # its commit started (commit.interval.ms is 100 ms) and waits for acks
    commit_started = proc.members[victim].last_commit
    sim.apply({"op": "kill_consumer", "node": "proc", "member": victim})
    sim.advance(4.0)  # past transaction.timeout.ms
    sim.apply({"op": "restart_broker", "node": "k", "broker": 1})
    sim.advance(16.0)
    events = sim.drain_events()
    outcomes = {e["outcome"] for e in events if e["k"] == "txn" and e["node"] == "out" and e["writer"] in flushing}
    assert outcomes == {"abort"}, outcomes
    assert out.aborts >= 1 and proc.txn_aborts >= 1
    victim_commits = [e for e in events if e["k"] == "commit" and e["g"] == "proc" and e["c"] == victim
                      and e["t"] >= commit_started]
    assert victim_commits == []  # the offsets of the unfinished commit were never committed
    sink = sim.components["sink"]
    assert sink.e2e_duplicates == 0
    committed = {p: proc.committed[("in", p)] for p in range(4)}
    sim.advance(5)
    assert_all_seen(sim, committed)
