"""Amazon SQS FIFO queues: message groups, deduplication, FIFO dead-letter queues."""

import pytest

from playground import engine
from playground.engine.sqs import rules
from tests.engine.sqs.factories import conserved, doc, edge, node, queue_sim, receive, stream

FIFO = {"queue_type": "fifo"}


def send(s, n=1, **kw):
    s.apply({"op": "send", "node": "p", "count": n, **kw})


def groups_of(s, picks):
    return [s.components["q"].msgs[p[0]].group for p in picks]


def test_a_group_is_locked_while_one_of_its_messages_is_in_flight():
    """"Amazon SQS FIFO queues" / "Using the message group ID": while messages of a group are in
    flight, no more messages of that group are returned; other groups are."""
    s = queue_sim(queue=FIFO, producer={"message_groups": 1})
    send(s, 2, group="a")
    send(s, 1, group="b")
    first = receive(s, n=1)
    assert groups_of(s, first) == ["a"]
    assert groups_of(s, receive(s, n=1)) == ["b"]
    assert receive(s, n=10) == []  # a's second message waits for the first
    s.components["q"].delete(s, first[0][0], first[0][1])
    assert groups_of(s, receive(s, n=10)) == ["a"]
    assert s.metrics()["nodes"]["q"]["locked"] == [{"group": "a", "in_flight": 1, "queued": 1},
                                                   {"group": "b", "in_flight": 1, "queued": 1}]


def test_a_receive_returns_as_many_messages_of_one_group_as_it_can_in_order():
    """"Amazon SQS FIFO queues": SQS first returns as many messages with the same group ID as
    possible, in the order they were sent."""
    s = queue_sim(queue=FIFO, producer={"message_groups": 1})
    send(s, 1, group="a")
    send(s, 3, group="b")
    send(s, 2, group="a")
    picks = receive(s, n=4)
    assert groups_of(s, picks) == ["a", "a", "a", "b"]
    assert [p[0] for p in picks] == [1, 5, 6, 2]


def test_an_expired_visibility_timeout_returns_the_message_to_the_head_of_its_group():
    """FIFO: a message not deleted before its visibility timeout is received again before any
    later message of its group (order within the group holds)."""
    s = queue_sim(queue={**FIFO, "visibility_timeout_s": 5}, producer={"message_groups": 1})
    send(s, 3, group="a")
    first = receive(s, n=1)
    s.advance(5.01)
    assert [p[0] for p in receive(s, n=10)] == [first[0][0], 2, 3]


def test_consumers_process_each_group_in_send_order():
    """FIFO ordering within a MessageGroupId, with several consumers in parallel."""
    s = queue_sim(queue=FIFO, producer={"rate": 100, "message_groups": 4},
                  consumer={"consumers": 4, "max_messages": 3, "processing_ms": 20})
    s.advance(10)
    seen = {}
    for e in s.drain_events():
        if e["k"] == "sqs_receive":
            seen.setdefault(e["key"], []).append(e["t"])
    q = s.metrics()["nodes"]["q"]
    assert q["duplicates"] == 0 and q["deleted"] > 500 and len(seen) == 4


def test_a_duplicate_deduplication_id_within_5_minutes_is_accepted_but_not_delivered():
    """"Exactly-once processing in Amazon SQS": a message with a deduplication ID already sent in
    the last 5 minutes is accepted successfully but not delivered; after 5 minutes it is new."""
    s = queue_sim(queue=FIFO, producer={"message_groups": 1})
    send(s, group="a", dedup_id="order-1")
    seq, receipt, _, _ = receive(s)[0]
    s.components["q"].delete(s, seq, receipt)  # deleting does not end the interval
    s.advance(299)
    send(s, group="a", dedup_id="order-1")
    assert receive(s) == [] and s.metrics()["nodes"]["q"]["deduplicated"] == 1
    s.advance(1.01)
    send(s, group="a", dedup_id="order-1")
    assert len(receive(s)) == 1
    assert stream(s, queue="q")["dropped"] == {rules.DROP_DEDUPLICATED: 1}


def test_content_based_deduplication_uses_the_body_hash():
    """ContentBasedDeduplication: the SHA-256 of the body is the deduplication ID, so equal bodies
    within 5 minutes are one message, different bodies are not."""
    s = queue_sim(queue={**FIFO, "content_based_dedup": True},
                  producer={"message_groups": 1, "deduplication": "content"})
    send(s, group="a", body="hello")
    send(s, group="b", body="hello")
    send(s, group="a", body="world")
    assert len(receive(s)) == 2 and s.metrics()["nodes"]["q"]["deduplicated"] == 1
    assert rules.content_key("hello") == rules.content_key("hello") != rules.content_key("world")


def test_a_retried_send_is_deduplicated_by_fifo_and_stored_twice_by_standard():
    """SendMessage retries reuse the MessageDeduplicationId: FIFO drops the copy within the
    interval; a standard queue has no deduplication and stores both."""
    def run(queue):
        s = queue_sim(queue=queue, producer={"rate": 50, "message_groups": 3, "resend_probability": 0.2})
        s.advance(20)
        return s.metrics()
    fifo, standard = run(FIFO), run({})
    assert fifo["nodes"]["q"]["deduplicated"] == fifo["nodes"]["p"]["resent"] > 50
    assert standard["nodes"]["q"]["produced"] == standard["sent"] and standard["nodes"]["q"]["deduplicated"] == 0


def test_a_fifo_dead_letter_gets_a_new_enqueue_time():
    """"Using dead-letter queues": for FIFO queues the enqueue timestamp resets when a message
    moves to a dead-letter queue."""
    s = queue_sim(queue={**FIFO, "visibility_timeout_s": 40, "max_receive_count": 1},
                  producer={"message_groups": 1}, dlq={**FIFO, "retention_s": 60})
    send(s, group="a")
    receive(s)
    s.advance(40.01)
    receive(s)
    s.advance(30)
    assert s.metrics()["nodes"]["dlq"]["visible"] == 1 and stream(s, queue="dlq")["dropped"] == {}
    s.advance(30.01)
    assert stream(s, queue="dlq")["dropped"] == {rules.DROP_RETENTION: 1}


def test_moving_a_groups_head_to_the_dlq_unlocks_the_rest_of_the_group():
    """FIFO + redrive policy: the dead-lettered head no longer holds back its group."""
    s = queue_sim(queue={**FIFO, "visibility_timeout_s": 1, "max_receive_count": 1},
                  producer={"message_groups": 1}, dlq=FIFO)
    send(s, 2, group="a")
    first = receive(s, n=1)
    s.advance(1.01)
    nxt = receive(s, n=1)
    assert nxt[0][0] == first[0][0] + 1 and s.metrics()["nodes"]["dlq"]["count"] == 1
    for st in s.streams():
        assert conserved(st)


def fifo_doc(dlq_type, **producer):
    return doc([node("p", "sqs_producer", **{"message_groups": 1, **producer}),
                node("q", "sqs_queue", queue_type="fifo"), node("dlq", "sqs_queue", queue_type=dlq_type)],
               [edge("p", "q"), {"id": "redrive", "source": "q", "target": "dlq"}])


def test_the_dlq_of_a_fifo_queue_must_be_fifo_and_the_error_names_the_edge():
    """"Using dead-letter queues": the dead-letter queue of a FIFO queue must also be a FIFO queue
    (and of a standard queue, a standard queue)."""
    engine.parse_document(fifo_doc("fifo"))
    with pytest.raises(engine.DocumentError) as caught:
        engine.parse_document(fifo_doc("standard"))
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("edges[1]", "the dead-letter queue of a fifo queue must be a fifo queue too (dlq is standard)")]


def test_sends_to_a_fifo_queue_need_a_group_and_a_dedup_id_and_no_message_timer():
    """SendMessage on a FIFO queue: MessageGroupId required; MessageDeduplicationId required
    unless ContentBasedDeduplication; per-message DelaySeconds not supported."""
    with pytest.raises(engine.DocumentError) as caught:
        engine.parse_document(fifo_doc("fifo", message_groups=0, deduplication="content", delay_seconds=5))
    messages = [e.message for e in caught.value.errors]
    assert all(e.path == "edges[0]" for e in caught.value.errors) and len(messages) == 3
    assert "MessageGroupId" in messages[0] and "content-based" in messages[1] and "DelaySeconds" in messages[2]
