"""RabbitMQ's record adapter: a queue read by a consumer with manual acks, and publishing to an
exchange or (through the default exchange) a queue.

``QueueSource`` is basic.consume with basic.qos prefetch and manual acknowledgements: the queue
pushes deliveries within the prefetch window; they are acked (basic.ack) when the reader commits,
as a Kafka Connect RabbitMQ source task acks once its records are committed. A crash closes the
channel: every unacknowledged delivery is requeued in place and redelivered with the redelivered
flag (AMQP 0-9-1 spec, 4.7 "Message acknowledgement" and basic.deliver's redelivered bit).

``ExchangeSink`` is basic.publish: the record's key is the routing key (or the bridge's declared
one), its headers become AMQP headers, and the envelope travels with the message (Message.record)
so a later reader hands the same record out.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from playground.engine.adapters import Sink, Source, register_sink, register_source
from playground.engine.rabbitmq.queue import Entry, Message
from playground.engine.record import DEFAULT_TEMPLATE, AmqpView, Hop, Record

if TYPE_CHECKING:
    from playground.engine.rabbitmq.queue_runtime import QueueRuntime
    from playground.engine.simulation import Simulation


def envelope(msg: Message) -> Record:
    """The record a message carries, or the one made from it (id from its uid, key its routing key)."""
    if msg.record is not None:
        record: Record = msg.record
        return record
    record_id = f"amqp:{msg.uid:x}"
    headers = tuple(sorted((msg.headers or {}).items()))
    return Record(record_id, msg.routing_key, DEFAULT_TEMPLATE.value(record_id, msg.routing_key), headers,
                  msg.published_at, None, (Hop(msg.exchange or "amq.default"),))


class QueueSource(Source):
    """One consumer (its tag ``<owner>/bridge``) on the queue, manual acks, prefetch from params."""

    auto_ack = False

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.prefetch = int(params.get("prefetch", 1000))
        self.generation = 0
        self.tag = ""
        self.ready: list[tuple[Record, AmqpView]] = []
        self.unacked: list[int] = []  # delivery tags handed out, acked at the next commit
        self._subscribe(sim)

    def _subscribe(self, sim: Simulation) -> None:
        self.generation += 1
        self.tag = f"{self.owner}/bridge-{self.generation}"
        queue: QueueRuntime = sim.components[self.node_id]
        queue.subscribe(self.tag, self.owner, self.prefetch)

    def receive(self, sim: Simulation, tag: str, dtag: int, entry: Entry) -> None:
        """basic.deliver, pushed by the queue within the prefetch window."""
        msg = entry.msg
        self.ready.append((envelope(msg), AmqpView(self.node_id, dtag, msg.exchange, msg.routing_key,
                                                   entry.redelivered)))

    def poll(self, sim: Simulation, max_records: int) -> list[tuple[Record, AmqpView]]:
        out, self.ready = self.ready[:max_records], self.ready[max_records:]
        self.unacked.extend(view.delivery_tag for _, view in out)
        return out

    def commit(self, sim: Simulation) -> None:
        queue: QueueRuntime = sim.components[self.node_id]
        tags, self.unacked = self.unacked, []
        for dtag in tags:
            queue.ack(sim, self.tag, dtag)

    def crash(self, sim: Simulation) -> None:
        """The connection dies: the queue requeues every unacked delivery (handed out or not)."""
        queue: QueueRuntime = sim.components[self.node_id]
        self.ready, self.unacked = [], []
        queue.close(sim, self.tag)

    def restart(self, sim: Simulation) -> None:
        self._subscribe(sim)
        sim.components[self.node_id].dispatch(sim)

    def view(self) -> dict[str, Any]:
        return {"consumer_tag": self.tag, "unacked": len(self.unacked) + len(self.ready), "prefetch": self.prefetch}


class ExchangeSink(Sink):
    """basic.publish to an exchange, or to a queue through the default exchange."""

    def __init__(self, sim: Simulation, owner: str, node: Any, params: dict[str, Any]) -> None:
        super().__init__(sim, owner, node, params)
        self.to_queue = node.type == "amqp_queue"
        self.routing_key = str(params.get("routing_key", "") or "")
        self.uid_base = zlib.crc32(owner.encode()) << 32
        self.sent = 0

    def write(self, sim: Simulation, records: list[Record]) -> int:
        messages = []
        for record in records:
            self.sent += 1
            key = self.node_id if self.to_queue else (self.routing_key or record.key or "")
            messages.append(Message(self.uid_base | self.sent, "" if self.to_queue else self.node_id, key,
                                    headers=dict(record.headers) or None, published_at=sim.kernel.now,
                                    record=record))
        if sim.record_flow and messages:
            sim.emit({"k": "amqp_publish", "t": sim.kernel.now, "src": self.owner, "dst": self.node_id,
                      "n": len(messages), "key": messages[0].routing_key, "p": 0})
        target = sim.components[self.node_id]
        if self.to_queue:
            for msg in messages:
                target.enqueue(sim, msg)
        else:
            target.publish(sim, messages, mandatory=False)
        return len(messages)


register_source("amqp_queue", QueueSource)
register_sink("amqp_exchange", ExchangeSink)
register_sink("amqp_queue", ExchangeSink)
