"""Retention by time and by size: whole old segments deleted (segments.py, log.py, storage.py)."""


from playground.engine.kafka.storage import DROP_RETENTION
from tests.engine.kafka.factories import append, conserved, log_with, storage_sim


def thirty_records_in_three_segments(**config):
    """Segments [0, 10) [10, 20) and the active [20, 30), record k written at second k."""
    log = log_with(segment_bytes=1000, record_bytes=100, **config)
    for k in range(30):
        append(log, [k % 4], now=float(k))
    assert [seg.base for seg in log.segments] == [0, 10, 20]
    return log


def test_retention_ms_deletes_segments_whose_newest_record_is_too_old():
    """retention.ms: a segment goes when now - its largest timestamp > retention.ms, oldest first."""
    log = thirty_records_in_three_segments(retention_ms=10_000)
    done = log.delete_old_segments(now=25.0)
    assert done["segments"] == 1 and done["records"] == 10 and done["reason"] == "retention.ms"
    assert log.log_start == 10 and [seg.base for seg in log.segments] == [10, 20]
    assert log.removed_by_retention == 10
    assert log.delete_old_segments(now=25.0) is None


def test_retention_deletes_whole_segments_only():
    """Records older than retention.ms stay while a newer record shares their segment."""
    log = thirty_records_in_three_segments(retention_ms=10_000)
    log.delete_old_segments(now=28.5)  # records 10..18 are too old, 19 is not
    assert log.log_start == 10


def test_an_expired_active_segment_is_rolled_then_deleted():
    """UnifiedLog.deleteSegments: deleting every segment first rolls a new empty active one."""
    log = thirty_records_in_three_segments(retention_ms=10_000)
    done = log.delete_old_segments(now=100.0)
    assert done["segments"] == 3 and done["records"] == 30
    assert log.log_start == 30 and [seg.base for seg in log.segments] == [30]
    assert log.segments[0].bytes == 0 and log.records == 0
    assert log.delete_old_segments(now=200.0) is None  # an empty active segment stays


def test_retention_bytes_deletes_while_the_log_exceeds_it_by_a_whole_segment():
    """retention.bytes: oldest segments go while size - retention.bytes >= the segment's size."""
    log = thirty_records_in_three_segments(retention_ms=-1, retention_bytes=1500)
    done = log.delete_old_segments(now=30.0)
    assert done["segments"] == 1 and done["reason"] == "retention.bytes"
    assert log.size == 2000  # still above 1500, but removing another 1000 would go below it


def test_retention_never_passes_the_high_watermark():
    """The log start offset may not pass the high watermark (unreplicated records stay)."""
    log = thirty_records_in_three_segments(retention_ms=1000)
    done = log.delete_old_segments(now=100.0, high_watermark=15)
    assert done["segments"] == 1 and log.log_start == 10


def test_compact_only_topics_are_not_touched_by_retention():
    """cleanup.policy=compact: deleteOldSegments does nothing without "delete" in the policy."""
    log = thirty_records_in_three_segments(cleanup_policy="compact", retention_ms=1000)
    assert log.delete_old_segments(now=100.0) is None
    both = thirty_records_in_three_segments(cleanup_policy="compact,delete", retention_ms=1000)
    assert both.delete_old_segments(now=100.0)["segments"] == 3


def test_retention_frees_the_rows_of_deleted_records():
    log = thirty_records_in_three_segments(retention_ms=10_000, cleanup_policy="compact,delete")
    log.delete_old_segments(now=25.0)
    assert log.hi - log.lo == 20 and log.start == 10
    assert log.key_at(5) == -1 and log.key_at(12) == 12 % 4
    assert not log.live(0, 10).any() and log.live(10, 30).all()


def test_retention_is_checked_every_log_retention_check_interval_ms():
    """log.retention.check.interval.ms: deletion happens at the checks, not at append."""
    sim = storage_sim(readers=0, segment_bytes=2048, retention_ms=2000, retention_check_ms=1000)
    topic = sim.components["topic"]
    sim.advance(0.999)
    assert all(log.removed_by_retention == 0 for log in topic.logs)
    sim.advance(5.0)
    events = [e for e in sim.drain_events() if e["k"] == "retention"]
    assert events and all(e["t"] in (1.0, 2.0, 3.0, 4.0, 5.0) for e in events)


def test_an_unread_topic_counts_what_retention_deleted_as_dropped_with_the_reason():
    sim = storage_sim(readers=0, segment_bytes=2048, retention_ms=2000, retention_check_ms=500)
    sim.advance(20.0)
    stream = sim.streams()[0]
    assert stream["dropped"][DROP_RETENTION] > 0
    assert stream["waiting"] == sum(log.records for log in sim.components["topic"].logs)
    conserved(sim)
    drops = [e for e in sim.drain_events() if e["k"] == "drop"]
    assert drops and drops[0]["reason"] == DROP_RETENTION


def test_log_start_offset_is_exposed_per_partition_and_in_metrics():
    sim = storage_sim(readers=1, segment_bytes=2048, retention_ms=2000, retention_check_ms=500)
    sim.advance(20.0)
    topic = sim.components["topic"]
    view = sim.metrics()["nodes"]["topic"]["partitions"]
    for p, log in enumerate(topic.logs):
        assert topic.log_start_offset(p) == log.log_start == view[p]["log_start_offset"] > 0
        assert view[p]["segments"][-1]["active"]
    conserved(sim)


def test_memory_stays_bounded_over_a_long_run_with_retention():
    """Retention frees the rows: the buffers follow the retained window, not the records written."""
    sim = storage_sim(readers=1, rate=5000.0, keys=1000, partitions=2, consumers=1, processing_ms=10.0,
                      segment_bytes=50_000, retention_ms=2000, retention_check_ms=500)
    topic = sim.components["topic"]
    sizes = []
    for _ in range(12):
        sim.advance(5.0)
        sizes.append(max(len(log.offs) for log in topic.logs))
        assert max(len(log.segments) for log in topic.logs) <= 12
    assert topic.leo_total() > 250_000
    assert max(sizes[4:]) <= 2 * max(sizes[:4])
    assert max(sizes) <= 32_768  # about 2.5 s of one partition's records, rounded up to a power of two
    conserved(sim)


def test_a_group_that_falls_behind_retention_loses_records_with_the_reason():
    """auto.offset.reset=earliest: a fetch below the log start offset resumes at the log start."""
    sim = storage_sim(readers=1, rate=400.0, processing_ms=50.0, segment_bytes=2048, retention_ms=1000,
                      retention_check_ms=250)
    sim.advance(30.0)
    (stream,) = [s for s in sim.streams() if s.get("group") is not None]
    assert stream["dropped"].get(DROP_RETENTION, 0) > 0
    conserved(sim)
