"""A Redis Streams consumer group during a run: the server's group state (group.GroupState)
plus the application loop each consumer runs, the common pattern from the Redis Streams
introduction and the XREADGROUP / XAUTOCLAIM pages:

1. A consumer starting (or restarting under the same name) first reads its own pending
   entries with ``XREADGROUP ... STREAMS key 0`` until that returns nothing, then new ones with
   ``XREADGROUP GROUP g c COUNT n BLOCK ms STREAMS key >``. Blocked consumers are served in
   the order they blocked as soon as XADD adds entries; BLOCK 0 waits for ever.
2. It handles the entries one after another (``processing_ms`` each) and XACKs the ones that
   succeeded, all at once at the end of the batch. A failed entry is not acknowledged: it stays
   in the Pending Entries List with its delivery count, as does everything a crashed consumer
   had read.
3. Every ``claim_interval_ms`` (checked between reads, so a long BLOCK delays it), a consumer
   runs ``XAUTOCLAIM key g <itself> <min-idle-time> <cursor> COUNT n``: entries idle longer
   than min-idle-time move to it with their delivery count + 1, and it handles them.
4. Dead letters: Redis has no dead-letter queue. When an entry is delivered more than
   ``max_deliveries`` times (the count XPENDING and XAUTOCLAIM keep), the application XADDs it
   to a dead-letter stream and XACKs it instead of handling it once more. Pending entries
   whose stream entry was trimmed away come back without fields (XREADGROUP) or as deleted
   (XAUTOCLAIM): they are acknowledged and counted as dropped, with the reason.

Commands (XREADGROUP, XAUTOCLAIM, XACK) take effect at the server when issued; the reply
reaches the consumer one round trip (``rtt_ms``) later.

An operator's commands (buttons on the group): XGROUP CREATE (BUSYGROUP once the group exists;
without MKSTREAM it fails until the stream key exists), XGROUP SETID 0 / $ (replay the stream,
or skip the backlog), XGROUP DELCONSUMER of a crashed or stopped consumer (its pending entries
leave the PEL: nobody is offered them again, each counted as dropped with why).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.component import ON_MEMBER, CommandError, CommandSpec, Runtime
from playground.engine.kernel import uniform_hash
from playground.engine.redisx.group import GroupState, Nack, xgroup_create_error
from playground.engine.redisx.ids import format_id, parse_id

if TYPE_CHECKING:
    from playground.engine.redisx.runtime import StreamRuntime
    from playground.engine.simulation import Simulation

NEXT = 1  # a consumer issues its next command
REPLY = 2  # a read or claim reply reaches it
DONE = 3  # it finished handling a batch
BLOCK_TIMEOUT = 4
CRASH = 5
RESTART = 6

MAX_CONSUMERS = 64
DROP_TRIMMED_UNREAD = "trimmed by MAXLEN before the group read it"
DROP_TRIMMED_PENDING = "trimmed by MAXLEN while pending (XAUTOCLAIM/XCLAIM removed it from the PEL)"
DROP_TRIMMED_HISTORY = "trimmed by MAXLEN while pending (read back without fields, XACKed)"
DROP_NO_DLQ = "delivered more than max deliveries and no dead-letter stream: XACKed and discarded"
DROP_XDEL_UNREAD = "XDEL removed it before the group read it"
DROP_XDEL_PENDING = "XDEL removed it while pending (XAUTOCLAIM/XCLAIM removed it from the PEL)"
DROP_XDEL_HISTORY = "XDEL removed it while pending (read back without fields, XACKed)"
DROP_MINID_UNREAD = "trimmed by XTRIM MINID before the group read it"
DROP_MINID_PENDING = "trimmed by XTRIM MINID while pending (XAUTOCLAIM/XCLAIM removed it from the PEL)"
DROP_MINID_HISTORY = "trimmed by XTRIM MINID while pending (read back without fields, XACKed)"
DROP_SKIPPED = "skipped by XGROUP SETID (last-delivered-id moved past it unread)"
DROP_DELCONSUMER = "pending for a consumer removed by XGROUP DELCONSUMER: out of the PEL, never delivered again"
DROP_DELCONSUMER_HANDLED = ("handled by a consumer that crashed before XACK; XGROUP DELCONSUMER removed it from the "
                            "PEL, so it is never acknowledged")
# Why a pending entry is no longer in the stream: (read back without fields, XAUTOCLAIM deleted)
GONE_REASONS = {"maxlen": (DROP_TRIMMED_HISTORY, DROP_TRIMMED_PENDING),
                "xdel": (DROP_XDEL_HISTORY, DROP_XDEL_PENDING),
                "minid": (DROP_MINID_HISTORY, DROP_MINID_PENDING)}
UNREAD_REASONS = {"maxlen": DROP_TRIMMED_UNREAD, "xdel": DROP_XDEL_UNREAD, "minid": DROP_MINID_UNREAD}


class Consumer:
    __slots__ = ("name", "state", "token", "history", "cursor", "next_claim", "batch", "started", "ends",
                 "stopping")

    def __init__(self, name: str, next_claim: float) -> None:
        self.name = name
        self.state = "starting"  # reading | blocked | processing | dead | stopped
        self.token = 0  # bumped to void events already scheduled for this consumer
        self.history = True  # reads its own pending entries (ID 0) before new ones (>)
        self.cursor = 0  # XAUTOCLAIM cursor
        self.next_claim = next_claim
        self.batch: list[tuple[int, int, int, int]] = []  # (id, position, message, delivery count)
        self.started = self.ends = 0.0
        self.stopping = False


class StreamGroupRuntime(Runtime):
    commands = {"add_consumer": "cmd_add_consumer", "remove_consumer": "cmd_remove_consumer",
                "kill_consumer": "cmd_kill_consumer", "restart_consumer": "cmd_restart_consumer",
                "delete_consumer": "cmd_delete_consumer", "xgroup_create": "cmd_xgroup_create",
                "xgroup_setid": "cmd_xgroup_setid", "xgroup_setid_end": "cmd_xgroup_setid_end"}
    command_labels = {"delete_consumer": "XGROUP DELCONSUMER", "xgroup_create": "XGROUP CREATE",
                      "xgroup_setid": "XGROUP SETID 0 (replay)", "xgroup_setid_end": "XGROUP SETID $ (skip backlog)"}
    command_specs = {"remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER, "restart_consumer": ON_MEMBER,
                     # XGROUP DELCONSUMER: offered for a consumer that crashed or stopped
                     "delete_consumer": CommandSpec(item="member", valid_in=("dead", "stopped"))}
    items = "members"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], stream: StreamRuntime | None,
                 dlq: str | None) -> None:
        self.id = node_id
        self.p = params
        self.stream = stream.id if stream else None
        self.dlq = dlq
        self.rng = sim.kernel.rng(f"redis:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.mean_s = params["processing_ms"] / 1000.0
        self.rtt = params["rtt_ms"] / 1000.0
        self.claim_s = params["claim_interval_ms"] / 1000.0
        self.count = int(params["count"])
        self.max_deliveries = int(params["max_deliveries"])
        self.state: GroupState | None = None  # XGROUP CREATE at the start (see _created)
        self.consumers: dict[str, Consumer] = {}
        self.blocked: list[str] = []
        self.next_number = 1
        self.for_group = 0
        self.acked = 0
        self.dead = 0
        self.redriven = 0
        self.dropped: dict[str, int] = {}
        self.effects_done: set[int] = set()  # handled successfully, not yet XACKed (a crash came first)
        self.duplicates = 0
        self.retried = 0
        self.processed = 0
        self.failed = 0
        self.claims: list[dict[str, Any]] = []
        self.replayed = 0  # entries made readable again by XGROUP SETID moving back
        self.gone: dict[int, str] = {}  # pending IDs XDELed or MINID-trimmed: why (else MAXLEN)
        self.create_error: str | None = None
        self.deleted_consumers = 0
        if stream is None:
            return
        error = xgroup_create_error(stream.key_exists, False, bool(params["mkstream"]))
        if error is not None:
            self.state = None  # XGROUP CREATE failed: the application runs nothing until it is created
            self.create_error = error
            sim.emit({"k": "xgroup", "t": sim.kernel.now, "g": self.id, "op": "create", "error": error})
            return
        self._created(sim, stream, str(params["start_id"]))
        if params["crash_at_s"] > 0:
            sim.kernel.schedule(float(params["crash_at_s"]), CRASH, self.id, "consumer-1")

    def _created(self, sim: Simulation, stream: StreamRuntime, start: str) -> None:
        """XGROUP CREATE succeeded (MKSTREAM makes the key if it is missing): the group reads
        from after ``start``, and its consumers start."""
        stream.key_exists = True
        self.state = GroupState(stream.log, "$" if start == "$" else parse_id(start))
        self.for_group += self.state.waiting()
        stream.readers.append(self.id)
        self.create_error = None
        for _ in range(int(self.p["consumers"])):
            self._new_consumer(sim)

    # -- the stream tells us ----------------------------------------------------------------

    def keep_from(self) -> int:
        return self.state.next_pos

    def oldest_pending_pos(self) -> int | None:
        g = self.state
        return g.pel[g.pel_ids[0]].pos if g.pel_ids else None

    def on_added(self, n: int, redriven_by: str | None) -> None:
        self.for_group += n
        if redriven_by == self.id:
            self.redriven += n
        elif redriven_by is not None:
            self.duplicates += n  # redriven for another group: this group gets the message again

    def _still_ahead(self, nacks: list[Nack]) -> list[Nack]:
        """Entries leaving the PEL after XGROUP SETID moved last-delivered-id behind them will
        be read again by ``>``: each is one more replay for the books. Returns ``nacks``."""
        g = self.state
        for nack in nacks:
            if nack.id > g.last_id and g.exists(nack):
                self.replayed += 1
        return nacks

    def live_pending(self) -> list[int]:
        """Pending IDs whose entries are still in the stream (before an operator removes some)."""
        g = self.state
        return [i for i in g.pel_ids if g.exists(g.pel[i])]

    def on_removed(self, waiting_before: int, why: str, live_pending: list[int] | None = None) -> None:
        """Entries left the stream (MAXLEN or MINID trimming, XDEL): those the group had not
        read yet are lost to it; pending ones stay in the PEL, and the cause is remembered for
        when the consumer loop finds them gone (a MAXLEN trim is the cause unless told)."""
        g = self.state
        lost = waiting_before - g.waiting()
        if lost:
            self._drop(UNREAD_REASONS[why], lost)
        for entry_id in live_pending or ():
            nack = g.pel.get(entry_id)
            if nack is not None and not g.exists(nack):
                self.gone[entry_id] = why

    def on_append(self, sim: Simulation) -> None:
        """XADD serves the consumers blocked on the stream, in the order they blocked."""
        g = self.state
        while self.blocked and g.unread():
            c = self.consumers[self.blocked.pop(0)]
            c.token += 1
            self._read_new(sim, c)

    # -- accounting -------------------------------------------------------------------------

    def _drop(self, reason: str, n: int) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.state is None:
            return []
        return [{"stream": self.stream, "group": self.id, "produced": self.for_group - self.redriven + self.replayed,
                 "acknowledged": self.acked, "in_flight": len(self.state.pel), "waiting": self.state.waiting(),
                 "dead_lettered": self.dead - self.redriven, "dropped": dict(self.dropped)}]

    # -- commands ---------------------------------------------------------------------------

    def _consumer_of(self, command: dict[str, Any], verb: str, states: tuple[str, ...]) -> Consumer:
        name = command.get("member", command.get("consumer"))
        c = self.consumers.get(name) if isinstance(name, str) else None
        if c is None:
            raise CommandError(f"group {self.id!r} has no consumer {name!r} to {verb}")
        if c.state not in states or c.stopping:
            raise CommandError(f"{name} is {'stopping' if c.stopping else c.state}; cannot {verb} it")
        return c

    def cmd_add_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        if self.state is None:
            raise CommandError(f"group {self.id!r} reads no stream" if self.create_error is None
                               else f"group {self.id!r} was not created: {self.create_error}")
        if len(self.consumers) >= MAX_CONSUMERS:
            raise CommandError(f"group {self.id!r} already has {MAX_CONSUMERS} consumers, the most allowed")
        c = self._new_consumer(sim)
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": c.name, "change": "added"})

    def cmd_remove_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        """A graceful stop: it finishes and XACKs the batch in hand, then stops reading. Its
        other pending entries (failed ones) stay in the PEL for XAUTOCLAIM."""
        c = self._consumer_of(command, "remove", ("starting", "reading", "blocked", "processing"))
        if c.state == "processing":
            c.stopping = True
        else:
            self._stop(sim, c)

    def cmd_kill_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        self.kill(sim, self._consumer_of(command, "kill", ("starting", "reading", "blocked", "processing")))

    def cmd_restart_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        self.restart(sim, self._consumer_of(command, "restart", ("dead", "stopped")))

    def cmd_delete_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XGROUP DELCONSUMER: remove a crashed or stopped consumer. Redis answers how many
        entries it had pending and drops them from the PEL: no XAUTOCLAIM will ever offer them
        again, so each is lost to the group (counted as dropped; those it had handled before
        crashing apart)."""
        c = self._consumer_of(command, "delete", ("dead", "stopped"))
        g = self._group()
        removed = g.delete_consumer(c.name)
        self._still_ahead(removed)
        handled = 0
        for nack in removed:
            if nack.id in self.effects_done:
                self.effects_done.discard(nack.id)
                handled += 1
            self.gone.pop(nack.id, None)
        if handled:
            self._drop(DROP_DELCONSUMER_HANDLED, handled)
        if len(removed) > handled:
            self._drop(DROP_DELCONSUMER, len(removed) - handled)
        del self.consumers[c.name]
        c.token += 1
        self.deleted_consumers += 1
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": c.name, "change": "deleted",
                  "pending": len(removed), "handled": handled})

    def cmd_xgroup_create(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XGROUP CREATE key group <start ID> [MKSTREAM]: creates the group if it failed at the
        start (no MKSTREAM before the first XADD); once it exists Redis answers BUSYGROUP."""
        if self.stream is None:
            raise CommandError(f"group {self.id!r} reads no stream")
        stream: StreamRuntime = sim.components[self.stream]
        mkstream = bool(command.get("mkstream", self.p["mkstream"]))
        error = xgroup_create_error(stream.key_exists, self.state is not None, mkstream)
        sim.emit({"k": "xgroup", "t": sim.kernel.now, "g": self.id, "op": "create", "error": error})
        if error is not None:
            raise CommandError(error)
        start = command.get("id", self.p["start_id"])
        self._created(sim, stream, self._check_id(start))

    def cmd_xgroup_setid(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XGROUP SETID key group 0: move last-delivered-id back so the consumers read the whole
        stream again (entries already acknowledged are delivered once more); ``id`` and
        ``entries_read`` may be given. Moving forward skips entries unread (dropped)."""
        self._set_id(sim, self._check_id(command.get("id", "0")), command.get("entries_read"))

    def cmd_xgroup_setid_end(self, sim: Simulation, command: dict[str, Any]) -> None:
        """XGROUP SETID key group $: skip the backlog; every entry not yet read is dropped for
        this group, and the consumers wait for new ones."""
        self._set_id(sim, "$", command.get("entries_read"))

    def _group(self) -> GroupState:
        if self.state is None:
            raise CommandError(f"group {self.id!r} does not exist: {self.create_error or 'it reads no stream'}")
        return self.state

    @staticmethod
    def _check_id(value: Any) -> str:
        if value in ("$", "0"):
            return str(value)
        try:
            parse_id(str(value))
        except ValueError:
            raise CommandError(f"id: {value!r} is not a stream ID (<ms>-<seq>, 0 or $)") from None
        return str(value)

    def _set_id(self, sim: Simulation, start: str, entries_read: Any) -> None:
        g = self._group()
        if entries_read is not None and (not isinstance(entries_read, int) or entries_read < 0):
            raise CommandError("entries_read: must be a whole number, 0 or more")
        target = g.stream.last_id if start == "$" else parse_id(start)
        if g.stream.first_after(target) < g.stream.base:
            raise CommandError("id: the simulation no longer holds the entries after that ID (a stream of more "
                               "than a million entries every group had read)")
        before = g.waiting()
        g.set_id(target, entries_read)
        after = g.waiting()
        if after > before:
            self.replayed += after - before
        elif before > after:
            self._drop(DROP_SKIPPED, before - after)
        sim.emit({"k": "xgroup", "t": sim.kernel.now, "g": self.id, "op": "setid", "id": format_id(g.last_id),
                  "replayed": max(0, after - before), "skipped": max(0, before - after)})
        self.on_append(sim)

    def _new_consumer(self, sim: Simulation) -> Consumer:
        name = f"consumer-{self.next_number}"
        self.next_number += 1
        now = sim.kernel.now
        phase = float(self.rng.uniform(0.0, self.claim_s)) if self.claim_s > 0 else 0.0
        c = self.consumers[name] = Consumer(name, now + phase)
        sim.kernel.schedule(now, NEXT, self.id, (name, c.token))
        return c

    def _stop(self, sim: Simulation, c: Consumer) -> None:
        self._unblock(c)
        c.state = "stopped"
        c.stopping = False
        c.token += 1
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": c.name, "change": "removed"})

    def _unblock(self, c: Consumer) -> None:
        if c.name in self.blocked:
            self.blocked.remove(c.name)

    def kill(self, sim: Simulation, c: Consumer) -> None:
        """A crash: nothing is acknowledged. What it read stays in the PEL under its name; the
        share of the batch it had handled had its effects (a later delivery is a duplicate)."""
        now = sim.kernel.now
        if c.state == "processing" and c.ends > c.started:
            done = int(len(c.batch) * (now - c.started) / (c.ends - c.started))
            for entry_id, pos, _, deliveries in c.batch[:done]:
                if not self._fails(pos, deliveries) and entry_id in self.state.pel:
                    self.effects_done.add(entry_id)
        c.batch = []
        self._unblock(c)
        c.state = "dead"
        c.stopping = False
        c.token += 1
        sim.emit({"k": "member", "t": now, "g": self.id, "c": c.name, "change": "killed",
                  "pending": len(self.state.consumers.get(c.name, []))})
        if self.p["restart_after_s"] > 0:
            sim.kernel.schedule(now + float(self.p["restart_after_s"]), RESTART, self.id, (c.name, c.token))

    def restart(self, sim: Simulation, c: Consumer) -> None:
        """The same consumer name comes back: it first reads its own pending entries (ID 0)."""
        c.state = "starting"
        c.history = True
        c.token += 1
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": c.name, "change": "restarted"})
        sim.kernel.schedule(sim.kernel.now, NEXT, self.id, (c.name, c.token))

    # -- events -----------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == CRASH:
            c = self.consumers.get(arg)
            if c is not None and c.state not in ("dead", "stopped"):
                self.kill(sim, c)
            return
        name, token = arg[0], arg[1]
        c = self.consumers.get(name)
        if c is None or token != c.token:
            return  # deleted (XGROUP DELCONSUMER), or the event was voided
        if kind == RESTART:
            if c.state == "dead":
                self.restart(sim, c)
        elif kind == NEXT:
            self._next(sim, c)
        elif kind == REPLY:
            self._handle(sim, c, arg[2], arg[3])
        elif kind == DONE:
            self._done(sim, c)
        elif kind == BLOCK_TIMEOUT:
            self._unblock(c)
            self._next(sim, c)

    # -- the consumer loop ------------------------------------------------------------------

    def _next(self, sim: Simulation, c: Consumer) -> None:
        if c.stopping:
            self._stop(sim, c)
            return
        now = sim.kernel.now
        now_ms = now * 1000.0
        g = self.state
        c.token += 1
        if c.history:
            nacks = g.read_history(c.name, 0, self.count, now_ms)
            if nacks:
                self.retried += len(nacks)
                self._reply(sim, c, nacks, "history")
                return
            c.history = False  # an empty reply: switch to new entries (after the round trip)
            c.state = "reading"
            sim.kernel.schedule(now + self.rtt, NEXT, self.id, (c.name, c.token))
            return
        if self.claim_s > 0 and now >= c.next_claim:
            c.next_claim = now + self.claim_s
            reply = g.autoclaim(c.name, float(self.p["min_idle_ms"]), c.cursor, now_ms,
                                count=int(self.p["claim_count"]))
            c.cursor = reply.next_id
            for entry_id in reply.deleted:
                self._drop(GONE_REASONS[self.gone.pop(entry_id, "maxlen")][1], 1)
            if reply.claimed or reply.deleted:
                self.retried += len(reply.claimed)
                sim.emit({"k": "xautoclaim", "t": now, "g": self.id, "c": c.name, "n": len(reply.claimed),
                          "deleted": len(reply.deleted), "ids": [format_id(n.id) for n in reply.claimed[:10]]})
                self.claims.append({"t": now, "c": c.name, "n": len(reply.claimed), "deleted": len(reply.deleted)})
                del self.claims[:-20]
            if reply.claimed:
                self._reply(sim, c, reply.claimed, "claim")
                return
        self._read_new(sim, c)

    def _read_new(self, sim: Simulation, c: Consumer) -> None:
        nacks = self.state.read_new(c.name, self.count, sim.kernel.now * 1000.0)
        if nacks:
            self._reply(sim, c, nacks, "new")
            return
        c.state = "blocked"
        self.blocked.append(c.name)
        if self.p["block_ms"] > 0:
            sim.kernel.schedule(sim.kernel.now + self.p["block_ms"] / 1000.0, BLOCK_TIMEOUT, self.id,
                                (c.name, c.token))

    def _reply(self, sim: Simulation, c: Consumer, nacks: list[Nack], how: str) -> None:
        c.state = "reading"
        batch = [(n.id, n.pos, n.key, n.delivery_count, self.state.exists(n)) for n in nacks]
        if sim.record_flow and how == "new":
            sim.emit({"k": "xreadgroup", "t": sim.kernel.now, "src": self.stream, "dst": self.id, "c": c.name,
                      "n": len(nacks), "key": f"msg-{nacks[0].key}", "id": format_id(nacks[0].id)})
        sim.kernel.schedule(sim.kernel.now + self.rtt, REPLY, self.id, (c.name, c.token, batch, how))

    def _handle(self, sim: Simulation, c: Consumer, batch: list[tuple[int, int, int, int, bool]], how: str) -> None:
        """The reply arrived: drop what was trimmed, dead-letter what was delivered too often,
        handle the rest."""
        g = self.state
        work = []
        for entry_id, pos, key, deliveries, exists in batch:
            if not exists:
                if self._still_ahead(g.ack([entry_id])):
                    self._drop(GONE_REASONS[self.gone.pop(entry_id, "maxlen")][0], 1)
                continue
            if self.max_deliveries and deliveries > self.max_deliveries:
                self._dead_letter(sim, c, entry_id, pos, key, deliveries)
                continue
            work.append((entry_id, pos, key, deliveries))
        if not work:
            self._next(sim, c)
            return
        now = sim.kernel.now
        c.batch = work
        c.state = "processing"
        duration = float(self.rng.gamma(len(work), self.mean_s)) if self.mean_s > 0 else 0.0
        c.started, c.ends = now, now + duration
        c.token += 1
        sim.kernel.schedule(now + duration, DONE, self.id, (c.name, c.token))

    def _dead_letter(self, sim: Simulation, c: Consumer, entry_id: int, pos: int, key: int, deliveries: int) -> None:
        """XADD <dead-letter stream> ... then XACK: the application's dead-letter rule."""
        if not self._still_ahead(self.state.ack([entry_id])):
            return  # another consumer acknowledged it meanwhile
        self.effects_done.discard(entry_id)
        self.gone.pop(entry_id, None)
        now = sim.kernel.now
        poison = self._is_poison(pos)
        reason = (f"delivered {deliveries} times, more than max deliveries ({self.max_deliveries}): "
                  + ("poison message, failed every time" if poison else "failed or unacknowledged each time"))
        entry = {"t": now, "reason": reason, "attempts": deliveries, "key": f"msg-{key}",
                 "origin": f"stream {self.stream}, group {self.id}", "id": format_id(entry_id), "g": self.id,
                 "c": c.name}
        if self.dlq is None:
            self._drop(DROP_NO_DLQ, 1)
            sim.emit({"k": "drop", "t": now, "reason": DROP_NO_DLQ, "n": 1, "node": self.id, "id": entry["id"]})
            return
        self.dead += 1
        sim.components[self.dlq].add(sim, self.stream, self.id, key, entry)
        sim.emit(dict(entry, k="dead_letter", dlq=self.dlq, src=self.id, dst=self.dlq))

    def _done(self, sim: Simulation, c: Consumer) -> None:
        g = self.state
        ok_ids = []
        failed = 0
        for entry_id, pos, _, deliveries in c.batch:
            if self._fails(pos, deliveries):
                failed += 1
            else:
                ok_ids.append(entry_id)
        n = len(c.batch)
        self.processed += n
        self.failed += failed
        acked = {nack.id for nack in self._still_ahead(g.ack(ok_ids))}
        self.acked += len(acked)
        if self.gone:
            for entry_id in acked:
                self.gone.pop(entry_id, None)
        for entry_id in ok_ids:
            if entry_id not in acked or entry_id in self.effects_done:
                self.duplicates += 1  # handled before (by a consumer that crashed, or one it was claimed from)
            self.effects_done.discard(entry_id)
        if sim.record_flow:
            sim.emit({"k": "xack", "t": sim.kernel.now, "g": self.id, "c": c.name, "n": len(acked),
                      "failed": failed, "processed": n})
        c.batch = []
        self._next(sim, c)

    # -- failures ---------------------------------------------------------------------------

    def _fails(self, pos: int, delivery: int) -> bool:
        """Poison entries fail every time; others fail with the transient probability. Both are
        properties of the entry (a hash of group, position and delivery), so a replay behaves
        the same."""
        if self._is_poison(pos):
            return True
        offsets = np.array([pos], dtype=np.int64)
        return bool(self.p["failure_rate"] > 0
                    and uniform_hash(self.salt ^ 0x5A5A5A5A, 0, offsets, delivery)[0] < self.p["failure_rate"])

    def _is_poison(self, pos: int) -> bool:
        offsets = np.array([pos], dtype=np.int64)
        return bool(self.p["poison_rate"] > 0 and uniform_hash(self.salt, 0, offsets, 0)[0] < self.p["poison_rate"])

    # -- view -------------------------------------------------------------------------------

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        g = self.state
        if g is None:
            return {"consumers": [], "members": [], "pending": 0, "lag": 0, "create_error": self.create_error}
        now_ms = sim.kernel.now * 1000.0
        per: dict[str, list[float]] = {}
        for nack in g.pel.values():
            row = per.setdefault(nack.consumer, [0, now_ms])
            row[0] += 1
            row[1] = min(row[1], nack.delivery_time)
        consumers = []
        for name in g.consumers:
            count, oldest = per.get(name, [0, now_ms])
            c = self.consumers.get(name)
            consumers.append({"name": name, "state": c.state if c else "unknown", "pending": count,
                              "oldest_idle_ms": round(now_ms - oldest, 1) if count else None})
        for name, c in self.consumers.items():
            if name not in g.consumers:
                consumers.append({"name": name, "state": c.state, "pending": 0, "oldest_idle_ms": None})
        pel = [{"id": format_id(i), "consumer": g.pel[i].consumer, "idle_ms": round(now_ms - g.pel[i].delivery_time, 1),
                "deliveries": g.pel[i].delivery_count, "key": f"msg-{g.pel[i].key}"} for i in g.pel_ids[:8]]
        return {
            "last_delivered_id": format_id(g.last_id),
            "entries_read": g.entries_read,
            "lag": g.unread(),
            "xinfo_lag": g.lag(),  # XINFO GROUPS lag: None when Redis cannot tell (an XDEL ahead)
            "replayed": self.replayed,
            "deleted_consumers": self.deleted_consumers,
            "pending": len(g.pel),
            "consumers": consumers,
            "pel_head": pel,
            "members": [{"id": c.name, "state": c.state, "partitions": []} for c in self.consumers.values()],
            "acknowledged": self.acked,
            "dead_lettered": self.dead - self.redriven,
            "failed": self.failed,
            "duplicates": self.duplicates,
            "retried": self.retried,
            "processed": self.processed,
            "claims": self.claims[-10:],
            "max_deliveries": self.max_deliveries,
            "min_idle_ms": self.p["min_idle_ms"],
        }
