"""A Pulsar subscription: its cursor on each partition, membership and acknowledgements (the
dispatcher, which hands messages to consumers, is dispatch.py; the consumers are consumer.py).

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
from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.component import Runtime
from playground.engine.pulsar import rules
from playground.engine.pulsar.delayed import DelayedDeliveryTracker
from playground.engine.pulsar.dispatch import DELAY_DUE, Dispatcher

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

DONE = 1
NACK_DUE = 2
ACK_TIMEOUT = 3
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


class SubscriptionRuntime(Dispatcher, Runtime):
    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topic: str | None,
                 dlq: str | None) -> None:
        self.id = node_id
        self.topic = topic
        self.type = params["type"]
        self.cumulative = params["ack_mode"] == "cumulative"
        self.ack_timeout = params["ack_timeout_ms"] / 1000.0
        self.nack_delay = params["nack_redelivery_delay_ms"] / 1000.0
        self.dlq = dlq
        self.name = str(params["subscription_name"]) or node_id
        self.replicated = bool(params["replicated"])
        self.disconnected: list[Any] = []  # members cut off by a cluster outage, reconnected after it
        self.synced = 0
        self.max_redeliver = int(params["max_redeliver_count"]) if dlq else 0
        parts = sim.components[topic].partitions if topic else 1
        self.partitioned = bool(topic and sim.components[topic].partitioned)
        self.cursors = [Cursor(0) for _ in range(parts)]
        self.consumers: list[str] = []  # member keys, by priority level, then in subscription order
        self.priority: dict[str, int] = {}
        self.members: dict[str, Any] = {}  # member key -> Member
        self.permits: dict[str, int] = {}
        self.refused = 0
        self.errors: deque[dict[str, Any]] = deque(maxlen=10)
        self.selector = rules.AutoSplitSelector()
        self.parked: list[dict[str, list[int]]] = [{} for _ in range(parts)]
        self.active: list[str | None] = [None] * parts
        self.rr = [0] * parts  # each partition's dispatcher has its own round-robin index
        self.prr = 0
        self.delayed = ([DelayedDeliveryTracker() for _ in range(parts)]
                        if self.type in ("shared", "key_shared") else [])
        self.paused = False
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
        self.priority[member.key] = member.priority
        # addConsumer: the list is kept sorted by priority level (a stable sort: same level in arrival order)
        self.consumers.sort(key=self.priority.__getitem__)
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
        del self.priority[member.key]
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

    def _count_redelivery(self, cur: Cursor, pos: int) -> None:
        if rules.tracks_redelivery_count(self.type):
            cur.redeliveries[pos] = cur.redeliveries.get(pos, 0) + 1

    # -- acknowledgements and redelivery ---------------------------------------------------------

    def sync_mark_delete(self, sim: Simulation, p: int, upto: int) -> None:
        """A replicated subscription's update from the other cluster (ReplicatedSubscriptionsController
        .receiveSubscriptionUpdated): everything replicated below ``upto`` is acknowledged here, as
        the remote subscription acknowledged it there. Messages produced in this cluster are left."""
        if self.topic is None:
            return
        topic = sim.components[self.topic]
        cur = self.cursors[p]
        moved = 0
        for q in range(cur.md, min(upto, topic.end(p))):
            if q in cur.acked or not topic.is_replicated(p, q):
                continue
            if self.delayed:
                self.delayed[p].discard(q)
            self._ack_one(cur, q)
            moved += 1
        cur.settle()
        if moved:
            self.synced += moved
            sim.emit({"k": "pulsar_subscription_synced", "t": sim.kernel.now, "node": self.id, "p": p,
                      "mark_delete": cur.md, "n": moved})
        self.dispatch(sim)

    def outage(self, sim: Simulation) -> None:
        """The subscription's cluster goes down: its consumers lose their connection (what they
        had unacknowledged is redelivered later) and nothing is dispatched until it is back."""
        self.paused = True
        for member in list(self.members.values()):
            self.disconnected.append(member)
            member.owner.disconnect(sim, member)

    def restore(self, sim: Simulation) -> None:
        """The cluster is back: the clients reconnect and dispatching resumes."""
        self.paused = False
        members, self.disconnected = self.disconnected, []
        for member in members:
            member.owner.reconnect(sim, member)
        self.dispatch(sim)

    def current(self, p: int, pos: int, did: int) -> bool:
        held = self.cursors[p].pending.get(pos)
        return held is not None and held[1] == did

    def ack(self, sim: Simulation, member_key: str, p: int, pos: int) -> None:
        cur = self.cursors[p]
        before = cur.md
        if self.cumulative:
            self._ack_upto(cur, pos, member_key)
        elif pos >= cur.md and pos not in cur.acked:
            self._ack_one(cur, pos)
        cur.settle()
        if self.replicated and cur.md > before:
            for replicator in sim.components[self.topic].replicators:
                replicator.advanced(sim, self, p)
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

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == DELAY_DUE:
            self.delayed_due(sim, arg)

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
            for pos in self.delayed[p].take_all() if self.delayed else []:
                out.append((p, pos, topic.key_of(p, pos)))
                self._ack_one(cur, pos)
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
                if self.delayed:
                    waiting += len(self.delayed[p])
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
            "delayed": sum(len(d) for d in self.delayed),
            "consumers": [{"id": k, "permits": self.permits[k], "priority": self.priority[k],
                           "active": [p for p, a in enumerate(self.active) if a == k]} for k in self.consumers],
            "dead_letter_topic": self.dlq, "max_redeliver_count": self.max_redeliver,
            "name": self.name, "replicated": self.replicated, "synced": self.synced, "paused": self.paused,
        }
        if self.type == "key_shared":
            view["hash_ranges"] = [{"from": a, "to": b, "consumer": c} for a, b, c in self.selector.ranges()]
        return view
