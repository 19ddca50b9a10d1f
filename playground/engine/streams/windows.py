"""Window assignment and merging, as pure functions, exactly as Kafka Streams and Flink define them.

All times are whole milliseconds (both engines use ``long`` epoch milliseconds). Kafka Streams'
time windows are ``[start, end)``; its sliding and session windows are ``[start, end]`` (both
ends inclusive); Flink's ``TimeWindow`` is ``[start, end)`` with ``maxTimestamp() = end - 1``.
A window is a ``(start, end)`` tuple. Parameters an engine refuses raise ``WindowError`` naming
the parameter, with the engine's own message.

Sources (apache/kafka, streams/src/main/java/org/apache/kafka/streams/kstream/):
TimeWindows.java (ofSizeAndGrace, advanceBy, windowsFor), SlidingWindows.java
(ofTimeDifferenceAndGrace), SessionWindows.java (ofInactivityGapAndGrace),
internals/KStreamSessionWindowAggregate.java (findSessions over [ts - gap, ts + gap], merge).
apache/flink, flink-streaming-java/.../windowing/: windows/TimeWindow.java
(getWindowStartWithOffset, intersects, cover, mergeWindows), assigners/TumblingEventTimeWindows,
SlidingEventTimeWindows, EventTimeSessionWindows.
"""

from __future__ import annotations

from collections.abc import Iterable

Window = tuple[int, int]

#: Flink's "no timestamp" marker (Long.MIN_VALUE)
LONG_MIN = -(2**63)


class WindowError(ValueError):
    """A window definition the engine refuses; ``field`` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# -- Kafka Streams ---------------------------------------------------------------------------------


def kafka_check_time_windows(size_ms: int, advance_ms: int | None = None, grace_ms: int = 0) -> None:
    """TimeWindows' refusals: size <= 0 ("Window size (sizeMs) must be larger than zero."),
    advance <= 0 or > size (advanceBy: "Window advancement interval should be more than zero and
    less than window duration"), grace < 0 ("Grace period must not be negative.")."""
    if size_ms <= 0:
        raise WindowError("size_ms", "Window size (sizeMs) must be larger than zero.")
    advance = size_ms if advance_ms is None else advance_ms
    if advance <= 0 or advance > size_ms:
        raise WindowError("advance_ms", "Window advancement interval should be more than zero and less than "
                          f"window duration which is {size_ms} ms, but given advancement interval is: {advance} ms")
    if grace_ms < 0:
        raise WindowError("grace_ms", "Grace period must not be negative.")


def kafka_time_windows_for(timestamp: int, size_ms: int, advance_ms: int) -> list[Window]:
    """TimeWindows.windowsFor: the first start is max(0, ts - size + advance) rounded down to a
    multiple of advance, then every advance while start <= ts. Windows never start before 0, so a
    negative timestamp falls in no window (Kafka's default FailOnInvalidTimestamp refuses it
    earlier; LogAndSkipOnInvalidTimestamp drops it)."""
    start = (max(0, timestamp - size_ms + advance_ms) // advance_ms) * advance_ms
    out = []
    while start <= timestamp:
        out.append((start, start + size_ms))
        start += advance_ms
    return out


def kafka_check_sliding_windows(time_difference_ms: int, grace_ms: int = 0) -> None:
    """SlidingWindows.ofTimeDifferenceAndGrace: "Window time difference must not be negative.",
    "Window grace period must not be negative." (a difference of 0 is allowed)."""
    if time_difference_ms < 0:
        raise WindowError("time_difference_ms", "Window time difference must not be negative.")
    if grace_ms < 0:
        raise WindowError("grace_ms", "Window grace period must not be negative.")


def kafka_sliding_windows(timestamps: Iterable[int], time_difference_ms: int) -> dict[Window, list[int]]:
    """The windows Kafka Streams' sliding windows hold for one key, and which timestamps each
    contains (KStreamSlidingWindowAggregate; KIP-450): windows are ``[start, end]`` inclusive of
    length time difference; each record makes its left window ``[ts - d, ts]`` (``[0, d]`` for a
    record earlier than d: processEarly, windows never start before 0) and a right window
    ``[ts + 1, ts + 1 + d]`` when some record falls in it. Empty windows are never created."""
    d = time_difference_ms
    ts = sorted(set(t for t in timestamps if t >= 0))
    starts = set()
    for t in ts:
        starts.add(max(0, t - d))
    for t in ts:
        if any(t < u <= t + 1 + d for u in ts):
            starts.add(t + 1)
    out: dict[Window, list[int]] = {}
    all_ts = sorted(t for t in timestamps if t >= 0)
    for s in sorted(starts):
        inside = [t for t in all_ts if s <= t <= s + d]
        if inside:
            out[(s, s + d)] = inside
    return out


def kafka_check_session_windows(gap_ms: int, grace_ms: int = 0) -> None:
    """SessionWindows.ofInactivityGapAndGrace: "Gap time cannot be zero or negative.", "Grace
    period must not be negative."."""
    if gap_ms <= 0:
        raise WindowError("gap_ms", "Gap time cannot be zero or negative.")
    if grace_ms < 0:
        raise WindowError("grace_ms", "Grace period must not be negative.")


def kafka_session_merge(sessions: Iterable[Window], timestamp: int, gap_ms: int) -> tuple[Window, list[Window]]:
    """KStreamSessionWindowAggregate.process: the record starts session ``[ts, ts]``; every stored
    session found by findSessions(ts - gap, ts + gap) (a session whose end >= ts - gap and whose
    start <= ts + gap) merges with it (mergeSessionWindow: min start, max end). Returns the merged
    session and the sessions it replaces."""
    lo, hi = timestamp - gap_ms, timestamp + gap_ms
    merged = [s for s in sessions if s[1] >= lo and s[0] <= hi]
    start = min([timestamp, *(s[0] for s in merged)])
    end = max([timestamp, *(s[1] for s in merged)])
    return (start, end), merged


# -- Flink -----------------------------------------------------------------------------------------


def flink_window_start(timestamp: int, offset_ms: int, size_ms: int) -> int:
    """TimeWindow.getWindowStartWithOffset: remainder = (ts - offset) % size with Java's sign
    (truncating), adjusted by one size when negative, so negative timestamps floor correctly."""
    remainder = _java_rem(timestamp - offset_ms, size_ms)
    if remainder < 0:
        return timestamp - (remainder + size_ms)
    return timestamp - remainder


def _java_rem(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def flink_check_tumbling(size_ms: int, offset_ms: int = 0) -> None:
    """TumblingEventTimeWindows: "TumblingEventTimeWindows parameters must satisfy abs(offset) <
    size" (which also refuses size <= 0)."""
    if abs(offset_ms) >= size_ms:
        raise WindowError("offset_ms" if size_ms > 0 else "size_ms",
                          "TumblingEventTimeWindows parameters must satisfy abs(offset) < size")


def flink_tumbling_windows_for(timestamp: int, size_ms: int, offset_ms: int = 0) -> list[Window]:
    """TumblingEventTimeWindows.assignWindows: one window from getWindowStartWithOffset; a
    Long.MIN_VALUE timestamp (no timestamp) is refused."""
    _flink_has_timestamp(timestamp)
    start = flink_window_start(timestamp, offset_ms, size_ms)
    return [(start, start + size_ms)]


def flink_check_sliding(size_ms: int, slide_ms: int, offset_ms: int = 0) -> None:
    """SlidingEventTimeWindows: "SlidingEventTimeWindows parameters must satisfy abs(offset) <
    slide and size > 0" (a slide larger than the size is allowed: records between windows fall in
    none)."""
    if size_ms <= 0:
        raise WindowError("size_ms", "SlidingEventTimeWindows parameters must satisfy abs(offset) < slide and size > 0")
    if abs(offset_ms) >= slide_ms:
        raise WindowError("offset_ms" if slide_ms > 0 else "advance_ms",
                          "SlidingEventTimeWindows parameters must satisfy abs(offset) < slide and size > 0")


def flink_sliding_windows_for(timestamp: int, size_ms: int, slide_ms: int, offset_ms: int = 0) -> list[Window]:
    """SlidingEventTimeWindows.assignWindows: from the last start (getWindowStartWithOffset with
    the slide) back by slide while start > ts - size; newest window first, as Flink lists them."""
    _flink_has_timestamp(timestamp)
    start = flink_window_start(timestamp, offset_ms, slide_ms)
    out = []
    while start > timestamp - size_ms:
        out.append((start, start + size_ms))
        start -= slide_ms
    return out


def flink_check_session(gap_ms: int) -> None:
    """EventTimeSessionWindows.withGap: "EventTimeSessionWindows parameters must satisfy 0 < size"."""
    if gap_ms <= 0:
        raise WindowError("gap_ms", "EventTimeSessionWindows parameters must satisfy 0 < size")


def flink_session_window_for(timestamp: int, gap_ms: int) -> Window:
    """EventTimeSessionWindows.assignWindows: ``TimeWindow(ts, ts + gap)``."""
    _flink_has_timestamp(timestamp)
    return (timestamp, timestamp + gap_ms)


def flink_merge_windows(windows: Iterable[Window]) -> list[tuple[Window, list[Window]]]:
    """TimeWindow.mergeWindows: sort by start; a window that intersects the current cover (start
    <= cover end and end >= cover start: touching windows merge) joins it. Returns each merged
    window with the windows it covers (groups of one are not merges)."""
    out: list[tuple[Window, list[Window]]] = []
    cover: Window | None = None
    members: list[Window] = []
    for w in sorted(windows):
        if cover is None:
            cover, members = w, [w]
        elif w[0] <= cover[1] and w[1] >= cover[0]:
            cover = (min(cover[0], w[0]), max(cover[1], w[1]))
            members.append(w)
        else:
            out.append((cover, members))
            cover, members = w, [w]
    if cover is not None:
        out.append((cover, members))
    return out


def flink_max_timestamp(window: Window) -> int:
    """TimeWindow.maxTimestamp: end - 1 (the window's last millisecond)."""
    return window[1] - 1


def _flink_has_timestamp(timestamp: int) -> None:
    if timestamp <= LONG_MIN:
        raise WindowError("event_time", "Record has Long.MIN_VALUE timestamp (= no timestamp marker). Is the time "
                          "characteristic set to 'ProcessingTime', or did you forget to call "
                          "'DataStream.assignTimestampsAndWatermarks(...)'?")
