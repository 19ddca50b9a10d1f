"""Every Redis name of the scaled mode, in one place. ``P`` is ``FANOUT_REDIS_PREFIX`` ("fanout").

Per room (``<room>`` is a room id, ``[A-Za-z0-9_-]{8,64}``):

``P:room:<room>:frames``      pub/sub channel. The worker PUBLISHes each message for the room's
                              viewers ONCE, as the JSON text a browser receives:
                              - ``{"v":1,"type":"frame","seq":N,...}``: forward as is;
                              - ``{"v":1,"type":"snapshot","seq":N,...}`` (after load/reset/resume):
                                lacks the per-viewer ``controller`` field, complete it with
                                ``protocol.with_controller(text, is_controller)``;
                              - ``{"v":1,"type":"notice",...}`` (no seq; e.g. code "resumed"):
                                forward as is.
                              ``published_kind(text)`` reads type and seq off the first bytes.
``P:room:<room>:snapshot``    string: the latest snapshot body (SET after every published
                              message, so its seq is the last frame's), for late joiners and
                              resyncs. Missing = no simulation loaded.
``P:room:<room>:control``     stream: what viewers ask of the room. Daphne XADDs
                              ``{"kind": load|control|command, "body": <json>, "reply": <key>}``;
                              the worker XREADs it between ticks, applies each entry in order and
                              LPUSHes ``{"ok": true}`` or ``{"error": code, "message": ...}`` to
                              the ``reply`` key (``P:reply:<uuid>``, expires after a minute).
``P:room:<room>:lease``       string with TTL (``FANOUT_LEASE_SECONDS``): the id of the worker
                              running the room, refreshed several times a lease. Missing while
                              the room is in ``P:rooms`` = its worker died: the watchdog resumes it.
``P:room:<room>:starting``    string with TTL: a start (or resume) task is queued; stops the
                              watchdog and other Daphnes from queueing another.
``P:room:<room>:checkpoint``  hash: ``document``, ``seed``, ``engine`` (an engine snapshot, bytes),
                              ``engine_t``, ``progress`` (json: seq, t, tick, running, speed,
                              control id of the last applied control), ``commands`` (json list of
                              ``[t, command]`` applied since ``engine``).
``P:room:<room>:watched``     string with TTL: refreshed by every Daphne process that has viewers
                              of the room; a room unwatched for ``UNWATCHED_GRACE`` is stopped.

Fleet:

``P:rooms``                   set: rooms that must be running (added before the first task is
                              queued, removed when the room stops for good).
``P:workers``                 set of worker ids; ``P:worker:<id>`` (string with TTL) holds the
                              number of room slots of a live worker. Capacity = their sum.
"""

from __future__ import annotations

import re

DEFAULT_PREFIX = "fanout"

_PUBLISHED = re.compile(r'\{"v":\d+,"type":"([a-z_]+)"(?:,"seq":(\d+))?')


def _prefix(prefix: str | None) -> str:
    if prefix is not None:
        return prefix
    from playground.live.scaled import conf

    return conf.prefix()


def frames(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:frames"


def snapshot(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:snapshot"


def control(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:control"


def lease(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:lease"


def starting(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:starting"


def checkpoint(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:checkpoint"


def watched(room: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:room:{room}:watched"


def room_keys(room: str, prefix: str | None = None) -> list[str]:
    """Every stored key of a room (not the pub/sub channel), to delete it when it stops."""
    return [
        snapshot(room, prefix),
        control(room, prefix),
        lease(room, prefix),
        starting(room, prefix),
        checkpoint(room, prefix),
        watched(room, prefix),
    ]


def reply(token: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:reply:{token}"


def rooms(prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:rooms"


def workers(prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:workers"


def worker(worker_id: str, prefix: str | None = None) -> str:
    return f"{_prefix(prefix)}:worker:{worker_id}"


def published_kind(text: str) -> tuple[str, int | None]:
    """``(type, seq)`` of a text published on ``frames``, read off its first bytes (no parse).

    Works because ``protocol.dumps`` keeps insertion order and every server message starts with
    ``v`` and ``type`` (and ``seq`` for frames and snapshots). ``("", None)`` if unrecognised.
    """
    match = _PUBLISHED.match(text, 0, 80)
    if match is None:
        return "", None
    seq = match.group(2)
    return match.group(1), int(seq) if seq is not None else None
