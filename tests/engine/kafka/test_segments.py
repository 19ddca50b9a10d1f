"""Segments, rolling and the sparse indexes (playground/engine/kafka/segments.py, log.py)."""

import numpy as np

from playground.engine.kafka.segments import binary_search_probes
from tests.engine.kafka.factories import append, log_with


def bases(log):
    return [seg.base for seg in log.segments]


def test_active_segment_rolls_when_the_next_batch_would_pass_segment_bytes():
    """segment.bytes: LogSegment.shouldRoll is size > segment.bytes - batch size."""
    log = log_with(segment_bytes=1000, record_bytes=100)
    for k in range(10):
        append(log, [k])
    assert bases(log) == [0] and log.segments[0].bytes == 1000
    append(log, [10])
    assert bases(log) == [0, 10]
    assert [seg.records for seg in log.segments] == [10, 1]


def test_a_batch_goes_whole_into_a_new_segment_rather_than_straddling_two():
    """A record batch is never split across segments: the segment rolls before it."""
    log = log_with(segment_bytes=1000, record_bytes=100)
    append(log, list(range(7)))
    append(log, list(range(5)))
    assert bases(log) == [0, 7]
    assert [seg.bytes for seg in log.segments] == [700, 500]


def test_a_batch_larger_than_a_segment_is_written_as_segment_sized_batches():
    """The producer's batch.size keeps batches below segment.bytes; the model splits instead."""
    log = log_with(segment_bytes=1000, record_bytes=100)
    append(log, list(range(25)))
    assert bases(log) == [0, 10, 20]
    assert log.leo == 25 and log.records == 25


def test_segment_ms_rolls_a_non_empty_active_segment_at_the_next_append():
    """segment.ms: measured from the first batch's timestamp; rolls happen on append only."""
    log = log_with(segment_ms=1000)
    append(log, [1], now=0.0)
    append(log, [2], now=0.9)
    assert bases(log) == [0]
    append(log, [3], now=1.5)
    assert bases(log) == [0, 2]
    assert log.segments[1].first_ts == 1.5


def test_offset_index_gets_an_entry_after_more_than_index_interval_bytes():
    """index.interval.bytes: LogSegment.append indexes a batch when bytesSinceLastIndexEntry > interval."""
    log = log_with(index_interval_bytes=250, record_bytes=100)
    for k in range(10):
        append(log, [k], now=float(k))
    seg = log.segments[0]
    assert list(seg.idx_offset) == [3, 6, 9]
    assert list(seg.idx_pos) == [300, 600, 900]
    assert list(seg.tidx_ts) == [3.0, 6.0, 9.0]


def test_time_index_only_grows_with_a_larger_timestamp():
    """TimeIndex.maybeAppend: an entry only when the timestamp is larger than the last one's."""
    log = log_with(index_interval_bytes=0, record_bytes=100)
    for k in range(5):
        append(log, [k], now=1.0)
    seg = log.segments[0]
    assert list(seg.idx_offset) == [1, 2, 3, 4]
    assert list(seg.tidx_ts) == [1.0]


def test_offset_lookup_binary_searches_the_sparse_index_then_scans_a_few_records():
    """A fetch at an offset: floor entry of the offset index, then a scan from its batch."""
    log = log_with(index_interval_bytes=4096, record_bytes=100)
    for k in range(1000):
        append(log, [k % 7], now=k / 100)
    found = log.lookup_offset(500)
    seg = log.segments[0]
    assert found["found"] == 500 and found["segment"] == 0
    # more than 4096 bytes since the last entry: every 41st batch of one 100-byte record
    assert found["index_entries"] == len(seg.idx_offset) == 24
    assert found["entry"]["offset"] == 492
    assert found["records_scanned"] == 9  # 492 to 500
    assert found["index_probes"] <= 5  # log2(24) rounded up
    dense = log_with(index_interval_bytes=0, record_bytes=100)
    for k in range(1000):
        append(dense, [k % 7])
    assert dense.lookup_offset(500)["records_scanned"] == 1


def test_offset_lookup_finds_the_segment_by_its_base_offset():
    log = log_with(segment_bytes=1000, record_bytes=100)
    append(log, list(range(45)))
    result = log.lookup_offset(33)
    assert result["segment"] == 30 and result["found"] == 33
    assert result["segment_probes"] == binary_search_probes(5, 3)
    assert log.lookup_offset(45)["error"] == "OFFSET_OUT_OF_RANGE"


def test_time_lookup_returns_the_first_record_at_or_after_the_timestamp():
    """ListOffsets by timestamp: first segment whose newest record is late enough, time index, scan."""
    log = log_with(segment_bytes=2000, index_interval_bytes=250, record_bytes=100)
    for k in range(100):
        append(log, [k], now=float(k))
    result = log.lookup_time(42.5)
    assert result["found"] == 43 and result["segment"] == 40
    assert result["segments_scanned"] == 3
    assert not result["approximate"]
    assert 1 <= result["records_scanned"] <= 4
    assert log.lookup_time(1000.0)["found"] is None


def test_segment_metadata_stays_exact_when_old_rows_are_forgotten():
    """cleanup.policy=delete: rows below every reader's committed offset are dropped, segments are not."""
    log = log_with(segment_bytes=10_000, record_bytes=100)
    for k in range(2000):
        log.append(np.array([k], dtype=np.int32), log.leo, float(k), None)  # readers keep up
    assert len(log.offs) <= 512
    assert log.records == 2000 and sum(seg.bytes for seg in log.segments) == 200_000
    assert log.key_at(5) == -1 and log.key_at(1999) == 1999
    assert log.lookup_offset(5)["records_scanned"] >= 1
    assert log.live(0, 10).all()


def test_rows_forgotten_while_staged_are_the_rows_a_log_without_staging_forgets():
    """Plain batches are staged (log.py); when the rows are full, the staged ones before the oldest
    offset a reader needs are dropped unwritten and the batch that offset falls in keeps its tail.
    What is left reads back exactly as in a log that writes every batch as rows at once (one
    given origins never stages)."""
    staged, written = log_with(record_bytes=100), log_with(record_bytes=100)
    rng = np.random.default_rng(5)
    for b in range(300):
        n = int(rng.integers(1, 12))
        keys = rng.integers(0, 50, n).astype(np.int32)
        keep_from = max(0, staged.leo - int(rng.integers(0, 40)))  # a reader some records behind
        assert staged.append(keys, keep_from, float(b)) == written.append(keys, keep_from, float(b), None,
                                                                          np.zeros(n, dtype=np.int64))
    end = staged.leo
    assert (staged.keys(0, end) == written.keys(0, end)).all()
    assert np.array_equal(staged.timestamps(0, end), written.timestamps(0, end), equal_nan=True)
    assert (staged.flags(0, end) == written.flags(0, end)).all()
    assert (staged.lo, staged.hi, len(staged.offs)) == (written.lo, written.hi, len(written.offs))
    assert (staged.keys(0, end) == -1).any()  # rows were forgotten on the way
