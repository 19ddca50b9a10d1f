"""Google Pub/Sub's record adapter: a streaming-pull subscriber on a subscription, and Publish.

``SubscriptionSource`` is one subscriber client (``<bridge>/bridge-N``) with the client
library's flow control (maxOutstandingElementCount 1,000 by default; rules.may_take) and lease
management (it extends the ack deadline of what it holds, ModifyAckDeadline). It acks what it
handed on when the reader commits. A crash stops the lease extensions: the leases run out at
their deadline and the messages are redelivered ("Lease management", "Handle duplicates").

``TopicSink`` is Publish: the record's key is the ordering key, its headers the attributes, and
the envelope travels with the message (Message.record).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from playground.engine.adapters import Sink, Source, register_sink, register_source, template_of
from playground.engine.gcp_pubsub import rules
from playground.engine.gcp_pubsub.runtime import Message
from playground.engine.gcp_pubsub.subscriber import Member
from playground.engine.gcp_pubsub.subscription import Copy
from playground.engine.record import Hop, PubsubView, Record

if TYPE_CHECKING:
    from playground.engine.gcp_pubsub.runtime import TopicRuntime
    from playground.engine.gcp_pubsub.subscription import SubscriptionRuntime
    from playground.engine.simulation import Simulation

MAX_MESSAGES = 1000  # the client libraries' default maxOutstandingElementCount
MAX_BYTES = 100 * 1024 * 1024  # and maxOutstandingRequestBytes
MAX_LEASE_S = 3600.0  # maxAckExtensionPeriod


def envelope(sim: Simulation, msg: Message) -> Record:
    """The record a message carries, or one made from it (the topic's publisher as its writer)."""
    if msg.record is not None:
        record: Record = msg.record
        return record
    record_id = f"pubsub:{msg.uid:x}"
    writers = [n.id for n in sim.document.sources(msg.topic) if n.type == "pubsub_publisher"] if msg.topic else []
    writer = writers[0] if len(writers) == 1 else msg.topic or "pubsub"
    template = template_of(sim, writer)
    return Record(record_id, msg.key, template.value(record_id, msg.key),
                  tuple(sorted((msg.attrs or {}).items())), msg.published, template.schema_id, (Hop(writer),),
                  msg.size)


class SubscriptionSource(Source):
    """It is the subscriber's owner too: the subscription calls ``receive``, ``can_take`` and
    ``extends`` on it (through the bridge's runtime)."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.id = owner
        self.number = 0
        self.members: list[Member] = []
        self.ready: list[tuple[int, Copy]] = []
        self.unacked: list[tuple[int, Copy]] = []
        self._open()

    def _open(self) -> None:
        self.number += 1
        self.members = [Member(self, f"bridge-{self.number}")]  # type: ignore[arg-type]

    def _sub(self, sim: Simulation) -> SubscriptionRuntime:
        sub: SubscriptionRuntime = sim.components[self.node_id]
        return sub

    # what a subscription calls on its subscribers
    def alive(self) -> list[Member]:
        return [m for m in self.members if m.state == "active"]

    def can_take(self, member: Member, size: int) -> bool:
        return rules.may_take(member.outstanding, member.bytes, size, MAX_MESSAGES, MAX_BYTES)

    def extends(self, member_key: str, held_for: float) -> bool:
        return any(m.key == member_key and m.state == "active" for m in self.members) and held_for < MAX_LEASE_S

    def receive(self, sim: Simulation, member: Member, sub: str, ack_id: int, copy: Copy) -> None:
        member.outstanding += 1
        member.bytes += copy.msg.size
        self.ready.append((ack_id, copy))

    def poll(self, sim: Simulation, max_records: int) -> list[tuple[Record, PubsubView]]:
        taken, self.ready = self.ready[:max_records], self.ready[max_records:]
        self.unacked.extend(taken)
        return [(envelope(sim, copy.msg), PubsubView(self.node_id, f"{copy.msg.uid:x}", str(ack_id), copy.attempts))
                for ack_id, copy in taken]

    def commit(self, sim: Simulation) -> None:
        sub = self._sub(sim)
        held, self.unacked = self.unacked, []
        member = self.members[0] if self.members else None
        for ack_id, copy in held:
            sub.ack(sim, ack_id, copy)
            if member is not None:
                member.outstanding -= 1
                member.bytes -= copy.msg.size
        sub.dispatch(sim)

    def crash(self, sim: Simulation) -> None:
        """Nothing is acked; the leases are no longer extended and run out at their deadline."""
        sub = self._sub(sim)
        for m in self.members:
            m.state = "killed"
        for ack_id, _ in self.ready + self.unacked:
            sub.release(ack_id)
        self.ready, self.unacked = [], []

    def restart(self, sim: Simulation) -> None:
        self._open()
        self._sub(sim).dispatch(sim)

    def view(self) -> dict[str, Any]:
        return {"outstanding": len(self.ready) + len(self.unacked)}


class TopicSink(Sink):
    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.uid_base = zlib.crc32(owner.encode()) << 32
        self.sent = 0

    def write(self, sim: Simulation, records: list[Record]) -> int:
        topic: TopicRuntime = sim.components[self.node_id]
        messages = []
        for record in records:
            self.sent += 1
            messages.append(Message(self.uid_base | self.sent, record.key, record.size, sim.kernel.now, topic.id,
                                    dict(record.headers) or None, record=record))
        if messages:
            topic.publish(sim, self.owner, messages)
        return len(messages)


register_source("pubsub_subscription", SubscriptionSource)
register_sink("pubsub_topic", TopicSink)
