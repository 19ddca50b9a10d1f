"""Amazon SQS standard queues during a run: visibility, delays, polling, retention, redrive."""

import pytest

from playground import engine
from playground.engine.sqs import rules
from tests.engine.sqs.factories import conserved, queue_sim, receive, stream


def send(s, n=1, **kw):
    s.apply({"op": "send", "node": "p", "count": n, **kw})


def test_a_received_message_is_invisible_until_its_visibility_timeout_then_visible_again():
    """"Amazon SQS visibility timeout": invisible to other receives until deleted or the timeout
    passes; then visible again, and the next receive counts ApproximateReceiveCount 2."""
    s = queue_sim(queue={"visibility_timeout_s": 30})
    send(s)
    first = receive(s)
    assert len(first) == 1 and receive(s) == []
    s.advance(29.9)
    assert receive(s) == []
    s.advance(0.2)
    again = receive(s)
    assert [p[0] for p in again] == [first[0][0]]
    q = s.components["q"]
    assert q.msgs[again[0][0]].receives == 2 and q.duplicates == 1 and q.timeouts == 1


def test_delete_with_the_receipt_handle_removes_the_message_for_good():
    """DeleteMessage: the message is removed; it is counted acknowledged in its stream."""
    s = queue_sim()
    send(s)
    seq, receipt, _, _ = receive(s)[0]
    assert s.components["q"].delete(s, seq, receipt) == "deleted"
    s.advance(60)
    assert receive(s) == []
    st = stream(s, queue="q")
    assert st["acknowledged"] == 1 and conserved(st)


def test_change_message_visibility_restarts_the_timeout_from_now_and_zero_releases_it():
    """ChangeMessageVisibility: "the 10 seconds begin to count from the time that you make the
    call"; a timeout of 0 makes the message visible at once."""
    s = queue_sim(queue={"visibility_timeout_s": 30})
    send(s, 2)
    (a, ra, _, _), (b, rb, _, _) = receive(s)
    s.advance(15)
    q = s.components["q"]
    assert q.change_visibility(s, a, ra, 10)
    s.advance(10.1)
    assert [p[0] for p in receive(s)] == [a]  # 25 s after the receive, not 30
    assert q.change_visibility(s, b, rb, 0) and [p[0] for p in receive(s)] == [b]


def test_change_message_visibility_beyond_12_hours_from_the_receive_is_refused():
    """ChangeMessageVisibility: "If you try to extend the visibility timeout beyond the maximum
    [12 hours], your request is rejected"."""
    s = queue_sim(queue={"visibility_timeout_s": 30})
    send(s)
    seq, receipt, _, _ = receive(s)[0]
    q = s.components["q"]
    s.advance(20)
    assert q.change_visibility(s, seq, receipt, rules.VISIBILITY_MAX_S - 30)
    assert not q.change_visibility(s, seq, receipt, rules.VISIBILITY_MAX_S)


def test_a_slow_consumer_gets_duplicates_and_a_heartbeat_prevents_them():
    """"Amazon SQS visibility timeout": processing longer than the timeout makes the message
    visible to other consumers; extending it with ChangeMessageVisibility while processing
    prevents that."""
    def run(extend):
        s = queue_sim(queue={"visibility_timeout_s": 2}, producer={"rate": 5},
                      consumer={"consumers": 4, "processing_ms": 3000, "extend_visibility": extend})
        s.advance(30)
        return s.metrics()["nodes"]

    slow = run(False)
    assert slow["q"]["duplicates"] > 5 and slow["c"]["late"] > 0
    kept = run(True)
    assert kept["q"]["duplicates"] == 0 and kept["q"]["extended"] > 0 and kept["c"]["late"] == 0


def test_a_killed_consumers_messages_come_back_only_after_their_visibility_timeout():
    """SQS does not notice a crashed consumer: its messages stay in flight until the visibility
    timeout passes, then are delivered again."""
    s = queue_sim(queue={"visibility_timeout_s": 10}, consumer={"consumers": 1, "processing_ms": 100_000})
    send(s)
    s.advance(1)
    s.apply({"op": "kill_consumer", "node": "c"})
    s.apply({"op": "add_consumer", "node": "c"})
    s.advance(8)
    assert s.metrics()["nodes"]["q"]["in_flight"] == 1 and s.metrics()["nodes"]["q"]["delivered"] == 1
    s.advance(2)
    assert s.metrics()["nodes"]["q"]["delivered"] == 2 and s.metrics()["nodes"]["q"]["duplicates"] == 1


def test_delay_queue_hides_new_messages_for_delay_seconds_and_a_message_timer_overrides_it():
    """"Amazon SQS delay queues" (DelaySeconds) and message timers (per-message DelaySeconds)."""
    s = queue_sim(queue={"delay_seconds": 5})
    send(s)
    assert s.metrics()["nodes"]["q"]["delayed"] == 1 and receive(s) == []
    s.advance(5.01)
    assert len(receive(s)) == 1
    s2 = queue_sim(queue={"delay_seconds": 5}, producer={"delay_seconds": 1})
    send(s2)
    s2.advance(1.01)
    assert len(receive(s2)) == 1


def test_receive_returns_at_most_max_number_of_messages():
    """ReceiveMessage MaxNumberOfMessages: 1 to 10 per call."""
    s = queue_sim(consumer={"consumers": 1, "max_messages": 10, "processing_ms": 1})
    send(s, 25)
    s.advance(2)
    receives = [e for e in s.drain_events() if e["k"] == "sqs_receive"]
    assert [e["n"] for e in receives][:3] == [10, 10, 5]


def test_long_polling_answers_when_a_message_arrives_and_cuts_empty_receives():
    """"Amazon SQS short and long polling": long polling waits up to 20 s and returns as soon as a
    message is available, which reduces empty receives."""
    def run(wait):
        s = queue_sim(queue={"receive_wait_s": wait}, producer={"rate": 0.5}, consumer={"consumers": 2})
        s.advance(60)
        return s.metrics()["nodes"]["q"]
    short, long = run(0), run(20)
    assert short["empty_receives"] > 1000
    assert long["empty_receives"] < 10 and long["deleted"] == short["deleted"] > 0


def test_short_polling_may_answer_empty_although_messages_are_visible():
    """"Amazon SQS short and long polling": short polling queries a subset of servers, so a
    receive may return nothing though messages exist; a later receive finds them."""
    s = queue_sim(queue={"short_poll_miss": 0.5})
    send(s, 3)
    answers = [receive(s, n=1) for _ in range(20)]
    assert [] in answers and sum(len(a) for a in answers) == 3


def test_messages_older_than_the_retention_period_are_deleted_with_a_reason():
    """MessageRetentionPeriod (60 s to 14 days): older messages are deleted, received or not."""
    s = queue_sim(queue={"retention_s": 60})
    send(s, 2)
    receive(s, n=1)
    s.advance(60.01)
    st = stream(s, queue="q")
    assert st["dropped"] == {rules.DROP_RETENTION: 2} and st["in_flight"] == st["waiting"] == 0


def test_after_max_receive_count_receives_the_next_receive_moves_the_message_to_the_dlq():
    """"Using dead-letter queues": when the receive count exceeds maxReceiveCount the message
    moves to the DLQ, listed with reason, receive count and source queue."""
    s = queue_sim(queue={"visibility_timeout_s": 1, "max_receive_count": 3}, dlq={})
    send(s)
    for _ in range(3):
        assert len(receive(s)) == 1
        s.advance(1.01)
    assert receive(s) == []
    dlq = s.metrics()["nodes"]["dlq"]
    assert dlq["count"] == 1 and dlq["visible"] == 1
    entry = dlq["recent"][0]
    assert (entry["reason"], entry["attempts"], entry["origin"]) == ("maxReceiveCount exceeded", 3, "queue q")
    assert stream(s, queue="q")["dead_lettered"] == 1 and conserved(stream(s, queue="dlq"))


def test_without_a_dlq_a_poison_message_is_received_forever():
    """Without a redrive policy nothing moves a message that is never deleted."""
    s = queue_sim(queue={"visibility_timeout_s": 1, "max_receive_count": 2},
                  consumer={"consumers": 1, "poison_rate": 1.0, "processing_ms": 1})
    send(s)
    s.advance(30)
    assert s.metrics()["nodes"]["q"]["delivered"] >= 25 and stream(s, queue="q")["in_flight"] + \
        stream(s, queue="q")["waiting"] == 1


def test_release_on_failure_makes_the_message_visible_at_once():
    """ChangeMessageVisibility 0 after a failure: retried at once, not after the timeout."""
    s = queue_sim(queue={"visibility_timeout_s": 30, "max_receive_count": 5},
                  consumer={"consumers": 1, "poison_rate": 1.0, "processing_ms": 1, "on_failure": "release"},
                  dlq={})
    send(s)
    s.advance(2)
    assert s.metrics()["nodes"]["dlq"]["count"] == 1 and s.metrics()["nodes"]["c"]["released"] == 5


def test_a_standard_dlq_keeps_the_original_enqueue_time_for_retention():
    """"Using dead-letter queues": for standard queues the expiration of a message is always based
    on its original enqueue timestamp, also after it moved to a dead-letter queue."""
    s = queue_sim(queue={"visibility_timeout_s": 40, "max_receive_count": 1}, dlq={"retention_s": 60})
    send(s)
    receive(s)
    s.advance(40.01)
    receive(s)  # moves it, 40 s old, to a DLQ that keeps 60 s
    assert s.metrics()["nodes"]["dlq"]["visible"] == 1
    s.advance(20)
    assert stream(s, queue="dlq")["dropped"] == {rules.DROP_RETENTION: 1}


def test_redrive_moves_dead_letters_back_to_their_source_as_new_messages():
    """StartMessageMoveTask: dead letters move back to the source queue; received again from a
    receive count of 0."""
    s = queue_sim(queue={"visibility_timeout_s": 1, "max_receive_count": 1}, dlq={})
    send(s, 3)
    receive(s)
    s.advance(1.01)
    assert receive(s) == []
    s.apply({"op": "redrive", "node": "dlq"})
    assert s.metrics()["nodes"]["dlq"]["redriven"] == 3
    back = receive(s)
    assert len(back) == 3 and all(s.components["q"].msgs[p[0]].receives == 1 for p in back)
    for st in s.streams():
        assert conserved(st)
    with pytest.raises(engine.CommandError, match="no available dead letter"):
        s.apply({"op": "redrive", "node": "dlq"})


def test_a_missed_delete_delivers_the_message_again_at_least_once():
    """"Amazon SQS standard queues" (at-least-once): if a server holding a copy is unavailable
    when you delete, you might get that message copy again."""
    s = queue_sim(queue={"duplicate_probability": 0.5, "visibility_timeout_s": 1},
                  consumer={"consumers": 2, "processing_ms": 1})
    send(s, 200)
    s.advance(30)
    q = s.metrics()["nodes"]["q"]
    assert q["missed_deletes"] > 50 and q["duplicates"] >= q["missed_deletes"] - 1
    assert stream(s, queue="q")["acknowledged"] == 200


def test_best_effort_ordering_occasionally_delivers_out_of_order():
    """"Amazon SQS standard queues" (best-effort ordering): occasionally delivered out of order."""
    s = queue_sim(queue={"reorder_probability": 0.2})
    send(s, 100)
    order = [p[0] for _ in range(10) for p in receive(s, n=10)]
    assert sorted(order) == list(range(1, 101)) and order != sorted(order)
    assert s.metrics()["nodes"]["q"]["reordered"] > 0


def test_accounting_holds_for_every_stream_at_every_step():
    """produced = acknowledged + in_flight + waiting + dead_lettered + dropped, per queue."""
    s = queue_sim(queue={"visibility_timeout_s": 1, "max_receive_count": 2, "duplicate_probability": 0.05,
                         "delay_seconds": 1, "retention_s": 60, "short_poll_miss": 0.3},
                  producer={"rate": 50}, consumer={"consumers": 3, "poison_rate": 0.1, "processing_ms": 30},
                  dlq={"retention_s": 60})
    for _ in range(200):
        s.advance(0.5)
        for st in s.streams():
            assert conserved(st), st
