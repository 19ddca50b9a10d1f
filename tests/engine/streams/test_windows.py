"""Window assignment and merging (playground/engine/streams/windows.py), checked against the rules
of Kafka Streams (TimeWindows.windowsFor, SlidingWindows, SessionWindows,
KStreamSessionWindowAggregate) and Flink (TimeWindow.getWindowStartWithOffset, TumblingEventTimeWindows,
SlidingEventTimeWindows, EventTimeSessionWindows, TimeWindow.mergeWindows)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.engine.streams import windows as w


def test_kafka_hopping_windows_start_at_zero_and_step_by_advance():
    """TimeWindows.windowsFor: start = max(0, ts - size + advance) // advance * advance, while start <= ts."""
    assert w.kafka_time_windows_for(12, 10, 5) == [(5, 15), (10, 20)]
    assert w.kafka_time_windows_for(3, 10, 5) == [(0, 10)]  # never a window before 0
    assert w.kafka_time_windows_for(10, 10, 10) == [(10, 20)]  # [start, end): 10 is in the next window
    assert w.kafka_time_windows_for(-1, 10, 5) == []  # a negative timestamp falls in no window


def test_kafka_refuses_an_advance_larger_than_the_size_and_nonpositive_sizes():
    """TimeWindows.advanceBy / ofSizeAndGrace refusals, naming the parameter."""
    with pytest.raises(w.WindowError, match="advancement interval") as e:
        w.kafka_check_time_windows(10, 11)
    assert e.value.field == "advance_ms"
    with pytest.raises(w.WindowError, match="must be larger than zero") as e:
        w.kafka_check_time_windows(0)
    assert e.value.field == "size_ms"
    with pytest.raises(w.WindowError, match="Grace period must not be negative"):
        w.kafka_check_time_windows(10, 5, -1)
    w.kafka_check_time_windows(10, 10)  # advance == size: tumbling, accepted


def test_kafka_sliding_and_session_refusals():
    """SlidingWindows: a negative time difference is refused, 0 is allowed; SessionWindows: a gap <= 0 is refused."""
    with pytest.raises(w.WindowError) as e:
        w.kafka_check_sliding_windows(-1)
    assert e.value.field == "time_difference_ms"
    w.kafka_check_sliding_windows(0)
    with pytest.raises(w.WindowError, match="Gap time cannot be zero or negative") as e:
        w.kafka_check_session_windows(0)
    assert e.value.field == "gap_ms"


def test_kafka_sliding_windows_are_the_left_and_right_windows_of_each_record():
    """KIP-450 / KStreamSlidingWindowAggregate: records at 5 and 12 with a difference of 10 make
    [0, 10] (an early record's window), [2, 12] (12's left window, holding both) and [6, 16]
    (5's right window, holding 12); windows are inclusive at both ends, never empty."""
    got = w.kafka_sliding_windows([5, 12], 10)
    assert got == {(0, 10): [5], (2, 12): [5, 12], (6, 16): [12]}


def test_kafka_session_merge_finds_sessions_within_the_gap_either_side():
    """KStreamSessionWindowAggregate: findSessions(ts - gap, ts + gap), merged to min start, max end."""
    merged, replaced = w.kafka_session_merge([(0, 5), (20, 20)], 9, 4)
    assert merged == (0, 9) and replaced == [(0, 5)]
    merged, replaced = w.kafka_session_merge([(0, 5), (20, 20)], 16, 4)
    assert merged == (16, 20) and replaced == [(20, 20)]
    assert w.kafka_session_merge([(0, 5)], 11, 4) == ((11, 11), [])


def test_flink_window_start_floors_negative_timestamps_and_applies_the_offset():
    """TimeWindow.getWindowStartWithOffset with Java's % (sign of the dividend), corrected when negative."""
    assert w.flink_window_start(-1, 0, 10) == -10
    assert w.flink_window_start(7, 3, 5) == 3
    assert w.flink_window_start(2, 3, 5) == -2
    assert w.flink_window_start(0, -2, 5) == -2
    assert w.flink_tumbling_windows_for(-1, 10) == [(-10, 0)]


def test_flink_sliding_windows_newest_first_and_gaps_when_slide_exceeds_size():
    """SlidingEventTimeWindows.assignWindows: from the last start back by slide while start > ts - size."""
    assert w.flink_sliding_windows_for(12, 10, 5) == [(10, 20), (5, 15)]
    assert w.flink_sliding_windows_for(-3, 10, 5) == [(-5, 5), (-10, 0)]
    assert w.flink_sliding_windows_for(7, 5, 10) == []  # between two windows: in none
    assert w.flink_sliding_windows_for(3, 5, 10) == [(0, 5)]


def test_flink_refusals_name_the_parameter():
    """TumblingEventTimeWindows: abs(offset) < size; SlidingEventTimeWindows: abs(offset) < slide and
    size > 0; EventTimeSessionWindows: 0 < gap; Long.MIN_VALUE is no timestamp."""
    for bad in (10, -10):
        with pytest.raises(w.WindowError, match="abs\\(offset\\) < size") as e:
            w.flink_check_tumbling(10, bad)
        assert e.value.field == "offset_ms"
    with pytest.raises(w.WindowError, match="abs\\(offset\\) < slide") as e:
        w.flink_check_sliding(10, 5, 5)
    assert e.value.field == "offset_ms"
    with pytest.raises(w.WindowError) as e:
        w.flink_check_sliding(0, 5)
    assert e.value.field == "size_ms"
    w.flink_check_sliding(5, 10)  # a slide above the size is allowed
    with pytest.raises(w.WindowError, match="0 < size"):
        w.flink_check_session(0)
    with pytest.raises(w.WindowError, match="Long.MIN_VALUE"):
        w.flink_tumbling_windows_for(w.LONG_MIN, 10)


def test_flink_merge_windows_merges_touching_and_overlapping_windows():
    """TimeWindow.mergeWindows / intersects: start <= other end and end >= other start (touching merges)."""
    got = w.flink_merge_windows([(12, 17), (6, 11), (1, 6)])
    assert got == [((1, 11), [(1, 6), (6, 11)]), ((12, 17), [(12, 17)])]


@settings(deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(1, 10**6), st.data())
def test_flink_every_window_contains_its_timestamp(ts, size, data):
    """Property: a Flink tumbling or sliding window assigned to ts contains ts ([start, end))."""
    offset = data.draw(st.integers(-(size - 1), size - 1))
    for start, end in w.flink_tumbling_windows_for(ts, size, offset):
        assert start <= ts < end and (start - offset) % size == 0
    slide = data.draw(st.integers(max(1, size // 50), size))
    got = w.flink_sliding_windows_for(ts, size, slide, 0)
    assert got and all(s <= ts < e for s, e in got) and len(got) == len(set(got))


@settings(deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 10**5), st.data())
def test_kafka_windows_are_exactly_those_containing_the_timestamp(ts, size, data):
    """Property: TimeWindows.windowsFor returns every window [k*advance, k*advance + size) with
    k >= 0 that contains ts, and nothing else."""
    advance = data.draw(st.integers(max(1, size // 50), size))
    got = w.kafka_time_windows_for(ts, size, advance)
    first = max(0, (ts - size) // advance + 1)
    expected = [(k * advance, k * advance + size) for k in range(first, ts // advance + 1)]
    assert got == expected and all(s <= ts < e for s, e in got)
