"""A topic's storage housekeeping during a run: the broker's retention task and log cleaner.

Kafka runs both on timers, not on append: ``LogManager.cleanupLogs`` every
``log.retention.check.interval.ms`` (first after 30 s) deletes segments past retention, and the
log cleaner thread picks the dirtiest compacted log above ``min.cleanable.dirty.ratio``, cleans
it and looks again, sleeping ``log.cleaner.backoff.ms`` when nothing qualifies. Here the cleaner
wakes every backoff and cleans each partition that qualifies, dirtiest first; a cleaning takes
no simulated time.

What they remove is accounted for. For a consumer group it is lost only if the group had not
read it yet: the group then fetches from the log start offset (auto.offset.reset=earliest) and
counts the skipped records as dropped with ``DROP_RETENTION``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from playground.engine.kafka.segments import LogConfig

if TYPE_CHECKING:
    from playground.engine.kafka.log import PartitionLog
    from playground.engine.simulation import Simulation

RETENTION_CHECK = 41
CLEANER_WAKE = 42
INITIAL_TASK_DELAY_S = 30.0  # LogManager.InitialTaskDelayMs

DROP_RETENTION = "retention deleted it before it was read"
DROP_COMPACTION = "compaction kept a newer record of its key instead, before it was read"
#: segments sent per topic in a frame, shared among its partitions (frames stay bounded)
SEGMENTS_PER_FRAME = 96


class TopicStorage:
    """Schedules and runs retention and cleaning for one topic's partition logs."""

    def __init__(self, topic: str, params: dict[str, Any]) -> None:
        self.topic = topic
        self.config = LogConfig.from_params(params)
        self.started = False

    def start(self, sim: Simulation) -> None:
        """Schedule the broker's housekeeping for this topic (on its first append)."""
        if self.started:
            return
        self.started = True
        config, now = self.config, sim.kernel.now
        if config.deletes and (config.retention_ms >= 0 or config.retention_bytes >= 0):
            period = config.retention_check_ms / 1000.0
            sim.kernel.schedule(_next_tick(min(INITIAL_TASK_DELAY_S, period), period, now), RETENTION_CHECK, self.topic)
        if config.compacts:
            period = config.cleaner_backoff_ms / 1000.0
            sim.kernel.schedule(_next_tick(period, period, now), CLEANER_WAKE, self.topic)

    def on_event(self, sim: Simulation, logs: list[PartitionLog], readers: list[str], kind: int) -> bool:
        """Handle a housekeeping event; False if ``kind`` is not one of ours."""
        now = sim.kernel.now
        if kind == RETENTION_CHECK:
            sim.kernel.schedule(now + self.config.retention_check_ms / 1000.0, RETENTION_CHECK, self.topic)
            for p, log in enumerate(logs):
                done = log.delete_old_segments(now)
                if done:
                    sim.emit({"k": "retention", "t": now, "topic": self.topic, "p": p, **done})
                    if not readers and done["records"]:
                        sim.emit({"k": "drop", "t": now, "reason": DROP_RETENTION, "n": done["records"],
                                  "node": self.topic, "topic": self.topic, "p": p})
            return True
        if kind == CLEANER_WAKE:
            sim.kernel.schedule(now + self.config.cleaner_backoff_ms / 1000.0, CLEANER_WAKE, self.topic)
            due = [(log.dirty_ratio(now), p) for p, log in enumerate(logs) if log.needs_cleaning(now)]
            for _, p in sorted(due, key=lambda item: (-item[0], item[1])):
                done = logs[p].clean(now)
                sim.emit({"k": "log_clean", "t": now, "topic": self.topic, "p": p, **done})
            return True
        return False

    def unread_stream(self, logs: list[PartitionLog]) -> dict[str, Any]:
        """Accounting of a topic nobody reads: what is still in the log waits; the rest was removed."""
        produced = sum(log.leo for log in logs)
        retention = sum(log.removed_by_retention for log in logs)
        compaction = sum(log.removed_by_compaction for log in logs)
        dropped = {}
        if retention:
            dropped[DROP_RETENTION] = retention
        if compaction:
            dropped[DROP_COMPACTION] = compaction
        return {"produced": produced, "acknowledged": 0, "in_flight": 0,
                "waiting": produced - retention - compaction, "dead_lettered": 0, "dropped": dropped}

    def partition_views(self, logs: list[PartitionLog], now: float) -> list[dict[str, Any]]:
        per = max(2, min(16, SEGMENTS_PER_FRAME // max(1, len(logs))))
        return [log.view(now, per) for log in logs]

    def summary(self, logs: list[PartitionLog]) -> dict[str, Any]:
        c = self.config
        return {"cleanup_policy": c.cleanup_policy, "segment_bytes": c.segment_bytes,
                "retention_ms": c.retention_ms, "retention_bytes": c.retention_bytes,
                "removed_by_retention": sum(log.removed_by_retention for log in logs),
                "removed_by_compaction": sum(log.removed_by_compaction for log in logs),
                "cleaner_runs": sum(log.cleaner_runs for log in logs)}


def _next_tick(first: float, period: float, now: float) -> float:
    """The broker's timers run from its start (t=0): the first tick of ``first + k * period`` after now."""
    if now < first:
        return first
    return first + (math.floor((now - first) / period) + 1) * period
