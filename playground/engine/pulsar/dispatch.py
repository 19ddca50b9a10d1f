"""How a Pulsar subscription hands messages to its consumers: its dispatcher.

Exclusive and Failover (PersistentDispatcherSingleActiveConsumer): everything to the active
consumer of each partition. Shared (PersistentDispatcherMultipleConsumers): per partition, a
read of at most min(permits of all consumers, dispatcherMaxReadBatchSize) entries is handed out
in chunks of at most dispatcherMaxRoundRobinBatchSize, each chunk to the consumer
getNextConsumer() selects (priority levels, round robin within a level); the round-robin index
moves only when a consumer is selected for entries. Key_Shared
(PersistentStickyKeyDispatcherMultipleConsumers): each message to the consumer owning its key's
hash range.

Each partition of a partitioned topic is a topic of its own with its own dispatcher, so the
round-robin index is kept per partition. What this model simplifies: a consumer's permits are
one pool across the partitions (the Java client gives each partition's consumer its own receiver
queue).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from playground.engine.pulsar import rules

if TYPE_CHECKING:
    from playground.engine.pulsar.delayed import DelayedDeliveryTracker
    from playground.engine.simulation import Simulation

LOOKAHEAD = 2_000  # Key_Shared: most positions parked for replay before reading stops
READ_BATCH = 100  # broker.conf dispatcherMaxReadBatchSize
RR_BATCH = 20  # broker.conf dispatcherMaxRoundRobinBatchSize
DELAY_DUE = 4  # kernel event: a partition's delayed-delivery timer fired


class Dispatcher:
    """The dispatch half of SubscriptionRuntime (a mixin: the state lives in the subscription)."""

    id: str
    topic: str | None
    type: str
    cursors: list[Any]
    consumers: list[str]
    members: dict[str, Any]
    permits: dict[str, int]
    priority: dict[str, int]
    rr: list[int]
    prr: int
    did: int
    delivered: int
    duplicates: int
    active: list[str | None]
    parked: list[dict[str, list[int]]]
    selector: rules.AutoSplitSelector
    delayed: list[DelayedDeliveryTracker]
    paused: bool

    def dispatch(self, sim: Simulation) -> None:
        if self.topic is None or not self.consumers or self.paused:
            return
        if self.type in ("exclusive", "failover"):
            for p, key in enumerate(self.active):
                while key is not None and self.permits.get(key, 0) > 0:
                    pos = self._next(sim, p)
                    if pos is None:
                        break
                    self._deliver(sim, key, p, pos)
        elif self.type == "shared":
            self._dispatch_shared(sim)
        else:
            self._dispatch_key_shared(sim)

    # -- reading --------------------------------------------------------------------------------

    def _next(self, sim: Simulation, p: int) -> int | None:
        cur = self.cursors[p]
        while (pos := cur.pop_replay()) is not None:
            if pos >= cur.md and pos not in cur.acked:
                return pos
        return self._read(sim, p)

    def _read(self, sim: Simulation, p: int) -> int | None:
        """The next entry to dispatch from the log, skipping acknowledged ones; on Shared and
        Key_Shared a message whose deliverAt is not yet due goes to the delayed-delivery tracker
        instead (PersistentDispatcherMultipleConsumers.trackDelayedDelivery)."""
        cur = self.cursors[p]
        topic = sim.components[self.topic]
        end = topic.end(p)
        now = sim.kernel.now
        while cur.read < end:
            pos = cur.read
            cur.read += 1
            if pos < cur.md or pos in cur.acked:
                continue
            if self.delayed and self._hold(sim, p, pos, topic.deliver_at(p, pos), now):
                continue
            return pos
        return None

    def _hold(self, sim: Simulation, p: int, pos: int, deliver_at: float, now: float) -> bool:
        tracker = self.delayed[p]
        if not tracker.add(pos, deliver_at, now):
            return False
        due = tracker.next_timer()
        if due is not None and tracker.arm(due):
            sim.kernel.schedule(max(now, due), DELAY_DUE, self.id, p)
        return True

    def delayed_due(self, sim: Simulation, p: int) -> None:
        """The tracker's timer: due messages are replayed (getScheduledMessages), then the next
        timer is set."""
        tracker = self.delayed[p]
        tracker.armed_at = None
        for pos in tracker.take_due(sim.kernel.now):
            self._replay(sim, p, pos)
        due = tracker.next_timer()
        if due is not None and tracker.arm(due):
            sim.kernel.schedule(max(sim.kernel.now, due), DELAY_DUE, self.id, p)
        self.dispatch(sim)

    # -- Shared -----------------------------------------------------------------------------------

    def _available(self, key: str) -> bool:
        """isConsumerAvailable: a consumer with permits left."""
        return self.permits[key] > 0

    def _next_consumer(self, p: int) -> str | None:
        """AbstractDispatcherMultipleConsumers.getNextConsumer: select from the priority-sorted
        consumer list starting at this partition's round-robin index, which then points just after
        the consumer chosen. Only called with entries in hand, so the index moves only when a
        message is actually dispatched."""
        if not self.consumers:
            return None
        if self.rr[p] >= len(self.consumers):
            self.rr[p] = 0
        index = rules.select_consumer([self.priority[k] for k in self.consumers],
                                      [self._available(k) for k in self.consumers], self.rr[p])
        if index < 0:
            return None
        self.rr[p] = index + 1
        return self.consumers[index]

    def _dispatch_shared(self, sim: Simulation) -> None:
        """PersistentDispatcherMultipleConsumers.readMoreEntries / sendMessagesToConsumers: read
        up to min(total permits, dispatcherMaxReadBatchSize) entries of a partition, then give
        each selected consumer min(entries left, its permits, dispatcherMaxRoundRobinBatchSize)."""
        n = len(self.cursors)
        progress = True
        while progress:
            progress = False
            for i in range(n):
                p = (self.prr + i) % n
                total = sum(v for v in self.permits.values() if v > 0)
                if total <= 0:
                    return
                batch: list[int] = []
                while len(batch) < min(total, READ_BATCH):
                    pos = self._next(sim, p)
                    if pos is None:
                        break
                    batch.append(pos)
                if not batch:
                    continue
                progress = True
                self.prr = (p + 1) % n
                start = 0
                while start < len(batch):
                    member = self._next_consumer(p)
                    if member is None:  # cannot happen within total permits; kept for safety
                        for pos in batch[start:]:
                            self.cursors[p].add_replay(pos)
                        return
                    take = min(len(batch) - start, self.permits[member], RR_BATCH)
                    for pos in batch[start:start + take]:
                        self._deliver(sim, member, p, pos)
                    start += take

    # -- Key_Shared -------------------------------------------------------------------------------

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

    # -- handing over -----------------------------------------------------------------------------

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
