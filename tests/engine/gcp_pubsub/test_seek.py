"""Seek and snapshots ("Replay and purge messages with seek"; SeekRequest, Snapshot in the API
reference): the rules one by one, then the commands in a run, with every message counted."""

from __future__ import annotations

import pytest

from playground import engine
from playground.engine.gcp_pubsub import seek
from tests.engine.gcp_pubsub.factories import conserved, pubsub_doc, run, stream


def test_seek_to_a_time_acks_what_was_published_before_and_unacks_what_is_retained_after():
    """SeekRequest.time: before the time acknowledged; after it unacknowledged, if retained."""
    assert not seek.unacked_after_seek_to_time(5.0, False, True, 10.0)
    assert seek.unacked_after_seek_to_time(12.0, True, True, 10.0)
    assert not seek.unacked_after_seek_to_time(12.0, True, False, 10.0)  # acked and expunged: gone
    assert seek.unacked_after_seek_to_time(12.0, False, False, 10.0)


def test_acked_messages_are_retained_only_with_retain_acked_messages_or_topic_retention():
    assert not seek.retains_acked(False, 0.0)
    assert seek.retains_acked(True, 0.0) and seek.retains_acked(False, 600.0)
    assert seek.acked_retention_s(True, 3600.0, 0.0) == 3600.0 and seek.acked_retention_s(False, 3600.0, 900.0) == 900.0


def test_snapshot_lifetime_is_seven_days_minus_the_oldest_unacked_age():
    """Snapshot.expire_time: 7 days - age of the oldest unacked message; under 1 hour refused."""
    assert seek.snapshot_lifetime_s(100.0, None) == 7 * 86_400
    assert seek.snapshot_lifetime_s(3 * 86_400.0, 0.0) == 4 * 86_400
    with pytest.raises(seek.SeekError):
        seek.snapshot_lifetime_s(7 * 86_400.0 - 600, 0.0)


def test_seek_to_snapshot_unacks_what_was_unacked_then_and_everything_after():
    assert seek.unacked_after_seek_to_snapshot(1, 3.0, {1}, 10.0)
    assert not seek.unacked_after_seek_to_snapshot(2, 3.0, {1}, 10.0)
    assert seek.unacked_after_seek_to_snapshot(3, 11.0, set(), 10.0)


def test_seek_back_replays_acked_messages_only_with_retain_acked_messages():
    """With retain_acked_messages, seeking 30 s back delivers the acked messages of the last
    30 s again; without it, nothing acked comes back."""
    kept = run(pubsub_doc(rate=40, retain_acked=True, dlq=False), 40)
    kept.apply({"op": "seek_time", "node": "sub"})
    m = kept.metrics()["nodes"]["sub"]
    assert 1000 <= m["replayed"] <= 1400 and conserved(stream(kept, "sub"))
    plain = run(pubsub_doc(rate=40, dlq=False), 40)
    plain.apply({"op": "seek_time", "node": "sub"})
    assert plain.metrics()["nodes"]["sub"]["replayed"] == 0


def test_topic_retention_also_lets_a_subscription_seek_back():
    s = run(pubsub_doc(rate=40, topic_retention_s=600, dlq=False), 20)
    s.apply({"op": "seek_time", "node": "sub", "time": 10.0})
    assert s.metrics()["nodes"]["sub"]["replayed"] > 300


def test_seek_to_now_purges_the_backlog_as_acknowledged():
    s = run(pubsub_doc(rate=100, consumers=0, dlq=False), 5)
    backlog = stream(s, "sub")["waiting"]
    acked = stream(s, "sub")["acknowledged"]
    s.apply({"op": "seek_purge", "node": "sub"})
    st = stream(s, "sub")
    assert backlog > 300 and st["waiting"] == 0 and st["acknowledged"] == acked + backlog and conserved(st)


def test_seek_to_a_snapshot_brings_back_what_was_unacked_when_it_was_taken():
    """The snapshot keeps its messages whatever retain_acked_messages says: after the backlog is
    worked off, seeking to the snapshot makes it unacknowledged again, plus what came after."""
    s = run(pubsub_doc(rate=100, consumers=0, dlq=False), 2)
    held = stream(s, "sub")["waiting"]
    s.apply({"op": "create_snapshot", "node": "sub"})
    s.apply({"op": "seek_purge", "node": "sub"})
    assert stream(s, "sub")["waiting"] == 0
    s.apply({"op": "seek_snapshot", "node": "sub"})
    st = stream(s, "sub")
    assert st["waiting"] == held and conserved(st)
    assert s.metrics()["nodes"]["sub"]["snapshot"]["unacked"] == held


def test_seek_to_a_snapshot_needs_one():
    s = run(pubsub_doc(rate=10, dlq=False), 1)
    with pytest.raises(engine.CommandError, match="no snapshot"):
        s.apply({"op": "seek_snapshot", "node": "sub"})


def test_seek_keeps_ordered_keys_in_order():
    """A seek with ordering keys: replayed messages of a key still go out one at a time."""
    def one_per_key(sim):
        sub = sim.components["sub"]
        keys = [lease.copy.msg.key for lease in sub.outstanding.values() if lease.copy.msg.key]
        assert len(keys) == len(set(keys))

    doc = pubsub_doc(rate=50, keys=4, ordering=True, retain_acked=True, processing_ms=30, dlq=False)
    s = run(doc, 12, check=one_per_key)
    s.apply({"op": "seek_time", "node": "sub", "time": 2.0})
    for _ in range(20):
        s.advance(0.25)
        one_per_key(s)
        assert conserved(stream(s, "sub"))
