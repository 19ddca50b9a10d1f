"""Geo-replication between Pulsar clusters ("Geo-replication"; PersistentReplicator,
ReplicatedSubscriptionsController).

A topic connected to a topic of another cluster is replicated there: a replicator (a durable
cursor ``pulsar.repl.<cluster>`` on the source topic) reads the messages produced in its own
cluster and publishes them to the remote topic, after the replication lag. Messages that came in
by replication are never sent on again (their metadata names the cluster they came from), so
two topics connected both ways replicate in both directions without loops. The replicator's
cursor holds the source's ledgers like a subscription: while the remote cluster is down the
replication backlog grows in the source cluster, nothing is lost, and it drains when the remote
cluster is back.

Replicated subscriptions (PIP-33, replicateSubscriptionState): while a topic has one, its broker
takes a snapshot every second (replicatedSubscriptionsSnapshotFrequencyMillis) that pairs a
position in the local topic with the position the replicator has reached at the remote one;
as soon as the subscription's mark-delete passes a snapshot, an update travels through the replication
channel and moves the remote subscription of the same name to the paired position. The remote
subscription therefore trails: after a failover its consumers get again what was consumed after
the last snapshot that was applied (duplicates), never less. At most 10 snapshots are kept per
topic (replicatedSubscriptionsSnapshotMaxCachedPerSubscription).

Left out: the snapshot request/response handshake between the clusters is reduced to the
replicator's own progress, and the sync is applied per direction; message ids, the replicator
producer's own deduplication and namespace-level replication policies are not modelled.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

REPLICATE = 5  # kernel event on the source topic: replicated batches and subscription updates arrive
SNAPSHOTS_KEPT = 10


class Replicator:
    """One direction of geo-replication of one topic: source topic -> remote topic."""

    def __init__(self, index: int, source: str, target: str, lag_s: float, partitions: int) -> None:
        self.index = index
        self.source = source
        self.target = target
        self.lag = lag_s
        self.acked = [0] * partitions  # the replicator cursor's mark-delete: all below is written remotely
        self.sent = [0] * partitions  # next source position to read
        self.transit: deque[tuple[float, int, int, int]] = deque()  # (arrives, p, from, to)
        self.updates: deque[tuple[float, str, int, int, int]] = deque()  # (arrives, sub name, p, src, dst)
        self.snapshots: list[deque[tuple[int, int]]] = [deque(maxlen=SNAPSHOTS_KEPT) for _ in range(partitions)]
        self.pending_snapshot: list[int | None] = [None] * partitions
        self.applied: dict[tuple[str, int], int] = {}  # (subscription name, p) -> source position synced
        self.written = self.failures = self.syncs = 0

    def mark_delete(self, p: int) -> int:
        return self.acked[p]

    def _up(self, sim: Simulation) -> bool:
        return not sim.components[self.source].down and not sim.components[self.target].down

    def appended(self, sim: Simulation, p: int) -> None:
        """Read what the source holds past the replicator's read position and send it on."""
        if not self._up(sim):
            return
        end = sim.components[self.source].end(p)
        if self.sent[p] >= end:
            return
        arrives = sim.kernel.now + self.lag
        self.transit.append((arrives, p, self.sent[p], end))
        self.sent[p] = end
        sim.kernel.schedule(arrives, REPLICATE, self.source, self.index)

    def arrive(self, sim: Simulation) -> None:
        now = sim.kernel.now
        source = sim.components[self.source]
        target = sim.components[self.target]
        while self.transit and self.transit[0][0] <= now:
            _, p, first, last = self.transit.popleft()
            if not self._up(sim):
                # the remote cluster is unreachable: the replicator rewinds to its mark-delete position
                self.failures += 1
                self.transit.clear()
                self.sent = list(self.acked)
                break
            local = [q for q in range(max(first, self.acked[p]), last) if not source.is_replicated(p, q)]
            at = target.end(p)
            if local:
                target.append(sim, self.source, p, [source.key_of(p, q) for q in local], source.size_hint or 1024,
                              deliver_at=[source.deliver_at(p, q) for q in local], replicated=True)
                self.written += len(local)
            pending = self.pending_snapshot[p]
            if pending is not None and pending <= last:
                remote = at + sum(1 for q in local if q < pending)
                self.snapshots[p].append((pending, remote))
                self.pending_snapshot[p] = None
            self.acked[p] = max(self.acked[p], last)
        while self.updates and self.updates[0][0] <= now:
            _, name, p, src_pos, dst_pos = self.updates.popleft()
            if not self._up(sim):
                for _, lost_name, lost_p, _, _ in [(0.0, name, p, 0, 0), *self.updates]:
                    self.applied.pop((lost_name, lost_p), None)  # sent again at the next snapshot tick
                self.updates.clear()
                break
            for sub_id in target.subscriptions:
                sub = sim.components[sub_id]
                if sub.replicated and sub.name == name:
                    sub.sync_mark_delete(sim, p, dst_pos)
            self.applied[(name, p)] = src_pos
            self.syncs += 1

    def tick(self, sim: Simulation) -> None:
        """Every second: catch up after an outage, take snapshots for replicated subscriptions and
        send the updates their progress allows."""
        if not self._up(sim):
            return
        source = sim.components[self.source]
        for p in range(len(self.sent)):
            self.appended(sim, p)
        subs = [sim.components[s] for s in source.subscriptions]
        replicated = [s for s in subs if s.replicated]
        if not replicated:
            return
        target = sim.components[self.target]
        for p in range(len(self.sent)):
            if self.pending_snapshot[p] is None:
                end = source.end(p)
                if self.acked[p] >= end and not any(t[1] == p for t in self.transit):
                    self.snapshots[p].append((end, target.end(p)))
                else:
                    self.pending_snapshot[p] = end
            for sub in replicated:
                self.advanced(sim, sub, p)

    def advanced(self, sim: Simulation, sub: Any, p: int) -> None:
        """A replicated subscription's mark-delete moved (ReplicatedSubscriptionSnapshotCache
        .advancedMarkDeletePosition): if it passed a newer snapshot, send the paired remote
        position through the replication channel."""
        if not self.snapshots[p] or not self._up(sim):
            return
        md = sub.mark_delete(p)
        best = None
        for src_pos, dst_pos in self.snapshots[p]:
            if src_pos <= md:
                best = (src_pos, dst_pos)
        if best is not None and best[0] > self.applied.get((sub.name, p), -1):
            arrives = sim.kernel.now + self.lag
            self.updates.append((arrives, sub.name, p, best[0], best[1]))
            self.applied[(sub.name, p)] = best[0]  # sent; sent again if the remote turns out to be down
            sim.kernel.schedule(arrives, REPLICATE, self.source, self.index)

    def backlog(self, sim: Simulation) -> int:
        source = sim.components[self.source]
        out = 0
        for p, acked in enumerate(self.acked):
            out += source.end(p) - acked - source.replicated[p][acked - source.ledgers[p].start:].count(1)
        return out

    def view(self, sim: Simulation) -> dict[str, Any]:
        return {"to": self.target, "lag_ms": round(self.lag * 1000), "backlog": self.backlog(sim),
                "written": self.written, "failures": self.failures, "subscription_syncs": self.syncs,
                "connected": self._up(sim)}
