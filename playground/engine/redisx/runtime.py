"""Behaviour of the Redis publisher, Pub/Sub channel and subscriber, stream and dead-letter
stream during a run (the consumer group is in consumers.py)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.clients import poisson_tick
from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.redisx.ids import format_id, make_id, next_auto_id, parse_id
from playground.engine.redisx.pubsub import Subscription, deliveries, glob_match
from playground.engine.redisx.stream import StreamLog
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

TICK = 0.01  # the publisher's clock: Poisson arrivals are drawn per 10 ms
PUBLISH = 1
SUB_DONE = 1
SUB_DISCONNECT = 2
SUB_RECONNECT = 3
SUB_BATCH = 1000  # most messages a subscriber's read loop takes from its socket at once

DROP_NO_SUBSCRIBER = "pub/sub: no subscriber connected"
DROP_DISCONNECTED = "pub/sub: subscriber was disconnected when it was published (fire and forget)"
DROP_CONNECTION_CLOSED = "pub/sub: in the output buffer when the connection closed"
DROP_BUFFER_LIMIT = "pub/sub: client-output-buffer-limit reached, the server closed the connection"
DROP_TRIMMED_NO_GROUP = "trimmed by MAXLEN; no consumer group reads the stream"
DROP_MINID_NO_GROUP = "trimmed by XTRIM MINID; no consumer group reads the stream"
DROP_XDEL_NO_GROUP = "XDEL removed it; no consumer group reads the stream"
MINID_AGE_MS = 5000  # the XTRIM MINID button: entries older than this go


def msg(key: int) -> str:
    return f"msg-{key}"


class PublisherRuntime(Runtime):
    """An application publishing messages at a Poisson rate: PUBLISH to each channel and
    ``XADD <stream> [MAXLEN ...] * n <number>`` to each stream it is connected to."""

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], targets: list[str]) -> None:
        self.id = node_id
        self.rate = float(params["rate"])
        self.targets = targets
        self.sent = 0
        self.rng = sim.kernel.rng(f"redis:{node_id}")
        if targets and self.rate > 0:
            sim.kernel.schedule(TICK, PUBLISH, self.id)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        now = sim.kernel.now
        n = poisson_tick(sim, self.id, PUBLISH, TICK, self.rng, self.rate)
        if n == 0:
            return
        arrivals = np.sort(self.rng.uniform(now - TICK, now, n))
        arrival_ms = np.maximum(np.floor(arrivals * 1000.0), 0).astype(np.int64)
        keys = np.arange(self.sent, self.sent + n, dtype=np.int64).astype(np.int32)
        self.sent += n
        for target in self.targets:
            sim.components[target].receive(sim, self.id, arrival_ms, keys)

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"sent": self.sent, "rate": self.rate}


# -- Pub/Sub ------------------------------------------------------------------------------------


class ChannelRuntime(Runtime):
    """A Pub/Sub channel: delivers each PUBLISH to the subscriptions connected at that instant
    (pubsub.deliveries) and keeps nothing."""

    def __init__(self, node_id: str, name: str, subscriptions: list[Subscription]) -> None:
        self.id = node_id
        self.name = name or node_id
        self.subscriptions = subscriptions
        # subscribers whose subscription covers this channel, connected or not (static: names
        # and patterns do not change during a run)
        self.matching = [s.client for s in subscriptions
                         if s.channel == self.name or (s.pattern is not None and glob_match(s.pattern, self.name))]
        self.published = 0
        self.unheard = 0  # published while nothing could ever hear it (no matching subscription)
        self.last_receivers = 0

    def receive(self, sim: Simulation, src: str, arrival_ms: np.ndarray, keys: np.ndarray) -> None:
        n = len(keys)
        self.published += n
        connected = {s for s in self.matching if sim.components[s].connected}
        out = deliveries(self.name, self.subscriptions, connected)
        self.last_receivers = len(out)
        first = int(keys[0])
        if sim.record_flow:
            sim.emit({"k": "publish", "t": sim.kernel.now, "src": src, "dst": self.id, "n": n, "key": msg(first),
                      "receivers": len(out)})
        if not self.matching:
            self.unheard += n
            return
        for client in self.matching:
            sim.components[client].offer(sim, self.id, first, n)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.matching:
            return []  # each subscriber accounts for its own copy
        return [{"channel": self.id, "subscriber": None, "produced": self.published, "acknowledged": 0,
                 "in_flight": 0, "waiting": 0, "dead_lettered": 0,
                 "dropped": {DROP_NO_SUBSCRIBER: self.unheard} if self.unheard else {}}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        subs = []
        for s in self.subscriptions:
            runtime = sim.components.get(s.client)
            subs.append({"id": s.client, "pattern": s.pattern, "matches": s.client in self.matching,
                         "connected": bool(runtime and runtime.connected)})
        return {"channel": self.name, "published": self.published, "receivers": self.last_receivers,
                "subscribers": subs,
                "connected": sum(1 for s in subs if s["matches"] and s["connected"]),
                "disconnected": sum(1 for s in subs if s["matches"] and not s["connected"])}


class _Copy:
    """One subscriber's copy of one channel's messages: the accounting stream."""

    __slots__ = ("produced", "acked", "in_flight", "dropped")

    def __init__(self) -> None:
        self.produced = 0
        self.acked = 0
        self.in_flight = 0
        self.dropped: dict[str, int] = {}

    def drop(self, reason: str, n: int) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n


class SubscriberRuntime(Runtime):
    """A client in subscribed state. Redis writes each message into the client's output buffer;
    the client reads and handles them one after another (``processing_ms`` each). A slow client
    lets the buffer grow until client-output-buffer-limit closes the connection, and everything
    in the buffer is lost. Disconnected, it simply does not exist for PUBLISH."""

    commands = {"disconnect_subscriber": "cmd_disconnect", "reconnect_subscriber": "cmd_reconnect"}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any]) -> None:
        self.id = node_id
        self.mean_s = float(params["processing_ms"]) / 1000.0
        self.limit = int(params["buffer_limit"])
        self.reconnect_s = float(params["reconnect_after_s"])
        self.rng = sim.kernel.rng(f"redis:{node_id}")
        self.connected = True
        self.buffer: deque[list[Any]] = deque()  # runs [channel, first message number, count]
        self.buffered = 0
        self.batch: list[tuple[str, int, int]] = []
        self.busy = False
        self.copies: dict[str, _Copy] = {}
        self.processed = 0
        self.disconnects = 0
        self.last_change = 0.0
        self.why = ""
        if params["disconnect_at_s"] > 0:
            sim.kernel.schedule(float(params["disconnect_at_s"]), SUB_DISCONNECT, self.id, "scheduled")

    def copy(self, channel: str) -> _Copy:
        c = self.copies.get(channel)
        if c is None:
            c = self.copies[channel] = _Copy()
        return c

    def offer(self, sim: Simulation, channel: str, first: int, n: int) -> None:
        c = self.copy(channel)
        c.produced += n
        if not self.connected:
            c.drop(DROP_DISCONNECTED, n)
            return
        if self.limit and self.buffered + n > self.limit:
            c.drop(DROP_BUFFER_LIMIT, n)
            self._disconnect(sim, "client-output-buffer-limit", DROP_BUFFER_LIMIT)
            return
        self.buffer.append([channel, first, n])
        self.buffered += n
        c.in_flight += n
        if sim.record_flow:
            sim.emit({"k": "deliver", "t": sim.kernel.now, "src": channel, "dst": self.id, "n": n, "key": msg(first)})
        if not self.busy:
            self._start(sim)

    def _start(self, sim: Simulation) -> None:
        room = SUB_BATCH
        batch = self.batch = []
        while self.buffer and room:
            run = self.buffer[0]
            take = min(run[2], room)
            batch.append((run[0], run[1], take))
            run[1] += take
            run[2] -= take
            room -= take
            if run[2] == 0:
                self.buffer.popleft()
        taken = SUB_BATCH - room
        self.buffered -= taken
        if not taken:
            self.busy = False
            return
        self.busy = True
        duration = float(self.rng.gamma(taken, self.mean_s)) if self.mean_s > 0 else 0.0
        sim.kernel.schedule(sim.kernel.now + duration, SUB_DONE, self.id)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == SUB_DONE:
            for channel, _, n in self.batch:
                c = self.copies[channel]
                c.in_flight -= n
                c.acked += n
                self.processed += n
            self.batch = []
            self._start(sim)
        elif kind == SUB_DISCONNECT:
            if self.connected:
                self._disconnect(sim, "scheduled disconnect", DROP_CONNECTION_CLOSED)
        elif kind == SUB_RECONNECT:
            if not self.connected and arg == self.disconnects:
                self._connect(sim)

    def _disconnect(self, sim: Simulation, why: str, reason: str) -> None:
        """The connection closes: Redis frees the client with its output buffer (messages not
        yet read are lost) and its subscriptions. What the client already read it handles."""
        self.connected = False
        self.disconnects += 1
        self.last_change = sim.kernel.now
        self.why = why
        lost = 0
        for channel, _, n in self.buffer:
            c = self.copies[channel]
            c.in_flight -= n
            c.drop(reason, n)
            lost += n
        self.buffer.clear()
        self.buffered = 0
        sim.emit({"k": "subscriber", "t": sim.kernel.now, "node": self.id, "change": "disconnected", "why": why,
                  "lost": lost})
        if self.reconnect_s > 0:
            sim.kernel.schedule(sim.kernel.now + self.reconnect_s, SUB_RECONNECT, self.id, self.disconnects)

    def _connect(self, sim: Simulation) -> None:
        """Reconnect and SUBSCRIBE again: from now on it receives; what was published meanwhile
        is gone for good."""
        self.connected = True
        self.last_change = sim.kernel.now
        self.why = ""
        sim.emit({"k": "subscriber", "t": sim.kernel.now, "node": self.id, "change": "connected"})

    def cmd_disconnect(self, sim: Simulation, command: dict[str, Any]) -> None:
        if not self.connected:
            raise CommandError(f"subscriber {self.id!r} is already disconnected")
        self._disconnect(sim, "disconnected by hand", DROP_CONNECTION_CLOSED)

    def cmd_reconnect(self, sim: Simulation, command: dict[str, Any]) -> None:
        if self.connected:
            raise CommandError(f"subscriber {self.id!r} is already connected")
        self._connect(sim)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"channel": ch, "subscriber": self.id, "produced": c.produced, "acknowledged": c.acked,
                 "in_flight": c.in_flight, "waiting": 0, "dead_lettered": 0, "dropped": dict(c.dropped)}
                for ch, c in self.copies.items()]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"connected": self.connected, "since": self.last_change, "why": self.why,
                "buffered": self.buffered + sum(n for _, _, n in self.batch), "buffer_limit": self.limit,
                "processed": self.processed, "received": sum(c.produced - sum(c.dropped.values())
                                                             for c in self.copies.values()),
                "missed": sum(sum(c.dropped.values()) for c in self.copies.values()),
                "disconnects": self.disconnects}


# -- Streams ------------------------------------------------------------------------------------


class StreamRuntime(Runtime):
    """A stream key: XADD with auto-generated IDs from the simulated clock, trimmed by MAXLEN
    (exact or ``~``) on every XADD. Consumer groups reading it register as readers. An operator
    may XDEL an entry or XTRIM MINID (buttons); the key exists from its first XADD (or a group's
    MKSTREAM) and stays when every entry is gone."""

    commands = {"xdel": "cmd_xdel", "xdel_unread": "cmd_xdel_unread", "xtrim_minid": "cmd_xtrim_minid",
                "xtrim_minid_approx": "cmd_xtrim_minid_approx"}
    command_labels = {"xdel": "XDEL oldest pending", "xdel_unread": "XDEL next unread",
                      "xtrim_minid": "XTRIM MINID = (older than 5 s)",
                      "xtrim_minid_approx": "XTRIM MINID ~ (older than 5 s)"}

    def __init__(self, node_id: str, params: dict[str, Any]) -> None:
        self.id = node_id
        self.maxlen = int(params["maxlen"])
        self.approximate = params["trim"] == "approximate"
        self.log = StreamLog(int(params["node_entries"]))
        self.readers: list[str] = []
        self.trimmed = 0
        self.envelopes: dict[int, Any] = {}  # entry id -> record.Record, for entries a bridge wrote
        self.key_exists = False
        self.removed: dict[str, int] = {}  # "xdel" / "minid" -> entries removed that way

    def receive(self, sim: Simulation, src: str, arrival_ms: np.ndarray, keys: np.ndarray) -> None:
        self.add(sim, src, self.log.auto_ids(arrival_ms), keys)

    def add(self, sim: Simulation, src: str, ids: np.ndarray, keys: np.ndarray, redriven_by: str | None = None) -> None:
        log = self.log
        groups = [sim.components[r] for r in self.readers]
        keep_from = min((g.keep_from() for g in groups), default=log.appended)
        log.add(ids, keys, keep_from)
        self.key_exists = True
        n = len(ids)
        now = sim.kernel.now
        if sim.record_flow:
            sim.emit({"k": "xadd", "t": now, "src": src, "dst": self.id, "n": n, "key": msg(int(keys[0])),
                      "id": format_id(int(ids[0]))})
        for g in groups:
            g.on_added(n, redriven_by)
        if self.maxlen > 0 and log.length > self.maxlen:
            before = [g.state.waiting() for g in groups]
            length = log.length
            start, end = log.trim_maxlen(self.maxlen, self.approximate)
            if end > start:
                self.trimmed += length - log.length
                for g, waiting in zip(groups, before, strict=True):
                    g.on_removed(waiting, "maxlen")
                if sim.record_flow:
                    first_id = log.first_id()
                    sim.emit({"k": "trim", "t": now, "node": self.id, "n": length - log.length,
                              "first_id": format_id(first_id) if first_id is not None else None})
        for g in groups:
            g.on_append(sim)

    # -- operator commands ------------------------------------------------------------------

    def _groups(self, sim: Simulation) -> list[Any]:
        return [sim.components[r] for r in self.readers]

    def _remove(self, sim: Simulation, why: str, apply: Any) -> int:
        """Run a removal (XDEL or XTRIM) and tell each group what it lost."""
        groups = self._groups(sim)
        before = [(g.state.waiting(), g.live_pending()) for g in groups]
        length = self.log.length
        apply()
        n = length - self.log.length
        self.removed[why] = self.removed.get(why, 0) + n
        for g, (waiting, live) in zip(groups, before, strict=True):
            g.on_removed(waiting, why, live)
        return n

    def cmd_xdel(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XDEL key <id>: delete one entry, by default the oldest one pending in a group. A
        pending entry stays in the PEL: its consumer reads it back without fields, or XAUTOCLAIM
        lists it as deleted; either way it is dropped, with why."""
        log = self.log
        target = command.get("id")
        if target is not None:
            try:
                entry_id = parse_id(str(target))
            except ValueError:
                raise CommandError(f"id: {target!r} is not a stream ID (<ms>-<seq>)") from None
        else:
            pending = [g.state.pel[i].id for g in self._groups(sim) for i in g.state.pel_ids[:64]
                       if g.state.exists(g.state.pel[i])]
            if not pending:
                raise CommandError(f"stream {self.id!r}: no group has an entry pending that is still in the stream")
            entry_id = min(pending)
        n = self._remove(sim, "xdel", lambda: log.delete([entry_id]))
        sim.emit({"k": "xdel", "t": sim.kernel.now, "node": self.id, "id": format_id(entry_id), "n": n})

    def cmd_xdel_unread(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XDEL key <id> of the oldest entry a group has not read yet: that group never sees it."""
        log = self.log
        starts = [g.state.next_pos for g in self._groups(sim)] or [log.first]
        live = [p for p in (log.live_positions(s, 1) for s in starts) if p]
        if not live:
            raise CommandError(f"stream {self.id!r}: no entry is waiting to be read")
        entry_id = log.id_at(min(p[0] for p in live))
        n = self._remove(sim, "xdel", lambda: log.delete([entry_id]))
        sim.emit({"k": "xdel", "t": sim.kernel.now, "node": self.id, "id": format_id(entry_id), "n": n})

    def cmd_xtrim_minid(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XTRIM key MINID [= | ~] <id>: evict every entry older than 5 s of simulated time (or
        below ``id``); ``approximate`` evicts whole macro nodes only. Entries a group has not
        read are lost to it; pending ones stay in the PEL and are dropped when found gone."""
        log = self.log
        target = command.get("id")
        try:
            minid = (parse_id(str(target)) if target is not None
                     else make_id(max(0, int(sim.kernel.now * 1000) - MINID_AGE_MS), 0))
        except ValueError:
            raise CommandError(f"id: {target!r} is not a stream ID (<ms>-<seq>)") from None
        approximate = bool(command.get("approximate", False))

        def trim() -> None:
            try:
                log.trim(minid=minid, approximate=approximate)
            except ValueError as err:
                raise CommandError(str(err)) from None

        n = self._remove(sim, "minid", trim)
        sim.emit({"k": "trim", "t": sim.kernel.now, "node": self.id, "n": n, "minid": format_id(minid),
                  "approximate": approximate})

    def cmd_xtrim_minid_approx(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XTRIM key MINID ~ <id>: only whole macro nodes whose last entry is older than 5 s go,
        so some older entries stay (t_stream.c streamTrim stops at the first node it cannot
        remove whole)."""
        self.cmd_xtrim_minid(sim, dict(command, approximate=True))

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.readers:
            return []  # each group accounts for its own copy
        log = self.log
        dropped = {DROP_TRIMMED_NO_GROUP: self.trimmed} if self.trimmed else {}
        for why, reason in (("xdel", DROP_XDEL_NO_GROUP), ("minid", DROP_MINID_NO_GROUP)):
            if self.removed.get(why):
                dropped[reason] = self.removed[why]
        return [{"stream": self.id, "group": None, "produced": log.appended, "acknowledged": 0, "in_flight": 0,
                 "waiting": log.length, "dead_lettered": 0, "dropped": dropped}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        log = self.log
        first = log.first_id()
        groups = []
        for r in self.readers:
            g = sim.components[r]
            groups.append({"id": r, "delivered_upto": g.state.next_pos, "oldest_pending": g.oldest_pending_pos(),
                           "unread": g.state.unread()})
        return {"length": log.length, "entries_added": log.appended, "first": log.first, "trimmed": self.trimmed,
                "deleted": self.removed.get("xdel", 0), "minid_trimmed": self.removed.get("minid", 0),
                "max_deleted_id": format_id(log.max_deleted_id),
                "first_id": format_id(first) if first is not None else None,
                "last_id": format_id(log.last_id), "maxlen": self.maxlen,
                "trim": "approximate" if self.approximate else "exact", "node_entries": log.node_entries,
                "tail": [msg(k) for k in log.tail()], "groups": groups}


class DeadLetterStreamRuntime(Runtime):
    """The stream an application moves poison entries to. Redis has no built-in dead-letter
    queue: the consumer (or a reaper) reads the delivery count from XPENDING / XAUTOCLAIM,
    XADDs the entry here with why, then XACKs it in the source group."""

    RECENT = 50
    commands = {"redrive": "cmd_redrive"}
    command_specs = {"redrive": CommandSpec(args=(
        Param("n", "How many", "int", 0, "Dead letters to redrive, oldest first (0: all)", min=0, max=1_000_000),))}

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.last_id = 0
        self.total = 0
        self.held: deque[tuple[str, str, int]] = deque()  # (source stream, group, message number)
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.RECENT)
        self.redriven = 0

    def add(self, sim: Simulation, stream: str, group: str, key: int, entry: dict[str, Any]) -> None:
        self.last_id = next_auto_id(int(sim.kernel.now * 1000), self.last_id)
        self.total += 1
        self.held.append((stream, group, key))
        self.recent.append(dict(entry, dlq_id=format_id(self.last_id)))

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Redrive: XADD each dead letter back to its source stream (a new entry with a new ID,
        delivered afresh to every group reading that stream), then XDEL it from here."""
        if not self.held:
            raise CommandError(f"dead-letter stream {self.id!r} is empty")
        limit = command.get("n")
        count = len(self.held) if not isinstance(limit, int) or limit <= 0 else min(limit, len(self.held))
        now_ms = int(sim.kernel.now * 1000)
        moved = 0
        while moved < count:
            stream_id, group, key = self.held.popleft()
            stream: StreamRuntime = sim.components[stream_id]
            new_id = next_auto_id(now_ms, stream.log.last_id)
            stream.add(sim, self.id, np.array([new_id], dtype=np.int64), np.array([key], dtype=np.int32),
                       redriven_by=group)
            moved += 1
        self.redriven += moved
        sim.emit({"k": "redrive", "t": sim.kernel.now, "node": self.id, "n": moved})

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"count": len(self.held), "total": self.total, "redriven": self.redriven,
                "last_id": format_id(self.last_id), "recent": list(self.recent)}
