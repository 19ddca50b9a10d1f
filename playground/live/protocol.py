"""The live wire format, version 1: the one place that knows what goes over the websocket.

Server messages are built here and serialised once to compact JSON text, then handed to the
channel layer as text: every viewer of a room receives the same string (a frame is never
serialised once per viewer). Client messages are parsed here into small typed records, or
refused with a ProtocolError whose code and message name the problem.

Frames stay bounded whatever the simulated rate: the engine reports flow (produce, fetch,
process, commit) per batch, and a frame keeps a deterministic, evenly spread sample of at most
MAX_FLOW_EVENTS of them, plus at most MAX_OTHER_EVENTS of each other kind; ``sampled`` says how
many of each kind there were in all.

Frames carry only the metrics that changed since the previous frame (``"delta": true``; issue 19:
most of a frame's metrics did not change, and encoding them was a quarter of the server's CPU):
top-level fields whose value changed, and per node only the fields of its state that changed.
The browser merges them into what it holds (``static/src/live/view.js``). Seq numbers have no
gaps, and a viewer that misses a frame gets a snapshot (complete metrics) before any further
frame, so a delta always applies to the frame before it. A frame is complete (no ``delta``)
after a snapshot of a new run, and whenever a field disappeared (a merge cannot remove one).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from playground import engine

PROTOCOL_VERSION = 1

ROOM_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")

# Kinds that come in bulk (per batch, per retry): an evenly spaced sample is animated, all counted.
# (declared by each system in the engine: engine.flow_kinds())
FLOW_KINDS = engine.flow_kinds()
MAX_FLOW_EVENTS = 150
MAX_OTHER_EVENTS = 40
# Frames carry only the newest entries of a node's lists; the browser merges them, and a
# snapshot carries the whole lists for a late joiner.
# (the lists each node type declares as histories: engine.history_keys())
HISTORY_KEYS = engine.history_keys()
FRAME_HISTORY = {"recent": 10}  # a dead-letter store's newest entries
FRAME_HISTORY_DEFAULT = 3
TIME_KEYS = ("t", "due", "expires", "started", "ended")
# What a dot needs: which edge (src -> dst), when, how many, and its colour (partition or key).
FLOW_FIELDS = ("k", "t", "src", "dst", "n", "p", "key")

# A load message carries a whole document, which the engine accepts up to 256 KiB
# (engine.MAX_DOCUMENT_BYTES); leave room for the envelope so every valid document can be sent.
MAX_MESSAGE_BYTES = 256 * 1024 + 4 * 1024

# Wall time, only for the ``ts`` latency stamp of frames; tests may replace it.
wall_time = time.time

MIN_SPEED = 0.1
MAX_SPEED = 100.0

CONTROL_ACTIONS = ("run", "pause", "step", "reset", "speed")

ErrorCode = Literal[
    "bad_message",
    "unknown_type",
    "invalid_document",
    "read_only",
    "bad_command",
    "no_simulation",
    "room_full",
    "rate_limited",
]


def is_room_id(room: object) -> bool:
    return isinstance(room, str) and ROOM_PATTERN.fullmatch(room) is not None


def group_name(room: str) -> str:
    """The channel-layer group of a room's viewers: the only place this name is made."""
    if not is_room_id(room):
        raise ValueError(f"not a room id: {room!r}")
    return f"live.room.{room}"


def dumps(obj: Any) -> str:
    """Compact JSON text; the only serialiser for anything sent to a browser."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# Server -> client ---------------------------------------------------------------------------


def hello(room: str, *, state: dict[str, Any], seq: int, controller: bool) -> str:
    """Sent on connect to a room that has no simulation yet."""
    return dumps(
        {
            "v": PROTOCOL_VERSION,
            "type": "hello",
            "room": room,
            "seq": seq,
            "state": state,
            "controller": controller,
        }
    )


def snapshot_body(
    *,
    room: str,
    seq: int,
    t: float,
    document: dict[str, Any],
    state: dict[str, Any],
    metrics: dict[str, Any],
    recent: dict[str, list[Any]],
) -> str:
    """A snapshot without its ``controller`` field: built once, completed per viewer.

    Whether the receiver holds the controls differs between viewers of one room, so the text is
    serialised once and ``with_controller`` appends the one field that differs.
    """
    return dumps(
        {
            "v": PROTOCOL_VERSION,
            "type": "snapshot",
            "seq": seq,
            "t": t,
            "room": room,
            "document": document,
            "state": state,
            "metrics": metrics,
            "recent": recent,
        }
    )


def with_controller(body: str, controller: bool) -> str:
    """Append ``"controller": <bool>`` to a serialised JSON object without parsing it again."""
    if not body.endswith("}"):
        raise ValueError("not a serialised JSON object")
    return body[:-1] + (',"controller":true}' if controller else ',"controller":false}')


def frame(
    *,
    seq: int,
    t: float,
    events: list[dict[str, Any]],
    metrics: dict[str, Any],
    state: dict[str, Any],
    sampled: dict[str, int],
    ts: float | None = None,
    delta: bool = False,
) -> str:
    """One tick's frame. ``state.ts`` is the server's wall clock (Unix seconds) when the frame
    was built, for measuring tick-to-client latency; browsers do not depend on it (clocks
    differ between machines). ``delta``: ``metrics`` holds only what changed (``metrics_delta``)."""
    body = {
        "v": PROTOCOL_VERSION,
        "type": "frame",
        "seq": seq,
        "t": t,
        "events": events,
        "metrics": metrics,
        "state": {**state, "ts": round(wall_time() if ts is None else ts, 3)},
        "sampled": sampled,
    }
    if delta:
        body["delta"] = True
    return dumps(body)


SET = "$set"  # a delta's value that replaces (a dict that lost keys cannot be merged into)
LIST = "$list"  # a delta of a list of the same length: {index: delta of that element}


def metrics_delta(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any] | None:
    """What changed from ``previous`` to ``current`` (both as ``frame_metrics`` returns them),
    for a browser that holds ``previous``; None when only a complete frame will do.

    Recursive, and only into what changed (equal branches are skipped at C speed): a dict
    carries its changed keys (merged into the held dict), a list of the same length
    of dicts ``{"$list": {"i": delta}}`` (a topic's partitions: the fields that moved), anything
    else its new value; a dict that lost keys is sent whole as ``{"$set": value}``.
    """
    if previous is None:
        return None
    delta = _delta(previous, current)
    if isinstance(delta, dict) and SET in delta:
        return None
    return delta


def _delta(before: Any, after: Any) -> Any:
    if isinstance(after, dict):
        if not isinstance(before, dict):
            return {SET: after}
        if any(key not in after for key in before):
            return {SET: after}
        return {
            key: (_delta(before[key], value) if key in before else value)
            for key, value in after.items()
            if key not in before or before[key] != value
        }
    if (
        isinstance(after, list)
        and isinstance(before, list)
        and len(before) == len(after)
        and after
        and isinstance(after[0], dict)
    ):
        return {LIST: {str(i): _delta(b, a) for i, (b, a) in enumerate(zip(before, after, strict=True)) if b != a}}
    return after


def notice(code: str, message: str) -> str:
    """A transient message for every viewer outside the frame sequence (e.g. ``resumed``)."""
    return dumps({"v": PROTOCOL_VERSION, "type": "notice", "code": code, "message": message})


def _round_times(record: dict[str, Any]) -> dict[str, Any]:
    """Simulated times to 0.1 ms: 17-digit floats would be a third of a frame's bytes."""
    out = dict(record)
    for key in TIME_KEYS:
        value = out.get(key)
        if isinstance(value, float):
            out[key] = round(value, 4)
    return out


def frame_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics as a frame carries them: every counter, only the newest list entries."""
    nodes = {}
    for node_id, state in metrics.get("nodes", {}).items():
        lists = HISTORY_KEYS.intersection(state)
        if lists:
            newest = {key: state[key][-FRAME_HISTORY.get(key, FRAME_HISTORY_DEFAULT):] for key in lists}
            state = dict(state, **{key: [_round_times(e) for e in entries] for key, entries in newest.items()})
        nodes[node_id] = state
    return dict(metrics, t=round(metrics.get("t", 0.0), 4), nodes=nodes)


def error(code: ErrorCode, message: str, errors: list[dict[str, str]] | None = None) -> str:
    body: dict[str, Any] = {
        "v": PROTOCOL_VERSION,
        "type": "error",
        "code": code,
        "message": message,
    }
    if errors is not None:
        body["errors"] = errors
    return dumps(body)


def sample_events(
    events: list[dict[str, Any]],
    *,
    max_flow: int = MAX_FLOW_EVENTS,
    max_other: int = MAX_OTHER_EVENTS,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Bound one tick's events; return ``(kept, totals by kind)``. Deterministic, order kept.

    Flow events (engine.flow_kinds()) are what the browser animates: only those that move along
    an edge (they carry ``src`` and ``dst``) are sent, with just the fields a dot needs, and they
    share ``max_flow`` slots fairly between kinds (a kind with few events keeps them all, the rest
    is split between the busy ones), each kind keeping an evenly spaced sample so the animation
    spreads over the whole tick. The others (a commit, a retry scheduled) are only counted.
    Other kinds keep their first ``max_other`` events: those are rare and meaningful (a
    rebalance, a dead letter).
    """
    totals = Counter(e.get("k", "?") for e in events)
    moving = Counter(e["k"] for e in events if e.get("k") in FLOW_KINDS and "src" in e and "dst" in e)
    quota = _fair_shares(dict(moving), max_flow)
    # Which ordinal of its kind each kept flow event has: evenly spaced over the kind's events.
    keep_ordinals: dict[str, set[int] | None] = {}
    for kind, share in quota.items():
        count = moving[kind]
        keep_ordinals[kind] = None if share >= count else {(i * count) // share for i in range(share)}
    seen: Counter[str] = Counter()
    kept: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("k", "?")
        if kind in FLOW_KINDS:
            if kind not in keep_ordinals or "src" not in event or "dst" not in event:
                continue
            ordinal = seen[kind]
            seen[kind] += 1
            chosen = keep_ordinals[kind]
            if chosen is None or ordinal in chosen:
                kept.append(_round_times({f: event[f] for f in FLOW_FIELDS if f in event}))
        else:
            ordinal = seen[kind]
            seen[kind] += 1
            if ordinal < max_other:
                kept.append(_round_times(event))
    return kept, dict(totals)


def _fair_shares(counts: dict[str, int], budget: int) -> dict[str, int]:
    """Water-filling: the smallest demands are met in full, the rest split what remains."""
    shares: dict[str, int] = {}
    remaining = budget
    pending = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    while pending:
        fair = remaining // len(pending)
        kind, count = pending[0]
        if count <= fair:
            shares[kind] = count
            remaining -= count
            pending.pop(0)
            continue
        # Every remaining kind wants more than its fair share: split evenly, leftovers first.
        extra = remaining - fair * len(pending)
        for i, (kind, _count) in enumerate(pending):
            shares[kind] = fair + (1 if i < extra else 0)
        break
    return shares


# Client -> server ---------------------------------------------------------------------------


class ProtocolError(ValueError):
    """A client message was refused; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        self.code: ErrorCode = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Load:
    document: dict[str, Any]
    seed: int | None = None


@dataclass(frozen=True)
class Control:
    action: str
    value: float | None = None


@dataclass(frozen=True)
class Command:
    command: dict[str, Any]


@dataclass(frozen=True)
class Resync:
    pass


@dataclass(frozen=True)
class Ack:
    """The client holds every message up to ``seq``: the server's flow control for slow viewers."""

    seq: int


ClientMessage = Load | Control | Command | Resync | Ack

MAX_SEED = 2**63 - 1


def parse_client_message(text: str | bytes | None) -> ClientMessage:
    """Parse one websocket text frame from a browser, or raise ProtocolError naming the problem."""
    if not isinstance(text, str):
        raise ProtocolError("bad_message", "messages must be JSON text frames, not binary")
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "bad_message", f"message is over the limit of {MAX_MESSAGE_BYTES:,} bytes"
        )
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ProtocolError("bad_message", f"message is not valid JSON: {detail}") from None
    except RecursionError:
        raise ProtocolError("bad_message", "message is nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", 'message must be a JSON object with a "type"')
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", 'field "type" is missing or not text')
    if kind == "load":
        return _parse_load(data)
    if kind == "control":
        return _parse_control(data)
    if kind == "command":
        return _parse_command(data)
    if kind == "resync":
        return Resync()
    if kind == "ack":
        seq = data.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEED:
            raise ProtocolError("bad_message", 'field "seq" must be a whole number from 0 to 2**63-1')
        return Ack(seq=seq)
    raise ProtocolError(
        "unknown_type",
        f"unknown message type {kind[:40]!r}; known types: load, control, command, resync, ack",
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _parse_load(data: dict[str, Any]) -> Load:
    document = data.get("document")
    if not isinstance(document, dict):
        raise ProtocolError("bad_message", 'field "document" must be a topology document object')
    seed = data.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise ProtocolError("bad_message", 'field "seed" must be a whole number from 0 to 2**63-1')
    return Load(document=document, seed=seed)


def _parse_control(data: dict[str, Any]) -> Control:
    action = data.get("action")
    if action not in CONTROL_ACTIONS:
        raise ProtocolError(
            "bad_message",
            'field "action" must be one of ' + ", ".join(CONTROL_ACTIONS),
        )
    if action != "speed":
        return Control(action=action)
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError("bad_message", 'field "value" must be a number for action "speed"')
    if not MIN_SPEED <= value <= MAX_SPEED:
        raise ProtocolError(
            "bad_message", f'field "value": speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}'
        )
    return Control(action="speed", value=float(value))


def _parse_command(data: dict[str, Any]) -> Command:
    command = data.get("command")
    if not isinstance(command, dict):
        raise ProtocolError("bad_message", 'field "command" must be an object with an "op"')
    if not isinstance(command.get("op"), str):
        raise ProtocolError("bad_message", 'field "command.op" is missing or not text')
    # Which ops exist and what they need is the engine's business (sim.apply -> bad_command).
    return Command(command=command)
