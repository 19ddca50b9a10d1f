"""Time in a stream processor: event, processing and ingestion time; watermarks; stream time.

- Event time is when the record happened: the envelope's ``event_time`` (record.py), set by
  whoever first wrote it. Processing time is the processor's clock when it handles the record.
  Ingestion time is the time the record entered the pipeline (Kafka's LogAppendTime; Flink's
  IngestionTimeAssigner, deprecated). ``timestamp_of`` picks one, in whole milliseconds.
- Flink's watermark (flink-core, api/common/eventtime/BoundedOutOfOrdernessWatermarks.java):
  maxTimestamp starts at Long.MIN_VALUE + delay + 1, onEvent takes the max, onPeriodicEmit emits
  ``maxTimestamp - delay - 1`` (every ExecutionConfig.autoWatermarkInterval, 200 ms by default);
  the operator's watermark never goes back. Several inputs combine in StatusWatermarkValve: the
  minimum over inputs whose WatermarkStatus is ACTIVE; an IDLE input is left out; all idle, the
  output is idle (no watermark moves).
- Kafka Streams' stream time (KIP-424; AbstractKStreamTimeWindowAggregateProcessor.
  updateObservedStreamTime): the largest timestamp seen by the task, never going back.
"""

from __future__ import annotations

LONG_MIN = -(2**63)
TIME_KINDS = ("event", "processing", "ingestion")


def timestamp_of(kind: str, event_time_s: float, now_s: float, ingested_s: float | None = None) -> int:
    """The record's timestamp in ms under a time characteristic: its event time, the processor's
    clock now, or the time it entered the pipeline (falls back to now when unknown)."""
    if kind == "event":
        return round(event_time_s * 1000)
    if kind == "ingestion" and ingested_s is not None:
        return round(ingested_s * 1000)
    if kind in ("processing", "ingestion"):
        return round(now_s * 1000)
    raise ValueError(f"time: must be one of {', '.join(TIME_KINDS)}")


class BoundedOutOfOrderness:
    """Flink's BoundedOutOfOrdernessWatermarks (forBoundedOutOfOrderness(delay))."""

    __slots__ = ("delay", "max_ts")

    def __init__(self, delay_ms: int) -> None:
        if delay_ms < 0:
            # WatermarkStrategy.forBoundedOutOfOrderness: "maxOutOfOrderness cannot be negative"
            raise ValueError("out_of_orderness_ms: maxOutOfOrderness cannot be negative")
        self.delay = delay_ms
        self.max_ts = LONG_MIN + delay_ms + 1

    def on_event(self, timestamp: int) -> None:
        if timestamp > self.max_ts:
            self.max_ts = timestamp

    def current(self) -> int:
        """What onPeriodicEmit emits: max timestamp - delay - 1 (Long.MIN_VALUE before any event)."""
        return self.max_ts - self.delay - 1


class WatermarkValve:
    """StatusWatermarkValve: per-input watermarks and statuses. The output is the minimum over
    the inputs that are active and aligned, never decreasing; an idle input is left out (and is
    no longer aligned); an input that becomes active again counts only once its watermark has
    caught up with the output (it is aligned again). All idle: the output stays (no watermark)."""

    def __init__(self, inputs: int) -> None:
        self.marks = [LONG_MIN] * inputs
        self.idle = [False] * inputs
        self.aligned = [True] * inputs
        self.output = LONG_MIN

    def input_watermark(self, i: int, mark: int) -> int:
        """An input's watermark (ignored if idle: Flink drops watermarks of an idle channel)."""
        if self.idle[i]:
            return self.output
        if mark > self.marks[i]:
            self.marks[i] = mark
            if not self.aligned[i] and mark >= self.output:
                self.aligned[i] = True
        return self._recompute()

    def input_idle(self, i: int, idle: bool = True) -> int:
        """An input's WatermarkStatus: IDLE (True) or ACTIVE (False)."""
        self.idle[i] = idle
        self.aligned[i] = not idle and self.marks[i] >= self.output
        return self._recompute()

    def _recompute(self) -> int:
        active = [m for m, ok, idle in zip(self.marks, self.aligned, self.idle, strict=True) if ok and not idle]
        if active:
            low = min(active)
            if low > self.output:
                self.output = low
        return self.output

    @property
    def all_idle(self) -> bool:
        return all(self.idle)


def kafka_window_closed(window_end: int, stream_time: int, grace_ms: int) -> bool:
    """KStreamWindowAggregate.process: a time window takes the record only while windowEnd >
    windowCloseTime (= stream time - grace); so it is closed when end + grace <= stream time."""
    return window_end <= stream_time - grace_ms


def kafka_session_closed(session_end: int, stream_time: int, grace_ms: int, gap_ms: int) -> bool:
    """KStreamSessionWindowAggregate.process: windowCloseTime = stream time - grace - gap; the
    merged session is expired when its (inclusive) end < windowCloseTime."""
    return session_end < stream_time - grace_ms - gap_ms


def kafka_sliding_closed(window_end: int, stream_time: int, grace_ms: int) -> bool:
    """KStreamSlidingWindowAggregate: a sliding window [start, end] (inclusive) is updated while
    end >= windowCloseTime (= stream time - grace), so closed when end < close time."""
    return window_end < stream_time - grace_ms


def flink_cleanup_time(window_end: int, allowed_lateness_ms: int) -> int:
    """WindowOperator.cleanupTime: maxTimestamp + allowedLateness (Long.MAX_VALUE on overflow)."""
    t = window_end - 1 + allowed_lateness_ms
    return t if t < 2**63 else 2**63 - 1


def flink_window_late(window_end: int, watermark: int, allowed_lateness_ms: int) -> bool:
    """WindowOperator.isWindowLate (event time): cleanupTime(window) <= current watermark."""
    return flink_cleanup_time(window_end, allowed_lateness_ms) <= watermark


def flink_element_late(timestamp: int, watermark: int, allowed_lateness_ms: int) -> bool:
    """WindowOperator.isElementLate: timestamp + allowedLateness <= current watermark."""
    return timestamp + allowed_lateness_ms <= watermark


def flink_fires(window_end: int, watermark: int) -> bool:
    """EventTimeTrigger: FIRE once the watermark reaches window.maxTimestamp() (= end - 1); an
    element added to a window whose maxTimestamp <= watermark fires it at once (a late firing)."""
    return window_end - 1 <= watermark
