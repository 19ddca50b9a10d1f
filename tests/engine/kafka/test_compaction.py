"""Log compaction: latest value per key, tombstones and the dirty ratio (compaction.py, log.py)."""

import numpy as np

from playground.engine.kafka.compaction import group_segments_by_size
from playground.engine.kafka.storage import DROP_COMPACTION
from tests.engine.kafka.factories import append, conserved, log_with, storage_sim

A, B, C = 0, 1, 2


def compacted_log(**config):
    """Segments of five 100-byte records: [A B A B A] [C A B C C] and an active [A]."""
    log = log_with(cleanup_policy="compact", segment_bytes=500, record_bytes=100, **config)
    for k in [A, B, A, B, A, C, A, B, C, C, A]:
        append(log, [k], now=1.0)
    assert [seg.base for seg in log.segments] == [0, 5, 10]
    return log


def stored(log):
    return {int(o): int(k) for o, k in zip(log.offs[log.lo:log.hi], log.keybuf[log.lo:log.hi], strict=True)}


def test_cleaning_keeps_the_latest_record_of_each_key_at_its_offset():
    """LogCleaner.shouldRetainRecord: a record is kept if no later one in the dirty part has its key."""
    log = compacted_log()
    done = log.clean(now=2.0)
    # A's latest before the active segment is 6, B's 7, C's 9; the active segment is not cleaned.
    assert stored(log) == {6: A, 7: B, 9: C, 10: A}
    assert done["removed"] == 7 and log.removed_by_compaction == 7
    assert log.records == 4 and log.leo == 11
    assert log.key_at(3) == -1 and log.key_at(7) == B
    assert log.live(0, 11).tolist() == [False] * 6 + [True, True, False, True, True]
    assert log.lookup_offset(0)["found"] == 6  # a fetch in a gap returns the next record


def test_the_active_segment_is_never_cleaned():
    log = compacted_log()
    for _ in range(3):
        append(log, [A], now=1.0)
    log.clean(now=2.0)
    assert [o for o in stored(log) if o >= 10] == [10, 11, 12, 13]


def test_cleaned_segments_are_merged_while_they_fit_in_segment_bytes():
    """groupSegmentsBySize: sizes before this cleaning decide; 500 + 500 > 500, so no merge at first."""
    log = compacted_log()
    log.clean(now=2.0)
    after = [(s.base, s.end, s.records, s.bytes) for s in log.segments]
    assert after == [(0, 5, 0, 0), (5, 10, 3, 300), (10, 11, 1, 100)]
    for _ in range(5):
        append(log, [B], now=3.0)  # rolls: [10, 15) is closed and dirty, [15, 16) active
    log.clean(now=4.0)  # the emptied [0, 5) and [5, 10) of 300 bytes now fit in one segment
    assert [(s.base, s.end) for s in log.segments] == [(0, 10), (10, 15), (15, 16)]
    assert [[s.base for s in g] for g in group_segments_by_size(log.segments[:2], 200)] == [[0], [10]]


def test_the_cleaner_runs_only_above_min_cleanable_dirty_ratio():
    """min.cleanable.dirty.ratio: dirty bytes / (clean + dirty) must exceed it."""
    log = compacted_log()
    assert log.dirty_ratio(2.0) == 1.0 and log.needs_cleaning(2.0)
    log.clean(now=2.0)
    assert log.first_dirty == 10 and log.dirty_ratio(2.0) == 0.0
    assert not log.needs_cleaning(2.0)
    for k in [A, B, C, A, B, C]:
        append(log, [k], now=3.0)  # [10, 15) closes with 500 dirty bytes against 300 clean
    assert log.dirty_ratio(3.0) == 500 / 800 and log.needs_cleaning(3.0)
    strict = log_with(cleanup_policy="compact", segment_bytes=500, record_bytes=100, min_cleanable_dirty_ratio=0.75)
    for k in [A, B, A, B, A, C]:
        append(strict, [k], now=1.0)
    strict.clean(now=2.0)
    for k in [A, B, C, A, B, C]:
        append(strict, [k], now=3.0)
    assert not strict.needs_cleaning(3.0)  # 500 / (200 + 500) = 0.71 is not above 0.75


def test_min_compaction_lag_keeps_young_segments_out_of_the_cleaner():
    """min.compaction.lag.ms: the first segment holding a younger record is the first uncleanable."""
    log = log_with(cleanup_policy="compact", segment_bytes=500, record_bytes=100, min_compaction_lag_ms=10_000)
    for k, t in zip([A, A, A, A, A, A, A, A, A, A, A], [0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 9], strict=True):
        append(log, [k], now=float(t))
    log.clean(now=12.0)  # [0, 5) is old enough, [5, 10) is not
    assert stored(log) == {4: A, **{o: A for o in range(5, 11)}}
    log.clean(now=19.0)
    assert stored(log) == {9: A, 10: A}


def test_a_tombstone_is_kept_for_delete_retention_ms_then_removed():
    """KIP-534: the first cleaning stamps a horizon of now + delete.retention.ms; a later one removes it."""
    log = log_with(cleanup_policy="compact", segment_bytes=300, record_bytes=100, delete_retention_ms=5000)
    append(log, [A], now=0.0)
    append(log, [B], now=0.0)
    append(log, [A], now=0.0, tombstones=[True])  # delete A
    append(log, [C], now=0.0)  # rolls: [0, 3) closed, [3, 4) active
    log.clean(now=1.0)
    assert stored(log) == {1: B, 2: A, 3: C}  # the value of A is gone, its tombstone stays
    assert log.horizons == {2: 6.0}
    assert log.segments[0].bytes == 100 + 24  # a tombstone is key and overhead only
    log.clean(now=5.0)
    assert 2 in stored(log)
    log.clean(now=6.0)
    assert stored(log) == {1: B, 3: C}
    assert log.tombstones_removed == 1 and log.horizons == {}


def test_a_tombstone_replaced_by_a_newer_value_goes_like_any_replaced_record():
    log = log_with(cleanup_policy="compact", segment_bytes=200, record_bytes=100)
    append(log, [A], now=0.0, tombstones=[True])
    append(log, [A], now=0.0)
    append(log, [B], now=0.0)  # rolls
    log.clean(now=1.0)
    assert stored(log) == {1: A, 2: B} and log.tombstones_removed == 1


def test_a_changelog_topic_keeps_about_one_record_per_key():
    sim = storage_sim(readers=1, rate=2000.0, keys=10, partitions=1, cleanup_policy="compact", segment_bytes=5000,
                      cleaner_backoff_ms=1000)
    sim.advance(30.0)
    log = sim.components["topic"].logs[0]
    assert log.leo > 50_000 and log.cleaner_runs > 10
    clean_records = sum(seg.records for seg in log.segments if seg.base < log.first_dirty)
    assert clean_records <= 10
    assert log.records <= 10 + 2 * 50  # the clean keys, at most about as many dirty bytes, the active segment
    assert len(log.offs) <= 1024
    view = sim.metrics()["nodes"]["topic"]["partitions"][0]
    assert view["removed_by_compaction"] == log.removed_by_compaction > 0
    assert 0.0 <= view["dirty_ratio"] <= 1.0 and view["cleaner_runs"] == log.cleaner_runs
    assert any(e["k"] == "log_clean" for e in sim.drain_events())
    conserved(sim)


def test_an_unread_compacted_topic_counts_replaced_records_as_dropped():
    sim = storage_sim(readers=0, rate=500.0, keys=5, partitions=1, cleanup_policy="compact", segment_bytes=2000,
                      tombstone_share=0.2, delete_retention_ms=1000, cleaner_backoff_ms=500)
    sim.advance(20.0)
    stream = sim.streams()[0]
    assert stream["dropped"][DROP_COMPACTION] > 0
    assert stream["waiting"] == sim.components["topic"].logs[0].records
    assert sim.components["topic"].logs[0].tombstones_removed > 0
    conserved(sim)


def test_the_producer_sends_tombstones_at_the_configured_share():
    sim = storage_sim(readers=0, rate=5000.0, keys=50, partitions=1, cleanup_policy="compact",
                      tombstone_share=0.25)
    sim.advance(2.0)
    log = sim.components["topic"].logs[0]
    share = float(np.mean(log.flagbuf[log.lo:log.hi] & 1))
    assert 0.2 < share < 0.3


def test_tombstone_share_zero_leaves_the_producer_random_stream_untouched():
    a = storage_sim(readers=1, seed=9)
    b = storage_sim(readers=1, seed=9, cleanup_policy="compact")
    a.advance(3.0)
    b.advance(3.0)
    assert a.components["topic"].leo_total() == b.components["topic"].leo_total()


def test_a_lagging_reader_of_a_compacted_topic_skips_the_gaps_and_loses_the_replaced_records():
    """Compaction keeps offsets but removes replaced records: a consumer's fetch returns the
    records that remain, so a group that falls behind never sees the older values of a key."""
    sim = storage_sim(readers=1, rate=1000.0, keys=5, partitions=1, processing_ms=5.0, cleanup_policy="compact",
                      segment_bytes=2000, cleaner_backoff_ms=500)
    sim.advance(20.0)
    (stream,) = [s for s in sim.streams() if s.get("group") == "group0"]
    group = sim.metrics()["nodes"]["group0"]
    assert stream["dropped"][DROP_COMPACTION] > 0
    assert group["processed"] < sim.components["group0"].handled[("topic", 0)]
    conserved(sim)
