"""The headless windowed aggregation (playground/engine/streams/aggregator.py): Kafka Streams'
KStreamWindowAggregate / KStreamSessionWindowAggregate / KStreamSlidingWindowAggregate over
stream time with grace and emit strategies, and Flink's WindowOperator with EventTimeTrigger,
allowed lateness and the late-data side output. Every record is accounted for."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.engine.streams.aggregator import Spec, WindowedAggregator
from playground.engine.streams.windows import WindowError


def feed(agg, events, watermark_each=True):
    for key, ts, v in events:
        agg.process(key, ts, v)
        if watermark_each and not agg.kafka:
            agg.periodic_emit()
    return agg.drain()


def accounted(agg):
    c = agg.counts()
    return c["taken"] == c["in_window"] + c["late_dropped"] + c["side_output"] + c["unassigned"] + c["null_key"]


def test_kafka_grace_keeps_a_window_open_until_end_plus_grace_reaches_stream_time():
    """KStreamWindowAggregate: windowEnd > stream time - grace takes the record; else it is
    skipped and counted in dropped-records. onWindowClose emits [0, 10) once, at stream time 15."""
    agg = WindowedAggregator(Spec(size_ms=10, grace_ms=5, emit="close"))
    out = feed(agg, [("a", 1, 1), ("a", 14, 1), ("a", 3, 1)])
    assert out == [] and agg.in_window == 3
    out = feed(agg, [("a", 15, 1), ("a", 4, 1)])
    assert [(r.start, r.end, r.count, r.final) for r in out] == [(0, 10, 2, True)]  # 1 and 3 (14 is in [10, 20))
    assert agg.late_dropped == 1 and agg.dropped_records == 1 and accounted(agg)


def test_kafka_emit_every_update_forwards_each_change_with_the_max_timestamp():
    """ON_WINDOW_UPDATE (default): each record forwards its window's new aggregate; the result's
    timestamp is the largest record timestamp in the window."""
    agg = WindowedAggregator(Spec(size_ms=10, aggregate="average"))
    out = feed(agg, [("a", 5, 2.0), ("a", 2, 4.0)])
    assert [(r.count, r.value, r.timestamp, r.final) for r in out] == [(1, 2.0, 5, False), (2, 3.0, 5, False)]


def test_kafka_hopping_drops_only_the_expired_windows_of_a_record():
    """A record for one expired and one open hopping window lands in the open one; the sensor
    counts the expired window (logSkippedRecordForExpiredWindow per window)."""
    agg = WindowedAggregator(Spec(size_ms=10, advance_ms=5))
    feed(agg, [("a", 12, 1), ("a", 7, 1)])
    assert agg.dropped_records == 1 and agg.late_dropped == 0 and agg.in_window == 2


def test_kafka_null_keys_are_skipped_and_counted():
    """KStreamWindowAggregate: 'Skipping record due to null key', dropped-records."""
    agg = WindowedAggregator(Spec())
    feed(agg, [(None, 1, 1)])
    assert agg.null_key == 1 and agg.dropped_records == 1 and accounted(agg)


def test_kafka_sessions_merge_forward_a_tombstone_and_expire_after_gap_plus_grace():
    """KStreamSessionWindowAggregate: 0 and 4 merge into [0, 4] (the old session forwarded as a
    tombstone); a record at 8 after stream time 20 makes a session ending 8 < 20 - 0 - 5: dropped."""
    agg = WindowedAggregator(Spec(kind="session", gap_ms=5))
    out = feed(agg, [("a", 0, 1), ("a", 4, 1)])
    assert [(r.start, r.end, r.count, r.tombstone) for r in out] == [(0, 0, 1, False), (0, 0, 1, True),
                                                                     (0, 4, 2, False)]
    feed(agg, [("a", 20, 1), ("a", 8, 1)])
    assert agg.late_dropped == 1 and agg.dropped_records == 1 and accounted(agg)


def test_kafka_session_emit_on_close():
    """Sessions are emitted once their end < stream time - grace - gap (emitRangeUpperBound = close - 1)."""
    agg = WindowedAggregator(Spec(kind="session", gap_ms=5, emit="close"))
    assert feed(agg, [("a", 0, 1), ("a", 4, 1), ("a", 9, 1)]) == []  # 9 merges: [0, 9]
    out = feed(agg, [("a", 15, 1)])  # close = 10: [0, 9] ends before it
    assert [(r.start, r.end, r.count) for r in out] == [(0, 9, 3)]


def test_kafka_sliding_windows_aggregate_both_windows_of_a_pair():
    """KStreamSlidingWindowAggregate: with a difference of 10, records at 5 and 12 yield [0, 10]
    with 1, then [2, 12] with 2 and [6, 16] with 1."""
    agg = WindowedAggregator(Spec(kind="sliding", size_ms=10, grace_ms=100))
    out = feed(agg, [("a", 5, 1), ("a", 12, 1)])
    assert {(r.start, r.end, r.count) for r in out} == {(0, 10, 1), (2, 12, 2), (6, 16, 1)}


def test_flink_fires_at_the_watermark_then_late_firings_within_allowed_lateness():
    """WindowOperator + EventTimeTrigger: watermark = max - 2 - 1; [0, 10) fires at watermark 10
    (>= 9); an element at 3 within the lateness fires it again; after cleanup (9 + 5 <= 27) late
    elements are dropped (numLateRecordsDropped)."""
    agg = WindowedAggregator(Spec(framework="flink", size_ms=10, emit="close", allowed_lateness_ms=5,
                                  out_of_orderness_ms=2))
    out = feed(agg, [("a", 1, 1), ("a", 5, 1), ("a", 13, 1), ("a", 3, 1), ("a", 30, 1), ("a", 12, 1), ("a", 2, 1)])
    assert [(r.start, r.count, r.late_firing) for r in out] == [(0, 2, False), (0, 3, True), (10, 1, False)]
    assert agg.updated_closed == 1 and agg.late_dropped == 2 and agg.watermark == 27 and accounted(agg)


def test_flink_side_output_takes_late_elements():
    """sideOutputLateData: a late element goes to the side output instead of being dropped."""
    agg = WindowedAggregator(Spec(framework="flink", size_ms=10, emit="close", side_output=True))
    feed(agg, [("a", 20, 1), ("a", 1, 1)])
    assert agg.side_output == 1 and agg.late_dropped == 0 and accounted(agg)


def test_flink_sessions_merge_and_fire_once():
    """MergingWindowSet: (1,6), (10,15) and then (5,10) merge into [1, 15), fired once the
    watermark reaches 14."""
    agg = WindowedAggregator(Spec(framework="flink", kind="session", gap_ms=5, emit="close"))
    out = feed(agg, [("a", 1, 1), ("a", 10, 1), ("a", 5, 1)], watermark_each=False)
    assert agg.open_windows() == 1 and out == []
    out = feed(agg, [("a", 30, 1)])
    assert [(r.start, r.end, r.count) for r in out] == [(1, 15, 3)]


def test_flink_slide_above_size_leaves_records_in_no_window():
    """SlidingEventTimeWindows with slide > size: a record between windows is in none (not late)."""
    agg = WindowedAggregator(Spec(framework="flink", kind="hopping", size_ms=5, advance_ms=10, emit="close"))
    feed(agg, [("a", 7, 1)])
    assert agg.unassigned == 1 and accounted(agg)


@pytest.mark.parametrize(("spec", "field"), [
    (Spec(size_ms=10, advance_ms=20), "advance_ms"),
    (Spec(offset_ms=5), "offset_ms"),
    (Spec(framework="flink", size_ms=10, offset_ms=10, emit="close"), "offset_ms"),
    (Spec(framework="flink", kind="sliding", emit="close"), "kind"),
    (Spec(framework="flink"), "emit"),
    (Spec(kind="session", gap_ms=0), "gap_ms"),
])
def test_refused_specs_name_the_field(spec, field):
    """Each engine's refusal (windows.py) and each preset's missing combination, by field."""
    with pytest.raises(WindowError) as e:
        WindowedAggregator(spec)
    assert e.value.field == field


events = st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(-20, 400), st.integers(0, 9)),
                  max_size=80)
specs = st.builds(
    Spec, framework=st.sampled_from(["kafka_streams", "flink"]), kind=st.sampled_from(["tumbling", "hopping",
                                                                                        "session"]),
    aggregate=st.sampled_from(["count", "sum", "min", "max", "average"]), size_ms=st.sampled_from([10, 30]),
    advance_ms=st.sampled_from([0, 10]), gap_ms=st.sampled_from([5, 20]), grace_ms=st.sampled_from([0, 15]),
    allowed_lateness_ms=st.sampled_from([0, 15]), out_of_orderness_ms=st.sampled_from([0, 25]),
    emit=st.just("close"), side_output=st.booleans())


@settings(deadline=None, max_examples=150)
@given(specs, events)
def test_every_record_is_accounted_for_and_state_holds_only_live_windows(spec, evs):
    """Conservation: taken = in a window + late (dropped or side output) + in no window + null key;
    a window never stays in state past its close (Kafka) or cleanup time (Flink)."""
    agg = WindowedAggregator(spec)
    feed(agg, evs)
    assert accounted(agg)
    for (_key, _start, end) in agg.cells:
        if agg.kafka and spec.kind != "session":
            assert end > agg.stream_time - spec.grace_ms
        elif not agg.kafka:
            assert end - 1 + spec.allowed_lateness_ms > agg.watermark


@settings(deadline=None, max_examples=100)
@given(st.sampled_from(["tumbling", "hopping"]), st.sampled_from([0, 7]), events)
def test_the_batch_path_computes_what_the_record_path_computes(kind, grace, evs):
    """process_many (the inlined loop) and process (record by record) emit the same results and counts."""
    spec = Spec(kind=kind, size_ms=20, advance_ms=10 if kind == "hopping" else 0, grace_ms=grace, emit="close",
                aggregate="max")
    one, many = WindowedAggregator(spec), WindowedAggregator(spec)
    from_one = feed(one, evs)
    many.process_many([e[0] for e in evs], [e[1] for e in evs], [e[2] for e in evs])
    assert from_one == many.drain() and one.counts() == many.counts() and one.cells == many.cells


@settings(deadline=None, max_examples=25)
@given(st.integers(0, 2**32), st.sampled_from([0, 40]), st.sampled_from([10, 100]), st.sampled_from([2, 50]))
def test_the_column_path_computes_what_the_record_path_computes(seed, grace, size, nkeys):
    """Batches of 256 records and more take the numpy path (_kafka_tumbling_columns): the same
    results, in the same order, the same counts and the same state as record by record (integer
    values: the per-batch sums are then exact)."""
    import random

    rnd = random.Random(seed)
    evs = [(rnd.choice([None, *(f"k{i}" for i in range(nkeys))]) if rnd.random() < 0.02 else f"k{rnd.randrange(nkeys)}",
            i - rnd.randrange(120) - (500 if rnd.random() < 0.01 else 0), rnd.randrange(100)) for i in range(2000)]
    spec = Spec(size_ms=size, grace_ms=grace, emit="close", aggregate="sum")
    one, many = WindowedAggregator(spec), WindowedAggregator(spec)
    from_one = feed(one, evs)
    for i in range(0, len(evs), 500):
        part = evs[i:i + 500]
        many.process_many([e[0] for e in part], [e[1] for e in part], [e[2] for e in part])
    assert from_one == many.drain() and one.counts() == many.counts() and one.cells == many.cells
    assert one.unassigned > 0 or min(e[1] for e in evs) >= 0


def test_flink_idle_splits_leave_the_valve_and_come_back():
    """WatermarksWithIdleness + StatusWatermarkValve: split 1 without events holds the watermark
    at Long.MIN_VALUE; after the idle timeout (processing time) it is left out; an event makes it
    active again (it counts once it has caught up)."""
    agg = WindowedAggregator(Spec(framework="flink", emit="close", size_ms=10, idle_timeout_ms=100), splits=2)
    agg.process("a", 50, 1, split=0, now_ms=10)
    assert agg.periodic_emit(now_ms=50) < 0  # split 1 has no watermark yet: stalled
    agg.process("a", 55, 1, split=0, now_ms=120)
    assert agg.periodic_emit(now_ms=150) == 54  # split 1 idle since 0 + 100: left out
    agg.process("a", 40, 1, split=1, now_ms=160)  # active again, behind the output: not aligned
    agg.process("a", 80, 1, split=0, now_ms=170)
    assert agg.periodic_emit(now_ms=180) == 79
    assert agg.periodic_emit(now_ms=400) == 79  # both idle: the watermark stays
