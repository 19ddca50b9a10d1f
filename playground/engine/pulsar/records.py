"""Pulsar's record adapter: a consumer on a subscription, and a producer into a topic.

``SubscriptionSource`` attaches one consumer (``<bridge>/bridge``) to the subscription with a
receiver queue (permits, FLOW at half the queue as the Java client's ConsumerImpl does), takes
what the dispatcher pushes, and acknowledges each message individually when the reader commits.
A crash closes the consumer: the broker redelivers what it had unacked (Shared, Key_Shared) or
rewinds the cursor (Exclusive, Failover), as for any Pulsar consumer (subscription.py).

``TopicSink`` is a producer: a keyed record goes to the partition of its key's hash (the Java
client's RoundRobinPartitionMessageRouter: murmur3 of the key modulo the partitions; rules.py),
an unkeyed one round robin; the envelope is kept beside the entry (TopicRuntime.envelopes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.engine.adapters import Sink, Source, register_sink, register_source, template_of
from playground.engine.pulsar.consumer import Member
from playground.engine.pulsar.rules import partition_for_key
from playground.engine.record import Hop, PulsarView, Record

if TYPE_CHECKING:
    from playground.engine.pulsar.runtime import TopicRuntime
    from playground.engine.pulsar.subscription import SubscriptionRuntime
    from playground.engine.simulation import Simulation

QUEUE_SIZE = 1000  # receiverQueueSize, the Java client's default
FOREIGN = 1 << 30


def envelope(sim: Simulation, topic: TopicRuntime, p: int, pos: int) -> Record:
    kept = topic.envelopes.get((p, pos))
    if kept is not None:
        record: Record = kept
        return record
    key_index = topic.key_of(p, pos)
    key = f"key-{key_index}" if key_index >= 0 else None
    record_id = f"{topic.id}/{p}:{pos}"
    writers = [n.id for n in sim.document.sources(topic.id) if n.type == "pulsar_producer"]
    writer = writers[0] if len(writers) == 1 else topic.id
    template = template_of(sim, writer)
    return Record(record_id, key, template.value(record_id, key), (), 0.0, template.schema_id, (Hop(writer),),
                  max(topic.size_hint, 1))


class SubscriptionSource(Source):
    """It is the consumer's owner too: the subscription pushes to ``receive`` (``id`` names it)."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.id = owner
        self.ready: list[tuple[int, int, int]] = []  # (partition, position, redeliveries)
        self.unacked: list[tuple[int, int]] = []
        self.member: Member | None = None
        self.number = 0
        self._connect(sim)

    def _sub(self, sim: Simulation) -> SubscriptionRuntime:
        sub: SubscriptionRuntime = sim.components[self.node_id]
        return sub

    def _connect(self, sim: Simulation) -> None:
        self.number += 1
        self.member = Member(self, f"bridge-{self.number}", QUEUE_SIZE)  # type: ignore[arg-type]
        self.member.state = "connected"
        if not self._sub(sim).attach(sim, self.member):
            self.member.state = "refused"

    # what a subscription calls on a consumer's owner
    def receive(self, sim: Simulation, member: Member, sub: str, p: int, pos: int, did: int, key: int,
                redeliveries: int) -> None:
        self.ready.append((p, pos, redeliveries))

    def purge(self, sim: Simulation, member: Member, sub: str, p: int) -> None:
        """A rewind: the client drops what it had queued of that partition and gives permits back."""
        kept = [r for r in self.ready if r[0] != p]
        gone = len(self.ready) - len(kept)
        self.ready = kept
        if gone:
            self._sub(sim).flow(sim, member.key, gone)

    def poll(self, sim: Simulation, max_records: int) -> list[tuple[Record, PulsarView]]:
        taken, self.ready = self.ready[:max_records], self.ready[max_records:]
        if not taken or self.member is None:
            return []
        sub = self._sub(sim)
        assert sub.topic is not None  # (a subscription that delivers reads a topic; said for mypy)
        topic: TopicRuntime = sim.components[sub.topic]
        out = []
        for p, pos, redeliveries in taken:
            self.unacked.append((p, pos))
            out.append((envelope(sim, topic, p, pos), PulsarView(topic.id, f"{p}:{pos}", redeliveries)))
        self.member.to_flow += len(taken)
        if self.member.to_flow >= QUEUE_SIZE // 2:
            flow, self.member.to_flow = self.member.to_flow, 0
            sub.flow(sim, self.member.key, flow)
        return out

    def commit(self, sim: Simulation) -> None:
        if self.member is None:
            return
        sub = self._sub(sim)
        held, self.unacked = self.unacked, []
        for p, pos in held:
            sub.ack(sim, self.member.key, p, pos)

    def crash(self, sim: Simulation) -> None:
        if self.member is not None:
            self.member.state = "dead"
            self._sub(sim).detach(sim, self.member)
        self.member = None
        self.ready, self.unacked = [], []

    def restart(self, sim: Simulation) -> None:
        self._connect(sim)

    def disconnect(self, sim: Simulation, member: Member) -> None:
        """The subscription's cluster went down (geo-replication's fail_cluster): the connection
        drops and what it held unacked is redelivered, as for any consumer (consumer.py)."""
        member.state = "disconnected"
        self._sub(sim).detach(sim, member)
        self.ready, self.unacked = [], []

    def reconnect(self, sim: Simulation, member: Member) -> None:
        if member.state != "disconnected":
            return
        member.to_flow = 0
        member.state = "connected" if self._sub(sim).attach(sim, member) else "refused"

    def view(self) -> dict[str, Any]:
        return {"consumer": self.member.key if self.member else None, "unacked": len(self.unacked) + len(self.ready)}


class TopicSink(Sink):
    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.rr = 0
        self.writes = 0
        self.key_index: dict[str, int] = {}  # keys that are not the producers' key-N, numbered from FOREIGN

    def write(self, sim: Simulation, records: list[Record]) -> int:
        topic: TopicRuntime = sim.components[self.node_id]
        batch: dict[int, list[Record]] = {}
        for record in records:
            if record.key is not None:
                p = partition_for_key(record.key, topic.partitions)
            else:
                p = self.rr % topic.partitions
                self.rr += 1
            batch.setdefault(p, []).append(record)
        for p, group in sorted(batch.items()):
            first = topic.ledgers[p].end
            for i, record in enumerate(group):
                topic.envelopes[(p, first + i)] = record
            topic.append(sim, self.owner, p, [self._key(r.key) for r in group], group[0].size)
        self.writes += 1
        if self.writes % 256 == 0 and len(topic.envelopes) > 4 * QUEUE_SIZE:  # forget what every subscription acked
            floors = [min((sim.components[sub].mark_delete(p) for sub in topic.subscriptions),
                          default=topic.ledgers[p].end) for p in range(topic.partitions)]
            for gone in [w for w in topic.envelopes if w[1] < floors[w[0]]]:
                del topic.envelopes[gone]
        return len(records)

    def _key(self, key: str | None) -> int:
        """The key index stored with the entry (Key_Shared dispatch hashes it): -1 for no key."""
        if key is None:
            return -1
        if key.startswith("key-") and key[4:].isdigit() and int(key[4:]) < FOREIGN:
            return int(key[4:])
        return self.key_index.setdefault(key, FOREIGN + len(self.key_index))


register_source("pulsar_subscription", SubscriptionSource)
register_sink("pulsar_topic", TopicSink)
