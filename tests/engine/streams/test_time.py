"""Time rules (playground/engine/streams/time.py): Flink's BoundedOutOfOrdernessWatermarks and
StatusWatermarkValve, Kafka Streams' close rules over stream time (KStreamWindowAggregate,
KStreamSessionWindowAggregate, KStreamSlidingWindowAggregate), Flink's WindowOperator lateness."""

import pytest

from playground.engine.streams import time as t


def test_bounded_out_of_orderness_emits_max_minus_delay_minus_one():
    """BoundedOutOfOrdernessWatermarks: max timestamp - delay - 1; out-of-order events do not move it."""
    gen = t.BoundedOutOfOrderness(3)
    assert gen.current() == t.LONG_MIN
    gen.on_event(100)
    assert gen.current() == 96
    gen.on_event(90)
    assert gen.current() == 96
    with pytest.raises(ValueError, match="out_of_orderness_ms"):
        t.BoundedOutOfOrderness(-1)


def test_an_idle_input_is_left_out_of_the_minimum_and_rejoins_once_caught_up():
    """StatusWatermarkValve: min over active aligned inputs; an idle input does not hold the
    watermark back; back to active below the output, it is not aligned until it catches up."""
    valve = t.WatermarkValve(2)
    assert valve.input_watermark(0, 10) == t.LONG_MIN  # input 1 has no watermark yet: stalled
    assert valve.input_idle(1) == 10  # input 1 idle: left out
    assert valve.input_idle(1, False) == 10  # active again, behind: not aligned, never goes back
    assert valve.input_watermark(0, 20) == 20
    assert valve.input_watermark(1, 25) == 20  # caught up: aligned, the min again
    assert valve.input_watermark(0, 30) == 25


def test_kafka_close_rules_per_window_kind():
    """Time windows close when end + grace <= stream time; sessions when end < stream time -
    grace - gap; sliding windows when end < stream time - grace."""
    assert t.kafka_window_closed(10, 15, 5) and not t.kafka_window_closed(10, 14, 5)
    assert t.kafka_session_closed(4, 15, 5, 5) and not t.kafka_session_closed(5, 15, 5, 5)
    assert t.kafka_sliding_closed(9, 15, 5) and not t.kafka_sliding_closed(10, 15, 5)


def test_flink_lateness_and_firing():
    """WindowOperator: a window is late when end - 1 + lateness <= watermark; an element when ts +
    lateness <= watermark; EventTimeTrigger fires at watermark >= end - 1."""
    assert t.flink_fires(10, 9) and not t.flink_fires(10, 8)
    assert t.flink_window_late(10, 14, 5) and not t.flink_window_late(10, 13, 5)
    assert t.flink_element_late(3, 8, 5) and not t.flink_element_late(3, 7, 5)


def test_time_characteristics():
    """Event time from the envelope; processing time = the clock; ingestion = when it entered."""
    assert t.timestamp_of("event", 1.5, 9.0) == 1500
    assert t.timestamp_of("processing", 1.5, 9.0) == 9000
    assert t.timestamp_of("ingestion", 1.5, 9.0, 4.0) == 4000
