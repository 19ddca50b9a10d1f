"""The record envelope: one shape for a message in every system, and each system's view beside it.

A ``Record`` is what an application sees, whatever carried it: a key, a structured value, headers,
an event time, a stable id, the schema it was written with (an id, or None) and its origin (the
hops it took: which node wrote it, on which attempt). Its ``size`` is what it weighs on the wire.
What a particular broker adds (a Kafka offset, an AMQP delivery tag, an SQS receipt handle, a
Redis stream id, a Pulsar or Pub/Sub message id) is a *view* that rides beside the record, never
instead of it: a consumer adapter hands out ``(record, view)``; a publisher adapter takes a record
in and makes the system's own message from it.

Systems do not have to hold a Python object per message. Kafka's log is columnar (kafka/log.py):
its envelopes are made on demand from the columns (key index -> key, timestamp -> event time,
origin id -> id and first hop) with the value generated from a ``ValueTemplate`` and the record's
id, so the hot path stays as it is; only records that came in with a value of their own (written
by a bridge from another system) are kept whole, in a side table.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Any

#: Bytes a record weighs when nothing says otherwise (Kafka's LogConfig.record_bytes is the same)
DEFAULT_SIZE = 100


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a record's origin: the node that wrote it and on which attempt (1 = the first
    delivery it handled; 2 and more = it wrote it again after a retry, a crash or a redelivery)."""

    node: str
    attempt: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "attempt": self.attempt}


@dataclass(frozen=True, slots=True)
class Record:
    """The envelope. ``value`` maps field names to JSON-ready values; ``headers`` are text pairs in
    order (a header name may repeat, as in Kafka); ``event_time`` is simulated seconds."""

    id: str
    key: str | None
    value: dict[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    event_time: float = 0.0
    schema_id: int | None = None
    origin: tuple[Hop, ...] = ()
    size: int = DEFAULT_SIZE

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a record needs a stable id")

    @property
    def writer(self) -> str | None:
        """The node that first wrote it."""
        return self.origin[0].node if self.origin else None

    def header(self, name: str) -> str | None:
        """The last value of a header (as Kafka's Headers.lastHeader), or None."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return None

    def hop(self, node: str, attempt: int = 1) -> Record:
        """The same record, written again by ``node`` (a bridge, a service): one more hop."""
        return replace(self, origin=(*self.origin, Hop(node, attempt)))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "value": dict(self.value), "headers": [list(h) for h in self.headers],
                "event_time": self.event_time, "schema_id": self.schema_id,
                "origin": [h.to_dict() for h in self.origin], "size": self.size}


# -- views: what each system adds ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KafkaView:
    """Where a Kafka record sits: topic, partition, offset (ConsumerRecord's coordinates)."""

    topic: str
    partition: int
    offset: int
    system: str = "kafka"


@dataclass(frozen=True, slots=True)
class AmqpView:
    """An AMQP 0-9-1 delivery (basic.deliver): its delivery tag on the channel, the exchange and
    routing key it was published with, and whether it was delivered before."""

    queue: str
    delivery_tag: int
    exchange: str
    routing_key: str
    redelivered: bool
    system: str = "amqp"


@dataclass(frozen=True, slots=True)
class SqsView:
    """An SQS ReceiveMessage result: MessageId, the ReceiptHandle of this receive (DeleteMessage and
    ChangeMessageVisibility need it) and ApproximateReceiveCount."""

    queue: str
    message_id: str
    receipt_handle: str
    receive_count: int
    system: str = "sqs"


@dataclass(frozen=True, slots=True)
class RedisStreamView:
    """A Redis stream entry read by XREADGROUP: the stream, the entry id (ms-seq) and the group."""

    stream: str
    entry_id: str
    group: str
    system: str = "redis-streams"


@dataclass(frozen=True, slots=True)
class PulsarView:
    """A Pulsar message: its MessageId (ledger:entry:partition) and redelivery count."""

    topic: str
    message_id: str
    redelivery_count: int
    system: str = "pulsar"


@dataclass(frozen=True, slots=True)
class PubsubView:
    """A Google Pub/Sub ReceivedMessage: messageId, ackId and deliveryAttempt."""

    subscription: str
    message_id: str
    ack_id: str
    delivery_attempt: int
    system: str = "pubsub"


View = KafkaView | AmqpView | SqsView | RedisStreamView | PulsarView | PubsubView


def view_dict(view: View) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__slots__}  # type: ignore[union-attr]


# -- values: generated, so that columnar systems need not store them --------------------------------


@dataclass(frozen=True)
class ValueTemplate:
    """What a producer's values look like: field name -> kind. A value is a pure function of the
    template and the record's id (crc32, not ``hash()``: Python salts string hashes per process),
    so any number of envelopes can be made again, identically, from an id alone.

    Kinds: ``key`` (the record's key), ``serial`` (the number in its id), ``int`` (0..9999),
    ``amount`` (0.00..999.99), ``text`` (a short token).
    """

    fields: tuple[tuple[str, str], ...] = (("key", "key"), ("seq", "serial"), ("amount", "amount"))
    schema_id: int | None = None

    def value(self, record_id: str, key: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, kind in self.fields:
            if kind == "key":
                out[name] = key
            elif kind == "serial":
                out[name] = _serial(record_id)
            else:
                h = zlib.crc32(f"{record_id}/{name}".encode())
                if kind == "int":
                    out[name] = h % 10_000
                elif kind == "amount":
                    out[name] = (h % 100_000) / 100
                else:
                    out[name] = f"{name}-{h % 46_656:x}"
        return out


DEFAULT_TEMPLATE = ValueTemplate()


def _serial(record_id: str) -> int | None:
    """The writer's number in an id (``producer:42``, ``topic/3@17``), or None (``amqp:af3e``)."""
    tail = record_id.replace("@", ":").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def make_record(writer: str, serial: int, key: str | None, event_time: float, *,
                template: ValueTemplate = DEFAULT_TEMPLATE, headers: tuple[tuple[str, str], ...] = (),
                attempt: int = 1, size: int = DEFAULT_SIZE) -> Record:
    """A record first written by ``writer`` as its message number ``serial``: id ``writer:serial``."""
    record_id = f"{writer}:{serial}"
    return Record(record_id, key, template.value(record_id, key), headers, event_time, template.schema_id,
                  (Hop(writer, attempt),), size)
