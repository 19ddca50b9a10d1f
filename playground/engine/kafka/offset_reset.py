"""Where a consumer group starts reading: auto.offset.reset, and offsets reset by an operator.

- auto.offset.reset (ConsumerConfig; SubscriptionState / OffsetFetcher.resetPositionsIfNeeded):
  a partition with no committed offset, or whose position is out of the log's range, starts at
  the log start ("earliest"), at the log end ("latest", Kafka's default), or makes poll() throw
  ("none": NoOffsetForPartitionException for a missing offset, OffsetOutOfRangeException for an
  offset out of range). Here the exception ends the application's poll loop: its process exits
  without closing the consumer, so the member is gone once its session times out, and the
  partitions' next owner fails the same way until an operator sets offsets.
- kafka-consumer-groups --reset-offsets (tools ConsumerGroupCommand.resetOffsets and
  prepareOffsetsToReset): only for a group that is inactive (state Empty or Dead; otherwise
  "Assignments can only be reset if the group '<id>' is inactive, but the current state is
  <state>."); --to-earliest (log start), --to-latest (log end), --to-datetime (the first offset
  whose timestamp is at or after t, ListOffsets by timestamp through the time index; a partition
  with no such record falls back to its log end), --by-duration (the same, t = now - duration),
  --shift-by N (committed + N; refused for a partition with no committed offset), --to-offset;
  shift-by and to-offset are clamped to [log start, log end] (checkOffsetsRange).
  Simplification: where the engine has already forgotten the per-record rows of a log (it keeps
  them from the oldest offset a group may read again, log.py), a time is found to the time
  index's precision: the entry's offset, at most index.interval.bytes of records before the one
  Kafka's scan would return (counted as ``approximate`` in the reset's record).

The books: records a reset or "latest" skips, that the group had not handled yet, are dropped
with DROP_RESET; records a reset moves back over are delivered again: duplicates, counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from playground.engine.component import CommandError, CommandSpec
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.kafka.group import GroupRuntime, Member
    from playground.engine.simulation import Simulation

TP = tuple[str, int]
POLICIES: Final = ("earliest", "latest", "none")
RESETS: Final = ("earliest", "latest", "datetime", "duration", "shift", "offset")
DROP_RESET: Final = "skipped: the group's offset was moved past it (offset reset or auto.offset.reset=latest)"
NO_OFFSET: Final = "NoOffsetForPartitionException"
OUT_OF_RANGE: Final = "OffsetOutOfRangeException"
ERRORS_KEPT: Final = 10
MAX_SHIFT: Final = 1 << 53
#: the reset commands that are buttons: op -> (what they reset to, the defaults of their values)
BUTTONS: Final[dict[str, tuple[str, dict[str, float]]]] = {
    "reset_to_latest": ("latest", {}),
    "reset_to_datetime": ("datetime", {"t": 0.0}),
    "reset_shift_by": ("shift", {"n": -100}),
    "reset_by_duration": ("duration", {"seconds": 30}),
}
#: the group's reset commands (GroupRuntime.commands) and their button labels
COMMANDS: Final[dict[str, str]] = {op: "cmd_reset_offsets" for op in ("reset_offsets", *BUTTONS)}
LABELS: Final[dict[str, str]] = {
    "reset_offsets": "Reset offsets to earliest", "reset_to_latest": "Reset offsets to latest",
    "reset_to_datetime": "Reset offsets to time t", "reset_shift_by": "Shift offsets by -100",
    "reset_by_duration": "Reset offsets to 30 s ago",
}
#: what the reset buttons carry besides op and node (the time of --to-datetime)
SPECS: Final[dict[str, CommandSpec]] = {
    "reset_to_datetime": CommandSpec(args=(Param(
        "t", "Reset to t =", "float", 0.0, "The simulated time to reset to: each partition's first offset whose "
        "timestamp is at or after it (--to-datetime)", min=0, unit="s"),)),
}


def group_state(known_members: int, rebalancing: bool, join_closed: bool) -> str:
    """The coordinator's state of a classic group (ClassicGroupState): Empty with no member it
    knows (a crashed member is known until its session times out), PreparingRebalance while it
    waits for joins, CompletingRebalance while the assignment is synced, else Stable."""
    if known_members == 0:
        return "Empty"
    if rebalancing:
        return "CompletingRebalance" if join_closed else "PreparingRebalance"
    return "Stable"


def check_inactive(group_id: str, state: str) -> None:
    """ConsumerGroupCommand.resetOffsets: only an Empty or Dead group's offsets may be reset."""
    if state not in ("Empty", "Dead"):
        raise CommandError(f"Assignments can only be reset if the group '{group_id}' is inactive, "
                           f"but the current state is {state}.")


def clamp(offset: int, log_start: int, log_end: int) -> int:
    """ConsumerGroupCommand.checkOffsetsRange: above the log end -> the log end; below the log
    start -> the log start."""
    if offset > log_end:
        return log_end
    return max(offset, log_start)


@dataclass(frozen=True)
class ResetSpec:
    """One --reset-offsets request: ``to`` in RESETS, with its value (a time in simulated
    seconds, a duration in seconds, a shift, an offset), and optionally one topic."""

    to: str
    value: float = 0.0
    topic: str | None = None


def _number(command: Mapping[str, Any], key: str, default: float | None, *, integer: bool = False,
            low: float = -MAX_SHIFT, high: float = MAX_SHIFT) -> float:
    value = command.get(key, default)
    if value is None:
        raise CommandError(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise CommandError(f"{key} must be a number")
    if integer and value != int(value):
        raise CommandError(f"{key} must be a whole number")
    if not low <= value <= high:
        raise CommandError(f"{key} must be from {low:g} to {high:g}")
    return float(value)


def parse_reset(command: Mapping[str, Any], now: float) -> ResetSpec:
    """The command's reset, checked: ``to`` and the field it needs (``t`` for datetime, in
    simulated seconds; ``seconds`` for duration; ``n`` for shift; ``offset`` for offset)."""
    to = command.get("to", "earliest")
    if to not in RESETS:
        raise CommandError(f"to must be one of {', '.join(RESETS)}, not {to!r}")
    topic = command.get("topic")
    if topic is not None and not isinstance(topic, str):
        raise CommandError("topic must be a topic id")
    value = 0.0
    if to == "datetime":
        value = _number(command, "t", None, low=0, high=1e12)
    elif to == "duration":
        value = now - _number(command, "seconds", None, low=0, high=1e12)
        to = "datetime"
    elif to == "shift":
        value = _number(command, "n", None, integer=True)
    elif to == "offset":
        value = _number(command, "offset", None, integer=True, low=0)
    return ResetSpec(to, value, topic)


def reset_target(spec: ResetSpec, committed: int | None, log_start: int, log_end: int,
                 offset_for_time: Callable[[float], int | None]) -> int:
    """ConsumerGroupCommand.prepareOffsetsToReset for one partition: the offset to commit.
    ``committed`` is None when the group has no committed offset for it; ``offset_for_time`` is
    ListOffsets by timestamp (the first offset with a timestamp at or after t, or None)."""
    if spec.to == "earliest":
        return log_start
    if spec.to == "latest":
        return log_end
    if spec.to == "datetime":
        found = offset_for_time(spec.value)
        return log_end if found is None else found  # "Partition is empty. Falling back to latest known offset."
    if spec.to == "shift":
        if committed is None:
            raise CommandError("Cannot shift offset for a partition since there is no current committed offset")
        return clamp(committed + int(spec.value), log_start, log_end)
    return clamp(int(spec.value), log_start, log_end)


def auto_reset_offset(policy: str, log_start: int, log_end: int) -> int | None:
    """auto.offset.reset for a partition without a valid position: earliest -> the log start,
    latest -> the log end, none -> None (poll() throws)."""
    if policy == "earliest":
        return log_start
    if policy == "latest":
        return log_end
    return None


# -- applying them to a group's books (GroupRuntime calls these) ----------------------------------

def skip_to(group: GroupRuntime, tp: TP, new: int) -> None:
    """The group's position and handled mark move to ``new``; the records skipped that it had
    not handled are dropped with DROP_RESET (markers and ranges already lost left out)."""
    handled = group.handled[tp]
    if new > handled:
        topic = group.sources[tp]
        skipped = new - handled - (topic.gap_ahead(group.id, tp[1], handled) - topic.gap_ahead(group.id, tp[1], new))
        if topic.transactional:
            skipped -= topic.markers_in(tp[1], handled, new)
        if skipped > 0:
            drops = group.dropped[tp[0]]
            drops[DROP_RESET] = drops.get(DROP_RESET, 0) + skipped
        group.handled[tp] = new
    group.position[tp] = new


def auto_reset(group: GroupRuntime, tp: TP) -> bool:
    """A partition with no committed offset gets its new owner: auto.offset.reset decides where
    it starts. False for "earliest" (the committed offset, 0, is the start of the log; a log
    start above it is found at the fetch, as OffsetOutOfRange)."""
    policy = group.offset_reset
    if policy == "earliest":
        return False
    log = group.sources[tp].logs[tp[1]]
    target = auto_reset_offset(policy, log.log_start, log.leo)
    if target is None:
        group.missing[tp] = NO_OFFSET
        group.position[tp] = group.committed[tp]
        return True
    skip_to(group, tp, target)
    return True


def fail_without_offset(group: GroupRuntime, sim: Simulation, member: Member) -> bool:
    """auto.offset.reset=none: poll() throws for a partition with no valid offset; the member's
    process exits (no LeaveGroup: gone at its session timeout). False when it has none such."""
    missing = [tp for tp in member.assigned if tp in group.missing]
    if not missing:
        return False
    error = group.missing[missing[0]]
    entry = {"t": sim.kernel.now, "member": member.id, "error": error,
             "partitions": [f"{t}/{p}" for t, p in missing]}
    group.offset_errors.append(entry)
    del group.offset_errors[:-ERRORS_KEPT]
    sim.emit({"k": "consumer_error", "t": sim.kernel.now, "g": group.id, "c": member.id, "error": error,
              "partitions": entry["partitions"]})
    group.kill_member(sim, member.id)
    return True


def reset_offsets(group: GroupRuntime, sim: Simulation, command: Mapping[str, Any]) -> None:
    """kafka-consumer-groups --reset-offsets --execute on this group (see the module docstring)."""
    known = sum(1 for m in group.members.values() if m.out != "left")
    check_inactive(group.id, group_state(known, group.state == "rebalancing", group.join_closed))
    button = BUTTONS.get(str(command.get("op")))
    if button is not None:
        command = {**button[1], **command, "to": button[0]}
    spec = parse_reset(command, sim.kernel.now)
    if spec.topic is not None and spec.topic not in group.topics:
        raise CommandError(f"group {group.id!r} reads no topic {spec.topic!r}")
    targets: dict[TP, int] = {}
    approximate: list[TP] = []  # --to-datetime answered at the time index's precision (see below)
    for tp in group.committed:
        if spec.topic is not None and tp[0] != spec.topic:
            continue
        log = group.sources[tp].logs[tp[1]]
        committed = None if tp in group.uncommitted else group.committed[tp]

        def offset_for_time(ts: float, log: Any = log, tp: TP = tp) -> int | None:
            found = log.lookup_time(ts)
            if found.get("approximate"):
                approximate.append(tp)
            return None if found.get("found") is None else max(int(found["found"]), log.log_start)

        targets[tp] = reset_target(spec, committed, log.log_start, log.leo, offset_for_time)
    moved = {}
    for tp, new in targets.items():
        moved[f"{tp[0]}/{tp[1]}"] = [group.committed[tp], new]
        group.committed[tp] = new
        group.uncommitted.discard(tp)
        group.missing.pop(tp, None)
        skip_to(group, tp, new)
    entry = {"t": sim.kernel.now, "to": spec.to, "value": spec.value if spec.to != "earliest" else None,
             "topic": spec.topic, "moved": sum(new - old for old, new in moved.values()), "partitions": len(moved),
             "approximate": len(approximate)}
    group.resets.append(entry)
    del group.resets[:-ERRORS_KEPT]
    sim.emit({"k": "offsets_reset", "t": sim.kernel.now, "g": group.id, "to": spec.to, "value": entry["value"],
              "offsets": moved})
