"""A Pulsar subscription (its cursor on each partition and its dispatcher) and its consumers.

Cursor per partition (ManagedCursor): everything below ``md`` (the mark-delete position) is
acknowledged, ``acked`` holds individually acknowledged positions above it, ``read`` is the next
entry to read, ``replay`` the positions to redeliver first, ``pending`` what is out at a
consumer. Dispatch needs permits: each consumer grants its receiver queue size at the start and
more (FLOW) as its application takes messages, half a queue at a time.

Accounting (one stream per subscription): produced = acknowledged + in_flight (pending at
consumers) + waiting (unread, or to be redelivered) + dead_lettered.
"""

from __future__ import annotations

import heapq
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.engine.component import ON_MEMBER, CommandError, Runtime
from playground.engine.kernel import uniform_hash
from playground.engine.pulsar import rules

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

DONE = 1
NACK_DUE = 2
ACK_TIMEOUT = 3
LOOKAHEAD = 2_000  # Key_Shared: most positions parked for replay before reading stops
MAX_MEMBERS = 64
REASON = "maxRedeliverCount reached"


class Cursor:
    __slots__ = ("md", "acked", "read", "replay", "in_replay", "pending", "redeliveries", "delivered_upto")

    def __init__(self, start: int) -> None:
        self.md = start
        self.acked: set[int] = set()
        self.read = start
        self.replay: list[int] = []
        self.in_replay: set[int] = set()
        self.pending: dict[int, tuple[str, int]] = {}
        self.redeliveries: dict[int, int] = {}
        self.delivered_upto = start


    def add_replay(self, pos: int) -> None:
        if pos not in self.in_replay:
            self.in_replay.add(pos)
            heapq.heappush(self.replay, pos)

    def pop_replay(self) -> int | None:
        while self.replay:
            pos = heapq.heappop(self.replay)
            if pos in self.in_replay:
                self.in_replay.discard(pos)
                return pos
        return None

    def settle(self) -> None:
        while self.md in self.acked:
            self.acked.discard(self.md)
            self.md += 1
        if self.read < self.md:
            # ManagedCursorImpl: a mark-delete that passes the read position moves it along (after a
            # rewind, messages acknowledged individually before it are never read again)
            self.read = self.md


class SubscriptionRuntime(Runtime):
    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: str | None,
                 dlq: str | None) -> None:
        self.id = node_id
        self.topic = topic
        self.type = params["type"]
        self.cumulative = params["ack_mode"] == "cumulative"
        self.ack_timeout = params["ack_timeout_ms"] / 1000.0
        self.nack_delay = params["nack_redelivery_delay_ms"] / 1000.0
        self.dlq = dlq
        self.max_redeliver = int(params["max_redeliver_count"]) if dlq else 0
        parts = sim.components[topic].partitions if topic else 1
        self.partitioned = bool(topic and sim.components[topic].partitioned)
        self.cursors = [Cursor(0) for _ in range(parts)]
        self.consumers: list[str] = []  # member keys in subscription order
        self.members: dict[str, Any] = {}  # member key -> Member
        self.permits: dict[str, int] = {}
        self.refused = 0
        self.errors: deque[dict[str, Any]] = deque(maxlen=10)
        self.selector = rules.AutoSplitSelector()
        self.parked: list[dict[str, list[int]]] = [{} for _ in range(parts)]
        self.active: list[str | None] = [None] * parts
        self.rr = 0
        self.prr = 0
        self.did = 0
        self.produced = self.acked = self.dead_lettered = 0
        self.delivered = self.duplicates = self.retried = self.rewinds = self.acked_unprocessed = 0

    # -- membership -----------------------------------------------------------------------------

    def attach(self, sim: Simulation, member: Any) -> bool:
        """A consumer subscribes; an Exclusive subscription refuses a second one."""
        if self.type == "exclusive" and self.consumers:
            self.refused += 1
            self.errors.append({"t": sim.kernel.now, "consumer": member.key, "error": rules.CONSUMER_BUSY})
            sim.emit({"k": "pulsar_consumer_refused", "t": sim.kernel.now, "node": self.id, "c": member.key,
                      "error": rules.CONSUMER_BUSY})
            return False
        self.consumers.append(member.key)
        self.members[member.key] = member
        self.permits[member.key] = member.queue_size
        if self.type == "key_shared":
            self.selector.add(member.key)
            self._repark(sim)
        self._pick_active(sim)
        self.dispatch(sim)
        return True

    def detach(self, sim: Simulation, member: Any) -> None:
        """A consumer's connection closes (crash or close): what it had unacked is redelivered."""
        if member.key not in self.members:
            return
        self.consumers.remove(member.key)
        del self.members[member.key]
        del self.permits[member.key]
        if self.type == "key_shared":
            self.selector.remove(member.key)
            self._repark(sim)
        for p, cur in enumerate(self.cursors):
            mine = [pos for pos, (m, _) in cur.pending.items() if m == member.key]
            if not mine:
                continue
            if self.type in ("shared", "key_shared"):
                for pos in mine:
                    del cur.pending[pos]
                    self._count_redelivery(cur, pos)
                    self._replay(sim, p, pos)
            else:
                self._rewind(sim, p)
        self._pick_active(sim)
        self.dispatch(sim)

    def _pick_active(self, sim: Simulation) -> None:
        if self.type not in ("exclusive", "failover"):
            return
        for p in range(len(self.cursors)):
            active = rules.failover_active(self.consumers, p if self.partitioned else -1)
            if active != self.active[p]:
                before = self.active[p]
                self.active[p] = active
                if before is not None and before in self.members:
                    self._rewind(sim, p)  # the new active consumer gets every unacked message
                sim.emit({"k": "pulsar_active_consumer", "t": sim.kernel.now, "node": self.id, "p": p,
                          "before": before, "after": active})

    def _rewind(self, sim: Simulation, p: int) -> None:
        """Exclusive/Failover redelivery: the cursor is rewound to the mark-delete position and
        every unacked message is sent again, in order (a single message cannot be redelivered
        alone without breaking the order); consumers drop what their queues held of it."""
        cur = self.cursors[p]
        self.rewinds += 1
        self.retried += len(cur.pending)
        for m in self.members.values():
            m.owner.purge(sim, m, self.id, p)
        cur.pending.clear()
        cur.replay.clear()
        cur.in_replay.clear()
        cur.read = cur.md

    def flow(self, sim: Simulation, member_key: str, n: int) -> None:
        if member_key in self.permits:
            self.permits[member_key] += n
            self.dispatch(sim)

    # -- the log side -----------------------------------------------------------------------------

    def appended(self, sim: Simulation, p: int) -> None:
        self.produced = sum(sim.components[self.topic].end(q) for q in range(len(self.cursors)))
        self.dispatch(sim)

    def mark_delete(self, p: int) -> int:
        return self.cursors[p].md

    def backlog(self) -> int:
        return self.produced - self.acked - self.dead_lettered

    # -- dispatch ---------------------------------------------------------------------------------

    def _next(self, sim: Simulation, p: int) -> int | None:
        pos = self.cursors[p].pop_replay()
        if pos is not None:
            return pos
        return self._read(sim, p)

    def _read(self, sim: Simulation, p: int) -> int | None:
        cur = self.cursors[p]
        end = sim.components[self.topic].end(p)
        while cur.read < end and (cur.read in cur.acked or cur.read < cur.md):
            cur.read += 1
        if cur.read < end:
            cur.read += 1
            return cur.read - 1
        return None

    def dispatch(self, sim: Simulation) -> None:
        if self.topic is None or not self.consumers:
            return
        if self.type in ("exclusive", "failover"):
            for p, key in enumerate(self.active):
                while key is not None and self.permits.get(key, 0) > 0:
                    pos = self._next(sim, p)
                    if pos is None:
                        break
                    self._deliver(sim, key, p, pos)
        elif self.type == "shared":
            n = len(self.cursors)
            while True:
                member = self._next_with_permits()
                if member is None:
                    break
                for i in range(n):
                    p = (self.prr + i) % n
                    pos = self._next(sim, p)
                    if pos is not None:
                        self.prr = (p + 1) % n
                        self._deliver(sim, member, p, pos)
                        break
                else:
                    break
        else:
            self._dispatch_key_shared(sim)

    def _next_with_permits(self) -> str | None:
        n = len(self.consumers)
        for i in range(n):
            key = self.consumers[(self.rr + i) % n]
            if self.permits[key] > 0:
                self.rr = (self.rr + i + 1) % n
                return key
        return None

    def _dispatch_key_shared(self, sim: Simulation) -> None:
        """Key_Shared: each message to the consumer owning its key's hash. A message whose
        consumer has no permits is parked for that consumer (so are later ones of its keys, which
        keeps each key's order) and reading goes on for the other consumers, up to a look-ahead."""
        for p, cur in enumerate(self.cursors):
            parked = self.parked[p]
            for owner in self.consumers:
                heap = parked.get(owner)
                while heap and self.permits[owner] > 0:
                    pos = heapq.heappop(heap)
                    if pos in cur.in_replay:
                        cur.in_replay.discard(pos)
                        self._deliver(sim, owner, p, pos)
            while self._any_permits() and len(cur.in_replay) < LOOKAHEAD:
                pos = self._read(sim, p)
                if pos is None:
                    break
                owner = self._owner(sim, p, pos)
                if owner is not None and self.permits[owner] > 0 and not parked.get(owner):
                    self._deliver(sim, owner, p, pos)
                else:
                    self._park(sim, p, pos)

    def _owner(self, sim: Simulation, p: int, pos: int) -> str | None:
        key = sim.components[self.topic].key_of(p, pos)
        return self.selector.select(rules.sticky_key_hash(f"key-{key}" if key >= 0 else None))

    def _park(self, sim: Simulation, p: int, pos: int) -> None:
        cur = self.cursors[p]
        cur.in_replay.add(pos)
        owner = self._owner(sim, p, pos)
        heapq.heappush(self.parked[p].setdefault(owner or "", []), pos)

    def _repark(self, sim: Simulation) -> None:
        """The hash ranges changed: every parked message goes to its key's new owner."""
        for p, cur in enumerate(self.cursors):
            self.parked[p] = {}
            for pos in sorted(cur.in_replay):
                owner = self._owner(sim, p, pos)
                self.parked[p].setdefault(owner or "", []).append(pos)

    def _any_permits(self) -> bool:
        return any(v > 0 for v in self.permits.values())

    def _deliver(self, sim: Simulation, member_key: str, p: int, pos: int) -> None:
        cur = self.cursors[p]
        self.did += 1
        cur.pending[pos] = (member_key, self.did)
        self.permits[member_key] -= 1
        self.delivered += 1
        if pos < cur.delivered_upto:
            self.duplicates += 1
        else:
            cur.delivered_upto = pos + 1
        member = self.members[member_key]
        key = sim.components[self.topic].key_of(p, pos)
        if sim.record_flow:
            sim.emit({"k": "pulsar_deliver", "t": sim.kernel.now, "src": self.id, "dst": member.owner.id, "n": 1,
                      "c": member.name, "p": p, "o": pos, "key": f"key-{key}" if key >= 0 else ""})
        count = cur.redeliveries.get(pos, 0) if rules.tracks_redelivery_count(self.type) else 0
        member.owner.receive(sim, member, self.id, p, pos, self.did, key, count)

    def _replay(self, sim: Simulation, p: int, pos: int) -> None:
        if self.type == "key_shared":
            self._park(sim, p, pos)
        else:
            self.cursors[p].add_replay(pos)

    def _count_redelivery(self, cur: Cursor, pos: int) -> None:
        if rules.tracks_redelivery_count(self.type):
            cur.redeliveries[pos] = cur.redeliveries.get(pos, 0) + 1

    # -- acknowledgements and redelivery ---------------------------------------------------------

    def current(self, p: int, pos: int, did: int) -> bool:
        held = self.cursors[p].pending.get(pos)
        return held is not None and held[1] == did

    def ack(self, sim: Simulation, member_key: str, p: int, pos: int) -> None:
        cur = self.cursors[p]
        if self.cumulative:
            self._ack_upto(cur, pos, member_key)
        elif pos >= cur.md and pos not in cur.acked:
            self._ack_one(cur, pos)
        cur.settle()
        self.dispatch(sim)

    def _ack_one(self, cur: Cursor, pos: int, dead: bool = False) -> None:
        cur.acked.add(pos)
        cur.pending.pop(pos, None)
        cur.in_replay.discard(pos)
        cur.redeliveries.pop(pos, None)
        if dead:
            self.dead_lettered += 1
        else:
            self.acked += 1

    def _ack_upto(self, cur: Cursor, pos: int, member_key: str) -> None:
        """acknowledgeCumulative: every message up to and including this one is acknowledged,
        also those that failed and wait to be redelivered."""
        for q in range(cur.md, min(pos + 1, cur.read)):
            if q not in cur.acked:
                if q != pos:
                    self.acked_unprocessed += 1  # earlier ones still unacked had failed
                self._ack_one(cur, q)

    def redeliver(self, sim: Simulation, member_key: str, items: list[tuple[int, int, int]]) -> None:
        """redeliverUnacknowledgedMessages for these messages (after a negative ack's delay or
        an ack timeout). Shared and Key_Shared redeliver just them, or send to the dead-letter
        topic those already redelivered maxRedeliverCount times; Exclusive and Failover rewind."""
        live = [(p, pos, did) for p, pos, did in items if self.current(p, pos, did)]
        if not live:
            return
        if self.type in ("exclusive", "failover"):
            for p in sorted({p for p, _, _ in live}):
                self._rewind(sim, p)
        else:
            topic = sim.components[self.topic]
            for p, pos, _ in live:
                cur = self.cursors[p]
                count = cur.redeliveries.get(pos, 0)
                if self.dlq is not None and rules.dead_letter_due(count, self.max_redeliver):
                    self._ack_one(cur, pos, dead=True)
                    cur.settle()
                    sim.components[self.dlq].receive_dead_letter(sim, self.id, self.topic, topic.key_of(p, pos),
                                                                 count + 1, REASON)
                    continue
                del cur.pending[pos]
                self._count_redelivery(cur, pos)
                self._replay(sim, p, pos)
                self.retried += 1
        self.dispatch(sim)

    # -- commands and reading ----------------------------------------------------------------------

    def take_waiting(self, sim: Simulation) -> list[tuple[int, int, int]]:
        """Consume and ack everything not out at a consumer (to redrive a dead-letter topic)."""
        topic = sim.components[self.topic]
        out = []
        for p, cur in enumerate(self.cursors):
            for pos in sorted(cur.in_replay):
                out.append((p, pos, topic.key_of(p, pos)))
                self._ack_one(cur, pos)
            cur.replay.clear()
            self.parked[p] = {}
            while (pos := self._read(sim, p)) is not None:
                out.append((p, pos, topic.key_of(p, pos)))
                self._ack_one(cur, pos)
            cur.settle()
        return out

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        in_flight = sum(len(c.pending) for c in self.cursors)
        waiting = 0
        if self.topic is not None:
            topic = sim.components[self.topic]
            for p, cur in enumerate(self.cursors):
                ahead = sum(1 for a in cur.acked if a >= cur.read)
                waiting += topic.end(p) - cur.read - ahead + len(cur.in_replay)
        return [{"topic": self.topic, "subscription": self.id, "produced": self.produced, "acknowledged": self.acked,
                 "in_flight": in_flight, "waiting": waiting, "dead_lettered": self.dead_lettered, "dropped": {}}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        stream = self.streams(sim)[0]
        view: dict[str, Any] = {
            "type": self.type, "ack_mode": "cumulative" if self.cumulative else "individual",
            "backlog": stream["in_flight"] + stream["waiting"], "unacked": stream["in_flight"],
            "waiting": stream["waiting"], "produced": self.produced, "acked": self.acked,
            "delivered": self.delivered, "duplicates": self.duplicates, "retried": self.retried,
            "rewinds": self.rewinds, "dead_lettered": self.dead_lettered, "lag": stream["waiting"],
            "acked_unprocessed": self.acked_unprocessed, "refused": self.refused, "errors": list(self.errors),
            "cursors": [{"p": p, "mark_delete": c.md, "read": c.read, "individually_acked": len(c.acked),
                         "replay": len(c.in_replay)} for p, c in enumerate(self.cursors)],
            "consumers": [{"id": k, "permits": self.permits[k],
                           "active": [p for p, a in enumerate(self.active) if a == k]} for k in self.consumers],
            "dead_letter_topic": self.dlq, "max_redeliver_count": self.max_redeliver,
        }
        if self.type == "key_shared":
            view["hash_ranges"] = [{"from": a, "to": b, "consumer": c} for a, b, c in self.selector.ranges()]
        return view


class Member:
    __slots__ = ("owner", "name", "key", "state", "queue", "busy", "token", "to_flow", "queue_size",
                 "processed", "error", "sub")

    def __init__(self, owner: ConsumerRuntime, name: str, queue_size: int) -> None:
        self.owner = owner
        self.name = name
        self.key = f"{owner.id}/{name}"
        self.state = "connecting"
        self.queue: deque[tuple[str, int, int, int, int, int]] = deque()
        self.busy: tuple[str, int, int, int, int, int] | None = None
        self.token = 0
        self.to_flow = 0
        self.queue_size = queue_size
        self.processed = 0
        self.error: str | None = None
        self.sub: str | None = None



class ConsumerRuntime(Runtime):
    """Consumers of one subscription: a receiver queue each (permits), one message processed at
    a time, then acknowledge, negative-acknowledge, or leave it to the ack timeout."""

    commands = {"add_consumer": "cmd_add", "kill_consumer": "cmd_kill", "remove_consumer": "cmd_remove"}
    command_specs = {"remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER}
    items = "members"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], subscription: str | None) -> None:
        self.id = node_id
        self.subscription = subscription
        self.mean_s = float(params["processing_ms"]) / 1000.0
        self.queue_size = int(params["receiver_queue_size"])
        self.failure_rate = float(params["failure_rate"])
        self.poison_rate = float(params["poison_rate"])
        self.on_failure = params["on_failure"]
        self.rng = sim.kernel.rng(f"pulsar:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.members: list[Member] = []
        self.number = 0
        self.processed = self.acked = self.nacked = self.failed = 0
        self.start_count = int(params["consumers"])

    def connect_all(self, sim: Simulation) -> None:
        for _ in range(self.start_count):
            self._open(sim)

    def _open(self, sim: Simulation) -> Member:
        self.number += 1
        member = Member(self, f"c{self.number}", self.queue_size)
        self.members.append(member)
        if self.subscription is not None:
            ok = sim.components[self.subscription].attach(sim, member)
            member.state = "connected" if ok else "refused"
            member.error = None if ok else rules.CONSUMER_BUSY
        return member

    def _sub(self, sim: Simulation) -> SubscriptionRuntime:
        return sim.components[self.subscription]

    def receive(self, sim: Simulation, member: Member, sub: str, p: int, pos: int, did: int, key: int,
                redeliveries: int) -> None:
        member.queue.append((sub, p, pos, did, key, redeliveries))
        self._start(sim, member)

    def purge(self, sim: Simulation, member: Member, sub: str, p: int) -> None:
        """The client clears its queue of this partition's messages on a rewind and gives the
        permits back (ConsumerImpl.redeliverUnacknowledgedMessages)."""
        kept = deque(i for i in member.queue if not (i[0] == sub and i[1] == p))
        gone = len(member.queue) - len(kept)
        member.queue = kept
        if gone:
            self._permit(sim, member, gone)

    def _permit(self, sim: Simulation, member: Member, n: int) -> None:
        member.to_flow += n
        if member.to_flow >= max(1, member.queue_size // 2) and member.state == "connected":
            flow, member.to_flow = member.to_flow, 0
            self._sub(sim).flow(sim, member.key, flow)

    def _start(self, sim: Simulation, member: Member) -> None:
        if member.busy is not None or not member.queue or member.state not in ("connected", "closing"):
            return
        member.busy = member.queue.popleft()
        _, p, pos, did, _, _ = member.busy
        sub = self._sub(sim)
        if sub.ack_timeout > 0:
            sim.kernel.schedule(sim.kernel.now + sub.ack_timeout, ACK_TIMEOUT, self.id,
                                (member.name, member.token, p, pos, did))
        duration = max(1e-4, float(self.rng.exponential(self.mean_s)) if self.mean_s > 0 else 1e-4)
        sim.kernel.schedule(sim.kernel.now + duration, DONE, self.id, (member.name, member.token))
        self._permit(sim, member, 1)

    def is_poison(self, p: int, pos: int) -> bool:
        if self.poison_rate <= 0:
            return False
        return bool(uniform_hash(self.salt, p, np.array([pos]))[0] < self.poison_rate)

    def _member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        member = self._member(arg[0])
        if arg[1] != member.token:
            return
        sub = self._sub(sim)
        if kind == ACK_TIMEOUT:
            _, _, p, pos, did = arg
            sub.redeliver(sim, member.key, [(p, pos, did)])
            return
        if kind == NACK_DUE:
            _, _, p, pos, did = arg
            sub.redeliver(sim, member.key, [(p, pos, did)])
            return
        assert member.busy is not None
        _, p, pos, did, _, _ = member.busy
        member.busy = None
        member.processed += 1
        self.processed += 1
        failed = self.is_poison(p, pos) or (self.failure_rate > 0 and self.rng.random() < self.failure_rate)
        if not failed:
            self.acked += 1
            sub.ack(sim, member.key, p, pos)
        else:
            self.failed += 1
            if self.on_failure == "nack":
                self.nacked += 1
                sim.kernel.schedule(sim.kernel.now + sub.nack_delay, NACK_DUE, self.id,
                                    (member.name, member.token, p, pos, did))
        if member.state == "closing" and not member.queue:
            self._close(sim, member, "closed")
        else:
            self._start(sim, member)

    def _close(self, sim: Simulation, member: Member, state: str) -> None:
        member.state = state
        member.token += 1
        member.queue.clear()
        member.busy = None
        if self.subscription is not None:
            self._sub(sim).detach(sim, member)

    # -- commands -----------------------------------------------------------------------------

    def _pick(self, command: dict[str, Any], verb: str) -> Member:
        name = command.get("member")
        live = [m for m in self.members if m.state == "connected"]
        if name is None:
            if not live:
                raise CommandError(f"{self.id!r} has no connected consumer to {verb}")
            return live[-1]
        for m in live:
            if name in (m.name, m.key):
                return m
        raise CommandError(f"{self.id!r} has no connected consumer {name!r} to {verb}")

    def cmd_add(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Start one more consumer on the subscription (an Exclusive one refuses it)."""
        if sum(1 for m in self.members if m.state == "connected") >= MAX_MEMBERS:
            raise CommandError(f"{self.id!r} already has {MAX_MEMBERS} consumers, the most allowed")
        if self.subscription is None:
            raise CommandError(f"{self.id!r} is connected to no subscription")
        member = self._open(sim)
        sim.emit({"k": "pulsar_consumer", "t": sim.kernel.now, "node": self.id, "c": member.name,
                  "change": "added" if member.state == "connected" else "refused", "error": member.error})
        if member.state == "refused":
            raise CommandError(f"{member.name}: {rules.CONSUMER_BUSY}")

    def cmd_kill(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Crash a consumer: its connection drops and the broker redelivers what it had unacked."""
        member = self._pick(command, "kill")
        sim.emit({"k": "pulsar_consumer", "t": sim.kernel.now, "node": self.id, "c": member.name, "change": "killed"})
        self._close(sim, member, "killed")

    def cmd_remove(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Close a consumer: it finishes the message in hand, then disconnects."""
        member = self._pick(command, "remove")
        sim.emit({"k": "pulsar_consumer", "t": sim.kernel.now, "node": self.id, "c": member.name, "change": "removed"})
        member.state = "closing"
        member.queue.clear()
        if member.busy is None:
            self._close(sim, member, "closed")

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        sub = sim.components.get(self.subscription) if self.subscription else None
        permits = sub.permits if isinstance(sub, SubscriptionRuntime) else {}
        actives = sub.active if isinstance(sub, SubscriptionRuntime) else []
        members = []
        for m in self.members[-32:]:
            state = m.state
            parts = [f"p{p}" for p, a in enumerate(actives) if a == m.key]
            if isinstance(sub, SubscriptionRuntime) and sub.type == "failover" and state == "connected":
                state = "active" if parts else "standby"
            members.append({"id": m.name, "state": state, "partitions": parts, "queued": len(m.queue),
                            "busy": m.busy is not None, "permits": permits.get(m.key, 0),
                            "queue_size": m.queue_size, "processed": m.processed, "error": m.error})
        return {"members": members, "receiver_queue_size": self.queue_size, "processed": self.processed,
                "acked": self.acked, "nacked": self.nacked, "failed": self.failed}
