"""A windowed aggregation as Kafka Streams and Flink run it: assignment, lateness, emission, state.

``WindowedAggregator`` is headless (no simulation): feed it ``(key, timestamp_ms, number)`` with
``process``; for Flink, move the watermark with ``periodic_emit`` (what the source's watermark
generator emits every autoWatermarkInterval). Emitted results collect in ``out`` as
``Result`` tuples; the caller drains them.

Kafka Streams (KStreamWindowAggregate, KStreamSlidingWindowAggregate,
KStreamSessionWindowAggregate): stream time = max timestamp seen; a window takes a record while
it is not closed (time.kafka_*_closed); a record for a closed window is skipped and counted by the
task's ``dropped-records`` sensor, once per expired window (logSkippedRecordForExpiredWindow).
Emit strategy ON_WINDOW_UPDATE (the default, with record caching off) forwards every update;
ON_WINDOW_CLOSE (EmitStrategy.onWindowClose(), KIP-825; the same results as
suppress(untilWindowCloses)) forwards each window once, when it closes. The wall-clock throttle of
emit-final (1 s) is not modelled: closed windows are emitted at the record that closes them.

Flink (WindowOperator with EventTimeTrigger): an element goes to each assigned window that is
not late (cleanupTime <= watermark); a window fires when the watermark reaches its maxTimestamp
(end - 1) and again at once for every element added later within the allowed lateness (late
firings); its state is cleared at cleanupTime. An element whose windows are all late and which
is itself late (ts + lateness <= watermark) goes to the late-data side output when one is set
(sideOutputLateData), else it is counted in numLateRecordsDropped. Session windows merge
(MergingWindowSet); a merged window that is late is retired.

Accounting: taken = in_window + late + unassigned + null_key, where ``late`` is dropped (Kafka's
expired windows, Flink numLateRecordsDropped) or side output; ``unassigned`` are records that fall
in no window at all (a negative timestamp in Kafka Streams, a gap between Flink sliding windows
whose slide exceeds their size).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from playground.engine.streams import time as stime
from playground.engine.streams import windows as win

FRAMEWORKS = ("kafka_streams", "flink")
KINDS = ("tumbling", "hopping", "sliding", "session")
AGGREGATES = ("count", "sum", "min", "max", "average")
EMITS = ("update", "close")


class Result(NamedTuple):
    key: str | None
    start: int
    end: int
    count: int
    value: float | None
    timestamp: int  # the result record's timestamp
    final: bool  # emitted as the window closes (or a Flink firing), not an intermediate update
    late_firing: bool  # Flink: fired again for an element within the allowed lateness
    tombstone: bool  # Kafka Streams: a session replaced by a merge (forwarded as key -> null)


@dataclass(frozen=True)
class Spec:
    framework: str = "kafka_streams"
    kind: str = "tumbling"
    aggregate: str = "count"
    size_ms: int = 10_000
    advance_ms: int = 0  # 0: the size (tumbling)
    offset_ms: int = 0  # Flink only
    gap_ms: int = 5_000  # session windows
    grace_ms: int = 0  # Kafka Streams
    allowed_lateness_ms: int = 0  # Flink
    out_of_orderness_ms: int = 0  # Flink's bounded out-of-orderness watermark
    emit: str = "update"
    side_output: bool = False  # Flink's sideOutputLateData
    idle_timeout_ms: int = 0  # Flink's WatermarkStrategy.withIdleness (0: never idle)

    def check(self) -> None:
        """The refusals of each engine (windows.py), plus the combinations a preset lacks."""
        for name, choices in (("framework", FRAMEWORKS), ("kind", KINDS), ("aggregate", AGGREGATES),
                              ("emit", EMITS)):
            if getattr(self, name) not in choices:
                raise win.WindowError(name, f"must be one of {', '.join(choices)}")
        advance = self.advance_ms or self.size_ms
        if self.framework == "kafka_streams":
            if self.offset_ms:
                raise win.WindowError("offset_ms", "Kafka Streams' TimeWindows have no offset: windows are aligned "
                                      "to the epoch (0); use the flink preset for an offset")
            if self.kind in ("tumbling", "hopping"):
                win.kafka_check_time_windows(self.size_ms, advance, self.grace_ms)
            elif self.kind == "sliding":
                win.kafka_check_sliding_windows(self.size_ms, self.grace_ms)
            else:
                win.kafka_check_session_windows(self.gap_ms, self.grace_ms)
        else:
            if self.kind == "tumbling":
                win.flink_check_tumbling(self.size_ms, self.offset_ms)
            elif self.kind == "hopping":
                win.flink_check_sliding(self.size_ms, advance, self.offset_ms)
            elif self.kind == "session":
                win.flink_check_session(self.gap_ms)
            else:
                raise win.WindowError("kind", "Flink has no time-difference sliding windows (those are Kafka "
                                      "Streams' SlidingWindows); Flink's sliding windows are the 'hopping' kind here")
            if self.emit == "update":
                raise win.WindowError("emit", "Flink's EventTimeTrigger fires when the watermark passes the window "
                                      "end (and on late elements); a per-element trigger is not modelled: use close")
            if self.allowed_lateness_ms < 0:
                raise win.WindowError("allowed_lateness_ms", "The allowed lateness cannot be negative.")
            if self.idle_timeout_ms < 0:
                raise win.WindowError("idle_timeout_ms", "The idle timeout cannot be negative.")
            if self.out_of_orderness_ms < 0:
                raise win.WindowError("out_of_orderness_ms", "maxOutOfOrderness cannot be negative")


def _value(agg: str, cell: list) -> float | None:
    if agg == "count":
        return cell[0]
    if agg == "sum":
        return cell[1]
    if agg == "min":
        return cell[2]
    if agg == "max":
        return cell[3]
    return cell[1] / cell[0] if cell[0] else None


def _new(v: float, ts: int) -> list:
    return [1, v, v, v, ts]


def _add(cell: list, v: float, ts: int) -> None:
    cell[0] += 1
    cell[1] += v
    if v < cell[2]:
        cell[2] = v
    if v > cell[3]:
        cell[3] = v
    if ts > cell[4]:
        cell[4] = ts


def _merge(a: list, b: list) -> list:
    return [a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3]), max(a[4], b[4])]


class WindowedAggregator:
    """One windowed aggregation (one task: all keys)."""

    def __init__(self, spec: Spec, splits: int = 1) -> None:
        spec.check()
        self.spec = spec
        self.kafka = spec.framework == "kafka_streams"
        self.advance = spec.advance_ms or spec.size_ms
        self.agg = spec.aggregate
        self.cells: dict[tuple[str | None, int, int], list] = {}  # (key, start, end) -> [n, sum, min, max, maxts]
        self.sessions: dict[str | None, list[tuple[int, int]]] = {}  # live sessions per key
        self.heap: list[tuple[int, str, int, int]] = []  # (close or fire time, key, start, end)
        self.fired: set[tuple[str | None, int, int]] = set()  # Flink: windows whose on-time firing happened
        self.sliding_ts: dict[str | None, list[tuple[int, float]]] = {}  # Kafka sliding: records per key
        self.stream_time = stime.LONG_MIN  # Kafka Streams
        # Flink: a watermark generator per source split (KafkaSource: per partition), combined
        # by the valve (min over active splits); a split idle for idle_timeout_ms is left out
        self.wm_gens = [stime.BoundedOutOfOrderness(spec.out_of_orderness_ms) for _ in range(max(1, splits))]
        self.wm_gen = self.wm_gens[0]
        self.valve = stime.WatermarkValve(len(self.wm_gens))
        self.last_event_ms = [stime.LONG_MIN] * len(self.wm_gens)  # processing time of each split's last event
        self.watermark = stime.LONG_MIN  # Flink
        self.out: list[Result] = []
        self.taken = self.in_window = self.late_dropped = self.side_output = self.unassigned = 0
        self.dropped_records = 0  # Kafka Streams' dropped-records sensor (once per expired window)
        self.updated_closed = 0  # Flink late firings: an element updated a window that had fired
        self.emitted = 0
        self.null_key = 0
        self._codes: dict[str | None, int] = {None: -1}  # key -> code (the column path)
        self._names: list[str] = []

    # -- reading ---------------------------------------------------------------------------------

    @property
    def time(self) -> int:
        """Stream time (Kafka Streams) or the watermark (Flink)."""
        return self.stream_time if self.kafka else self.watermark

    def open_windows(self) -> int:
        return len(self.cells)

    def counts(self) -> dict[str, int]:
        return {"taken": self.taken, "in_window": self.in_window, "late_dropped": self.late_dropped,
                "side_output": self.side_output, "unassigned": self.unassigned,
                "dropped_records": self.dropped_records, "updated_closed": self.updated_closed,
                "emitted": self.emitted, "null_key": self.null_key, "open_windows": len(self.cells)}

    # -- input -----------------------------------------------------------------------------------

    def process(self, key: str | None, ts: int, v: float, split: int = 0, now_ms: int = 0) -> None:
        self.taken += 1
        if key is None:
            # KStream*Aggregate.process: "Skipping record due to null key" (dropped-records);
            # Flink's keyBy cannot key a null either: counted the same way
            self.null_key += 1
            self.dropped_records += 1
            return
        kind = self.spec.kind
        if self.kafka:
            if ts > self.stream_time:
                self.stream_time = ts
            if kind == "session":
                self._kafka_session(key, ts, v)
            elif kind == "sliding":
                self._kafka_sliding(key, ts, v)
            else:
                self._kafka_time(key, ts, v)
        else:
            self.wm_gens[split].on_event(ts)
            self.last_event_ms[split] = now_ms
            if self.valve.idle[split]:
                self.valve.input_idle(split, False)  # an event makes the split active again
            if kind == "session":
                self._flink_session(key, ts, v)
            else:
                self._flink_time(key, ts, v)

    def process_many(self, keys: list, timestamps: list, values: list) -> None:
        """``process`` for many records; tumbling and hopping windows take an inlined loop (the
        same rules as _kafka_time / _flink_time, written out for speed); the rest go one by one."""
        s = self.spec
        if s.kind == "tumbling" and s.emit == "close" and self.kafka and len(keys) >= 256:
            self._kafka_tumbling_columns(keys, timestamps, values)
            return
        if s.kind not in ("tumbling", "hopping") or s.emit == "update" or not self.kafka:
            for key, ts, v in zip(keys, timestamps, values, strict=True):
                self.process(key, ts, v)
            return
        size, adv, grace = s.size_ms, self.advance, s.grace_ms
        cells, heap, push = self.cells, self.heap, heapq.heappush
        st = self.stream_time
        next_close = heap[0][0] if heap else 2**63
        taken = in_window = late = unassigned = dropped = null_key = 0
        for key, ts, v in zip(keys, timestamps, values, strict=True):
            taken += 1
            if key is None:
                null_key += 1
                continue
            if ts > st:
                st = ts
            close = st - grace
            if ts < 0:
                unassigned += 1
                continue
            if adv == size:  # tumbling: one window, [ts - ts % size, + size)
                start = ts - ts % size
                end = start + size
                if end <= close:
                    dropped += 1
                    late += 1
                    continue
                k = (key, start, end)
                cell = cells.get(k)
                if cell is None:
                    cells[k] = [1, v, v, v, ts]
                    push(heap, (end, key, start, end))
                    if end < next_close:
                        next_close = end
                else:
                    cell[0] += 1
                    cell[1] += v
                    if v < cell[2]:
                        cell[2] = v
                    if v > cell[3]:
                        cell[3] = v
                    if ts > cell[4]:
                        cell[4] = ts
                in_window += 1
                if next_close <= close:
                    next_close = self._close_until(close, st)
                continue
            ok = False
            start = (max(0, ts - size + adv) // adv) * adv
            while start <= ts:
                end = start + size
                if end > close:
                    k = (key, start, end)
                    cell = cells.get(k)
                    if cell is None:
                        cells[k] = [1, v, v, v, ts]
                        push(heap, (end, key, start, end))
                        if end < next_close:
                            next_close = end
                    else:
                        cell[0] += 1
                        cell[1] += v
                        if v < cell[2]:
                            cell[2] = v
                        if v > cell[3]:
                            cell[3] = v
                        if ts > cell[4]:
                            cell[4] = ts
                    ok = True
                else:
                    dropped += 1
                start += adv
            if ok:
                in_window += 1
            else:
                late += 1
            if next_close <= close:
                next_close = self._close_until(close, st)
        self.stream_time = st
        self.taken += taken
        self.in_window += in_window
        self.late_dropped += late
        self.unassigned += unassigned
        self.dropped_records += dropped + null_key
        self.null_key += null_key

    # -- Kafka Streams ---------------------------------------------------------------------------

    def _kafka_time(self, key: str | None, ts: int, v: float) -> None:
        size, grace = self.spec.size_ms, self.spec.grace_ms
        close = self.stream_time - grace
        windows = win.kafka_time_windows_for(ts, size, self.advance) if self.advance != size else (
            [((ts // size) * size, (ts // size) * size + size)] if ts >= 0 else [])
        if not windows:
            self.unassigned += 1
            return
        taken = False
        cells = self.cells
        for start, end in windows:
            if end > close:
                k = (key, start, end)
                cell = cells.get(k)
                if cell is None:
                    cells[k] = cell = _new(v, ts)
                    heapq.heappush(self.heap, (end, key, start, end))
                else:
                    _add(cell, v, ts)
                taken = True
                if self.spec.emit == "update":
                    self._emit(key, start, end, cell, cell[4], False)
            else:
                self.dropped_records += 1
        if taken:
            self.in_window += 1
        else:
            self.late_dropped += 1
        self._kafka_close(close, lambda end, c: end <= c)

    def _kafka_tumbling_columns(self, keys: list, timestamps: list, values: list) -> None:
        """Kafka Streams tumbling windows, emit on close, for a batch, column-wise (numpy): the
        same rules as _kafka_time record by record. Stream time is the running max of the
        timestamps; a record lands in its window iff that window's end > its stream time - grace;
        the landed records are grouped by (key, window) in arrival order and merged into the
        state; then the windows closed by the batch's last stream time are emitted in (end, key)
        order, which is the order the record-by-record path emits them in (a window created
        later always ends after every window already closed). Sums are added per batch, so a
        float sum may differ from strictly sequential addition in its last bits."""
        size, grace = self.spec.size_ms, self.spec.grace_ms
        n = len(keys)
        codes_of, names = self._codes, self._names
        get = codes_of.get
        code_list = [get(k, -2) for k in keys]  # None is in codes_of as -1
        if -2 in code_list:
            for i, c in enumerate(code_list):
                if c == -2:
                    k = keys[i]
                    c = code_list[i] = codes_of.get(k, -2)
                    if c == -2:
                        c = code_list[i] = codes_of[k] = len(names)
                        names.append(k)
        codes = np.array(code_list, dtype=np.int64)
        ts = np.array(timestamps, dtype=np.int64)
        vals = np.array(values, dtype=np.float64)
        null = codes < 0
        # a null-key record is skipped before it can advance stream time (KStreamWindowAggregate)
        st = np.maximum.accumulate(np.maximum(np.where(null, stime.LONG_MIN, ts), self.stream_time))
        negative = (ts < 0) & ~null
        start = ts - ts % size
        ok = ~null & ~negative & (start + size > st - grace)
        n_null, n_neg, n_ok = int(null.sum()), int(negative.sum()), int(ok.sum())
        late = n - n_null - n_neg - n_ok
        self.taken += n
        self.null_key += n_null
        self.unassigned += n_neg
        self.in_window += n_ok
        self.late_dropped += late
        self.dropped_records += late + n_null
        self.stream_time = int(st[-1])
        if n_ok:
            codes, ts, vals, start = codes[ok], ts[ok], vals[ok], start[ok]
            gid = (start // size) * len(names) + codes if len(names) else codes
            order = np.argsort(gid, kind="stable")
            g = gid[order]
            idx = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1])))
            counts = np.diff(np.append(idx, len(g))).tolist()
            sv, tv = vals[order], ts[order]
            sums = np.add.reduceat(sv, idx).tolist()
            mins = np.minimum.reduceat(sv, idx).tolist()
            maxs = np.maximum.reduceat(sv, idx).tolist()
            maxts = np.maximum.reduceat(tv, idx).tolist()
            starts = start[order][idx].tolist()
            gcodes = codes[order][idx].tolist()
            cells, heap, push = self.cells, self.heap, heapq.heappush
            for i in range(len(idx)):
                key, st0 = names[gcodes[i]], starts[i]
                k = (key, st0, st0 + size)
                cell = cells.get(k)
                if cell is None:
                    cells[k] = [counts[i], sums[i], mins[i], maxs[i], maxts[i]]
                    push(heap, (st0 + size, key, st0, st0 + size))
                else:
                    cell[0] += counts[i]
                    cell[1] += sums[i]
                    cell[2] = min(cell[2], mins[i])
                    cell[3] = max(cell[3], maxs[i])
                    cell[4] = max(cell[4], maxts[i])
        self._close_until(self.stream_time - grace, self.stream_time)

    def _close_until(self, close: int, stream_time: int) -> int:
        """Emit (on window close) and forget the time windows with end <= close; the next end."""
        self.stream_time = stream_time
        heap, cells = self.heap, self.cells
        while heap and heap[0][0] <= close:
            _, key, start, end = heapq.heappop(heap)
            cell = cells.pop((key, start, end), None)
            if cell is not None:
                self._emit(key, start, end, cell, cell[4], True)
        return heap[0][0] if heap else 2**63

    def _kafka_close(self, close: int, closed) -> None:  # noqa: ANN001
        """Windows that closed: emitted once (on-window-close) and dropped from the state."""
        heap, cells, final = self.heap, self.cells, self.spec.emit == "close"
        while heap and closed(heap[0][0], close):
            _, key, start, end = heapq.heappop(heap)
            k = (key, start, end)
            cell = cells.pop(k, None)
            if cell is not None and final:
                self._emit(k[0], start, end, cell, cell[4] if self.spec.kind != "session" else end, True)

    def _kafka_session(self, key: str | None, ts: int, v: float) -> None:
        gap, grace = self.spec.gap_ms, self.spec.grace_ms
        live = self.sessions.setdefault(key, [])
        merged, replaced = win.kafka_session_merge(live, ts, gap)
        close = self.stream_time - grace - gap
        if merged[1] < close:
            self.dropped_records += 1
            self.late_dropped += 1
        else:
            cell = _new(v, ts)
            for s in replaced:
                old = self.cells.pop((key, s[0], s[1]))
                live.remove(s)
                cell = _merge(cell, old)
                if self.spec.emit == "update" and s != merged:
                    self._emit(key, s[0], s[1], old, s[1], False, tombstone=True)
            self.cells[(key, merged[0], merged[1])] = cell
            live.append(merged)
            heapq.heappush(self.heap, (merged[1], key, merged[0], merged[1]))
            self.in_window += 1
            if self.spec.emit == "update":
                self._emit(key, merged[0], merged[1], cell, merged[1], False)
        # sessions are emitted (on close) and forgotten once end < close time
        heap, cells = self.heap, self.cells
        while heap and heap[0][0] < close:
            _, kk, start, end = heapq.heappop(heap)
            cell = cells.pop((kk, start, end), None)
            if cell is None:
                continue  # merged away since
            self.sessions[kk].remove((start, end))
            if self.spec.emit == "close":
                self._emit(kk, start, end, cell, end, True)

    def _kafka_sliding(self, key: str | None, ts: int, v: float) -> None:
        """KStreamSlidingWindowAggregate, by its definition (windows.kafka_sliding_windows): the
        record's windows are recomputed from the key's records still inside the grace horizon.
        A record whose right window [ts, ts + d] (as the processor checks it) has closed is
        dropped; updates are forwarded for every window the record lands in."""
        d, grace = self.spec.size_ms, self.spec.grace_ms
        close = self.stream_time - grace
        if ts < 0:
            self.unassigned += 1
            return
        if ts + d < close:
            self.dropped_records += 1
            self.late_dropped += 1
            return
        recs = self.sliding_ts.setdefault(key, [])
        recs.append((ts, v))
        horizon = close - 2 * d - 1
        if recs[0][0] < horizon:
            recs[:] = [r for r in recs if r[0] >= horizon]
        self.in_window += 1
        values = dict()
        for t, x in recs:
            values.setdefault(t, []).append(x)
        windows = win.kafka_sliding_windows([t for t, _ in recs], d)
        for (start, end), inside in windows.items():
            if not start <= ts <= end or end < close:
                continue
            cell = None
            for t in sorted(set(inside)):
                for x in values[t]:
                    cell = _new(x, t) if cell is None else (_add(cell, x, t) or cell)
            k = (key, start, end)
            if k not in self.cells:
                heapq.heappush(self.heap, (end, key, start, end))
            self.cells[k] = cell  # type: ignore[assignment]
            if self.spec.emit == "update":
                self._emit(key, start, end, cell, cell[4], False)  # type: ignore[index]
        self._kafka_close(close, lambda end, c: end < c)

    # -- Flink -----------------------------------------------------------------------------------

    def _flink_time(self, key: str | None, ts: int, v: float) -> None:
        s = self.spec
        if s.kind == "tumbling":
            windows = win.flink_tumbling_windows_for(ts, s.size_ms, s.offset_ms)
        else:
            windows = win.flink_sliding_windows_for(ts, s.size_ms, self.advance, s.offset_ms)
        if not windows:
            self.unassigned += 1
            return
        wm, lateness = self.watermark, s.allowed_lateness_ms
        skipped = True
        for start, end in windows:
            if stime.flink_window_late(end, wm, lateness):
                continue
            skipped = False
            k = (key, start, end)
            cell = self.cells.get(k)
            if cell is None:
                self.cells[k] = cell = _new(v, ts)
                heapq.heappush(self.heap, (end - 1, key, start, end))
            else:
                _add(cell, v, ts)
            if stime.flink_fires(end, wm):  # EventTimeTrigger.onElement: late firing
                self.updated_closed += 1
                self.fired.add(k)  # no timer is registered: it fired already
                self._emit(key, start, end, cell, end - 1, True, late=True)
        self._flink_account(ts, skipped)

    def _flink_account(self, ts: int, skipped: bool) -> None:
        if not skipped:
            self.in_window += 1
        elif stime.flink_element_late(ts, self.watermark, self.spec.allowed_lateness_ms):
            if self.spec.side_output:
                self.side_output += 1
            else:
                self.late_dropped += 1
        else:
            self.unassigned += 1

    def _flink_session(self, key: str | None, ts: int, v: float) -> None:
        """WindowOperator's merging path: MergingWindowSet.addWindow merges the new window
        (ts, ts + gap) with the key's live windows (TimeWindow.mergeWindows); a late merged
        window is retired; else the element is added and the trigger asked."""
        s = self.spec
        new = win.flink_session_window_for(ts, s.gap_ms)
        live = self.sessions.setdefault(key, [])
        groups = win.flink_merge_windows([*live, new])
        merged, members = next((g, m) for g, m in groups if new in m)
        if stime.flink_window_late(merged[1], self.watermark, s.allowed_lateness_ms):
            self._flink_account(ts, True)
            return
        cell = _new(v, ts)
        for m in members:
            if m in live:
                live.remove(m)
                old = self.cells.pop((key, m[0], m[1]), None)
                if old is not None:
                    cell = _merge(cell, old)
                self.fired.discard((key, m[0], m[1]))
        live.append(merged)
        self.cells[(key, merged[0], merged[1])] = cell
        heapq.heappush(self.heap, (merged[1] - 1, key, merged[0], merged[1]))
        if stime.flink_fires(merged[1], self.watermark):
            self.updated_closed += 1
            self.fired.add((key, merged[0], merged[1]))
            self._emit(key, merged[0], merged[1], cell, merged[1] - 1, True, late=True)
        self._flink_account(ts, False)

    def periodic_emit(self, now_ms: int | None = None) -> int:
        """The watermark generators' periodic emit: each split's watermark is its max ts - delay
        - 1; a split without events for idle_timeout_ms of processing time is marked idle
        (WatermarksWithIdleness); the valve takes the min over active splits (a split that never
        had a record holds it at Long.MIN_VALUE: the stalled watermark). The operator's
        watermark moves to it (never back); event-time timers up to it fire
        (EventTimeTrigger.onEventTime at maxTimestamp) and windows past cleanup are cleared."""
        idle_after = self.spec.idle_timeout_ms
        valve = self.valve
        for i, gen in enumerate(self.wm_gens):
            if idle_after and now_ms is not None and not valve.idle[i] and (
                    now_ms - max(self.last_event_ms[i], 0) >= idle_after):
                valve.input_idle(i)
            elif not valve.idle[i]:
                valve.input_watermark(i, gen.current())
        if valve.output > self.watermark:
            self.advance_watermark(valve.output)
        return self.watermark

    def advance_watermark(self, mark: int) -> None:
        if mark <= self.watermark:
            return
        self.watermark = mark
        lateness, heap, cells = self.spec.allowed_lateness_ms, self.heap, self.cells
        while heap and heap[0][0] <= mark:
            t, k, start, end = heapq.heappop(heap)
            key = k
            cell = cells.get((key, start, end))
            if cell is None:
                continue  # merged into another session, or cleared
            wk = (key, start, end)
            if t == end - 1 and wk not in self.fired:  # the on-time firing
                self.fired.add(wk)
                self._emit(key, start, end, cell, end - 1, True)
            if stime.flink_cleanup_time(end, lateness) <= mark:
                del cells[wk]
                self.fired.discard(wk)
                if self.spec.kind == "session":
                    self.sessions[key].remove((start, end))
            else:
                heapq.heappush(heap, (stime.flink_cleanup_time(end, lateness), k, start, end))

    # -- output ----------------------------------------------------------------------------------

    def _emit(self, key: str | None, start: int, end: int, cell: list, ts: int, final: bool, *,
              late: bool = False, tombstone: bool = False) -> None:
        self.emitted += 1
        self.out.append(Result(key, start, end, cell[0], None if tombstone else _value(self.agg, cell), ts, final,
                               late, tombstone))

    def drain(self) -> list[Result]:
        out, self.out = self.out, []
        return out
