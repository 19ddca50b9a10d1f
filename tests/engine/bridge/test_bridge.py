"""The bridge (playground/engine/bridge/): records moved between systems, every one counted.

It follows Kafka Connect's worker loop (WorkerSinkTask / WorkerSourceTask: poll, put, commit the
source's position every offset.flush.interval.ms): a crash between two commits makes the source
hand the uncommitted records out again, so they are written twice, and counted as duplicates.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from playground import engine, examples
from tests.engine.factories import stream_conserved


def doc(nodes, edges):
    return {"fanout": 1, "name": "bridge test", "nodes": nodes,
            "edges": [{"source": s, "target": t, **({"params": p} if p else {})} for s, t, p in edges]}


def kafka_to_amqp(commit_ms=1000):
    return doc([
        {"id": "producer", "type": "producer", "params": {"rate": 200, "keys": 20}},
        {"id": "topic", "type": "kafka_topic", "params": {"partitions": 3}},
        {"id": "bridge", "type": "bridge", "params": {"commit_interval_ms": commit_ms}},
        {"id": "ex", "type": "amqp_exchange", "params": {"type": "topic"}},
        {"id": "q", "type": "amqp_queue"},
        {"id": "workers", "type": "amqp_consumer", "params": {"consumers": 2, "processing_ms": 1}},
    ], [("producer", "topic", None), ("topic", "bridge", None), ("bridge", "ex", None),
        ("ex", "q", {"binding_key": "#"}), ("q", "workers", None)])


def run(document, seed=3, seconds=5.0):
    sim = engine.Simulation(engine.parse_document(document), seed)
    sim.advance(seconds)
    return sim


def books_balance(sim):
    return all(stream_conserved(s) for s in sim.streams())


def test_kafka_topic_to_rabbitmq_exchange_delivers_every_record_with_its_envelope():
    """Kafka -> RabbitMQ: the bridge reads the topic with committed offsets and publishes each
    record to the exchange; the queue bound with '#' gets them all, keyed by the Kafka key."""
    sim = run(kafka_to_amqp())
    m = sim.metrics()["nodes"]
    assert m["bridge"]["taken"] == m["bridge"]["written"] > 500
    assert m["q"]["produced"] == m["bridge"]["written"]
    queue = sim.components["q"]
    entries = queue.q.entries() + [e for held in queue.unacked.values() for e in held.values()]
    records = [e.msg.record for e in entries]
    assert records and all(r is not None for r in records)
    first = records[0]
    assert first.key.startswith("key-") and first.origin[0].node == "producer"
    assert first.origin[-1].node == "bridge" and first.origin[-1].attempt == 1
    assert books_balance(sim)


def test_rabbitmq_queue_to_kafka_topic_keeps_the_record_and_acks_only_at_commit():
    """RabbitMQ -> Kafka (the ready topology): deliveries stay unacked until the bridge commits
    (basic.ack after the records are in Kafka), then the queue's stream counts them acknowledged."""
    sim = engine.Simulation(engine.parse_document(examples.load("bridge-rabbitmq-to-kafka")), 1)
    sim.advance(3.0)  # commits at 2 s and 4 s: what came after 2 s is written, not acked
    queue = sim.metrics()["nodes"]["to-kafka"]
    bridge = sim.metrics()["nodes"]["connect"]
    pushed = len(sim.components["connect"].source.ready)  # delivered since its last poll
    assert bridge["written"] + pushed == queue["delivered"] and bridge["uncommitted"] > 0
    assert bridge["source"]["unacked"] == queue["unacked"] == bridge["uncommitted"] + pushed
    topic = sim.components["orders-topic"]
    table = topic.envelopes
    record = next(r for part in table.records for r in part.values())
    assert record.id.startswith("amqp:") and record.key.startswith("order.")
    assert [h.node for h in record.origin] == ["orders", "connect"]
    assert books_balance(sim)


def test_a_crash_before_the_commit_writes_the_uncommitted_records_again_as_counted_duplicates():
    """Kafka -> SQS: offsets rewind to the committed ones; every record sent since is sent again."""
    sim = engine.Simulation(engine.parse_document(examples.load("bridge-kafka-to-sqs")), 1)
    sim.advance(7.0)
    uncommitted = sim.metrics()["nodes"]["sqs-sink"]["uncommitted"]
    assert uncommitted > 0
    sim.apply({"op": "crash_bridge", "node": "sqs-sink"})
    sim.advance(1.0)
    sim.apply({"op": "restart_bridge", "node": "sqs-sink"})
    sim.advance(5.0)
    m = sim.metrics()["nodes"]
    assert m["sqs-sink"]["duplicates"] == uncommitted
    assert m["sqs-sink"]["attempt"] == 2
    assert m["payments-queue"]["produced"] == m["sqs-sink"]["written"]
    read = next(s for s in sim.streams() if s.get("group") == "sqs-sink")
    assert m["sqs-sink"]["written"] == read["acknowledged"] + read["in_flight"] + uncommitted
    assert books_balance(sim)


def test_a_crashed_rabbitmq_source_requeues_its_unacked_deliveries_as_redelivered():
    """AMQP 0-9-1: a closed channel requeues its unacked deliveries, redelivered=true."""
    sim = engine.Simulation(engine.parse_document(examples.load("bridge-rabbitmq-to-kafka")), 2)
    sim.advance(3.0)
    unacked = sim.metrics()["nodes"]["to-kafka"]["unacked"]
    written_not_acked = sim.metrics()["nodes"]["connect"]["uncommitted"]
    sim.apply({"op": "crash_bridge", "node": "connect"})
    assert sim.metrics()["nodes"]["to-kafka"]["requeued"] == unacked
    sim.apply({"op": "restart_bridge", "node": "connect"})
    sim.advance(1.0)
    m = sim.metrics()["nodes"]
    # written to Kafka and written again; deliveries it had not handed on yet are no duplicates
    assert 0 < m["connect"]["duplicates"] == written_not_acked < unacked
    assert m["to-kafka"]["duplicates"] >= unacked  # the queue counts every redelivery
    assert books_balance(sim)


def test_sqs_queue_to_kafka_topic_deletes_what_it_committed():
    """SQS -> Kafka: ReceiveMessage, produce, then DeleteMessage with the receipt at the commit."""
    sim = run(doc([
        {"id": "sender", "type": "sqs_producer", "params": {"rate": 100}},
        {"id": "q", "type": "sqs_queue", "params": {"duplicate_probability": 0, "reorder_probability": 0}},
        {"id": "bridge", "type": "bridge", "params": {"commit_interval_ms": 500}},
        {"id": "topic", "type": "kafka_topic", "params": {"partitions": 2}},
    ], [("sender", "q", None), ("q", "bridge", None), ("bridge", "topic", None)]), seconds=4.0)
    m = sim.metrics()["nodes"]
    assert m["bridge"]["written"] == sum(p["leo"] for p in m["topic"]["partitions"]) > 200
    assert m["q"]["deleted"] >= m["bridge"]["written"] - m["bridge"]["uncommitted"]
    assert books_balance(sim)


def test_a_source_without_an_adapter_is_refused_naming_the_ports():
    bad = doc([{"id": "ch", "type": "redis_channel"}, {"id": "b", "type": "bridge"}], [("ch", "b", None)])
    try:
        engine.parse_document(bad)
    except engine.DocumentError as exc:
        (error,) = exc.errors
        assert error.path == "edges[0]"
        assert error.message.startswith("ch's output 'messages (redis-pubsub)' cannot feed b's input 'records (any)'")
    else:
        raise AssertionError("a Redis channel has no record adapter yet")


def test_same_seed_same_run_and_snapshot_continues_identically():
    a = engine.Simulation(engine.parse_document(kafka_to_amqp()), 9)
    b = engine.Simulation(engine.parse_document(kafka_to_amqp()), 9)
    a.advance(2.2)
    b.advance(2.2)
    a.apply({"op": "crash_bridge", "node": "bridge"})
    b.apply({"op": "crash_bridge", "node": "bridge"})
    c = engine.Simulation.restore(a.snapshot())
    for sim in (a, b, c):
        sim.apply({"op": "restart_bridge", "node": "bridge"})
        sim.advance(2.0)
    assert a.metrics() == b.metrics() == c.metrics()


@settings(max_examples=15, deadline=None)
@given(crashes=st.lists(st.floats(0.05, 1.5), min_size=1, max_size=3), commit_ms=st.integers(50, 2000),
       seed=st.integers(0, 1000))
def test_conservation_holds_across_the_bridge_under_random_crashes(crashes, commit_ms, seed):
    """Every stream balances, and what the bridge wrote = unique records + counted duplicates."""
    sim = engine.Simulation(engine.parse_document(kafka_to_amqp(commit_ms)), seed)
    for gap in crashes:
        sim.advance(gap)
        sim.apply({"op": "crash_bridge", "node": "bridge"})
        sim.advance(0.1)
        sim.apply({"op": "restart_bridge", "node": "bridge"})
        assert books_balance(sim)
    sim.advance(1.0)
    m = sim.metrics()["nodes"]
    read = next(s for s in sim.streams() if s.get("group") == "bridge")
    pending = len(sim.components["bridge"].rewrite)  # written before a crash, not read again yet
    assert m["bridge"]["written"] == read["acknowledged"] + read["in_flight"] + m["bridge"]["duplicates"] + pending
    assert m["q"]["produced"] == m["bridge"]["written"]
    assert books_balance(sim)


def test_redis_stream_to_kafka_to_redis_stream_chains_two_bridges_and_recovers_the_pel():
    """XREADGROUP >, XACK at the commit; after a crash the consumer reads its own pending history
    (XREADGROUP ... 0) first: those entries are written again, counted as duplicates."""
    sim = run(doc([
        {"id": "pub", "type": "redis_publisher", "params": {"rate": 100}},
        {"id": "s", "type": "redis_stream"},
        {"id": "b", "type": "bridge", "params": {"commit_interval_ms": 1000}},
        {"id": "t", "type": "kafka_topic", "params": {"partitions": 2}},
        {"id": "b2", "type": "bridge", "params": {"commit_interval_ms": 700}},
        {"id": "s2", "type": "redis_stream"},
        {"id": "g", "type": "redis_consumer_group"},
    ], [("pub", "s", None), ("s", "b", None), ("b", "t", None), ("t", "b2", None), ("b2", "s2", None),
        ("s2", "g", None)]), seed=4, seconds=3.5)
    pending = len(sim.components["b"].source.group.pel)
    assert pending > 0
    sim.apply({"op": "crash_bridge", "node": "b"})
    sim.apply({"op": "restart_bridge", "node": "b"})
    sim.advance(3.0)
    m = sim.metrics()["nodes"]
    assert m["b"]["duplicates"] == pending
    read = next(s for s in sim.streams() if s.get("group") == "b")
    assert m["b"]["written"] == read["acknowledged"] + read["in_flight"] + pending
    record = sim.components["s2"].envelopes[max(sim.components["s2"].envelopes)]
    assert [h.node for h in record.origin] == ["pub", "b", "b2"] and record.origin[1].attempt == 2
    assert books_balance(sim)


def test_pulsar_subscription_through_kafka_into_a_pulsar_topic_redelivers_unacked_after_a_crash():
    """A Pulsar consumer's unacked messages are redelivered when it disconnects (Shared: just
    them; Exclusive: the cursor rewinds): the bridge writes them again, counted as duplicates."""
    for kind in ("shared", "exclusive"):
        sim = run(doc([
            {"id": "prod", "type": "pulsar_producer", "params": {"rate": 100}},
            {"id": "t", "type": "pulsar_topic", "params": {"partitions": 2}},
            {"id": "sub", "type": "pulsar_subscription", "params": {"type": kind}},
            {"id": "b", "type": "bridge", "params": {"commit_interval_ms": 1000}},
            {"id": "kt", "type": "kafka_topic", "params": {"partitions": 2}},
            {"id": "b2", "type": "bridge"},
            {"id": "t2", "type": "pulsar_topic"},
            {"id": "sub2", "type": "pulsar_subscription"},
            {"id": "c", "type": "pulsar_consumer"},
        ], [("prod", "t", None), ("t", "sub", None), ("sub", "b", None), ("b", "kt", None), ("kt", "b2", None),
            ("b2", "t2", None), ("t2", "sub2", None), ("sub2", "c", None)]), seed=4, seconds=3.5)
        uncommitted = sim.metrics()["nodes"]["b"]["uncommitted"]
        assert uncommitted > 0
        sim.apply({"op": "crash_bridge", "node": "b"})
        sim.apply({"op": "restart_bridge", "node": "b"})
        sim.advance(3.0)
        m = sim.metrics()["nodes"]
        assert m["b"]["duplicates"] == uncommitted
        sub = next(s for s in sim.streams() if s.get("subscription") == "sub")
        assert m["b"]["written"] == sub["acknowledged"] + sub["in_flight"] + sub["waiting"] + uncommitted
        record = sim.components["t2"].envelopes[max(sim.components["t2"].envelopes)]
        assert [h.node for h in record.origin] == ["prod", "b", "b2"]
        assert books_balance(sim)


def test_pubsub_subscription_through_kafka_into_a_pubsub_topic_redelivers_after_the_lease_runs_out():
    """Pub/Sub: a crashed subscriber stops extending its leases; at the ack deadline the messages
    are redelivered ("Lease management"), written again by the bridge and counted."""
    sim = run(doc([
        {"id": "pub", "type": "pubsub_publisher", "params": {"rate": 100}},
        {"id": "t", "type": "pubsub_topic"},
        {"id": "sub", "type": "pubsub_subscription", "params": {"ack_deadline_s": 10}},
        {"id": "b", "type": "bridge", "params": {"commit_interval_ms": 1000}},
        {"id": "kt", "type": "kafka_topic", "params": {"partitions": 2}},
        {"id": "b2", "type": "bridge"},
        {"id": "t2", "type": "pubsub_topic"},
        {"id": "sub2", "type": "pubsub_subscription"},
        {"id": "c", "type": "pubsub_subscriber"},
    ], [("pub", "t", None), ("t", "sub", None), ("sub", "b", None), ("b", "kt", None), ("kt", "b2", None),
        ("b2", "t2", None), ("t2", "sub2", None), ("sub2", "c", None)]), seed=4, seconds=3.5)
    uncommitted = sim.metrics()["nodes"]["b"]["uncommitted"]
    assert uncommitted > 0
    sim.apply({"op": "crash_bridge", "node": "b"})
    sim.apply({"op": "restart_bridge", "node": "b"})
    sim.advance(5.0)
    assert sim.metrics()["nodes"]["b"]["duplicates"] == 0  # the leases have not run out yet
    sim.advance(10.0)
    m = sim.metrics()["nodes"]
    assert m["b"]["duplicates"] == uncommitted
    assert m["sub"]["duplicates"] >= uncommitted  # the subscription counts the redeliveries too
    part = sim.components["kt"].envelopes.records[0]
    record = part[max(part)]
    assert record.id.startswith("pubsub:") and [h.node for h in record.origin] == ["pub", "b"]
    assert books_balance(sim)


def test_a_fifo_queue_drops_what_the_bridge_writes_again_by_the_records_id():
    """SQS FIFO: a message with a MessageDeduplicationId seen in the last 5 minutes is accepted
    but not delivered ("Exactly-once processing in Amazon SQS"); the bridge sends the record's id,
    so what it writes again after a crash is not delivered twice."""
    document = examples.load("bridge-kafka-to-sqs")
    for n in document["nodes"]:
        if n["id"] == "payments-queue":
            n["params"] = {"queue_type": "fifo"}
    sim = engine.Simulation(engine.parse_document(document), 1)
    sim.advance(7.0)
    sim.apply({"op": "crash_bridge", "node": "sqs-sink"})
    sim.apply({"op": "restart_bridge", "node": "sqs-sink"})
    sim.advance(3.0)
    m = sim.metrics()["nodes"]
    assert m["sqs-sink"]["duplicates"] > 0
    assert sim.components["payments-queue"].deduplicated == m["sqs-sink"]["duplicates"]
    assert books_balance(sim)
