"""Pulsar rules as pure functions and document validation, each against the documented rule."""

import pytest

from playground import engine
from playground.engine.pulsar import rules
from tests.engine.pulsar.factories import pulsar_doc


def test_java_string_hash_matches_java_and_routes_keys_to_partitions():
    """JavaStringHash.makeHash: String.hashCode() & Integer.MAX_VALUE, modulo partitions ("hello" is
    99162322 in Java)."""
    assert rules.java_string_hash("hello") == 99162322
    assert rules.java_string_hash("polygenelubricants") == -2147483648
    assert rules.partition_for_key("hello", 7) == 99162322 % 7


def test_murmur3_32_matches_the_reference_vectors():
    """Murmur3_32Hash (x86, 32-bit, seed 0): "" -> 0, "hello" -> 0x248bfa47, the quick brown fox -> 0x2e4ff723."""
    assert rules.murmur3_32(b"") == 0
    assert rules.murmur3_32(b"hello") == 0x248BFA47
    assert rules.murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


def test_auto_split_gives_each_new_consumer_half_of_the_biggest_range():
    """HashRangeAutoSplitStickyKeyConsumerSelector: 0..65536 to the first consumer; the second takes
    0..32768; a removed consumer's range goes to its neighbour."""
    s = rules.AutoSplitSelector()
    s.add("c1")
    s.add("c2")
    s.add("c3")
    assert s.ranges() == [(0, 16384, "c3"), (16385, 32768, "c2"), (32769, 65536, "c1")]
    assert s.select(20000) == "c2" and s.select(65536) == "c1"
    s.remove("c1")
    assert s.ranges() == [(0, 16384, "c3"), (16385, 65536, "c2")]


def test_failover_assigns_partitions_round_robin_over_sorted_consumer_names():
    """"Messaging", Failover: partition i to the i % n-th consumer in name order; a non-partitioned topic's
    active consumer is the first to subscribe."""
    assert [rules.failover_active(["b", "a"], p) for p in range(3)] == ["a", "b", "a"]
    assert rules.failover_active(["b", "a"], -1) == "b"


def test_cumulative_ack_is_refused_on_shared_and_key_shared_subscriptions():
    """Consumer.acknowledgeCumulative cannot be used with Shared (nor Key_Shared) subscriptions."""
    for t in ("shared", "key_shared"):
        with pytest.raises(engine.DocumentError) as caught:
            engine.parse_document(pulsar_doc(type_=t, ack_mode="cumulative"))
        assert "cumulative" in str(caught.value) and "ack_mode" in str(caught.value)
    engine.parse_document(pulsar_doc(type_="failover", ack_mode="cumulative"))


def test_ack_timeout_must_be_off_or_at_least_one_second():
    """ConsumerBuilder.ackTimeout: at least 1 second when enabled."""
    with pytest.raises(engine.DocumentError):
        engine.parse_document(pulsar_doc(ack_timeout_ms=500))
    assert rules.ack_timeout_error(0) is None and rules.ack_timeout_error(1000) is None


def test_dead_letter_after_max_redeliver_count_redeliveries_on_shared_types_only():
    """DeadLetterPolicy: a message redelivered maxRedeliverCount times goes to the DLQ; the broker counts
    redeliveries for Shared and Key_Shared only."""
    assert not rules.dead_letter_due(2, 3) and rules.dead_letter_due(3, 3)
    assert rules.tracks_redelivery_count("key_shared") and not rules.tracks_redelivery_count("failover")


def test_consumed_ledgers_are_kept_only_within_retention():
    """ManagedLedgerImpl trimming: defaults 0/0 delete consumed ledgers at once; -1 keeps for ever; a time
    limit keeps a ledger until it is older."""
    assert not rules.ledger_kept(100, 99, 1, 1, 0, 0)
    assert rules.ledger_kept(100, 0, 1, 1, -1, -1)
    assert rules.ledger_kept(100, 90, 1, 1, 1, -1) and not rules.ledger_kept(100, 30, 1, 1, 1, -1)
