"""SNS FIFO topics fanning out to SQS FIFO queues ("Amazon SNS FIFO topics", "Message grouping for
FIFO topics", "Message deduplication for FIFO topics", "Amazon SNS endpoints and quotas")."""

import pytest

from playground import engine
from playground.engine.sqs import rules
from tests.engine.sqs.factories import conserved, doc, edge, node, receive, sim, stream


def fifo_fanout(*, queues=2, content=False, scope="topic", producer=None, queue_params=None):
    nodes = [node("p", "sqs_producer", **{"rate": 0, "message_groups": 3, **(producer or {})}),
             node("t", "sns_topic", topic_type="fifo", content_based_dedup=content, fifo_throughput_scope=scope)]
    edges = [edge("p", "t")]
    for i in range(queues):
        nodes.append(node(f"q{i}", "sqs_queue", queue_type="fifo", **(queue_params or {})))
        edges.append(edge("t", f"q{i}"))
    return nodes, edges


def publish(s, n=1, **fields):
    s.apply({"op": "send", "node": "p", "count": n, **fields})


def test_a_fifo_topic_refuses_a_standard_queue_with_a_clear_error():
    """An SNS FIFO topic delivers only to SQS FIFO queues."""
    nodes, edges = fifo_fanout(queues=1)
    nodes.append(node("std", "sqs_queue"))
    edges.append(edge("t", "std"))
    with pytest.raises(engine.DocumentError) as exc:
        engine.parse_document(doc(nodes, edges))
    assert "SNS FIFO topic t delivers only to SQS FIFO queues: std is a standard queue" in str(exc.value)
    assert exc.value.errors[0].path.startswith("edges[")


def test_publishing_to_a_fifo_topic_needs_a_group_and_a_deduplication_id():
    """Publish to a FIFO topic: MessageGroupId is required; without MessageDeduplicationId the topic
    must have ContentBasedDeduplication."""
    nodes, edges = fifo_fanout(producer={"message_groups": 0, "deduplication": "content"})
    with pytest.raises(engine.DocumentError) as exc:
        engine.parse_document(doc(nodes, edges))
    text = str(exc.value)
    assert "needs a MessageGroupId" in text and "needs content-based deduplication" in text
    nodes, edges = fifo_fanout(content=True, producer={"deduplication": "content"})
    engine.parse_document(doc(nodes, edges))


def test_group_and_deduplication_ids_are_carried_to_every_queue_in_publish_order():
    """"Message grouping for FIFO topics": the topic passes the group id to each subscribed FIFO
    queue, and the order within a group is kept through the fan-out."""
    s = sim(*fifo_fanout())
    for i in range(6):
        publish(s, group=f"g{i % 2}", body=f"m{i}", dedup_id=f"d{i}")
    for q in ("q0", "q1"):
        msgs = sorted(s.components[q].msgs.values(), key=lambda m: m.seq)
        assert [(m.group, m.body, m.dedup) for m in msgs] == [(f"g{i % 2}", f"m{i}", f"d{i}") for i in range(6)]


def test_a_consumer_of_each_queue_sees_each_group_in_order():
    """Each queue keeps the topic's order per group: receives return the first message of each group."""
    s = sim(*fifo_fanout())
    for i in range(4):
        publish(s, group="g1", body=f"m{i}", dedup_id=f"d{i}")
    for q in ("q0", "q1"):
        got = receive(s, q, 10)
        assert len(got) == 4
        bodies = [s.components[q].msgs[seq].body for seq, *_ in got]
        assert bodies == ["m0", "m1", "m2", "m3"]


def test_a_deduplication_id_seen_within_five_minutes_is_delivered_nowhere():
    """Publish MessageDeduplicationId: a message with an id already published in the last 5
    minutes is accepted but not delivered; after the interval it is a new message."""
    s = sim(*fifo_fanout())
    publish(s, group="g1", dedup_id="x")
    publish(s, group="g2", dedup_id="x")
    assert [stream(s, queue=q)["produced"] for q in ("q0", "q1")] == [1, 1]
    st = stream(s, topic="t")
    assert st["dropped"] == {rules.DROP_SNS_DEDUPLICATED: 1} and conserved(st)
    s.advance(rules.DEDUP_WINDOW_S + 1)
    publish(s, group="g1", dedup_id="x")
    assert stream(s, queue="q0")["produced"] == 2


def test_message_group_scope_deduplicates_within_a_group_only():
    """FifoThroughputScope MessageGroup: the deduplication scope is the message group."""
    s = sim(*fifo_fanout(scope="message_group"))
    publish(s, group="g1", dedup_id="x")
    publish(s, group="g2", dedup_id="x")
    publish(s, group="g2", dedup_id="x")
    assert stream(s, queue="q0")["produced"] == 2 and s.metrics()["nodes"]["t"]["deduplicated"] == 1


def test_content_based_deduplication_hashes_the_body():
    """ContentBasedDeduplication: the SHA-256 of the body is the deduplication id, passed on to the
    queues; equal bodies within 5 minutes are one message."""
    s = sim(*fifo_fanout(content=True, producer={"deduplication": "content"}))
    publish(s, group="g1", body="same")
    publish(s, group="g1", body="same")
    publish(s, group="g1", body="other")
    msgs = sorted(s.components["q0"].msgs.values(), key=lambda m: m.seq)
    assert [m.dedup for m in msgs] == [rules.content_key("same"), rules.content_key("other")]


def test_a_producer_retry_is_deduplicated_by_the_topic():
    """An SDK retry sends the same deduplication id again: the FIFO topic delivers it once."""
    s = sim(*fifo_fanout(producer={"rate": 50, "resend_probability": 0.3}))
    s.advance(5)
    prod = s.metrics()["nodes"]["p"]
    assert prod["resent"] > 20 and s.metrics()["nodes"]["t"]["deduplicated"] == prod["resent"]
    assert stream(s, queue="q0")["produced"] == prod["sent"] - prod["resent"]
    assert all(conserved(x) for x in s.streams())


def test_topic_scope_throttles_a_message_group_over_300_a_second():
    """Quotas, FIFO topic (Topic scope): 300 messages a second per message group, 3,000 per topic;
    publishes over the quota fail with ThrottledException and are counted."""
    s = sim(*fifo_fanout(producer={"message_groups": 1, "rate": 0}))
    for _ in range(4):
        publish(s, 100)
    st = stream(s, topic="t")
    assert st["dropped"] == {rules.DROP_THROTTLED: 100} and st["acknowledged"] == 300 and conserved(st)
    s.advance(1.0)
    publish(s, 100)
    assert s.metrics()["nodes"]["t"]["throttled"] == 100


def test_the_throughput_window_rules():
    """Topic scope: 300 per group and 3,000 per topic in a second; MessageGroup scope: the account
    quota only."""
    w = rules.ThroughputWindow("topic")
    assert all(w.admit(f"g{i % 20}", 0.5) for i in range(3000))
    assert not w.admit("new", 0.9) and w.admit("new", 1.0)
    w = rules.ThroughputWindow("message_group")
    assert all(w.admit("g", 0.1) for i in range(1000))


def test_the_sns_fifo_fanout_example_runs_balanced_and_throttles_the_bulk_group():
    from playground import examples

    s = engine.Simulation(engine.parse_document(examples.load("sns-fifo-fanout")), 3)
    for _ in range(10):
        s.advance(0.5)
        assert all(conserved(x) for x in s.streams())
    topic = s.metrics()["nodes"]["price-topic"]
    assert topic["throttled"] > 300 and stream(s, queue="inventory")["produced"] == topic["delivered"]
