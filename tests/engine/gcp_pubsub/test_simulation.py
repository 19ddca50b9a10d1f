"""Pub/Sub behaviour during a run, each test against the documented behaviour it names."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import engine, examples
from playground.engine.gcp_pubsub.runtime import DROP_NO_SUBSCRIPTION
from playground.engine.gcp_pubsub.subscription import DROP_RETENTION
from tests.engine.factories import assert_restored_continues_identically, scripted_trace
from tests.engine.gcp_pubsub.factories import conserved, pubsub_doc, run, sim, stream


def deliveries(s, seconds, step=0.25):
    out = []
    t = 0.0
    while t < seconds - 1e-9:
        s.advance(step)
        t += step
        out.extend(e for e in s.drain_events() if e["k"] == "pubsub_deliver")
    return out


def test_every_subscription_gets_its_own_copy_of_each_message():
    """"Subscription overview": each subscription receives every message published to its topic."""
    s = run(pubsub_doc(second_sub=True, dlq=False), 5)
    assert stream(s, "sub")["produced"] == stream(s, "audit")["produced"] == s.metrics()["sent"] > 0


def test_a_subscription_gets_only_messages_published_after_it_was_created():
    """"Subscription overview": a subscription receives messages published after its creation."""
    s = run(pubsub_doc(second_sub=True, created_at_s=3.0, dlq=False), 6)
    assert 0 < stream(s, "audit")["produced"] < stream(s, "sub")["produced"]


def test_messages_published_to_a_topic_without_subscriptions_are_lost():
    """DeadLetterPolicy.dead_letter_topic: "messages published to a topic with no subscriptions are lost"."""
    s = run(pubsub_doc(dlq=True, dlq_sub=False, poison_rate=1.0, processing_ms=1), 5)
    topic = next(st for st in s.streams() if st.get("topic") == "dead" and st.get("subscription") is None)
    assert topic["dropped"][DROP_NO_SUBSCRIPTION] == s.metrics()["nodes"]["dead"]["count"] > 0


def test_poison_message_goes_to_the_dead_letter_topic_after_max_delivery_attempts():
    """DeadLetterPolicy.max_delivery_attempts: after that many failed attempts the message is forwarded to
    the dead-letter topic; the entry says why, after how many attempts and from which subscription."""
    s = run(pubsub_doc(poison_rate=1.0, max_delivery_attempts=7, processing_ms=1, rate=10), 5)
    dead = s.metrics()["nodes"]["dead"]
    assert dead["count"] > 0
    entry = dead["recent"][0]
    assert (entry["attempts"], entry["origin"]) == (7, "subscription sub")
    assert "max delivery attempts" in entry["reason"] and {"t", "key"} <= set(entry)
    assert stream(s, "dead-sub")["produced"] == dead["count"]


def test_exponential_backoff_delays_the_redelivery_by_the_minimum_backoff():
    """"Handle message failures", Retry policy: with exponential backoff a nacked message is not redelivered
    before the minimum backoff has passed."""
    s = sim(pubsub_doc(rate=5, poison_rate=1.0, retry_policy="exponential", min_backoff_s=2.0, max_backoff_s=8.0,
                       dlq=False, processing_ms=1))
    events = deliveries(s, 12)
    first = {}
    for e in events:
        if e["attempt"] == 1:
            first[e["m"]] = e["t"]
        elif e["attempt"] == 2 and e["m"] in first:
            assert e["t"] - first[e["m"]] >= 2.0
    assert any(e["attempt"] == 2 for e in events)


def test_ordered_subscription_delivers_each_key_in_publish_order_even_when_messages_fail():
    """"Ordering messages": messages with the same ordering key are received in publish order, and a
    redelivered message holds the later ones of its key back (consistent redelivery)."""
    s = sim(pubsub_doc(keys=3, ordering=True, failure_rate=0.3, consumers=3, dlq=False))
    events = deliveries(s, 10)
    by_key = {}
    for e in events:
        by_key.setdefault(e["key"], []).append(e["m"])
    assert len(by_key) == 3
    for seq in by_key.values():
        assert seq == sorted(seq)  # redeliveries repeat a message, never jump back
    assert any(e["attempt"] > 1 for e in events)


def test_without_message_ordering_a_nacked_message_is_overtaken_by_later_ones():
    """"Ordering messages": without ordering enabled Pub/Sub makes no ordering promise."""
    s = sim(pubsub_doc(keys=3, ordering=False, failure_rate=0.3, consumers=3, dlq=False))
    by_key = {}
    for e in deliveries(s, 10):
        by_key.setdefault(e["key"], []).append(e["m"])
    assert any(seq != sorted(seq) for seq in by_key.values())


def test_a_nacked_ordered_message_blocks_its_key_until_redelivered():
    """"Ordering messages": later messages of a key wait while the failed one waits out its backoff."""
    s = sim(pubsub_doc(rate=40, keys=1, ordering=True, poison_rate=0.2, retry_policy="exponential",
                       min_backoff_s=3, max_backoff_s=3, dlq=False, processing_ms=1))
    s.advance(2.0)
    view = s.metrics()["nodes"]["sub"]
    assert view["keys_blocked"] == 1 and view["backlog"] > 20 and view["outstanding"] == 0


def test_pull_flow_control_caps_what_each_client_holds():
    """"Flow control" (subscriber): a client holds at most max outstanding messages unacked."""
    def check(s):
        for m in s.metrics()["nodes"]["workers"]["members"]:
            assert m["outstanding"] <= 5

    s = run(pubsub_doc(rate=200, processing_ms=100, threads=2, max_outstanding_messages=5, dlq=False), 5,
            check=check)
    assert s.metrics()["nodes"]["sub"]["backlog"] > 100


def test_flow_control_by_bytes_holds_back_large_messages():
    """"Flow control" (subscriber): max outstanding bytes bounds the bytes held."""
    def check(s):
        for m in s.metrics()["nodes"]["workers"]["members"]:
            assert m["bytes"] <= 30_000

    run(pubsub_doc(rate=200, size=10_000, processing_ms=100, max_outstanding_bytes=30_000, dlq=False), 4,
        check=check)


def test_lease_extension_keeps_slow_messages_from_being_redelivered():
    """"Lease management": the client extends the ack deadline of messages it holds (ModifyAckDeadline),
    so processing longer than the ack deadline does not cause redelivery."""
    s = run(pubsub_doc(rate=2, processing_ms=25_000, threads=50, dlq=False), 60)
    sub = s.metrics()["nodes"]["sub"]
    assert sub["modacks"] > 0 and sub["expired"] == 0 and sub["duplicates"] == 0


def test_without_lease_extension_slow_messages_expire_and_come_back_as_duplicates():
    """Subscription.ack_deadline_seconds: a message not acked within the deadline is redelivered."""
    s = run(pubsub_doc(rate=2, processing_ms=25_000, threads=50, lease_management=False, dlq=False), 60)
    sub = s.metrics()["nodes"]["sub"]
    assert sub["expired"] > 0 and sub["duplicates"] > 0 and s.metrics()["duplicates"] == sub["duplicates"]


def test_killed_subscriber_messages_return_only_after_their_ack_deadline():
    """"Lease management" / ack deadline: a crashed client neither nacks nor extends; its messages are
    redelivered when their deadline expires."""
    s = sim(pubsub_doc(rate=50, processing_ms=2000, threads=10, ack_deadline_s=20, dlq=False))
    s.advance(2.0)
    s.apply({"op": "kill_consumer", "node": "workers", "member": "subscriber-1"})
    s.advance(15.0)
    assert s.metrics()["nodes"]["sub"]["expired"] == 0
    s.advance(10.0)
    assert s.metrics()["nodes"]["sub"]["expired"] > 0 and s.metrics()["duplicates"] > 0


def test_exactly_once_late_ack_fails_and_no_acked_message_is_redelivered():
    """"Exactly-once delivery": an ack with an expired ack id fails (the client is told), and a message
    successfully acknowledged is not redelivered."""
    s = run(pubsub_doc(rate=5, processing_ms=15_000, threads=100, lease_management=False, exactly_once=True,
                       dlq=False), 60)
    sub = s.metrics()["nodes"]["sub"]
    assert sub["acks_failed"] > 0 and sub["redelivered_after_ack"] == 0


def test_at_least_once_lost_acks_bring_acked_messages_back():
    """"Handle duplicates": with at-least-once delivery, acks are best effort; a message the subscriber
    acked can be delivered again."""
    s = run(pubsub_doc(rate=50, ack_loss_rate=0.05, dlq=False), 40)
    assert s.metrics()["nodes"]["sub"]["redelivered_after_ack"] > 0


def test_push_window_starts_small_and_grows_with_successes():
    """"Push subscriptions", Delivery rate: slow start, the window increasing on success."""
    s = sim(pubsub_doc(delivery="push", rate=100, consumers=2, threads=20, dlq=False))
    assert s.metrics()["nodes"]["sub"]["push_window"] == 3
    s.advance(5)
    assert s.metrics()["nodes"]["sub"]["push_window"] > 50


def test_push_failures_shrink_the_window_and_pause_pushing():
    """"Push subscriptions", Push backoff: after failures Pub/Sub stops pushing for 100 ms up to 60 s."""
    s = sim(pubsub_doc(delivery="push", rate=100, failure_rate=0.5, dlq=False))
    events = []
    for _ in range(20):
        s.advance(0.25)
        events += s.drain_events()
    backoffs = [e for e in events if e["k"] == "pubsub_push_backoff"]
    assert backoffs and max(e["pause"] for e in backoffs) > 0.1
    assert s.metrics()["nodes"]["sub"]["push_window"] < 20


def test_push_throughput_is_bounded_by_the_endpoint():
    """"Push subscriptions": the endpoint's capacity, not the publish rate, bounds the push rate."""
    s = run(pubsub_doc(delivery="push", rate=500, consumers=1, threads=2, processing_ms=20, dlq=False), 10)
    acked = s.metrics()["nodes"]["sub"]["acked"]
    assert acked <= 2 / 0.020 * 10 * 1.2 and s.metrics()["nodes"]["sub"]["backlog"] > 1000


def test_removing_a_subscriber_nacks_what_it_had_not_started():
    """Client shutdown: messages buffered but not yet handed to the callback are nacked for redelivery."""
    s = sim(pubsub_doc(rate=100, processing_ms=500, threads=1, dlq=False))
    s.advance(2)
    s.apply({"op": "remove_consumer", "node": "workers", "member": "subscriber-1"})
    assert s.metrics()["nodes"]["sub"]["nacks"] > 0
    assert all(conserved(st) for st in s.streams())


def test_redrive_republishes_dead_letters_to_the_original_topic():
    """"Dead-letter topics": no built-in redrive; pull the dead-letter subscription and republish to the
    source topic."""
    s = run(pubsub_doc(rate=20, poison_rate=0.2, processing_ms=1), 5)
    before = stream(s, "sub")["produced"]
    held = stream(s, "dead-sub")["waiting"]
    s.apply({"op": "redrive", "node": "dead"})
    assert held > 0 and stream(s, "sub")["produced"] == before + held
    assert stream(s, "dead-sub")["waiting"] == 0 and all(conserved(st) for st in s.streams())


def test_unacked_messages_past_the_retention_duration_are_deleted_with_a_reason():
    """Subscription.message_retention_duration: unacked messages older than it are removed."""
    s = run(pubsub_doc(rate=1, consumers=0, retention_s=600, dlq=False), 700, step=5)
    st = stream(s, "sub")
    assert st["dropped"][DROP_RETENTION] > 0 and st["waiting"] <= 610


def test_exactly_once_example_fails_late_acks_where_the_plain_subscription_redelivers_silently():
    """"Exactly-once delivery": an ack whose ack ID expired fails (INVALID_ACK_ID) and a
    successfully acked message is never redelivered; at-least-once acks are best effort, so
    late and lost acks look fine while the message comes back."""
    s = engine.Simulation(engine.parse_document(examples.load("gcp-pubsub-exactly-once")), 3)
    for _ in range(240):
        s.advance(0.5)
    eo, plain = s.metrics()["nodes"]["ledger-eo"], s.metrics()["nodes"]["ledger-plain"]
    assert eo["acks_failed"] > 0 and eo["late_acks"] == eo["lost_acks"] == eo["redelivered_after_ack"] == 0
    assert s.metrics()["nodes"]["eo-workers"]["ack_failures"] == eo["acks_failed"]
    assert plain["acks_failed"] == 0 and plain["late_acks"] > 0 and plain["redelivered_after_ack"] > 0
    events = [e for e in s.drain_events() if e["k"] == "pubsub_ack_failed"]
    assert events and all(e["status"] == "INVALID_ACK_ID" for e in events)


def test_shipped_pubsub_examples_run_and_balance():
    for name in ("gcp-pubsub-ordering-and-dlq", "gcp-pubsub-push-vs-pull", "gcp-pubsub-exactly-once",
                 "gcp-pubsub-seek-and-filter"):
        s = engine.Simulation(engine.parse_document(examples.load(name)), 3)
        for _ in range(40):
            s.advance(0.5)
            assert all(conserved(st) for st in s.streams())
        assert s.metrics()["acknowledged"] > 0


params = st.fixed_dictionaries({
    "rate": st.sampled_from([0.0, 30.0, 200.0]),
    "keys": st.sampled_from([0, 3]),
    "delivery": st.sampled_from(["pull", "push"]),
    "ack_deadline_s": st.sampled_from([10, 30]),
    "retry_policy": st.sampled_from(["immediate", "exponential"]),
    "min_backoff_s": st.sampled_from([0.0, 1.0]),
    "ordering": st.booleans(),
    "ack_loss_rate": st.sampled_from([0.0, 0.05]),
    "dlq": st.booleans(),
    "dlq_sub": st.booleans(),
    "consumers": st.integers(0, 3),
    "threads": st.sampled_from([1, 8]),
    "processing_ms": st.sampled_from([1.0, 50.0, 15_000.0]),
    "max_outstanding_messages": st.sampled_from([0, 3, 1000]),
    "lease_management": st.booleans(),
    "failure_rate": st.sampled_from([0.0, 0.3]),
    "poison_rate": st.sampled_from([0.0, 0.1]),
    "on_failure": st.sampled_from(["nack", "ignore"]),
    "second_sub": st.booleans(),
    "retain_acked": st.booleans(),
    "filter": st.sampled_from(["", 'attributes.region = "eu"', 'NOT hasPrefix(attributes.region, "a")']),
    "attribute_values": st.sampled_from([None, {"region": "eu|us|asia|"}]),
})
SEEK_OPS = ("create_snapshot", "seek_snapshot", "seek_time", "seek_purge")
script = st.lists(st.tuples(st.integers(0, 19), st.sampled_from(["add", "kill", "remove", "redrive", *SEEK_OPS])),
                  max_size=6)


def trace(p, seed, commands):
    def command_for(op):
        if op == "redrive":
            return {"op": "redrive", "node": "dead"}
        if op in SEEK_OPS:
            return {"op": op, "node": "sub"}
        return {"op": f"{op}_consumer", "node": "workers"}

    sim = engine.Simulation(engine.parse_document(pubsub_doc(**p)), seed)
    return scripted_trace(sim, commands, command_for, ticks=20, dt=0.5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), commands=script)
def test_every_message_is_counted_once_and_the_same_seed_gives_the_same_trace(p, seed, commands):
    assert trace(p, seed, commands) == trace(p, seed, commands)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), split=st.integers(1, 15))
def test_snapshot_at_any_moment_resumes_identically(p, seed, split):
    s = engine.Simulation(engine.parse_document(pubsub_doc(**p)), seed)
    for _ in range(split):
        s.advance(0.5)
    assert_restored_continues_identically(s, steps=8, dt=0.5)
