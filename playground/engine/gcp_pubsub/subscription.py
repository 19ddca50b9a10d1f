"""A Pub/Sub subscription and its subscribers during a run.

The subscription holds its own copy of every message published to its topic after it was
created, leases each delivery for the ack deadline, and redelivers what is nacked or not acked
in time (after the retry policy's backoff), forwarding it to the dead-letter topic once it has
failed max delivery attempts. With message ordering, messages of one ordering key go out one at
a time, in publish order, and a failed one holds the rest of its key back until it is
redelivered. Pull subscribers take messages within their flow-control limits and extend the
leases of what they hold (ModifyAckDeadline); a push subscription sends requests to its
endpoint within the push window and backs off after failures. The subscriber clients (the
streaming-pull side) are in subscriber.py.

Accounting (one stream per subscription): produced = acknowledged + in_flight (outstanding
leases) + waiting (backlog, including messages waiting out a backoff) + dead_lettered + dropped.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError, Runtime
from playground.engine.gcp_pubsub import rules, seek
from playground.engine.gcp_pubsub.filters import matches, parse_filter
from playground.engine.gcp_pubsub.runtime import Message, key_index

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

DEADLINE = 1
REDELIVER = 2
PUSH_RESUME = 3
RETENTION = 4

RETENTION_SWEEP = 10.0
DROP_RETENTION = "unacked past the subscription's message retention duration"
REASON_NACK = "max delivery attempts reached (last attempt nacked)"
REASON_EXPIRED = "max delivery attempts reached (last ack deadline exceeded)"
#: acked messages kept for seek (retain_acked_messages / topic retention), and messages a
#: snapshot keeps, at most: a simulation bound on memory, reported when reached
RETAINED_MAX = 200_000
SEEK_BACK_S = 30.0  # the "Seek to 30 s ago" button
ACK_INVALID = "INVALID_ACK_ID"  # exactly-once: AcknowledgeStatus of an ack whose lease ended


class Copy:
    """A subscription's copy of a message and its delivery history."""

    __slots__ = ("msg", "attempts", "last_fail", "client_acked")

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.attempts = 0
        self.last_fail: str | None = None
        self.client_acked = False



class Lease:
    __slots__ = ("copy", "member", "deadline", "received", "held")

    def __init__(self, copy: Copy, member: str, deadline: float, received: float) -> None:
        self.copy = copy
        self.member = member
        self.deadline = deadline
        self.received = received
        self.held = True



class SubscriptionRuntime(Runtime):
    commands = {"create_snapshot": "cmd_create_snapshot", "seek_snapshot": "cmd_seek_snapshot",
                "seek_time": "cmd_seek_time", "seek_purge": "cmd_seek_purge"}
    command_labels = {"create_snapshot": "Create snapshot", "seek_snapshot": "Seek to snapshot",
                      "seek_time": "Seek to 30 s ago", "seek_purge": "Seek to now (purge)"}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: str | None,
                 subscribers: list[str], dlq: str | None) -> None:
        self.id = node_id
        self.topic = topic
        self.push = params["delivery"] == "push"
        self.ack_deadline = float(params["ack_deadline_s"])
        self.retry = params["retry_policy"]
        self.min_backoff = float(params["min_backoff_s"])
        self.max_backoff = max(float(params["max_backoff_s"]), self.min_backoff)
        self.dlq = dlq
        self.max_attempts = int(params["max_delivery_attempts"]) if dlq else 0
        self.ordering = bool(params["message_ordering"])
        self.exactly_once = bool(params["exactly_once"]) and not self.push
        self.ack_loss = 0.0 if self.exactly_once else float(params["ack_loss_rate"])
        self.retention = float(params["message_retention_s"])
        self.created_at = float(params["created_at_s"])
        self.subscribers = subscribers
        self.rng = sim.kernel.rng(f"gcp_pubsub:{node_id}")
        self.ready: deque[Copy] = deque()
        self.keyq: dict[str, deque[Copy]] = {}
        self.ready_keys: deque[str] = deque()
        self.busy: set[str] = set()
        self.delayed: list[tuple[float, int, Copy]] = []
        self.key_due: list[tuple[float, int, str]] = []
        self.seq = 0
        self.flip = False
        self.outstanding: dict[int, Lease] = {}
        self.next_ack = 0
        self.timer_at: float | None = None
        self.affinity: dict[str, str] = {}
        self.rr = 0
        self.produced = self.acked = self.dead_lettered = 0
        self.dropped: dict[str, int] = {}
        self.delivered = self.duplicates = self.retried = self.expired = self.nacks = 0
        self.modacks = self.acks_failed = self.late_acks = self.lost_acks = self.redelivered_after_ack = 0
        self.window = rules.PUSH_WINDOW_START
        self.consecutive_failures = 0
        self.paused_until = 0.0
        self.push_ok = self.push_failed = 0
        self.filter_text = str(params["filter"])
        self.filter = parse_filter(self.filter_text)
        self.filtered = 0  # did not match the filter: acknowledged by Pub/Sub at once
        self.retain_acked = bool(params["retain_acked_messages"])
        self.history: deque[Message] = deque()  # acknowledged messages kept for seek
        self.history_evicted = 0
        self.snapshot: dict[str, Any] | None = None
        self.replayed = self.seek_acked = self.seeks = 0
        self.last_seek: dict[str, Any] | None = None
        if self.retention > 0:
            sim.kernel.schedule(RETENTION_SWEEP, RETENTION, self.id)

    # -- what the topic and the subscribers call ------------------------------------------

    def held(self) -> int:
        return len(self.ready) + len(self.delayed) + sum(len(q) for q in self.keyq.values()) + len(self.outstanding)

    def enqueue(self, sim: Simulation, messages: list[Message]) -> None:
        snap = self.snapshot
        for msg in messages:
            self.produced += 1
            if self.filter is not None and not matches(self.filter, msg.attrs):
                self.filtered += 1  # "Pub/Sub automatically acknowledges the messages that don't match"
                self.acked += 1
                continue
            if snap is not None and msg.published >= snap["created"]:
                self._keep(snap["after"], msg)
            copy = Copy(msg)
            if self.ordering and msg.key:
                q = self.keyq.get(msg.key)
                if q is None:
                    q = self.keyq[msg.key] = deque()
                q.append(copy)
                if len(q) == 1:
                    self.ready_keys.append(msg.key)
            else:
                self.ready.append(copy)
        self.dispatch(sim)

    def _members(self, sim: Simulation) -> list[Any]:
        out = []
        for sid in self.subscribers:
            out.extend(sim.components[sid].alive())
        return out

    def dispatch(self, sim: Simulation) -> None:
        now = sim.kernel.now
        if self.push and now < self.paused_until:
            return
        members = self._members(sim)
        if not members:
            return
        while True:
            if self.push and len(self.outstanding) >= self.window:
                break
            copy = self._next()
            if copy is None:
                break
            member = self._choose(sim, members, copy)
            if member is None:
                self._put_back(copy)
                break
            self._deliver(sim, copy, member)

    def _ordered(self, copy: Copy) -> bool:
        return self.ordering and bool(copy.msg.key)

    def _next(self) -> Copy | None:
        self.flip = not self.flip
        if self.ready_keys and (self.flip or not self.ready):
            key = self.ready_keys.popleft()
            self.busy.add(key)
            return self.keyq[key][0]
        if self.ready:
            return self.ready.popleft()
        return None

    def _put_back(self, copy: Copy) -> None:
        if self._ordered(copy):
            self.busy.discard(copy.msg.key)
            self.ready_keys.appendleft(copy.msg.key)
        else:
            self.ready.appendleft(copy)

    def _choose(self, sim: Simulation, members: list[Any], copy: Copy) -> Any | None:
        """Ordering affinity ("Ordering messages"): a key goes back to the subscriber that last
        received it, on a best-effort basis; otherwise subscribers take turns."""
        size = copy.msg.size
        if self._ordered(copy):
            want = self.affinity.get(copy.msg.key)
            for m in members:
                if m.key == want and m.owner.can_take(m, size):
                    return m
        for i in range(len(members)):
            m = members[(self.rr + i) % len(members)]
            if m.owner.can_take(m, size):
                self.rr = (self.rr + i + 1) % len(members)
                return m
        return None

    def _deliver(self, sim: Simulation, copy: Copy, member: Any) -> None:
        now = sim.kernel.now
        copy.attempts += 1
        self.delivered += 1
        if copy.attempts > 1:
            if copy.last_fail == "nack":
                self.retried += 1
            else:
                self.duplicates += 1
            if copy.client_acked:
                self.redelivered_after_ack += 1
        copy.client_acked = False
        self.next_ack += 1
        ack_id = self.next_ack
        deadline = now + self.ack_deadline
        self.outstanding[ack_id] = Lease(copy, member.key, deadline, now)
        sim.kernel.schedule(deadline, DEADLINE, self.id, (ack_id, deadline))
        if self._ordered(copy):
            self.affinity[copy.msg.key] = member.key
        if sim.record_flow:
            sim.emit({"k": "pubsub_deliver", "t": now, "src": self.id, "dst": member.owner.id, "n": 1,
                      "c": member.name, "key": copy.msg.key or "", "p": key_index(copy.msg.key),
                      "m": copy.msg.uid & 0xFFFFFFFF, "attempt": copy.attempts, "push": self.push})
        member.owner.receive(sim, member, self.id, ack_id, copy)

    def ack(self, sim: Simulation, ack_id: int, copy: Copy) -> bool:
        """Acknowledge; returns whether the subscriber sees it succeed. With exactly-once
        delivery an ack whose lease has expired fails ("Exactly-once delivery": the ack result
        reports PERMANENT_FAILURE_INVALID_ACK_ID, and the message will be redelivered); with
        at-least-once, acks are best effort: a late or lost ack looks fine to the subscriber but
        the message comes back ("Handle duplicates")."""
        lease = self.outstanding.get(ack_id)
        if lease is None:
            if self.exactly_once:
                self.acks_failed += 1
                sim.emit({"k": "pubsub_ack_failed", "t": sim.kernel.now, "node": self.id,
                          "key": copy.msg.key or "", "status": ACK_INVALID,
                          "reason": "ack id expired (deadline exceeded, or the message was redelivered)"})
                return False
            self.late_acks += 1
            copy.client_acked = True
            return True
        if self.ack_loss > 0 and self.rng.random() < self.ack_loss:
            self.lost_acks += 1
            lease.held = False
            copy.client_acked = True
            return True
        del self.outstanding[ack_id]
        self.acked += 1
        self._remember_acked(sim, copy.msg)
        self._settled(copy)
        if self.push:
            self._push_result(sim, True)
        if sim.record_flow:
            sim.emit({"k": "pubsub_ack", "t": sim.kernel.now, "src": self._member_node(lease), "dst": self.id,
                      "n": 1, "key": copy.msg.key or "", "p": key_index(copy.msg.key)})
        self.dispatch(sim)
        return True

    def nack(self, sim: Simulation, ack_id: int) -> None:
        """A nack is ModifyAckDeadline with 0: the message may be redelivered at once (after
        the retry policy's backoff)."""
        lease = self.outstanding.pop(ack_id, None)
        if lease is None:
            return
        self.nacks += 1
        lease.copy.last_fail = "nack"
        if self.push:
            self._push_result(sim, False)
        self._failed(sim, lease.copy, REASON_NACK)
        self.dispatch(sim)

    def release(self, ack_id: int) -> None:
        """The subscriber stopped holding the message without a nack (it ignores the failure, or
        crashed): nobody extends the lease any more, so it runs out at its deadline."""
        lease = self.outstanding.get(ack_id)
        if lease is not None:
            lease.held = False

    def _member_node(self, lease: Lease) -> str:
        return lease.member.partition("/")[0]

    def _settled(self, copy: Copy) -> None:
        if self._ordered(copy):
            key = copy.msg.key
            q = self.keyq[key]
            q.popleft()
            self.busy.discard(key)
            if q:
                self.ready_keys.append(key)
            else:
                del self.keyq[key]

    def _failed(self, sim: Simulation, copy: Copy, reason: str) -> None:
        now = sim.kernel.now
        if rules.dead_letter_due(copy.attempts, self.max_attempts):
            self.dead_lettered += 1
            self._settled(copy)
            sim.components[self.dlq].receive_dead_letter(sim, self.id, copy.msg, copy.attempts, reason)
            return
        due = now + rules.retry_delay(self.retry, self.min_backoff, self.max_backoff, copy.attempts)
        self.seq += 1
        if self._ordered(copy):
            heapq.heappush(self.key_due, (due, self.seq, copy.msg.key))
        else:
            heapq.heappush(self.delayed, (due, self.seq, copy))
        self._arm(sim)

    def _arm(self, sim: Simulation) -> None:
        times = [h[0][0] for h in (self.delayed, self.key_due) if h]
        if not times:
            return
        at = min(times)
        if self.timer_at is None or at < self.timer_at:
            self.timer_at = at
            sim.kernel.schedule(at, REDELIVER, self.id, at)

    def _push_result(self, sim: Simulation, success: bool) -> None:
        self.window = rules.push_window_after(self.window, success)
        if success:
            self.push_ok += 1
            self.consecutive_failures = 0
            return
        self.push_failed += 1
        self.consecutive_failures += 1
        pause = rules.push_backoff(self.consecutive_failures)
        self.paused_until = sim.kernel.now + pause
        sim.kernel.schedule(self.paused_until, PUSH_RESUME, self.id)
        sim.emit({"k": "pubsub_push_backoff", "t": sim.kernel.now, "node": self.id, "pause": round(pause, 3),
                  "window": self.window, "failures": self.consecutive_failures})

    # -- events -------------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == DEADLINE:
            self._deadline(sim, *arg)
        elif kind == REDELIVER:
            if arg == self.timer_at:
                self.timer_at = None
            now = sim.kernel.now
            back: list[Copy] = []
            while self.delayed and self.delayed[0][0] <= now:
                back.append(heapq.heappop(self.delayed)[2])
            self.ready.extendleft(reversed(back))
            keys: list[str] = []
            while self.key_due and self.key_due[0][0] <= now:
                keys.append(heapq.heappop(self.key_due)[2])
            keys = [k for k in keys if k in self.keyq]  # a seek may have acked the whole key meanwhile
            for key in keys:
                self.busy.discard(key)
            self.ready_keys.extendleft(reversed(keys))
            self._arm(sim)
            self.dispatch(sim)
        elif kind == PUSH_RESUME:
            self.dispatch(sim)
        elif kind == RETENTION:
            self._sweep(sim)
            sim.kernel.schedule(sim.kernel.now + RETENTION_SWEEP, RETENTION, self.id)

    def _deadline(self, sim: Simulation, ack_id: int, deadline: float) -> None:
        lease = self.outstanding.get(ack_id)
        if lease is None or lease.deadline != deadline:
            return
        now = sim.kernel.now
        if not self.push and lease.held:
            owner = sim.components[self._member_node(lease)]
            if owner.extends(lease.member, now - lease.received):
                # Lease management: the client library sends ModifyAckDeadline for what it holds.
                self.modacks += 1
                lease.deadline = now + self.ack_deadline
                sim.kernel.schedule(lease.deadline, DEADLINE, self.id, (ack_id, lease.deadline))
                return
        del self.outstanding[ack_id]
        self.expired += 1
        lease.copy.last_fail = "expired"
        sim.emit({"k": "pubsub_expire", "t": now, "node": self.id, "key": lease.copy.msg.key or "",
                  "attempt": lease.copy.attempts, "c": lease.member.partition("/")[2]})
        if self.push:
            self._push_result(sim, False)
        self._failed(sim, lease.copy, REASON_EXPIRED)
        self.dispatch(sim)

    def _sweep(self, sim: Simulation) -> None:
        """Unacked messages older than message_retention_duration are deleted (waiting ones;
        an ordering key whose head is out is looked at next time)."""
        cut = sim.kernel.now - self.retention
        gone = 0
        keep = deque(c for c in self.ready if c.msg.published >= cut)
        gone += len(self.ready) - len(keep)
        self.ready = keep
        delayed = [d for d in self.delayed if d[2].msg.published >= cut]
        gone += len(self.delayed) - len(delayed)
        heapq.heapify(delayed)
        self.delayed = delayed
        for key in list(self.keyq):
            if key in self.busy:
                continue
            q = self.keyq[key]
            kept = deque(c for c in q if c.msg.published >= cut)
            gone += len(q) - len(kept)
            if kept:
                self.keyq[key] = kept
            else:
                del self.keyq[key]
                self.ready_keys = deque(k for k in self.ready_keys if k != key)
        if gone:
            self.dropped[DROP_RETENTION] = self.dropped.get(DROP_RETENTION, 0) + gone
            sim.emit({"k": "pubsub_drop", "t": sim.kernel.now, "node": self.id, "reason": DROP_RETENTION, "n": gone})

    # -- seek and snapshots (seek.py holds the rules) ----------------------------------------

    def _keep(self, store: deque[Message] | list[Message], msg: Message) -> None:
        if len(store) >= RETAINED_MAX:
            self.history_evicted += 1
            return
        store.append(msg)

    def _acked_retention(self, sim: Simulation) -> float:
        topic = sim.components.get(self.topic) if self.topic else None
        return seek.acked_retention_s(self.retain_acked, self.retention, float(getattr(topic, "retention", 0.0)))

    def _remember_acked(self, sim: Simulation, msg: Message) -> None:
        """Keep an acknowledged message for seek, while it is within the retention for acked
        messages (retain_acked_messages or the topic's retention)."""
        keep = self._acked_retention(sim)
        if keep <= 0:
            return
        cut = sim.kernel.now - keep
        while self.history and self.history[0].published < cut:
            self.history.popleft()
        if len(self.history) >= RETAINED_MAX:
            self.history.popleft()
            self.history_evicted += 1
        self.history.append(msg)

    def unacked_messages(self) -> list[Message]:
        out = [c.msg for c in self.ready] + [d[2].msg for d in self.delayed]
        for q in self.keyq.values():
            out.extend(c.msg for c in q)
        seen = {m.uid for m in out}
        out.extend(lease.copy.msg for lease in self.outstanding.values() if lease.copy.msg.uid not in seen)
        return out

    def cmd_create_snapshot(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Create a snapshot of this subscription: it keeps the messages unacked now and every
        message published from now on, for 7 days minus the age of the oldest unacked one."""
        now = sim.kernel.now
        unacked = self.unacked_messages()
        try:
            lifetime = seek.snapshot_lifetime_s(now, min((m.published for m in unacked), default=None))
        except seek.SeekError as err:
            raise CommandError(str(err)) from None
        self.snapshot = {"created": now, "expires": now + lifetime, "uids": {m.uid for m in unacked},
                         "messages": unacked[:RETAINED_MAX], "after": []}
        sim.emit({"k": "pubsub_snapshot", "t": now, "node": self.id, "unacked": len(unacked),
                  "expires": round(now + lifetime, 3)})

    def cmd_seek_snapshot(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Seek to the snapshot: what was unacked when it was taken, and everything published
        since, is unacknowledged again (delivered once more); every other message is acked."""
        snap = self.snapshot
        if snap is None:
            raise CommandError(f"subscription {self.id!r} has no snapshot: create one first")
        if sim.kernel.now > snap["expires"]:
            raise CommandError(f"the snapshot of {self.id!r} has expired")
        created, uids = snap["created"], snap["uids"]
        candidates = list(snap["messages"]) + list(snap["after"])
        self._seek(sim, candidates,
                   lambda m: seek.unacked_after_seek_to_snapshot(m.uid, m.published, uids, created),
                   {"to": "snapshot", "snapshot_created": created})

    def cmd_seek_time(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Seek to a time (30 s ago unless ``time`` is given, in simulated seconds): messages
        published before it are acknowledged; retained ones published after it are
        unacknowledged, so acked ones come back only with retain_acked_messages or topic
        retention."""
        raw = command.get("time", sim.kernel.now - SEEK_BACK_S)
        if not isinstance(raw, (int, float)) or isinstance(raw, bool):
            raise CommandError("time: must be a number of simulated seconds")
        self._seek_to_time(sim, float(raw))

    def cmd_seek_purge(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Seek to now: every message published until now is acknowledged (purges the backlog)."""
        self._seek_to_time(sim, sim.kernel.now)

    def _seek_to_time(self, sim: Simulation, time: float) -> None:
        cut = sim.kernel.now - self._acked_retention(sim)
        history = [m for m in self.history if m.published >= cut]
        self._seek(sim, history, lambda m: seek.unacked_after_seek_to_time(m.published, False, True, time),
                   {"to": "time", "time": round(time, 3)})

    def _seek(self, sim: Simulation, candidates: list[Message], unacked: Any, info: dict[str, Any]) -> None:
        """Set the ack state: unacked messages not to stay so are acknowledged (outstanding
        leases end: a later ack of theirs finds no lease); candidates (retained acked
        messages, a snapshot's) to be unacked that are not are delivered again."""
        now = sim.kernel.now
        current = {m.uid for m in self.unacked_messages()}
        acked_now = self._purge(lambda m: bool(unacked(m)))
        for lease_id, lease in list(self.outstanding.items()):
            if not unacked(lease.copy.msg):
                del self.outstanding[lease_id]
                self._settled(lease.copy)
                acked_now.append(lease.copy.msg)
        self.acked += len(acked_now)
        self.seek_acked += len(acked_now)
        for msg in acked_now:
            self._remember_acked(sim, msg)
        again = []
        seen: set[int] = set()
        for msg in candidates:
            if msg.uid in current or msg.uid in seen or not unacked(msg):
                continue
            seen.add(msg.uid)
            again.append(msg)
        if again:
            replayed = {m.uid for m in again}
            self.history = deque(m for m in self.history if m.uid not in replayed)
            self.replayed += len(again)
            snap, self.snapshot = self.snapshot, None  # replays are not "published after" the snapshot
            self.enqueue(sim, again)
            self.snapshot = snap
        self.seeks += 1
        self.last_seek = dict(info, t=now, acked=len(acked_now), replayed=len(again))
        sim.emit(dict(self.last_seek, k="pubsub_seek", node=self.id))
        self.dispatch(sim)

    def _purge(self, keep: Any) -> list[Message]:
        """Take out of the backlog the waiting messages ``keep`` refuses; return them. An
        ordering key whose head is out (delivered, or waiting out a backoff) keeps its turn."""
        out: list[Message] = []
        kept = deque(c for c in self.ready if keep(c.msg))
        out.extend(c.msg for c in self.ready if not keep(c.msg))
        self.ready = kept
        delayed = [d for d in self.delayed if keep(d[2].msg)]
        out.extend(d[2].msg for d in self.delayed if not keep(d[2].msg))
        heapq.heapify(delayed)
        self.delayed = delayed
        leased = {id(lease.copy) for lease in self.outstanding.values()}
        for key in list(self.keyq):
            q = self.keyq[key]
            head = q[0] if key in self.busy and id(q[0]) in leased else None
            rest = [c for c in q if c is not head]
            stay = deque(c for c in rest if keep(c.msg))
            out.extend(c.msg for c in rest if not keep(c.msg))
            if head is not None:
                stay.appendleft(head)
            elif key in self.busy and (not stay or stay[0] is not q[0]):
                # the head waiting out its backoff was acked: the key's turn is free again
                self.busy.discard(key)
                self.key_due = [e for e in self.key_due if e[2] != key]
                heapq.heapify(self.key_due)
                if stay:
                    self.ready_keys.append(key)
            if stay:
                self.keyq[key] = stay
            else:
                del self.keyq[key]
                self.ready_keys = deque(k for k in self.ready_keys if k != key)
        return out

    # -- commands and reading ----------------------------------------------------------------

    def take_waiting(self, sim: Simulation) -> list[Message]:
        """Pull and ack every waiting message (used to redrive a dead-letter topic)."""
        out = [c.msg for c in self.ready] + [d[2].msg for d in self.delayed]
        self.ready.clear()
        self.delayed = []
        for key in list(self.keyq):
            if key not in self.busy:
                out.extend(c.msg for c in self.keyq.pop(key))
        self.ready_keys = deque(k for k in self.ready_keys if k in self.keyq)
        self.acked += len(out)
        return out

    def waiting(self) -> int:
        out_ordered = sum(1 for lease in self.outstanding.values() if self._ordered(lease.copy))
        return len(self.ready) + len(self.delayed) + sum(len(q) for q in self.keyq.values()) - out_ordered

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"topic": self.topic, "subscription": self.id, "produced": self.produced,
                 "acknowledged": self.acked, "in_flight": len(self.outstanding), "waiting": self.waiting(),
                 "dead_lettered": self.dead_lettered, "dropped": dict(self.dropped)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        now = sim.kernel.now
        oldest = min((c.msg.published for c in self.ready), default=None)
        for q in self.keyq.values():
            if q:
                oldest = q[0].msg.published if oldest is None else min(oldest, q[0].msg.published)
        for lease in self.outstanding.values():
            oldest = lease.copy.msg.published if oldest is None else min(oldest, lease.copy.msg.published)
        waiting = self.waiting()
        view: dict[str, Any] = {
            "delivery": "push" if self.push else "pull",
            "backlog": waiting, "outstanding": len(self.outstanding),
            "oldest_unacked_s": round(now - oldest, 3) if oldest is not None else 0.0,
            "produced": self.produced, "acked": self.acked, "delivered": self.delivered,
            "duplicates": self.duplicates, "retried": self.retried, "expired": self.expired, "nacks": self.nacks,
            "modacks": self.modacks, "dead_lettered": self.dead_lettered, "dropped": dict(self.dropped),
            "lag": waiting, "ack_deadline_s": self.ack_deadline, "ordering": self.ordering,
            "exactly_once": self.exactly_once, "acks_failed": self.acks_failed, "late_acks": self.late_acks,
            "lost_acks": self.lost_acks, "redelivered_after_ack": self.redelivered_after_ack,
            "max_delivery_attempts": self.max_attempts, "dead_letter_topic": self.dlq,
            "keys_blocked": sum(1 for k in self.busy if k in self.keyq), "keys_waiting": len(self.keyq),
            "retrying": len(self.delayed) + len(self.key_due),
            "filter": self.filter_text, "filtered": self.filtered, "retain_acked": self.retain_acked,
            "retained_acked": len(self.history), "retained_evicted": self.history_evicted,
            "snapshot": ({"created": self.snapshot["created"], "expires": self.snapshot["expires"],
                          "unacked": len(self.snapshot["uids"]), "after": len(self.snapshot["after"])}
                         if self.snapshot else None),
            "seeks": self.seeks, "replayed": self.replayed, "seek_acked": self.seek_acked,
            "last_seek": self.last_seek,
        }
        if self.push:
            view.update({"push_window": self.window, "push_ok": self.push_ok, "push_failed": self.push_failed,
                         "push_paused_s": round(max(0.0, self.paused_until - now), 3)})
        return view
